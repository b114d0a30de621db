// DWARF reader on hand-assembled sections: every form, DWARF 4/5 and 64-bit unit headers, the
// struct queries, hostile input (lying lengths, missing and cyclic abbreviations, reference
// cycles), the decompression helpers, and a seeded mutation loop where only DwarfError may escape.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DW_AT,
  DW_FORM,
  DW_OP,
  DW_TAG,
  DwarfError,
  DwarfReader,
  evaluateMemberLocation,
  findStruct,
  inflateElfCompressed,
  inflateZdebug,
  parseAbbrevTable,
  readUnitHeader,
  structMemberOffset,
  structMembers,
  typeSize,
  type DwarfSections,
} from '../src/dwarf/index.js';
import { ByteWriter, StringTable, writeAbbrevs, type AbbrevSpec } from './dwarf-builder.js';
import { skipFormValue } from '../src/dwarf/form-skip.js';
import { readFormValue } from '../src/dwarf/form-reader.js';
import { ByteCursor } from '../src/dwarf/byte-cursor.js';
import { seededRandom } from './go-support.js';

const F = DW_FORM;
const AT = DW_AT;
const T = DW_TAG;
const AT_PRODUCER = 0x25;
const AT_LANGUAGE = 0x13;
const AT_LOW_PC = 0x11;
const AT_ENCODING = 0x3e;

const ABBREVS: AbbrevSpec[] = [
  {
    code: 1,
    tag: T.compile_unit,
    children: true,
    attrs: [
      [AT.name, F.strx1],
      [AT.str_offsets_base, F.sec_offset],
      [AT.addr_base, F.sec_offset],
      [AT_LOW_PC, F.addrx],
      [AT_PRODUCER, F.line_strp],
      [AT_LANGUAGE, F.data2],
    ],
  },
  {
    code: 2,
    tag: T.base_type,
    children: false,
    attrs: [
      [AT.name, F.strx2],
      [AT.byte_size, F.implicit_const, 8n],
      [AT_ENCODING, F.data1],
    ],
  },
  {
    code: 3,
    tag: T.base_type,
    children: false,
    attrs: [
      [AT.name, F.strx],
      [AT.byte_size, F.data1],
    ],
  },
  { code: 4, tag: T.pointer_type, children: false, attrs: [[AT.type, F.ref4]] },
  {
    code: 5,
    tag: T.structure_type,
    children: true,
    attrs: [
      [AT.name, F.strp],
      [AT.byte_size, F.udata],
    ],
  },
  {
    code: 6,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref1],
      [AT.data_member_location, F.data1],
    ],
  },
  {
    code: 7,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.strx3],
      [AT.type, F.ref2],
      [AT.data_member_location, F.exprloc],
    ],
  },
  {
    code: 8,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.strx4],
      [AT.type, F.ref_udata],
      [AT.data_member_location, F.block1],
    ],
  },
  {
    code: 9,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.line_strp],
      [AT.type, F.ref_addr],
      [AT.data_member_location, F.indirect],
    ],
  },
  {
    code: 10,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref8],
      [AT.data_member_location, F.data2],
      [0x2000, F.data16],
      [0x2001, F.ref_sig8],
      [0x2002, F.flag_present],
      [0x2003, F.flag],
      [0x2004, F.data8],
      [0x2005, F.sdata],
      [0x2006, F.data4],
      [0x2007, F.block2],
      [0x2008, F.block4],
      [0x2009, F.block],
      [0x200a, F.loclistx],
      [0x200b, F.rnglistx],
      [0x200c, F.addrx1],
      [0x200d, F.addrx2],
      [0x200e, F.addrx3],
      [0x200f, F.addrx4],
      [0x2010, F.ref_sup4],
      [0x2011, F.strp_sup],
      [0x2012, F.addr],
      [0x2013, F.ref_sup8],
    ],
  },
  {
    code: 11,
    tag: T.typedef,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref4],
    ],
  },
  { code: 12, tag: T.array_type, children: true, attrs: [[AT.type, F.ref4]] },
  { code: 13, tag: T.subrange_type, children: false, attrs: [[AT.count, F.data1]] },
  {
    code: 14,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref4],
      [AT.data_member_location, F.sdata],
    ],
  },
  {
    code: 15,
    tag: T.structure_type,
    children: false,
    attrs: [
      [AT.name, F.strp],
      [AT.declaration, F.flag_present],
    ],
  },
  // DWARF 4 flavoured: a compile unit with inline strings and DWARF 2 style block locations.
  { code: 16, tag: T.compile_unit, children: true, attrs: [[AT.name, F.string]] },
  {
    code: 17,
    tag: T.structure_type,
    children: true,
    attrs: [
      [AT.name, F.string],
      [AT.byte_size, F.data1],
      [AT.sibling, F.ref4],
    ],
  },
  {
    code: 18,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref4],
      [AT.data_member_location, F.block1],
    ],
  },
  {
    code: 19,
    tag: T.base_type,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.byte_size, F.data1],
    ],
  },
  {
    code: 20,
    tag: T.member,
    children: false,
    attrs: [
      [AT.name, F.string],
      [AT.type, F.ref4],
      [AT.data_bit_offset, F.data1],
      [AT.bit_size, F.data1],
    ],
  },
];

