// Maps opened by id or pin with their keys and values typed from the BTF the kernel keeps for them.
import { parseBtf } from '../btf/index.js';
import { btfCodec } from '../codec/btf.js';
import { closeFd, getFdById, objGetInfo } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';
import { BpfMap, MapError } from './map.js';

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

/**
 * Opens the map with `id`, decoding keys and values as plain objects from the BTF it was created
 * with (structs by field name, integers as numbers or bigints, enums by name). A map created
 * without BTF is refused: there is nothing to type it with.
 */
export function openTypedMap(id: number): BpfMap<unknown, unknown> {
  const plain = BpfMap.fromId(id);
  try {
    const info = plain.info();
    if (!info.btfId || !info.btfValueTypeId) throw new MapError(`map "${info.name}" (id ${id}) was created without BTF for its key and value: open it with BpfMap.fromId and a codec`);
    const btf = parseBtf(kernelBtfBlob(info.btfId));
    const key = info.btfKeyTypeId ? btfCodec(btf, info.btfKeyTypeId) : undefined;
    const value = btfCodec(btf, info.btfValueTypeId);
    return BpfMap.fromId<unknown, unknown>(id, { key, value });
  } finally {
    plain.close();
  }
}
