// One answer about the running kernel: probed once (a minimal load or create, as `bpftool feature`
// does), cached for the process, named, and carrying the kernel version the feature came in.
// The version is documentation and a test oracle, never the answer: distributions backport
// features and build kernels without them, so only the probe decides.
import { EbpfError, NotSupportedError } from '../errors/index.js';

export { isNotSupported, NotSupportedError } from '../errors/index.js';

/** The answer to one feature probe. */
export interface FeatureAnswer {
  /** Stable name: "program_type/xdp", "map_type/ringbuf", "helper/xdp/redirect", "misc/bounded_loops". */
  readonly name: string;
  readonly supported: boolean;
  /** The upstream kernel the feature came in ("5.8"); undefined where it is not tabulated. */
  readonly minimumKernel: string | undefined;
  /** How the probe decided: the errno or the verifier's words. */
  readonly detail: string;
}

/** The kernel lacks a feature this operation needs. */
/** A probe could not reach an answer (no privileges, an unexpected errno). Not cached. */
export class FeatureProbeError extends EbpfError {
  /** Creates the error for the probe of `feature`, which failed with `cause`. */
  constructor(feature: string, cause: unknown) {
    super('ERR_FEATURE_PROBE', `cannot probe ${feature}: ${(cause as Error).message}`, { cause });
  }
}

/** What a probe function returns: whether the feature is there, and how it decided. */
export interface ProbeOutcome {
  supported: boolean;
  detail: string;
}

const cache = new Map<string, FeatureAnswer>();

/** Runs `probe` the first time `name` is asked for; later calls return the cached answer. */
export function answer(name: string, minimumKernel: string | undefined, probe: () => ProbeOutcome): FeatureAnswer {
  const hit = cache.get(name);
  if (hit) return hit;
  let outcome: ProbeOutcome;
  try {
    outcome = probe();
  } catch (e) {
    if (e instanceof NotSupportedError || e instanceof FeatureProbeError) throw e;
    throw new FeatureProbeError(name, e);
  }
  const result: FeatureAnswer = Object.freeze({ name, supported: outcome.supported, minimumKernel, detail: outcome.detail });
  cache.set(name, result);
  return result;
}

/** Throws NotSupportedError unless the answer says supported. */
export function requireFeature(a: FeatureAnswer, what?: string): void {
  if (!a.supported) throw new NotSupportedError(a.name, a.minimumKernel, what);
}

/** Forgets cached answers (tests; a process that changed its privileges). */
export function clearFeatureCache(): void {
  cache.clear();
}

/** Compares dotted versions: negative when a < b. */
export function compareKernelVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