interface Built {
  sections: DwarfSections;
  offsets: Record<string, number>;
}

/** Writes a unit: header (DWARF 2-5, 32/64-bit), then `body`, then patches the length. */
function unit(w: ByteWriter, version: number, abbrevOffset: number, body: (start: number) => void, dwarf64 = false): number {
  const start = w.length;
  if (dwarf64) w.u32(0xffffffff).u64(0);
  else w.u32(0);
  const lengthEnd = w.length;
  w.u16(version);
  const off = dwarf64 ? 8 : 4;
  if (version >= 5) w.u8(1).u8(8).uint(abbrevOffset, off);
  else w.uint(abbrevOffset, off).u8(8);
  body(start);
  const len = w.length - lengthEnd;
  if (dwarf64) {
    const tmp = new ByteWriter().u64(len).bytes;
    for (let i = 0; i < 8; i++) w.bytes[start + 4 + i] = tmp[i];
  } else w.patchU32(start, len);
  return start;
}

function buildSections(): Built {
  const str = new StringTable();
  const lineStr = new StringTable();
  const strIndex: number[] = [];
  const strx = (s: string): number => {
    strIndex.push(str.add(s));
    return strIndex.length - 1;
  };
  const addrs: bigint[] = [0x401000n, 0x402000n];
  const info = new ByteWriter();
  const offsets: Record<string, number> = {};
  const abbrev = writeAbbrevs(ABBREVS);

  // Unit 1: DWARF 5 with string/address indexes and every form.
  offsets.unit5 = unit(info, 5, 0, (start) => {
    offsets.unit5 = start;
    offsets.cu = info.length;
    info.uleb(1).u8(strx('unit5.go')).u32(8).u32(8).uleb(1).u32(lineStr.add('test producer')).u16(0x16);
    offsets.u64 = info.length;
    info.uleb(2).u16(strx('uint64')).u8(7);
    offsets.u32 = info.length;
    info.uleb(3).uleb(strx('uint32')).u8(4);
    offsets.ptr = info.length;
    info.uleb(4).u32(offsets.u64 - offsets.unit5);
    offsets.arr = info.length;
    info.uleb(12).u32(offsets.u32 - offsets.unit5);
    info.uleb(13).u8(4);
    info.u8(0);
    offsets.myint = info.length;
    info
      .uleb(11)
      .cstr('myint')
      .u32(offsets.u64 - offsets.unit5);
    // A declaration first: queries must skip it for the definition below.
    info.uleb(15).u32(str.add('runtime.g'));
    offsets.g = info.length;
    info.uleb(5).u32(str.add('runtime.g')).uleb(200);
    const rel = (o: number): number => o - offsets.unit5;
    info.uleb(6).cstr('stack').u8(rel(offsets.u64)).u8(0);
    info.uleb(7).uint(strx('goid'), 3).u16(rel(offsets.u64)).uleb(3).u8(DW_OP.plus_uconst).uleb(152);
    info.uleb(8).u32(strx('flags')).uleb(rel(offsets.u32)).u8(4).u8(DW_OP.constu).uleb(160).u8(DW_OP.plus);
    info.uleb(9).u32(lineStr.add('ptr')).u32(offsets.ptr).uleb(F.udata).uleb(168);
    info
      .uleb(10)
      .cstr('arr')
      .u64(rel(offsets.arr))
      .u16(176)
      .raw(new Array<number>(16).fill(0xab))
      .u64(0x1122334455667788n)
      .u8(1)
      .u64(0xffffffffffffffffn)
      .sleb(-5)
      .u32(7)
      .u16(2)
      .raw([1, 2])
      .u32(1)
      .raw([3])
      .uleb(0)
      .uleb(3)
      .uleb(4)
      .u8(1)
      .u16(1)
      .uint(1, 3)
      .u32(0)
      .u32(9)
      .u32(9)
      .u64(0xdeadbeefn)
      .u64(9);
    info.uleb(14).cstr('alias').u32(rel(offsets.myint)).sleb(192);
    info.u8(0); // end of runtime.g
    info.u8(0); // end of the CU
  });

  // Unit 2: DWARF 4, inline strings, block locations, a sibling link, a bit field, a typedef cycle.
  offsets.unit4 = unit(info, 4, 0, (start) => {
    offsets.unit4 = start;
    const rel = (o: number): number => o - offsets.unit4;
    info.uleb(16).cstr('unit4.c');
    offsets.int = info.length;
    info.uleb(19).cstr('int').u8(4);
    // cycA -> cycB -> cycA: a reference cycle a hostile file could contain.
    offsets.cycA = info.length;
    info.uleb(11).cstr('cycA').u32(0);
    offsets.cycB = info.length;
    info.uleb(11).cstr('cycB').u32(rel(offsets.cycA));
    info.bytes.splice(offsets.cycA + 1 + 5, 4, ...new ByteWriter().u32(rel(offsets.cycB)).bytes);
    offsets.pair = info.length;
    const siblingAt = info.length + 1 + 'pair'.length + 1 + 1;
    info.uleb(17).cstr('pair').u8(12).u32(0);
    info.uleb(18).cstr('a').u32(rel(offsets.int)).u8(2).u8(DW_OP.plus_uconst).uleb(0);
    info.uleb(18).cstr('b').u32(rel(offsets.int)).u8(2).u8(DW_OP.plus_uconst).uleb(4);
    info.uleb(20).cstr('bits').u32(rel(offsets.int)).u8(68).u8(3);
    info
      .uleb(18)
      .cstr('loop')
      .u32(rel(offsets.cycA))
      .u8(1)
      .u8(DW_OP.lit0 + 8);
    info.u8(0);
    info.patchU32(siblingAt, rel(info.length));
    info.u8(0);
  });

  // Unit 3: 64-bit DWARF 4: offsets in the header and for strp are 8 bytes.
  offsets.unit64 = unit(
    info,
    4,
    0,
    (start) => {
      offsets.unit64 = start;
      const rel = (o: number): number => o - offsets.unit64;
      info.uleb(16).cstr('wide.c');
      offsets.wideInt = info.length;
      info.uleb(19).cstr('long').u8(8);
      info.uleb(17).cstr('wide').u8(16).u32(0);
      info.uleb(6).cstr('x').u8(rel(offsets.wideInt)).u8(0);
      info.uleb(6).cstr('y').u8(rel(offsets.wideInt)).u8(8);
      info.u8(0);
      info.u8(0);
    },
    true,
  );

  const strOffsets = new ByteWriter()
    .u32(4 + 4 * strIndex.length)
    .u16(5)
    .u16(0);
  for (const o of strIndex) strOffsets.u32(o);
  const addr = new ByteWriter()
    .u32(4 + 8 * addrs.length)
    .u16(5)
    .u8(8)
    .u8(0);
  for (const a of addrs) addr.u64(a);
  return {
    sections: {
      info: info.toBytes(),
      abbrev: abbrev.toBytes(),
      str: str.w.toBytes(),
      lineStr: lineStr.w.toBytes(),
      strOffsets: strOffsets.toBytes(),
      addr: addr.toBytes(),
    },
    offsets,
  };
}

