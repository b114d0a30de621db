// Instruction-set and verifier features, each a program that only loads where the feature exists.
import { Helper } from '../asm/index.js';
import { MapType, ProgramType } from '../uapi/bpf.js';
import { answer, type FeatureAnswer } from './feature.js';
import { helper } from './helpers.js';
import { mapType } from './map-types.js';
import { CALL, exit0, EXIT, firstLine, insn, MOV64_IMM, program, tryLoad } from './probe-load.js';

const SOCKET_FILTER = ProgramType.SOCKET_FILTER;
const BPF_MAXINSNS = 4096;

function loads(name: string, insns: Uint8Array, withLog = true): { supported: boolean; detail: string } {
  const r = tryLoad(name, SOCKET_FILTER, insns, { withLog });
  return r.ok
    ? { supported: true, detail: 'loaded' }
    : { supported: false, detail: `${r.errnoName}${r.log ? `: ${firstLine(r.log)}` : ''}` };
}

/** An instruction-set or verifier feature that misc() probes. */
export type MiscFeatureName =
  'large_insn_limit' | 'bounded_loops' | 'isa_v2' | 'isa_v3' | 'isa_v4' | 'bpf_to_bpf_calls' | 'ringbuf' | 'bpf_cookie' | 'kfuncs';

const MISC: Record<MiscFeatureName, { since: string; probe: (name: string) => { supported: boolean; detail: string } }> = {
  // More than BPF_MAXINSNS instructions for a privileged loader.
  large_insn_limit: {
    since: '5.2',
    probe: (n) =>
      loads(n, program(...Array.from({ length: BPF_MAXINSNS }, () => insn(MOV64_IMM, 0, 0, 0, 0)), insn(EXIT, 0, 0, 0, 0)), false),
  },
  // r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit: a backward jump.
  bounded_loops: {
    since: '5.3',
    probe: (n) => loads(n, program(insn(MOV64_IMM, 0, 0, 0, 10), insn(0x17, 0, 0, 0, 1), insn(0x55, 0, 0, -2, 0), insn(EXIT, 0, 0, 0, 0))),
  },
  // ISA v2: the unsigned and signed "less than" jumps (BPF_JLT).
  isa_v2: { since: '4.14', probe: (n) => loads(n, program(insn(MOV64_IMM, 0, 0, 0, 0), insn(0xa5, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0))) },
  // ISA v3: 32-bit jumps (BPF_JMP32 | BPF_JLT).
  isa_v3: { since: '5.1', probe: (n) => loads(n, program(insn(MOV64_IMM, 0, 0, 0, 0), insn(0xa6, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0))) },
  // ISA v4: sign-extending moves (r0 = (s8)r0), signed division, byte swaps, gotol.
  isa_v4: { since: '6.6', probe: (n) => loads(n, program(insn(MOV64_IMM, 0, 0, 0, 0), insn(0xbf, 0, 0, 8, 0), insn(EXIT, 0, 0, 0, 0))) },
  // call +1 to a subprogram (src = BPF_PSEUDO_CALL).
  bpf_to_bpf_calls: {
    since: '4.16',
    probe: (n) => loads(n, program(insn(CALL, 0, 1, 0, 1), insn(EXIT, 0, 0, 0, 0), ...exit0())),
  },
  ringbuf: {
    since: '5.8',
    probe: () => {
      const a = mapType(MapType.RINGBUF);
      return { supported: a.supported, detail: a.detail };
    },
  },
  // bpf_get_attach_cookie from a kprobe program.
  bpf_cookie: {
    since: '5.15',
    probe: () => {
      const a = helper(ProgramType.KPROBE, Helper.get_attach_cookie);
      return { supported: a.supported, detail: a.detail };
    },
  },
  // A call with src = BPF_PSEUDO_KFUNC_CALL to a BTF id that is no function: a kernel with kfunc
  // calls says so by name; one without rejects the call instruction itself.
  kfuncs: {
    since: '5.13',
    probe: (n) => {
      // vmlinux's BTF id 1 is a base type, never a function.
      const r = tryLoad(n, ProgramType.SCHED_CLS, program(insn(CALL, 0, 2, 0, 1), ...exit0()), { withLog: true });
      const supported = r.ok || /kernel btf_id 1 is not a function/.test(r.log);
      return { supported, detail: r.ok ? 'loaded' : `${r.errnoName}: ${firstLine(r.log)}` };
    },
  },
};

/** Every MiscFeatureName. */
export const MISC_FEATURES = Object.keys(MISC) as MiscFeatureName[];

/** Whether the kernel has an instruction-set or verifier feature, probed by loading a program that only loads where it exists (ringbuf: by creating a ring buffer map) ("misc/<feature>"; cached). */
export function misc(feature: MiscFeatureName): FeatureAnswer {
  const f = MISC[feature];
  const name = `misc/${feature}`;
  return answer(name, f.since, () => f.probe(name));
}

/** The answer of misc for every MISC_FEATURES entry. */
export function miscFeatures(): FeatureAnswer[] {
  return MISC_FEATURES.map(misc);
}
