// One answer about the running kernel: probed once (a minimal load or create, as `bpftool feature`
// does), cached for the process, named, and carrying the kernel version the feature came in.
// The version is documentation and a test oracle, never the answer: distributions backport
// features and build kernels without them, so only the probe decides.
import { SyscallError } from '../syscall/index.js';

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
export class NotSupportedError extends Error {
  override name = 'NotSupportedError';
  readonly code = 'ENOTSUP';
  readonly feature: string;
  readonly minimumKernel: string | undefined;

  constructor(feature: string, minimumKernel: string | undefined, what?: string, options?: { cause?: unknown }) {
    super(`${what ? `${what}: ` : ''}${feature} is not supported by this kernel${minimumKernel ? ` (it came in Linux ${minimumKernel})` : ''}`, options);
    this.feature = feature;
    this.minimumKernel = minimumKernel;
  }
}

/** A probe could not reach an answer (no privileges, an unexpected errno). Not cached. */
export class FeatureProbeError extends Error {
  override name = 'FeatureProbeError';
  readonly code: string;

  constructor(feature: string, cause: unknown) {
    const errno = cause instanceof SyscallError ? cause.code : 'EPROBE';
    super(`cannot probe ${feature}: ${(cause as Error).message}`, { cause });
    this.code = errno;
  }
}

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

/** Whether `e`, or an error in its cause chain, is a NotSupportedError (as Go's errors.Is walks wraps). */
export function isNotSupported(e: unknown): e is Error {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 32; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof NotSupportedError) return true;
  }
  return false;
}
