// BTF-based tracing: fentry, fexit, fmod_ret, tp_btf and LSM programs. The attach point is a BTF
// type id in the kernel's BTF, given at load; attaching then needs no further target.
import { kernelBtf } from '../kernel/btf.js';
import { closeNames } from '../symbols/index.js';
import { linkCreate, rawTracepointOpen, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError } from './link.js';

export type TracingKind = 'fentry' | 'fexit' | 'fmod_ret' | 'tp_btf' | 'lsm';

const KINDS: Record<TracingKind, { type: ProgramType; attach: number; btfKind: 'func' | 'typedef'; prefix: string }> = {
  fentry: { type: ProgramType.TRACING, attach: AttachType.TRACE_FENTRY, btfKind: 'func', prefix: '' },
  fexit: { type: ProgramType.TRACING, attach: AttachType.TRACE_FEXIT, btfKind: 'func', prefix: '' },
  fmod_ret: { type: ProgramType.TRACING, attach: AttachType.MODIFY_RETURN, btfKind: 'func', prefix: '' },
  tp_btf: { type: ProgramType.TRACING, attach: AttachType.TRACE_RAW_TP, btfKind: 'typedef', prefix: 'btf_trace_' },
  lsm: { type: ProgramType.LSM, attach: AttachType.LSM_MAC, btfKind: 'func', prefix: 'bpf_lsm_' },
};

/** What Program.load needs to target `name` (a kernel function, or a tracepoint for tp_btf). */
export interface TracingTarget {
  type: ProgramType;
  expectedAttachType: number;
  attachBtfId: number;
}

export function tracingTarget(kind: TracingKind, name: string): TracingTarget {
  const k = KINDS[kind];
  if (!k) throw new LinkError(`unknown tracing kind "${kind}"; use one of ${Object.keys(KINDS).join(', ')}`);
  const btf = kernelBtf();
  const t = btf.findType(k.prefix + name, k.btfKind);
  if (!t) {
    const what = kind === 'tp_btf' ? 'tracepoint' : kind === 'lsm' ? 'LSM hook' : 'kernel function';
    const near = closeNames(name, candidateNames(k.btfKind, k.prefix, name));
    throw new LinkError(`no ${what} "${name}" in the kernel's BTF${near.length ? `; close names: ${near.join(', ')}` : ''}`);
  }
  return { type: k.type, expectedAttachType: k.attach, attachBtfId: t.id };
}

/** Names of the given kind that share a 4-character stretch with `name`: a cheap prefilter. */
function candidateNames(kind: 'func' | 'typedef', prefix: string, name: string): string[] {
  const btf = kernelBtf();
  const probe = name.slice(0, 4);
  const out: string[] = [];
  for (let id = 1; id <= btf.lastTypeId; id++) {
    if (btf.kindOf(id) !== kind) continue;
    const n = btf.nameOf(id);
    if (n.startsWith(prefix) && n.includes(probe)) out.push(n.slice(prefix.length));
  }
  return out;
}

/** Attaches a program loaded with a tracingTarget(); detached when the link closes. */
export function attachTracing(program: Program, cookie?: bigint): BpfLink {
  const attachType = program.expectedAttachType;
  if (attachType === undefined) throw new LinkError(`program "${program.name}" was not loaded with an expected attach type; load it with tracingTarget(...)`);
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
    throw new LinkError(`attaching "${program.name}" failed: ${e.message}`, { cause: e });
  }
}
