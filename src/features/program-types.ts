// Program types: a two-instruction program (r0 = 0; exit) loaded as the type, with the attach type
// or flags the type cannot load without. Types that only load against a kernel function are
// recognised by the verifier's refusal naming that function (what libbpf's probes look for).
import { AttachType, ProgramType } from '../uapi/bpf.js';
import { answer, type FeatureAnswer, type ProbeOutcome } from './feature.js';
import { exit0, lastLine, program, tryLoad, type LoadProbeOptions } from './probe-load.js';
import { PROGRAM_TYPE_SINCE } from './versions.js';
import { linuxKernelVersionCode } from './kernel-version.js';

/** Name of a program type: a key of ProgramType ("XDP", "KPROBE", ...). */
export type ProgramTypeName = keyof typeof ProgramType;

const EINVAL = 22;
const ENOTSUPP = 524;
const BPF_F_SLEEPABLE = 1 << 4;

/** What a probe load of `type` needs; the expected refusal for types that cannot load bare. */
export function loadOptionsFor(type: number): LoadProbeOptions & { expect?: { errno: number; log?: string } } {
  switch (type) {
    case ProgramType.CGROUP_SOCK_ADDR:
      return { expectedAttachType: AttachType.CGROUP_INET4_CONNECT };
    case ProgramType.CGROUP_SOCKOPT:
      return { expectedAttachType: AttachType.CGROUP_GETSOCKOPT };
    case ProgramType.SK_LOOKUP:
      return { expectedAttachType: AttachType.SK_LOOKUP };
    case ProgramType.KPROBE:
      return { kernVersion: linuxKernelVersionCode() };
    case ProgramType.LIRC_MODE2:
      return { expectedAttachType: AttachType.LIRC_MODE2 };
    case ProgramType.SYSCALL:
      return { flags: BPF_F_SLEEPABLE };
    case ProgramType.NETFILTER:
      return { expectedAttachType: AttachType.NETFILTER };
    // These need a kernel function to attach to; BTF id 1 is never one, and the kernel says so.
    case ProgramType.TRACING:
      return {
        expectedAttachType: AttachType.TRACE_FENTRY,
        attachBtfId: 1,
        withLog: true,
        expect: { errno: EINVAL, log: 'attach_btf_id 1 is not a function' },
      };
    case ProgramType.LSM:
      return {
        expectedAttachType: AttachType.LSM_MAC,
        attachBtfId: 1,
        withLog: true,
        expect: { errno: EINVAL, log: 'attach_btf_id 1 is not a function' },
      };
    case ProgramType.EXT:
      return { attachBtfId: 1, withLog: true, expect: { errno: EINVAL, log: 'Cannot replace kernel functions' } };
    case ProgramType.STRUCT_OPS:
      return { withLog: true, expect: { errno: ENOTSUPP } };
    default:
      return {};
  }
}

function probeProgramType(name: string, type: number): ProbeOutcome {
  const o = loadOptionsFor(type);
  const r = tryLoad(name, type, program(...exit0()), o);
  if (o.expect) {
    if (r.ok) return { supported: true, detail: 'loaded' };
    const matches = r.errno === o.expect.errno && (!o.expect.log || r.log.includes(o.expect.log));
    return { supported: matches, detail: `${r.errnoName}${r.log ? `: ${lastLine(r.log)}` : ''}` };
  }
  if (r.ok) return { supported: true, detail: 'loaded' };
  // An unknown type is EINVAL; a type compiled out of this kernel too. Anything else means the
  // kernel knew the type and refused the program for another reason.
  return { supported: r.errno !== EINVAL && r.errno !== 95, detail: r.errnoName };
}

/** The ProgramType name of a program type number, or "type N" when it has none. */
export function programTypeName(type: number): string {
  return Object.keys(ProgramType).find((k) => ProgramType[k as ProgramTypeName] === type) ?? `type ${type}`;
}

/** Whether the kernel loads programs of `type`. */
export function programType(type: ProgramType | ProgramTypeName): FeatureAnswer {
  const n = typeof type === 'number' ? type : ProgramType[type];
  const key = programTypeName(n);
  return answer(`program_type/${key.toLowerCase()}`, PROGRAM_TYPE_SINCE[key as ProgramTypeName], () =>
    probeProgramType(`program_type/${key.toLowerCase()}`, n),
  );
}

/** Every program type this library knows, probed. */
export function programTypes(): FeatureAnswer[] {
  return (Object.keys(ProgramType) as ProgramTypeName[]).filter((k) => k !== 'UNSPEC').map((k) => programType(k));
}
