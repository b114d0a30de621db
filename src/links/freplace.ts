// freplace: an EXT program takes the place of one global function of a loaded program (the
// target), given the target's fd and the function's BTF id in the target's BTF at load, and again
// at link time (or 0 and 0 there, for the load-time target). The kernel puts the replacement in
// through a BPF trampoline, so kernels that refuse trampolines refuse freplace too.
import type { Program } from '../programs/index.js';
import { linkCreate, SyscallError } from '../syscall/index.js';
import { ProgramType } from '../uapi/bpf.js';
import { BpfLink, LinkError, attaching } from './link.js';
import { LinkNotSupportedError } from './kprobes.js';

import { programFunctionBtfId } from '../programs/function-btf.js';

export { btfById, freplaceTarget, programFunctionBtfId } from '../programs/function-btf.js';

/**
 * Links an EXT program in place of its function: the load-time target by default, or another
 * program with a function of the same signature.
 */
export function attachFreplace(extension: Program, target?: Program, functionName?: string): BpfLink {
  return attaching(`attaching "${extension.name}" (freplace)`, () => {
    if (extension.type !== ProgramType.EXT)
      throw new LinkError(
        'program',
        `program "${extension.name}" is not an EXT program (type ${extension.type}); load it with freplaceTarget(...)`,
      );
    if ((target === undefined) !== (functionName === undefined))
      throw new LinkError('options', 'attachFreplace: give both the target program and the function name, or neither');
    const targetBtfId = target ? programFunctionBtfId(target, functionName!) : undefined;
    const what = target ? `freplace/${target.name}:${functionName}` : `freplace/${extension.name}`;
    try {
      return new BpfLink(
        linkCreate({ progFd: extension.fd, targetFd: target?.fd ?? 0, attachType: 0, ...(targetBtfId ? { targetBtfId } : {}) }),
        what,
      );
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === 'EPERM' || e.code === 'ENOTSUPP' || e.code === 'EOPNOTSUPP') {
        throw new LinkNotSupportedError(
          'freplace',
          '5.6',
          `BPF_LINK_CREATE answered ${e.code}: the kernel refuses the BPF trampoline that splices the replacement in (as it refuses fentry/fexit)`,
          { cause: e },
        );
      }
      throw new LinkError('attach', `attaching "${extension.name}" to ${what} failed: ${e.message}`, { cause: e });
    }
  });
}
