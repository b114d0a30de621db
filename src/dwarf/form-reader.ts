import type { AttributeValue } from './attribute-value.js';
import type { ByteCursor } from './byte-cursor.js';
import { DW_FORM } from './constants.js';
import type { UnitHeader } from './unit-header.js';

// DW_FORM_indirect names the form in the data; a chain of them is legal but pointless, so cap it.
const MAX_INDIRECTION = 4;

/** Reads one attribute value of `form` at the cursor, as laid out in `unit`. */
export function readFormValue(c: ByteCursor, form: number, unit: UnitHeader, implicitConst?: bigint, depth = 0): AttributeValue {
  switch (form) {
    case DW_FORM.addr:
      return { kind: 'address', value: c.address(unit.addressSize) };
    case DW_FORM.data1:
      return { kind: 'constant', value: BigInt(c.u8()), signed: false };
    case DW_FORM.data2:
      return { kind: 'constant', value: BigInt(c.u16()), signed: false };
    case DW_FORM.data4:
      return { kind: 'constant', value: BigInt(c.u32()), signed: false };
    case DW_FORM.data8:
      return { kind: 'constant', value: c.u64(), signed: false };
    case DW_FORM.udata:
      return { kind: 'constant', value: c.ulebBig(), signed: false };
    case DW_FORM.sdata:
      return { kind: 'constant', value: c.slebBig(), signed: true };
    case DW_FORM.implicit_const:
      if (implicitConst === undefined) throw c.error('DW_FORM_implicit_const reached through DW_FORM_indirect has no value');
      return { kind: 'constant', value: implicitConst, signed: true };
    case DW_FORM.data16:
      return { kind: 'data16', bytes: c.bytesOf(16, 'DW_FORM_data16') };
    case DW_FORM.flag:
      return { kind: 'flag', value: c.u8() !== 0 };
    case DW_FORM.flag_present:
      return { kind: 'flag', value: true };
    case DW_FORM.string:
      return { kind: 'string', value: c.cstring() };
    case DW_FORM.strp:
      return { kind: 'strp', offset: c.uN(unit.offsetSize) };
    case DW_FORM.line_strp:
      return { kind: 'lineStrp', offset: c.uN(unit.offsetSize) };
    case DW_FORM.strp_sup:
    case DW_FORM.GNU_strp_alt:
      return { kind: 'supString', offset: c.uN(unit.offsetSize) };
    case DW_FORM.strx:
    case DW_FORM.GNU_str_index:
      return { kind: 'strx', index: c.uleb() };
    case DW_FORM.strx1:
      return { kind: 'strx', index: c.u8() };
    case DW_FORM.strx2:
      return { kind: 'strx', index: c.u16() };
    case DW_FORM.strx3:
      return { kind: 'strx', index: c.u24() };
    case DW_FORM.strx4:
      return { kind: 'strx', index: c.u32() };
    case DW_FORM.addrx:
    case DW_FORM.GNU_addr_index:
      return { kind: 'addressIndex', index: c.uleb() };
    case DW_FORM.addrx1:
      return { kind: 'addressIndex', index: c.u8() };
    case DW_FORM.addrx2:
      return { kind: 'addressIndex', index: c.u16() };
    case DW_FORM.addrx3:
      return { kind: 'addressIndex', index: c.u24() };
    case DW_FORM.addrx4:
      return { kind: 'addressIndex', index: c.u32() };
    // Unit-relative references become absolute .debug_info offsets here, once.
    case DW_FORM.ref1:
      return { kind: 'reference', offset: unit.offset + c.u8() };
    case DW_FORM.ref2:
      return { kind: 'reference', offset: unit.offset + c.u16() };
    case DW_FORM.ref4:
      return { kind: 'reference', offset: unit.offset + c.u32() };
    case DW_FORM.ref8:
      return { kind: 'reference', offset: unit.offset + c.u64Number() };
    case DW_FORM.ref_udata:
      return { kind: 'reference', offset: unit.offset + c.uleb() };
    case DW_FORM.ref_addr:
      // DWARF 2 sized this like an address; later versions like a section offset.
      return { kind: 'reference', offset: c.uN(unit.version <= 2 ? unit.addressSize : unit.offsetSize) };
    case DW_FORM.ref_sig8:
      return { kind: 'signature', value: c.u64() };
    case DW_FORM.ref_sup4:
      return { kind: 'supReference', offset: c.u32() };
    case DW_FORM.ref_sup8:
      return { kind: 'supReference', offset: c.u64Number() };
    case DW_FORM.GNU_ref_alt:
      return { kind: 'supReference', offset: c.uN(unit.offsetSize) };
    case DW_FORM.sec_offset:
      return { kind: 'secOffset', offset: c.uN(unit.offsetSize) };
    case DW_FORM.loclistx:
    case DW_FORM.rnglistx:
      return { kind: 'listIndex', index: c.uleb() };
    case DW_FORM.exprloc:
      return { kind: 'exprloc', bytes: c.bytesOf(c.uleb(), 'DW_FORM_exprloc') };
    case DW_FORM.block1:
      return { kind: 'block', bytes: c.bytesOf(c.u8(), 'DW_FORM_block1') };
    case DW_FORM.block2:
      return { kind: 'block', bytes: c.bytesOf(c.u16(), 'DW_FORM_block2') };
    case DW_FORM.block4:
      return { kind: 'block', bytes: c.bytesOf(c.u32(), 'DW_FORM_block4') };
    case DW_FORM.block:
      return { kind: 'block', bytes: c.bytesOf(c.uleb(), 'DW_FORM_block') };
    case DW_FORM.indirect: {
      const at = c.offset;
      const actual = c.uleb();
      if (depth >= MAX_INDIRECTION) throw c.error(`DW_FORM_indirect nested more than ${MAX_INDIRECTION} deep`, at);
      return readFormValue(c, actual, unit, undefined, depth + 1);
    }
    default:
      throw c.error(`unknown attribute form 0x${form.toString(16)}`);
  }
}
