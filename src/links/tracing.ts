// BTF-based tracing: fentry, fexit, fmod_ret, tp_btf and LSM programs. The attach point is a BTF
// type id in the kernel's BTF, given at load; attaching then needs no further target.
import { linkCreate, rawTracepointOpen, SyscallError } from '../syscall/index.js';
import type { Program } from '../programs/index.js';
import { attaching, BpfLink, LinkError } from './link.js';

export { tracingTarget, type TracingKind, type TracingTarget } from '../kernel/tracing-target.js';

/** Attaches a program loaded with a tracingTarget(); detached when the link closes. */
export function attachTracing(program: Program, cookie?: bigint): BpfLink {
  return attaching(`attaching "${program.name}" (tracing)`, () => {
    const attachType = program.expectedAttachType;
    if (attachType === undefined)
      throw new LinkError(
        'program',
        `program "${program.name}" was not loaded with an expected attach type; load it with tracingTarget(...)`,
      );
    const target = `tracing/${program.name}`;
    try {
      return new BpfLink(linkCreate({ progFd: program.fd, attachType, tracingCookie: cookie }), target);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === 'EINVAL' && cookie === undefined) {
        // Kernels before 5.x without tracing links attach through raw_tracepoint_open.
        try {
          return new BpfLink(rawTracepointOpen(undefined, program.fd), target);
        } catch {
          // Report the link error below: it is the modern path.
        }
      }
      throw new LinkError('attach', `attaching "${program.name}" failed: ${e.message}`, { cause: e });
    }
  });
}
