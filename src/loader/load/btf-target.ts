// The kernel BTF id a tracing, LSM or iterator program is loaded against, from its section's target.
import { kernelBtf } from '../../kernel/btf.js';
import { tracingTarget } from '../../kernel/tracing-target.js';
import { LoaderError } from '../../errors/index.js';
import type { BtfTargetKind } from '../spec/section-names.js';
import type { ProgramSpecEntry } from '../spec/types.js';

export function btfTargetId(kind: BtfTargetKind, target: string, object: string, p: ProgramSpecEntry): number {
  try {
    if (kind === 'iter') {
      const t = kernelBtf().findType(`bpf_iter_${target}`, 'func');
      if (!t) throw new LoaderError(`no iterator bpf_iter_${target} in the kernel's BTF`);
      return t.id;
    }
    return tracingTarget(kind, target).attachBtfId;
  } catch (e) {
    throw new LoaderError(`cannot find the attach target of ${p.name}: ${(e as Error).message}`, { file: object, section: p.section, symbol: p.name }, { cause: e });
  }
}
