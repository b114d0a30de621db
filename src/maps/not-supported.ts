// A refused map create, explained by the map type's feature probe: when the kernel cannot create
// the type at all, the error says so (NotSupportedError) instead of a bare EINVAL.
import { FeatureProbeError, mapType, NotSupportedError } from '../features/index.js';
import { SyscallError } from '../syscall/index.js';

const MAYBE_UNSUPPORTED = new Set(['EINVAL', 'EPERM', 'ENOTSUPP', 'EOPNOTSUPP']);

export function explainCreateFailure(e: unknown, type: number, name: string): unknown {
  if (!(e instanceof SyscallError) || !MAYBE_UNSUPPORTED.has(e.code)) return e;
  try {
    const a = mapType(type as Parameters<typeof mapType>[0]);
    if (a.supported) return e;
    // EPERM is also what a process without CAP_BPF gets (a user namespace without a token, a
    // dropped capability): then every type fails alike, and the refusal is about permission.
    if (e.code === 'EPERM' && !mapType('ARRAY').supported) return e;
    return new NotSupportedError(a.name, a.minimumKernel, `creating map "${name}" (${e.code}; probe: ${a.detail})`, { cause: e });
  } catch (probeError) {
    if (probeError instanceof FeatureProbeError) return e;
    throw probeError;
  }
}
