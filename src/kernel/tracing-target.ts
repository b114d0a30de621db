// The attach point of a BTF-based tracing program (fentry, fexit, fmod_ret, tp_btf, LSM): a type id
// in the kernel's BTF, which Program.load needs before anything is attached. A fact about the running
// kernel, so it lives here, where both the loader and the links reach it.
import { closeNames } from '../symbols/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import { kernelBtf, KernelBtfError } from './btf.js';

/** Kinds of BTF-targeted tracing program. */
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

/** Looks `name` up in the running kernel's BTF for a program of `kind`; throws KernelBtfError when the kernel has no such function or tracepoint. */
export function tracingTarget(kind: TracingKind, name: string): TracingTarget {
  const k = KINDS[kind];
  if (!k) throw new KernelBtfError(`unknown tracing kind "${kind}"; use one of ${Object.keys(KINDS).join(', ')}`);
  const btf = kernelBtf();
  const t = btf.findType(k.prefix + name, k.btfKind);
  if (!t) {
    const what = kind === 'tp_btf' ? 'tracepoint' : kind === 'lsm' ? 'LSM hook' : 'kernel function';
    const near = closeNames(name, candidateNames(k.btfKind, k.prefix, name));
    throw new KernelBtfError(`no ${what} "${name}" in the kernel's BTF${near.length ? `; close names: ${near.join(', ')}` : ''}`);
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