describe('DWARF on hand-assembled sections', () => {
  const { sections, offsets } = buildSections();

  it('reads DWARF 5, DWARF 4 and 64-bit DWARF unit headers', () => {
    const dwarf = new DwarfReader(sections);
    const units = dwarf.units();
    expect(units.map((u) => [u.offset, u.version, u.offsetSize, u.addressSize])).toEqual([
      [offsets.unit5, 5, 4, 8],
      [offsets.unit4, 4, 4, 8],
      [offsets.unit64, 4, 8, 8],
    ]);
    expect(units[0].dieOffset).toBe(offsets.unit5 + 12);
    expect(units[1].dieOffset).toBe(offsets.unit4 + 11);
    expect(units[2].dieOffset).toBe(offsets.unit64 + 23);
    expect(dwarf.unitContaining(offsets.pair).offset).toBe(offsets.unit4);
  });

  it('resolves strx, line_strp and addrx through the unit bases', () => {
    const dwarf = new DwarfReader(sections);
    const cu = dwarf.root(dwarf.units()[0]);
    expect(cu.tag).toBe(T.compile_unit);
    expect(dwarf.name(cu)).toBe('unit5.go');
    expect(dwarf.stringAttribute(cu, AT_PRODUCER)).toBe('test producer');
    expect(dwarf.addressOf(dwarf.attribute(cu, AT_LOW_PC)!, cu.unit)).toBe(0x402000n);
    expect(dwarf.constantAttribute(cu, AT_LANGUAGE)).toBe(0x16n);
  });

  it('decodes every form with its value', () => {
    const dwarf = new DwarfReader(sections);
    const g = dwarf.dieAt(offsets.g);
    const arr = dwarf.children(g).find((d) => dwarf.name(d) === 'arr')!;
    const val = (at: number) => dwarf.attribute(arr, at);
    expect(val(0x2000)).toEqual({ kind: 'data16', bytes: new Uint8Array(16).fill(0xab) });
    expect(val(0x2001)).toEqual({ kind: 'signature', value: 0x1122334455667788n });
    expect(val(0x2002)).toEqual({ kind: 'flag', value: true });
    expect(val(0x2003)).toEqual({ kind: 'flag', value: true });
    expect(val(0x2004)).toEqual({ kind: 'constant', value: 0xffffffffffffffffn, signed: false });
    expect(val(0x2005)).toEqual({ kind: 'constant', value: -5n, signed: true });
    expect(val(0x2006)).toEqual({ kind: 'constant', value: 7n, signed: false });
    expect(val(0x2007)).toEqual({ kind: 'block', bytes: Uint8Array.from([1, 2]) });
    expect(val(0x2008)).toEqual({ kind: 'block', bytes: Uint8Array.from([3]) });
    expect(val(0x2009)).toEqual({ kind: 'block', bytes: new Uint8Array(0) });
    expect(val(0x200a)).toEqual({ kind: 'listIndex', index: 3 });
    expect(val(0x200b)).toEqual({ kind: 'listIndex', index: 4 });
    for (const at of [0x200c, 0x200d, 0x200e]) expect(dwarf.addressOf(val(at)!, arr.unit)).toBe(0x402000n);
    expect(dwarf.addressOf(val(0x200f)!, arr.unit)).toBe(0x401000n);
    expect(val(0x2010)).toEqual({ kind: 'supReference', offset: 9 });
    expect(val(0x2011)).toEqual({ kind: 'supString', offset: 9 });
    expect(val(0x2012)).toEqual({ kind: 'address', value: 0xdeadbeefn });
    expect(val(0x2013)).toEqual({ kind: 'supReference', offset: 9 });
    // implicit_const lives in the abbreviation.
    expect(dwarf.constantAttribute(dwarf.dieAt(offsets.u64), AT.byte_size)).toBe(8n);
  });

  it('steps over every form as far as decoding reads it, and refuses a value cut short', () => {
    // The decoder (readFormValue, through walk) is the oracle for the name index's skipping.
    const dwarf = new DwarfReader(sections);
    const forms = new Set<number>();
    let dies = 0;
    for (const unit of dwarf.units()) {
      const table = dwarf.abbrevs(unit);
      for (const { die } of dwarf.walk(unit)) {
        // The abbreviation code is a ULEB128 at the DIE's start; the attributes follow it.
        let at = die.offset;
        let code = 0;
        for (let shift = 0; ; shift += 7) {
          const b = sections.info[at++]!;
          code += (b & 0x7f) * 2 ** shift;
          if ((b & 0x80) === 0) break;
        }
        for (const spec of table.get(code)!.attributes) {
          forms.add(spec.form);
          const decoded = new ByteCursor(sections.info, '.debug_info', at, true, unit.end);
          readFormValue(decoded, spec.form, unit, spec.implicitConst);
          const next = skipFormValue(sections.info, at, unit.end, spec.form, unit, true);
          expect(next, `form 0x${spec.form.toString(16)} at 0x${at.toString(16)}`).toBe(decoded.offset);
          if (next > at) expect(() => skipFormValue(sections.info, at, next - 1, spec.form, unit, true)).toThrow(DwarfError);
          at = next;
        }
        expect(at, `DIE at 0x${die.offset.toString(16)}`).toBe(die.attributesEnd);
        dies++;
      }
    }
    expect(dies).toBeGreaterThan(10);
    // Every form readFormValue knows but DW_FORM_indirect (tested in the hostile cases) appears.
    expect(forms.size).toBeGreaterThanOrEqual(40);
    expect(() => skipFormValue(sections.info, 0, sections.info.length, 0x7f, dwarf.units()[0], true)).toThrow(
      /unknown attribute form 0x7f/,
    );
    // Block lengths of more than one byte, in both byte orders (the sections above hold short ones).
    const unit = dwarf.units()[0];
    const bytes = new Uint8Array(0x20000);
    bytes.set([0x02, 0x01]); // 0x102 little-endian, 0x201 big-endian
    expect(skipFormValue(bytes, 0, bytes.length, F.block2, unit, true)).toBe(2 + 0x102);
    expect(skipFormValue(bytes, 0, bytes.length, F.block2, unit, false)).toBe(2 + 0x201);
    bytes.set([0x00, 0x00, 0x01, 0x00]); // 0x10000 little-endian, 0x100 big-endian
    expect(skipFormValue(bytes, 0, bytes.length, F.block4, unit, true)).toBe(4 + 0x10000);
    expect(skipFormValue(bytes, 0, bytes.length, F.block4, unit, false)).toBe(4 + 0x100);
  });

  it('lists struct members with offsets from constants and expressions, skipping declarations', () => {
    const dwarf = new DwarfReader(sections);
    expect(findStruct(dwarf, 'runtime.g')?.offset).toBe(offsets.g);
    expect(structMembers(dwarf, 'runtime.g')).toEqual([
      { name: 'stack', offset: 0, typeName: 'uint64', size: 8 },
      { name: 'goid', offset: 152, typeName: 'uint64', size: 8 },
      { name: 'flags', offset: 160, typeName: 'uint32', size: 4 },
      { name: 'ptr', offset: 168, typeName: '*uint64', size: 8 },
      { name: 'arr', offset: 176, typeName: '[4]uint32', size: 16 },
      { name: 'alias', offset: 192, typeName: 'myint', size: 8 },
    ]);
    expect(structMemberOffset(dwarf, 'runtime.g', 'goid')).toBe(152);
    expect(structMemberOffset(dwarf, 'runtime.g', 'nope')).toBeUndefined();
    expect(structMemberOffset(dwarf, 'runtime.m', 'goid')).toBeUndefined();
    expect(typeSize(dwarf, 'runtime.g')).toBe(200);
    expect(typeSize(dwarf, 'myint')).toBe(8);
    expect(typeSize(dwarf, 'uint32')).toBe(4);
  });

  it('reads DWARF 4 block locations, bit fields, siblings and 64-bit units; survives a typedef cycle', () => {
    const dwarf = new DwarfReader(sections);
    expect(structMembers(dwarf, 'pair')).toEqual([
      { name: 'a', offset: 0, typeName: 'int', size: 4 },
      { name: 'b', offset: 4, typeName: 'int', size: 4 },
      { name: 'bits', offset: 8, typeName: 'int', size: 4, bitSize: 3, bitOffset: 68 },
      { name: 'loop', offset: 8, typeName: 'cycA', size: undefined },
    ]);
    expect(typeSize(dwarf, 'cycA')).toBeUndefined();
    expect(structMembers(dwarf, 'wide')).toEqual([
      { name: 'x', offset: 0, typeName: 'long', size: 8 },
      { name: 'y', offset: 8, typeName: 'long', size: 8 },
    ]);
  });

  it('walks units in order with depths and reads children lazily', () => {
    const dwarf = new DwarfReader(sections);
    const walked = [...dwarf.walk(dwarf.units()[1])].map(({ die, depth }) => [dwarf.name(die), depth]);
    expect(walked).toEqual([
      ['unit4.c', 0],
      ['int', 1],
      ['cycA', 1],
      ['cycB', 1],
      ['pair', 1],
      ['a', 2],
      ['b', 2],
      ['bits', 2],
      ['loop', 2],
    ]);
    const root = dwarf.root(dwarf.units()[1]);
    expect(dwarf.children(root).map((d) => dwarf.name(d))).toEqual(['int', 'cycA', 'cycB', 'pair']);
    expect(dwarf.allNamed('runtime.g')).toHaveLength(2);
  });
});

