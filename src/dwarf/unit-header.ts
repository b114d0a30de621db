import { ByteCursor } from './byte-cursor.js';
import { DW_UT } from './constants.js';

/** One unit's header in .debug_info (DWARF 2 to 5, 32- or 64-bit format). */
export interface UnitHeader {
  /** Offset of the unit (its length field) in .debug_info. */
  offset: number;
  /** Offset just past the unit. */
  end: number;
  version: number;
  /** DW_UT_*; versions before 5 only have compile units here. */
  unitType: number;
  /** 4 for 32-bit DWARF, 8 for 64-bit DWARF: the size of section offsets in this unit. */
  offsetSize: 4 | 8;
  addressSize: number;
  abbrevOffset: number;
  /** Offset of the first DIE. */
  dieOffset: number;
  typeSignature?: bigint;
  typeOffset?: number;
  dwoId?: bigint;
}

/** Reads the header of the unit at `offset`; throws a DwarfError when it does not fit or makes no sense. */
export function readUnitHeader(info: Uint8Array, offset: number, littleEndian: boolean): UnitHeader {
  const c = new ByteCursor(info, '.debug_info', offset, littleEndian);
  let length = c.u32();
  let offsetSize: 4 | 8 = 4;
  if (length === 0xffffffff) {
    offsetSize = 8;
    length = c.u64Number();
  } else if (length >= 0xfffffff0) {
    throw c.error(`reserved unit length 0x${length.toString(16)}`, offset);
  }
  const end = c.offset + length;
  if (end > info.length) throw c.error(`unit length 0x${length.toString(16)} runs past the section end`, offset);
  const u = new ByteCursor(info, '.debug_info', c.offset, littleEndian, end);
  const version = u.u16();
  if (version < 2 || version > 5) throw u.error(`unsupported DWARF version ${version}`, offset);
  let unitType: number = DW_UT.compile;
  let addressSize: number;
  let abbrevOffset: number;
  const header: Partial<UnitHeader> = {};
  if (version >= 5) {
    unitType = u.u8();
    addressSize = u.u8();
    abbrevOffset = u.uN(offsetSize);
    switch (unitType) {
      case DW_UT.compile:
      case DW_UT.partial:
        break;
      case DW_UT.skeleton:
      case DW_UT.split_compile:
        header.dwoId = u.u64();
        break;
      case DW_UT.type:
      case DW_UT.split_type:
        header.typeSignature = u.u64();
        header.typeOffset = offset + u.uN(offsetSize);
        break;
      default:
        throw u.error(`unknown unit type 0x${unitType.toString(16)}`, offset);
    }
  } else {
    abbrevOffset = u.uN(offsetSize);
    addressSize = u.u8();
  }
  if (addressSize !== 1 && addressSize !== 2 && addressSize !== 4 && addressSize !== 8) {
    throw u.error(`unsupported address size ${addressSize}`, offset);
  }
  return { ...header, offset, end, version, unitType, offsetSize, addressSize, abbrevOffset, dieOffset: u.offset };
}
