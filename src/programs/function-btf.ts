// The functions of a loaded program, as its BTF in the kernel names them: what an EXT (freplace)
// program targets, at load (attach_btf_id plus the target's fd) and at link.
import { parseBtf, type Btf } from '../btf/index.js';
import { kernelBtfBlob } from '../kernel/btf-by-id.js';
import { ProgramType } from '../uapi/bpf.js';
import { ProgramError, type Program } from './program.js';

/** The BTF the kernel holds for object `btfId` (a program's or map's), parsed. */
export function btfById(btfId: number): Btf {
  return parseBtf(kernelBtfBlob(btfId));
}

/** The BTF id of global function `name` in a loaded program's BTF. */
export function programFunctionBtfId(target: Program, name: string): number {
  const { btfId } = target.info();
  if (!btfId)
    throw new ProgramError(
      'btf',
      `program "${target.name}" was loaded without BTF: freplace needs the target's BTF to find function "${name}"`,
    );
  const btf = btfById(btfId);
  const fn = btf.findType(name, 'func');
  if (!fn) {
    const funcs: string[] = [];
    for (let id = 1; id <= btf.lastTypeId; id++) if (btf.kindOf(id) === 'func') funcs.push(btf.nameOf(id));
    throw new ProgramError('function', `program "${target.name}" has no function "${name}" in its BTF; it has: ${funcs.join(', ')}`);
  }
  if (fn.linkage !== 'global')
    throw new ProgramError(
      'function',
      `function "${name}" of program "${target.name}" is static: only global functions can be replaced (declare it without static, and __noinline)`,
    );
  return fn.id;
}

/** What Program.load needs for an EXT program replacing `functionName` of `target`. */
export function freplaceTarget(target: Program, functionName: string): { type: ProgramType; attachProgFd: number; attachBtfId: number } {
  return { type: ProgramType.EXT, attachProgFd: target.fd, attachBtfId: programFunctionBtfId(target, functionName) };
}
