// Test-only: laid-out pclntabs of the Go 1.2 and Go 1.16 formats (which no installed Go writes),
// one function with two files and three lines, for the line-table tests and fuzz seeds.
import type { PclntabFormat } from '../src/go/index.js';
import { ByteWriter } from './dwarf-builder.js';

/** uvarint then zigzag pc-value steps: [value delta, pc delta in quanta]... then a 0 terminator. */
export function pcTable(steps: [number, number][]): number[] {
  const out: number[] = [];
  const uv = (n: number) => {
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
  };
  for (const [dv, dpc] of steps) {
    uv(dv < 0 ? -2 * dv - 1 : 2 * dv);
    uv(dpc);
  }
  out.push(0);
  return out;
}

// Lines: [0x1000,0x1004) line 10, [0x1004,0x1010) line 12, [0x1010,0x1020) line 7.
// Files: [0x1000,0x1010) file 1, [0x1010,0x1020) file 2.
export const PCLN = pcTable([
  [11, 4],
  [2, 12],
  [-5, 16],
]);
export const PCFILE = pcTable([
  [2, 16],
  [1, 16],
]);
export const ENTRY = 0x1000;
export const END = 0x1020;
export const EXPECT: [number, string, number][] = [
  [0x1000, 'a.go', 10],
  [0x1003, 'a.go', 10],
  [0x1004, 'a.go', 12],
  [0x100f, 'a.go', 12],
  [0x1010, 'b.go', 7],
  [0x101f, 'b.go', 7],
];

export function buildLines(format: PclntabFormat, ptrSize: 4 | 8, le: boolean): Uint8Array {
  const w = new ByteWriter(le);
  const word = (v: number) => w.uint(v, ptrSize);
  const magic = { 'go1.2': 0xfffffffb, 'go1.16': 0xfffffffa, 'go1.18': 0xfffffff0, 'go1.20': 0xfffffff1 }[format];
  w.u32(magic).u8(0).u8(0).u8(1).u8(ptrSize);
  const name = Buffer.from('main.f\0');
  const files = ['a.go', 'b.go'].map((f) => Buffer.from(`${f}\0`));
  const funcFields = (nameOff: number, pcfile: number, pcln: number, cu: number) => {
    w.u32(nameOff).u32(0).u32(0).u32(0).u32(pcfile).u32(pcln).u32(0).u32(cu).u8(0).u8(0).u8(0).u8(0);
  };
  if (format === 'go1.2') {
    // header, functab (entry, funcoff)+end, filetab offset, _func, name, pc tables, filetab, file names
    const functab = 8 + ptrSize;
    const filetabOffField = functab + 3 * ptrSize;
    const func = filetabOffField + 4;
    const funcSize = ptrSize + 36;
    const nameAt = func + funcSize;
    const pcfileAt = nameAt + name.length;
    const pclnAt = pcfileAt + PCFILE.length;
    const filetab = pclnAt + PCLN.length;
    const fileNames = filetab + 12;
    word(1);
    word(ENTRY).uint(func, ptrSize);
    word(END);
    w.u32(filetab);
    word(ENTRY);
    funcFields(nameAt, pcfileAt, pclnAt, 0);
    w.raw(name).raw(Uint8Array.from(PCFILE)).raw(Uint8Array.from(PCLN));
    w.u32(3)
      .u32(fileNames)
      .u32(fileNames + files[0].length);
    w.raw(files[0]).raw(files[1]);
    return w.toBytes();
  }
  // go1.16: nfunc nfiles funcnameOff cuOff filetabOff pctabOff pclnOff; tables follow in that order.
  const header = 8 + 7 * ptrSize;
  const funcname = header;
  const cutab = funcname + name.length;
  const filetab = cutab + 4 * 3; // unit 0 uses file numbers 0..2; 0 is unused (0xffffffff)
  const pctab = filetab + files[0].length + files[1].length;
  const pcln = pctab + 1 + PCFILE.length + PCLN.length; // offset 0 of pctab means "no table"
  const funcOff = 2 * ptrSize + ptrSize; // functab: (entry, funcoff) + end, then the _func
  word(1).uint(2, ptrSize).uint(funcname, ptrSize).uint(cutab, ptrSize).uint(filetab, ptrSize).uint(pctab, ptrSize).uint(pcln, ptrSize);
  w.raw(name);
  w.u32(0xffffffff).u32(0).u32(files[0].length);
  w.raw(files[0]).raw(files[1]);
  w.u8(0).raw(Uint8Array.from(PCFILE)).raw(Uint8Array.from(PCLN));
  word(ENTRY).uint(funcOff, ptrSize);
  word(END);
  word(ENTRY);
  funcFields(0, 1, 1 + PCFILE.length, 0);
  return w.toBytes();
}