describe('DWARF expressions', () => {
  it('evaluates constant member locations', () => {
    expect(evaluateMemberLocation(Uint8Array.from([DW_OP.plus_uconst, 0x98, 0x01]), 8)).toBe(152n);
    expect(evaluateMemberLocation(Uint8Array.from([DW_OP.const1u, 10, DW_OP.const2u, 1, 0, DW_OP.plus]), 8)).toBe(11n);
    expect(evaluateMemberLocation(Uint8Array.from([DW_OP.lit31, DW_OP.lit0 + 1, DW_OP.minus, DW_OP.plus]), 8)).toBe(30n);
    expect(evaluateMemberLocation(Uint8Array.from([DW_OP.consts, 0x7f]), 8)).toBe(-1n);
  });

  it('rejects unsupported or unbalanced expressions with a DwarfError', () => {
    expect(() => evaluateMemberLocation(Uint8Array.from([0x91, 0]), 8)).toThrow(DwarfError); // DW_OP_fbreg
    expect(() => evaluateMemberLocation(Uint8Array.from([DW_OP.drop, DW_OP.drop]), 8)).toThrow(DwarfError);
    expect(() => evaluateMemberLocation(Uint8Array.from([DW_OP.plus_uconst, 0x80]), 8)).toThrow(/past the end/);
    expect(() => evaluateMemberLocation(new Uint8Array(200).fill(DW_OP.nop), 8)).toThrow(/more than 64/);
  });
});

