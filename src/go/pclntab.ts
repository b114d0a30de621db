import { ByteView } from './byte-view.js';
import { GoBinaryError } from './errors.js';
import { FunctionTable } from './function-table.js';
import { sourceLineAt, type LineTableLayout, type SourceLine } from './line-table.js';
import { formatForMagic, type PclntabFormatInfo } from './pclntab-format.js';

// Generic instantiations make long names; anything past this is not a function name.
const MAX_NAME_LENGTH = 16 * 1024;

/** A parsed pclntab header plus raw function entries; names decode lazily. */
export interface Pclntab {
  format: PclntabFormatInfo;
  littleEndian: boolean;
  /** Instruction size unit: 1 on x86, 4 on arm64. */
  quantum: number;
  ptrSize: 4 | 8;
  functionCount: number;
  /** Go 1.18+: the header's runtime.text, which may be 0 or unrelocated (see resolveTextStart). */
  headerTextStart: number | undefined;
  /** Go 1.18+ store entries as offsets from the text start; older formats store addresses. */
  entriesAreRelative: boolean;
  /** Raw entry values, one per function plus the end of the last function. */
  rawEntries: readonly number[];
  /** Name of function `index` (in table order). */
  nameOf(index: number): string;
  /** File and line of `pc` in function `index`, whose entry address is `entry`; undefined when the tables have none. */
  sourceLine(index: number, entry: number, pc: number): SourceLine | undefined;
  /** Lookups with entries made absolute by adding `textStart` (ignored for older formats). */
  functions(textStart: number): FunctionTable;
}

/** Byte order of a pclntab from its magic: true for little-endian, false for big-endian, undefined when the magic is not a known one in either order. */
export function detectPclntabByteOrder(data: Uint8Array): boolean | undefined {
  if (data.length < 4) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (formatForMagic(v.getUint32(0, true))) return true;
  if (formatForMagic(v.getUint32(0, false))) return false;
  return undefined;
}

