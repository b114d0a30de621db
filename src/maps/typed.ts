// Maps opened by id or pin with their keys and values typed from the BTF the kernel keeps for them.
import { parseBtf } from '../btf/index.js';
import { btfCodec } from '../codec/btf.js';
import { kernelBtfBlob } from '../kernel/btf-by-id.js';
import { BpfMap, MapError } from './map.js';

/**
 * Opens the map with `id`, decoding keys and values as plain objects from the BTF it was created
 * with (structs by field name, integers as numbers or bigints, enums by name). A map created
 * without BTF is refused: there is nothing to type it with.
 */
export function openTypedMap(id: number): BpfMap<unknown, unknown> {
  const plain = BpfMap.fromId(id);
  try {
    const info = plain.info();
    if (!info.btfId || !info.btfValueTypeId)
      throw new MapError(
        'btf',
        `map "${info.name}" (id ${id}) was created without BTF for its key and value: open it with BpfMap.fromId and a codec`,
      );
    const btf = parseBtf(kernelBtfBlob(info.btfId));
    const key = info.btfKeyTypeId ? btfCodec(btf, info.btfKeyTypeId) : undefined;
    const value = btfCodec(btf, info.btfValueTypeId);
    return BpfMap.fromId<unknown, unknown>(id, { key, value });
  } finally {
    plain.close();
  }
}