describe('DWARF hostile input', () => {
  const oneUnit = (abbrev: Uint8Array, body: (w: ByteWriter) => void, version = 4): DwarfSections => {
    const info = new ByteWriter();
    unit(info, version, 0, () => body(info));
    return { info: info.toBytes(), abbrev };
  };

  it('names the section and offset of a missing abbreviation code', () => {
    const abbrev = writeAbbrevs([{ code: 1, tag: T.compile_unit, children: false, attrs: [] }]).toBytes();
    const d = new DwarfReader(oneUnit(abbrev, (w) => w.uleb(7)));
    expect(() => d.root(d.units()[0])).toThrow(/\.debug_info\+0xb: abbreviation code 7 not in the table/);
  });

  it('rejects lying unit lengths, bad versions, reserved lengths and bad address sizes', () => {
    const abbrev = writeAbbrevs([]).toBytes();
    expect(() => readUnitHeader(new ByteWriter().u32(100).u16(4).u32(0).u8(8).toBytes(), 0, true)).toThrow(/runs past the section end/);
    expect(() => readUnitHeader(new ByteWriter().u32(7).u16(6).u32(0).u8(8).toBytes(), 0, true)).toThrow(/unsupported DWARF version 6/);
    expect(() => readUnitHeader(new ByteWriter().u32(0xfffffff5).toBytes(), 0, true)).toThrow(/reserved unit length/);
    expect(() => readUnitHeader(new ByteWriter().u32(7).u16(4).u32(0).u8(3).toBytes(), 0, true)).toThrow(/address size 3/);
    expect(() => readUnitHeader(new ByteWriter().u32(8).u16(5).u8(9).u8(8).u32(0).toBytes(), 0, true)).toThrow(/unknown unit type/);
    expect(() => new DwarfReader({ info: Uint8Array.from([1, 2]), abbrev }).units()).toThrow(DwarfError);
  });

  it('rejects unterminated abbreviation tables and wrong children flags', () => {
    expect(() => parseAbbrevTable(Uint8Array.from([1, 0x11, 0, 3, 8]), 0)).toThrow(/past the end/);
    expect(() => parseAbbrevTable(Uint8Array.from([1, 0x11, 7, 0, 0, 0]), 0)).toThrow(/children flag 7/);
    expect(() => parseAbbrevTable(Uint8Array.from([0]), 5)).toThrow(/outside the section/);
  });

  it('indexes a name given through DW_FORM_indirect, as the decoder reads it', () => {
    const abbrev = writeAbbrevs([
      { code: 1, tag: T.compile_unit, children: true, attrs: [] },
      { code: 2, tag: T.structure_type, children: false, attrs: [[AT.name, F.indirect]] },
    ]).toBytes();
    const sections = oneUnit(abbrev, (w) => {
      w.uleb(1);
      w.uleb(2).uleb(F.string).raw(new TextEncoder().encode('via.indirect\0'));
      w.uleb(2).uleb(F.indirect).uleb(F.string).raw(new TextEncoder().encode('twice.indirect\0'));
      w.uleb(0);
    });
    const d = new DwarfReader(sections);
    for (const name of ['via.indirect', 'twice.indirect']) {
      const die = d.findNamed(name);
      expect(die?.tag, name).toBe(T.structure_type);
      expect(d.name(die!)).toBe(name);
    }
  });

  it('caps DW_FORM_indirect chains', () => {
    const abbrev = writeAbbrevs([{ code: 1, tag: T.compile_unit, children: false, attrs: [[AT.name, F.indirect]] }]).toBytes();
    const d = new DwarfReader(oneUnit(abbrev, (w) => w.uleb(1).raw(new Array<number>(20).fill(F.indirect))));
    expect(() => d.root(d.units()[0])).toThrow(/nested more than 4 deep/);
    const d2 = new DwarfReader(oneUnit(abbrev, (w) => w.uleb(1).uleb(F.implicit_const)));
    expect(() => d2.root(d2.units()[0])).toThrow(/implicit_const reached through DW_FORM_indirect/);
  });

  it('does not follow a backward DW_AT_sibling, and stops at the unit end on a missing terminator', () => {
    const abbrev = writeAbbrevs([
      { code: 1, tag: T.compile_unit, children: true, attrs: [] },
      {
        code: 2,
        tag: T.structure_type,
        children: true,
        attrs: [
          [AT.name, F.string],
          [AT.sibling, F.ref4],
        ],
      },
      { code: 3, tag: T.member, children: false, attrs: [[AT.name, F.string]] },
    ]).toBytes();
    // The struct's sibling points back at the CU, which would loop forever if trusted.
    const s = oneUnit(abbrev, (w) => {
      w.uleb(1);
      w.uleb(2).cstr('s').u32(11);
      w.uleb(3).cstr('m');
      // no terminators at all
    });
    const d = new DwarfReader(s);
    const root = d.root(d.units()[0]);
    const kids = d.children(root);
    expect(kids.map((k) => d.name(k))).toEqual(['s']);
    expect(d.children(kids[0]).map((k) => d.name(k))).toEqual(['m']);
    expect([...d.walk(d.units()[0])]).toHaveLength(3);
  });

  it('a self-nesting abbreviation (every DIE opens children, none closes) ends at the unit end', () => {
    const abbrev = writeAbbrevs([{ code: 1, tag: T.structure_type, children: true, attrs: [] }]).toBytes();
    const d = new DwarfReader(oneUnit(abbrev, (w) => w.raw(new Array<number>(20000).fill(1))));
    const u = d.units()[0];
    let count = 0;
    let deepest = 0;
    for (const { depth } of d.walk(u)) {
      count++;
      deepest = Math.max(deepest, depth);
    }
    expect([count, deepest]).toEqual([20000, 19999]);
    expect(d.children(d.root(u))).toHaveLength(1);
    expect(structMembers(d, 'anything')).toBeUndefined();
  });

  it('throws DwarfError for references outside every unit and strings outside their section', () => {
    const abbrev = writeAbbrevs([
      {
        code: 1,
        tag: T.compile_unit,
        children: false,
        attrs: [
          [AT.type, F.ref_addr],
          [AT.name, F.strp],
        ],
      },
    ]).toBytes();
    const d = new DwarfReader({ ...oneUnit(abbrev, (w) => w.uleb(1).u32(0x1000).u32(0x1000)), str: new Uint8Array(4) });
    const root = d.root(d.units()[0]);
    expect(() => d.referencedDie(root, AT.type)).toThrow(/outside every unit/);
    expect(() => d.name(root)).toThrow(/\.debug_str\+0x1000: string offset/);
    const noStr = new DwarfReader(oneUnit(abbrev, (w) => w.uleb(1).u32(0).u32(0)));
    expect(() => noStr.name(noStr.root(noStr.units()[0]))).toThrow(/needs \.debug_str, which was not provided/);
  });
});

