// Helpers per program type: a program that calls the helper, loaded as the type. The verifier names
// a helper it does not know ("invalid func", "unknown func") or one the type may not call
// ("program of this type cannot use helper"); any other outcome means the call got past that check.
import { Helper, helperName, type HelperName } from '../asm/index.js';
import { ProgramType } from '../uapi/bpf.js';
import { answer, NotSupportedError, type FeatureAnswer } from './feature.js';
import { CALL, EXIT, insn, program, tryLoad } from './probe-load.js';
import { loadOptionsFor, programType, programTypeName, type ProgramTypeName } from './program-types.js';
import { helperSince } from './versions.js';

const REFUSALS = ['invalid func ', 'unknown func ', 'program of this type cannot use helper '];

/** Types whose probe program cannot load without a kernel function to attach to: no helper answer. */
const UNPROBEABLE = new Set<number>([ProgramType.TRACING, ProgramType.EXT, ProgramType.LSM, ProgramType.STRUCT_OPS]);

/** Whether programs of `type` may call helper `helper` (an id or a name without `bpf_`). */
export function helper(type: ProgramType | ProgramTypeName, helper: number | HelperName): FeatureAnswer {
  const t = typeof type === 'number' ? type : ProgramType[type];
  const id = typeof helper === 'number' ? helper : Helper[helper];
  const typeName = programTypeName(t).toLowerCase();
  const name = `helper/${typeName}/${helperName(id) ?? id}`;
  if (UNPROBEABLE.has(t)) {
    throw new NotSupportedError(
      `helper probes for ${typeName} programs`,
      undefined,
      'these programs only load against a kernel function, so a bare probe cannot reach the helper check; libbpf refuses the same probe',
    );
  }
  return answer(name, helperSince(id), () => {
    if (!programType(t).supported) return { supported: false, detail: `program type ${typeName} is not supported` };
    const o = loadOptionsFor(t);
    const r = tryLoad(name, t, program(insn(CALL, 0, 0, 0, id), insn(EXIT, 0, 0, 0, 0)), { ...o, withLog: true });
    if (r.ok) return { supported: true, detail: 'loaded' };
    const refusal = REFUSALS.find((s) => r.log.includes(s));
    if (refusal) return { supported: false, detail: `${r.errnoName}: ${refusal.trim()}` };
    return { supported: true, detail: `${r.errnoName} after the helper check` };
  });
}

/** Every helper this library knows, probed for `type` (only those the kernel lets it call). */
export function helpers(type: ProgramType | ProgramTypeName): FeatureAnswer[] {
  const t = typeof type === 'number' ? type : ProgramType[type];
  if (UNPROBEABLE.has(t)) return [];
  return (Object.keys(Helper) as HelperName[]).filter((h) => h !== 'unspec').map((h) => helper(t, h));
}
