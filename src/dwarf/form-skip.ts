// Stepping over attribute values without decoding them, for the name index: a walk that only needs
// each DIE's name reads the name and moves past every other value by its form's size, with no
// object, BigInt or string made for it. readFormValue is the reader that decodes; both follow the
// same table of forms (DWARF 5 section 7.5.6), and where a value is malformed both end in a
// DwarfError naming the offset.
import { DW_FORM } from './constants.js';
import { DwarfError } from './errors.js';
import type { UnitHeader } from './unit-header.js';

// As readFormValue: a chain of DW_FORM_indirect is legal but pointless, so cap it.
const MAX_INDIRECTION = 4;
// A LEB128 number of more bytes than this is no number any form holds (readFormValue refuses it too).
const MAX_LEB_BYTES = 16;

/**
 * The offset just past the value of `form` that starts at `at` in `info` (a unit's bytes end at
 * `end`). Throws DwarfError for a value that runs past `end` or a form it does not know.
 */
export function skipFormValue(
  info: Uint8Array,
  at: number,
  end: number,
  form: number,
  unit: UnitHeader,
  littleEndian: boolean,
  depth = 0,
): number {
  let next: number;
  switch (form) {
    case DW_FORM.flag_present:
    case DW_FORM.implicit_const:
      return at;
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag:
    case DW_FORM.strx1:
    case DW_FORM.addrx1:
      next = at + 1;
      break;
    case DW_FORM.data2:
    case DW_FORM.ref2:
    case DW_FORM.strx2:
    case DW_FORM.addrx2:
      next = at + 2;
      break;
    case DW_FORM.strx3:
    case DW_FORM.addrx3:
      next = at + 3;
      break;
    case DW_FORM.data4:
    case DW_FORM.ref4:
    case DW_FORM.strx4:
    case DW_FORM.addrx4:
    case DW_FORM.ref_sup4:
      next = at + 4;
      break;
    case DW_FORM.data8:
    case DW_FORM.ref8:
    case DW_FORM.ref_sig8:
    case DW_FORM.ref_sup8:
      next = at + 8;
      break;
    case DW_FORM.data16:
      next = at + 16;
      break;
    case DW_FORM.addr:
      next = at + unit.addressSize;
      break;
    case DW_FORM.strp:
    case DW_FORM.line_strp:
    case DW_FORM.strp_sup:
    case DW_FORM.GNU_strp_alt:
    case DW_FORM.GNU_ref_alt:
    case DW_FORM.sec_offset:
      next = at + unit.offsetSize;
      break;
    case DW_FORM.ref_addr:
      next = at + (unit.version <= 2 ? unit.addressSize : unit.offsetSize);
      break;
    case DW_FORM.udata:
    case DW_FORM.sdata:
    case DW_FORM.strx:
    case DW_FORM.GNU_str_index:
    case DW_FORM.addrx:
    case DW_FORM.GNU_addr_index:
    case DW_FORM.ref_udata:
    case DW_FORM.loclistx:
    case DW_FORM.rnglistx:
      return pastLeb(info, at, end);
    case DW_FORM.string: {
      const nul = info.indexOf(0, at);
      if (nul < 0 || nul >= end) throw new DwarfError('string has no NUL terminator', '.debug_info', at);
      return nul + 1;
    }
    case DW_FORM.exprloc:
    case DW_FORM.block: {
      const start = pastLeb(info, at, end);
      next = start + lebValue(info, at);
      break;
    }
    case DW_FORM.block1:
      next = at + 1 + (at < end ? info[at]! : 0); // at < end <= length
      break;
    case DW_FORM.block2:
      // at + 2 <= end <= length
      next = at + 2 + (at + 2 <= end ? (littleEndian ? info[at]! | (info[at + 1]! << 8) : (info[at]! << 8) | info[at + 1]!) : 0);
      break;
    case DW_FORM.block4:
      next = at + 4 + (at + 4 <= end ? u32(info, at, littleEndian) : 0);
      break;
    case DW_FORM.indirect: {
      const start = pastLeb(info, at, end);
      if (depth >= MAX_INDIRECTION) throw new DwarfError(`DW_FORM_indirect nested more than ${MAX_INDIRECTION} deep`, '.debug_info', at);
      return skipFormValue(info, start, end, lebValue(info, at), unit, littleEndian, depth + 1);
    }
    default:
      throw new DwarfError(`unknown attribute form 0x${form.toString(16)}`, '.debug_info', at);
  }
  if (next > end) throw new DwarfError(`attribute value runs past the end of its unit (0x${end.toString(16)})`, '.debug_info', at);
  return next;
}

/** The offset past the LEB128 number at `at`. */
function pastLeb(info: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end && i - at < MAX_LEB_BYTES; i++) if ((info[i]! & 0x80) === 0) return i + 1; // i < end <= length
  throw new DwarfError('LEB128 number runs past the end of its unit or is longer than 16 bytes', '.debug_info', at);
}

/** The unsigned LEB128 number at `at` (already known to end in bounds), as a double: lengths only. */
function lebValue(info: Uint8Array, at: number): number {
  let value = 0;
  let mult = 1;
  for (let i = at; ; i++) {
    const b = info[i]!; // pastLeb found the number's last byte in bounds
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return value;
    mult *= 128;
  }
}

/** The u32 at `at`, whose four bytes the caller checked are in bounds. */
function u32(info: Uint8Array, at: number, littleEndian: boolean): number {
  const [a, b, c, d] = [info[at]!, info[at + 1]!, info[at + 2]!, info[at + 3]!];
  return littleEndian ? (a | (b << 8) | (c << 16) | (d << 24)) >>> 0 : ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