describe('DWARF decompression helpers', () => {
  const payload = Buffer.from('hello DWARF '.repeat(100));

  it('inflates GNU .zdebug and SHF_COMPRESSED blobs (ELF64 and ELF32, both byte orders)', () => {
    const z = deflateSync(payload);
    const gnu = Buffer.concat([Buffer.from('ZLIB'), new ByteWriter(false).u64(payload.length).toBytes(), z]);
    expect(Buffer.from(inflateZdebug(gnu))).toEqual(payload);
    const chdr64 = new ByteWriter(true).u32(1).u32(0).u64(payload.length).u64(1).toBytes();
    expect(Buffer.from(inflateElfCompressed(Buffer.concat([chdr64, z]), { elfClass: 64, littleEndian: true }))).toEqual(payload);
    const chdr32 = new ByteWriter(false).u32(1).u32(payload.length).u32(1).toBytes();
    expect(Buffer.from(inflateElfCompressed(Buffer.concat([chdr32, z]), { elfClass: 32, littleEndian: false }))).toEqual(payload);
  });

  it('rejects bad headers, wrong sizes, zstd and corrupt streams with DwarfError', () => {
    const z = deflateSync(payload);
    expect(() => inflateZdebug(Buffer.from('ZLIX00000000'))).toThrow(/missing "ZLIB"/);
    const wrongSize = Buffer.concat([Buffer.from('ZLIB'), new ByteWriter(false).u64(10).toBytes(), z]);
    expect(() => inflateZdebug(wrongSize)).toThrow(DwarfError);
    const tooBig = Buffer.concat([Buffer.from('ZLIB'), new ByteWriter(false).u64(1n << 40n).toBytes(), z]);
    expect(() => inflateZdebug(tooBig)).toThrow(/exceeds/);
    const zstd = new ByteWriter().u32(2).u32(0).u64(5).u64(1).toBytes();
    expect(() => inflateElfCompressed(zstd, { elfClass: 64, littleEndian: true })).toThrow(/zstd/);
    const corrupt = Buffer.concat([new ByteWriter().u32(1).u32(0).u64(5).u64(1).toBytes(), Buffer.from('not zlib')]);
    expect(() => inflateElfCompressed(corrupt, { elfClass: 64, littleEndian: true })).toThrow(/does not inflate/);
  });
});

