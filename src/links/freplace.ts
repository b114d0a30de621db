// freplace: an EXT program takes the place of one global function of a loaded program (the
// target), given the target's fd and the function's BTF id in the target's BTF at load, and again
// at link time (or 0 and 0 there, for the load-time target). The kernel puts the replacement in
// through a BPF trampoline, so kernels that refuse trampolines refuse freplace too.
import { parseBtf, type Btf } from '../btf/index.js';
import type { Program } from '../programs/index.js';
import { closeFd, getFdById, linkCreate, objGetInfo, SyscallError } from '../syscall/index.js';
import { BpfCommand, ProgramType } from '../uapi/bpf.js';
import { BpfLink, LinkError } from './link.js';
import { LinkNotSupportedError } from './kprobes.js';

// struct bpf_btf_info: btf@0 (pointer), btf_size@8, id@12.
const BTF_INFO_SIZE = 32;

/** The BTF the kernel holds for object `btfId` (a program's or map's), parsed. */
export function btfById(btfId: number): Btf {
  const fd = getFdById(BpfCommand.BTF_GET_FD_BY_ID, btfId);
  try {
    const size = objGetInfo(fd, BTF_INFO_SIZE).info.readUInt32LE(8);
    const { extra } = objGetInfo(fd, BTF_INFO_SIZE, size, (info, address) => {
      info.writeBigUInt64LE(BigInt(address), 0);
      info.writeUInt32LE(size, 8);
    });
    return parseBtf(new Uint8Array(extra));
  } finally {
    closeFd(fd);
  }
}

/** The BTF id of global function `name` in a loaded program's BTF. */
export function programFunctionBtfId(target: Program, name: string): number {
  const { btfId } = target.info();
  if (!btfId) throw new LinkError(`program "${target.name}" was loaded without BTF: freplace needs the target's BTF to find function "${name}"`);
  const btf = btfById(btfId);
  const fn = btf.findType(name, 'func');
  if (!fn) {
    const funcs: string[] = [];
    for (let id = 1; id <= btf.lastTypeId; id++) if (btf.kindOf(id) === 'func') funcs.push(btf.nameOf(id));
    throw new LinkError(`program "${target.name}" has no function "${name}" in its BTF; it has: ${funcs.join(', ')}`);
  }
  if (fn.linkage !== 'global') throw new LinkError(`function "${name}" of program "${target.name}" is static: only global functions can be replaced (declare it without static, and __noinline)`);
  return fn.id;
}

/** What Program.load needs for an EXT program replacing `functionName` of `target`. */
export function freplaceTarget(target: Program, functionName: string): { type: ProgramType; attachProgFd: number; attachBtfId: number } {
  return { type: ProgramType.EXT, attachProgFd: target.fd, attachBtfId: programFunctionBtfId(target, functionName) };
}

/**
 * Links an EXT program in place of its function: the load-time target by default, or another
 * program with a function of the same signature.
 */
export function attachFreplace(extension: Program, target?: Program, functionName?: string): BpfLink {
  if (extension.type !== ProgramType.EXT) throw new LinkError(`program "${extension.name}" is not an EXT program (type ${extension.type}); load it with freplaceTarget(...)`);
  if ((target === undefined) !== (functionName === undefined)) throw new LinkError('attachFreplace: give both the target program and the function name, or neither');
  const targetBtfId = target ? programFunctionBtfId(target, functionName!) : undefined;
  const what = target ? `freplace/${target.name}:${functionName}` : `freplace/${extension.name}`;
  try {
    return new BpfLink(linkCreate({ progFd: extension.fd, targetFd: target?.fd ?? 0, attachType: 0, ...(targetBtfId ? { targetBtfId } : {}) }), what);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (e.code === 'EPERM' || e.code === 'ENOTSUPP' || e.code === 'EOPNOTSUPP') {
      throw new LinkNotSupportedError('freplace', '5.6', `BPF_LINK_CREATE answered ${e.code}: the kernel refuses the BPF trampoline that splices the replacement in (as it refuses fentry/fexit)`, { cause: e });
    }
    throw new LinkError(`attaching "${extension.name}" to ${what} failed: ${e.message}`, { cause: e });
  }
}