/** Parses a pclntab from the bytes of .gopclntab (or a slice starting at its magic). */
export function parsePclntab(data: Uint8Array, where = '.gopclntab'): Pclntab {
  if (data.length < 16) throw new GoBinaryError(`pclntab of ${data.length} bytes is shorter than its header`, where, 0);
  const littleEndian = detectPclntabByteOrder(data);
  if (littleEndian === undefined) {
    const m = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new GoBinaryError(`unknown pclntab magic bytes ${m}`, where, 0);
  }
  const v = new ByteView(data, where, littleEndian);
  const format = formatForMagic(v.u32(0))!;
  if (v.u8(4) !== 0 || v.u8(5) !== 0) throw new GoBinaryError('pclntab header padding is not zero', where, 4);
  const quantum = v.u8(6);
  if (quantum !== 1 && quantum !== 2 && quantum !== 4) throw new GoBinaryError(`pclntab quantum ${quantum} is not 1, 2 or 4`, where, 6);
  const ptr = v.u8(7);
  if (ptr !== 4 && ptr !== 8) throw new GoBinaryError(`pclntab pointer size ${ptr} is not 4 or 8`, where, 7);
  const ptrSize: 4 | 8 = ptr;
  const word = (i: number, what: string): number => v.word(8 + i * ptrSize, ptrSize, what);

  const nfunc = word(0, 'nfunc');
  let functab: number;
  let entrySize: number;
  let funcBase: number; // _func offsets are relative to this
  let nameBase: number; // name offsets are relative to this
  let headerTextStart: number | undefined;
  // Line tables are read lazily; their layout is fixed here. Go 1.2 finds its file table through
  // a u32 right after the function table; later formats name every table in the header.
  let lineLayout: () => LineTableLayout;
  switch (format.format) {
    case 'go1.2':
      functab = 8 + ptrSize;
      entrySize = 2 * ptrSize;
      funcBase = 0;
      nameBase = 0;
      lineLayout = () => ({
        entryFieldSize: ptrSize,
        pctabBase: 0,
        quantum,
        filetab: v.u32(functab + nfunc * entrySize + ptrSize, 'file table offset'),
      });
      break;
    case 'go1.16':
      nameBase = word(2, 'funcnameOffset');
      funcBase = word(6, 'pclnOffset');
      functab = funcBase;
      entrySize = 2 * ptrSize;
      lineLayout = () => ({
        entryFieldSize: ptrSize,
        pctabBase: word(5, 'pctabOffset'),
        quantum,
        cutab: word(3, 'cuOffset'),
        filenames: word(4, 'filetabOffset'),
      });
      break;
    default:
      headerTextStart = word(2, 'textStart');
      nameBase = word(3, 'funcnameOffset');
      funcBase = word(7, 'pclnOffset');
      functab = funcBase;
      entrySize = 8;
      lineLayout = () => ({
        entryFieldSize: 4,
        pctabBase: word(6, 'pctabOffset'),
        quantum,
        cutab: word(4, 'cutabOffset'),
        filenames: word(5, 'filetabOffset'),
      });
  }
  // The table needs nfunc entries plus the end marker; a count beyond the data is a lie.
  if (nfunc > (data.length - functab) / entrySize) {
    throw new GoBinaryError(`function count ${nfunc} does not fit in ${data.length} bytes`, where, 8);
  }
  if (nameBase > data.length) throw new GoBinaryError('function name table offset outside the pclntab', where, nameBase);

  const relative = format.format === 'go1.18' || format.format === 'go1.20';
  const rawEntries: number[] = new Array<number>(nfunc + 1);
  const funcOffsets: number[] = new Array<number>(nfunc);
  for (let i = 0; i < nfunc; i++) {
    const at = functab + i * entrySize;
    if (relative) {
      rawEntries[i] = v.u32(at, 'function entry offset');
      funcOffsets[i] = v.u32(at + 4, 'function data offset');
    } else {
      rawEntries[i] = v.word(at, ptrSize, 'function entry');
      funcOffsets[i] = v.word(at + ptrSize, ptrSize, 'function data offset');
    }
  }
  rawEntries[nfunc] = relative
    ? v.u32(functab + nfunc * entrySize, 'end of text')
    : v.word(functab + nfunc * entrySize, ptrSize, 'end of text');

  /** Where function i's _func record starts. */
  const funcAt = (i: number): number => {
    const offset = funcOffsets[i];
    if (offset === undefined) throw new GoBinaryError(`function index ${i} out of range`, where);
    return funcBase + offset;
  };
  const nameOf = (i: number): string => {
    const func = funcAt(i);
    const nameField = func + (relative ? 4 : ptrSize);
    const nameOff = v.i32(nameField, `name offset of function ${i}`);
    return v.cstring(nameBase + nameOff, MAX_NAME_LENGTH, `name of function ${i}`);
  };
  // Whether function i's name is `utf8`, compared where the name lies (FunctionTable.lookup's scan).
  const nameIs = (i: number, utf8: Uint8Array): boolean => {
    const offset = funcOffsets[i];
    if (offset === undefined) return false;
    const nameField = funcBase + offset + (relative ? 4 : ptrSize);
    if (nameField < 0 || nameField + 4 > v.length) return false;
    return v.cstringIs(nameBase + v.i32(nameField, 'function name offset'), utf8);
  };
  let layout: LineTableLayout | undefined;
  const sourceLine = (i: number, entry: number, pc: number): SourceLine | undefined => {
    const func = funcAt(i);
    layout ??= lineLayout();
    return sourceLineAt(v, layout, func, entry, pc);
  };
  // Decode the first and last names now, so a truncated table fails here and not on first use.
  if (nfunc > 0) {
    nameOf(0);
    nameOf(nfunc - 1);
  }

  return {
    format,
    littleEndian,
    quantum,
    ptrSize,
    functionCount: nfunc,
    headerTextStart,
    entriesAreRelative: relative,
    rawEntries,
    nameOf,
    sourceLine,
    functions(textStart: number): FunctionTable {
      const entries = relative ? rawEntries.map((e) => textStart + e) : rawEntries;
      return new FunctionTable(entries, nameOf, where, sourceLine, nameIs);
    },
  };
}