/** Exercises everything a consumer would call; returns normally or throws. */
function exerciseDwarf(sections: DwarfSections, structName: string): void {
  const d = new DwarfReader(sections);
  for (const u of d.units()) {
    for (const { die } of d.walk(u)) {
      d.name(die);
      if (die.hasChildren) d.children(die);
      for (const a of die.attributes) {
        d.stringOf(a.value, u);
        d.addressOf(a.value, u);
      }
    }
  }
  structMembers(d, structName);
  typeSize(d, structName);
}

describe('DWARF mutation loop', () => {
  it('only DwarfError escapes from mutated or random sections', () => {
    const { sections } = buildSections();
    const rnd = seededRandom(0xd3a4f);
    const keys = ['info', 'abbrev', 'str', 'lineStr', 'strOffsets', 'addr'] as const;
    let typed = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const mutated: DwarfSections = { ...sections };
      const key = keys[Math.floor(rnd() * (iter % 3 === 0 ? keys.length : 2))];
      const bytes = Uint8Array.from(sections[key]!);
      const mode = rnd();
      let out: Uint8Array = bytes;
      if (mode < 0.6) {
        for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      } else if (mode < 0.8) {
        out = bytes.subarray(0, Math.floor(rnd() * bytes.length));
      } else {
        out = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
      }
      mutated[key] = out;
      try {
        exerciseDwarf(mutated, rnd() < 0.5 ? 'runtime.g' : 'pair');
      } catch (e) {
        if (!(e instanceof DwarfError)) throw e;
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(100);
  });
});
