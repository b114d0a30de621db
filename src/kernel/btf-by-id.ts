// BTF objects the kernel holds (loaded by any process, listed by `bpftool btf`), read back by id:
// what maps and programs were created with, so they can be decoded by whoever opens them later.
import { closeFd, getFdById, objGetInfo } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';

// struct bpf_btf_info: btf pointer @0, btf_size @8, id @12.
const BTF_INFO_SIZE = 32;

/** The raw BTF blob the kernel holds under `btfId`. */
export function kernelBtfBlob(btfId: number): Uint8Array {
  const fd = getFdById(BpfCommand.BTF_GET_FD_BY_ID, btfId);
  try {
    const size = objGetInfo(fd, BTF_INFO_SIZE).info.readUInt32LE(8);
    const { info, extra } = objGetInfo(fd, BTF_INFO_SIZE, size, (b, address) => {
      b.writeBigUInt64LE(BigInt(address), 0);
      b.writeUInt32LE(size, 8);
    });
    return new Uint8Array(extra.subarray(0, info.readUInt32LE(8)));
  } finally {
    closeFd(fd);
  }
}
