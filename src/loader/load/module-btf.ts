// The kernel's BTF objects by name: a module's BTF is handed to the kernel as an fd (fd_array of
// a kfunc call, the high half of a ksym's lddw, attach_btf_obj_fd), found by walking BTF ids.
import { closeFd, getFdById, getNextId, objGetInfo } from '../../syscall/index.js';
import { BpfCommand } from '../../uapi/bpf.js';

// struct bpf_btf_info: btf @0, btf_size @8, id @12, name @16, name_len @24, kernel_btf @28.
const BTF_INFO_SIZE = 32;
const NAME_MAX = 64;

/** A new fd of the kernel BTF object named `name` (a module's), or undefined. The caller closes it. */
export function kernelBtfObjectFd(name: string): number | undefined {
  for (let id = getNextId(BpfCommand.BTF_GET_NEXT_ID, 0); id !== undefined; id = getNextId(BpfCommand.BTF_GET_NEXT_ID, id)) {
    let fd: number;
    try {
      fd = getFdById(BpfCommand.BTF_GET_FD_BY_ID, id);
    } catch {
      continue; // gone since
    }
    let keep = false;
    try {
      const { info, extra } = objGetInfo(fd, BTF_INFO_SIZE, NAME_MAX, (b, address) => {
        b.writeBigUInt64LE(BigInt(address), 16);
        b.writeUInt32LE(NAME_MAX, 24);
      });
      if (info.readUInt32LE(28) === 0) continue; // a program's BTF, not the kernel's
      const end = extra.indexOf(0);
      keep = extra.toString('utf8', 0, end < 0 ? NAME_MAX : end) === name;
    } catch {
      // Not readable: not ours.
    } finally {
      if (!keep) closeFd(fd);
    }
    if (keep) return fd;
  }
  return undefined;
}
