// The kernel BTF id a tracing, LSM or iterator program is loaded against, from its section's
// target: found in the kernel's own BTF, else in a module's split BTF (then the program also
// names that module's BTF object by fd, attach_btf_obj_fd), as libbpf searches them.
import type { Btf } from '../../btf/index.js';
import { kernelBtf, moduleBtf, modulesWithBtf } from '../../kernel/btf.js';
import { LoaderError } from '../../errors/index.js';
import type { BtfTargetKind } from '../spec/section-names.js';
import type { ProgramSpecEntry } from '../spec/types.js';

const NAMES: Record<BtfTargetKind, { prefix: string; kind: 'func' | 'typedef' }> = {
  fentry: { prefix: '', kind: 'func' },
  fexit: { prefix: '', kind: 'func' },
  fmod_ret: { prefix: '', kind: 'func' },
  fsession: { prefix: '', kind: 'func' },
  tp_btf: { prefix: 'btf_trace_', kind: 'typedef' },
  lsm: { prefix: 'bpf_lsm_', kind: 'func' },
  iter: { prefix: 'bpf_iter_', kind: 'func' },
};

export interface BtfTarget {
  readonly id: number;
  /** The module whose BTF holds the target (undefined: the kernel's own). */
  readonly module: string | undefined;
}

/**
 * Finds the target in `target` (a caller-supplied BTF standing for the kernel, when given) or the
 * running kernel's BTF, then in every module's. Throws LoaderError naming the program.
 */
export function findBtfTarget(kind: BtfTargetKind, name: string, object: string, p: ProgramSpecEntry, target?: Btf): BtfTarget {
  const { prefix, kind: btfKind } = NAMES[kind];
  const full = prefix + name;
  const where = { file: object, section: p.section, symbol: p.name };
  let base: Btf;
  try {
    base = target ?? kernelBtf();
  } catch (e) {
    throw new LoaderError(`cannot find the attach target of ${p.name}: ${(e as Error).message}`, where, { cause: e });
  }
  const own = base.findType(full, btfKind);
  if (own) return { id: own.id, module: base.base !== undefined && own.id >= base.firstTypeId ? moduleOf(base) : undefined };
  if (!target) {
    for (const module of modulesWithBtf()) {
      let btf: Btf;
      try {
        btf = moduleBtf(module);
      } catch {
        continue;
      }
      const t = btf.findType(full, btfKind);
      if (t && t.id >= btf.firstTypeId) return { id: t.id, module };
    }
  }
  const what = kind === 'tp_btf' ? 'tracepoint' : kind === 'iter' ? 'iterator' : kind === 'lsm' ? 'LSM hook' : 'kernel function';
  throw new LoaderError(`cannot find the attach target of ${p.name}: no ${what} ${full} in the kernel's BTF or any module's`, where);
}

/** Split BTF given by the caller as a module's: its name is not in the blob; modules are matched by identity. */
function moduleOf(btf: Btf): string | undefined {
  for (const module of modulesWithBtf()) {
    try {
      if (moduleBtf(module) === btf) return module;
    } catch {
      // not loadable
    }
  }
  return undefined;
}
