// Source positions from a pclntab: each function's pcfile and pcln tables (pc-value tables) map a pc
// to a file number and a line; the file number names a file through the file table (Go 1.2-1.15:
// one table for the binary) or through the compilation unit's slice of the cutab (Go 1.16+).
import { type ByteView, readUvarint } from './byte-view.js';
import { GoBinaryError } from './errors.js';

// A file name longer than this is not a file name.
const MAX_FILE_NAME = 4096;
// A function longer than this many pc-value steps is a corrupt table, not code.
const MAX_STEPS = 1 << 20;

/** A source position from a function's pcfile and pcln tables. */
export interface SourceLine {
  file: string;
  line: number;
}

/** Where the line-table structures live inside the pclntab bytes; the shape depends on the format. */
export interface LineTableLayout {
  /** Size of _func's first field: a pointer up to Go 1.17, a u32 entry offset from Go 1.18. */
  entryFieldSize: number;
  /** pc-value table offsets in _func are relative to this. */
  pctabBase: number;
  quantum: number;
  /** Go 1.2-1.15: offset of the file table (u32 count, then u32 offsets of C strings from 0). */
  filetab?: number;
  /** Go 1.16+: offset of the cutab (u32 per file of each unit, offsets into the file name table). */
  cutab?: number;
  /** Go 1.16+: offset of the file name table (C strings). */
  filenames?: number;
}

/**
 * The value of the pc-value table at `tableOff` for `targetPc`, in a function starting at `entry`.
 * Values start at -1 and change by zigzag-coded deltas; each value holds until pc passes the
 * accumulated pc delta (in instruction quanta). Undefined when targetPc is past the table's end.
 */
export function pcValue(
  data: Uint8Array,
  tableOff: number,
  entry: number,
  targetPc: number,
  quantum: number,
  where: string,
): number | undefined {
  if (tableOff === 0) return undefined; // the function has no such table
  let pc = entry;
  let value = -1;
  let at = tableOff;
  for (let step = 0; step < MAX_STEPS; step++) {
    const d = readUvarint(data, at, where);
    if (d.value === 0 && step > 0) return undefined;
    at += d.size;
    // zigzag: the low bit is the sign
    const delta = d.value % 2 === 1 ? -Math.floor(d.value / 2) - 1 : d.value / 2;
    value += delta;
    const p = readUvarint(data, at, where);
    at += p.size;
    pc += p.value * quantum;
    if (targetPc < pc) return value;
  }
  throw new GoBinaryError(`pc-value table has more than ${MAX_STEPS} steps`, where, tableOff);
}

/** Source file and line of `pc` in the function whose _func starts at `funcOff`. */
export function sourceLineAt(v: ByteView, layout: LineTableLayout, funcOff: number, entry: number, pc: number): SourceLine | undefined {
  const field = (n: number, what: string): number => v.u32(funcOff + layout.entryFieldSize + (n - 1) * 4, what);
  const pcfile = field(5, 'pcfile offset');
  const pcln = field(6, 'pcln offset');
  const base = layout.pctabBase;
  const fileNo = pcfile === 0 ? undefined : pcValue(v.bytes, base + pcfile, entry, pc, layout.quantum, v.where);
  const line = pcln === 0 ? undefined : pcValue(v.bytes, base + pcln, entry, pc, layout.quantum, v.where);
  if (fileNo === undefined || line === undefined || fileNo < 0) return undefined;
  const file = fileName(v, layout, fileNo, () => field(8, 'compilation unit offset'));
  return file === undefined ? undefined : { file, line };
}

function fileName(v: ByteView, layout: LineTableLayout, fileNo: number, cuOffset: () => number): string | undefined {
  if (layout.filetab !== undefined) {
    const count = v.u32(layout.filetab, 'file table count');
    // Entry 0 is the count itself; file numbers start at 1.
    if (fileNo < 1 || fileNo >= count) return undefined;
    const nameOff = v.u32(layout.filetab + 4 * fileNo, `file table entry ${fileNo}`);
    return v.cstring(nameOff, MAX_FILE_NAME, `file name ${fileNo}`);
  }
  if (layout.cutab === undefined || layout.filenames === undefined) return undefined;
  const off = v.u32(layout.cutab + 4 * (cuOffset() + fileNo), `cutab entry for file ${fileNo}`);
  if (off === 0xffffffff) return undefined; // a file number the unit does not use
  return v.cstring(layout.filenames + off, MAX_FILE_NAME, `file name ${fileNo}`);
}
