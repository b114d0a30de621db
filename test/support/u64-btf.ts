// A BTF blob written by hand, for tests of what reads BTF.

/** A BTF blob written by hand: type 1 is `u64`, an unsigned 64-bit BTF_KIND_INT. */
export function u64Btf(): Uint8Array {
  const strings = Buffer.from('\0u64\0', 'latin1');
  const types = Buffer.alloc(16);
  types.writeUInt32LE(1, 0); // name_off: "u64"
  types.writeUInt32LE(1 << 24, 4); // info: BTF_KIND_INT, vlen 0
  types.writeUInt32LE(8, 8); // size
  types.writeUInt32LE(64, 12); // encoding 0, offset 0, 64 bits
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2); // version
  header.writeUInt32LE(24, 4); // hdr_len
  header.writeUInt32LE(0, 8); // type_off
  header.writeUInt32LE(types.length, 12);
  header.writeUInt32LE(types.length, 16); // str_off
  header.writeUInt32LE(strings.length, 20);
  return Buffer.concat([header, types, strings]);
}
