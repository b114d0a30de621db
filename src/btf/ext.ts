// .BTF.ext: per-ELF-section function info, line info and CO-RE relocation records that tie
// instructions to BTF types and source lines. Strings live in the .BTF string table.
import { BtfError } from './errors.js';
import { detectEndianness } from './header.js';
import type { TypeId } from './types.js';

/** A bpf_func_info record of .BTF.ext: which FUNC type starts at an instruction. */
export interface FuncInfo {
  /** Instruction index in the section (the file stores bytes; divided by 8). */
  readonly insnOffset: number;
  /** A FUNC type. */
  readonly typeId: TypeId;
}

/** A bpf_line_info record of .BTF.ext: the source line an instruction came from. */
export interface LineInfo {
  readonly insnOffset: number;
  readonly fileName: string;
  /** Text of the source line. */
  readonly line: string;
  readonly lineNumber: number;
  readonly column: number;
}

/** A bpf_core_relo record of .BTF.ext: a CO-RE relocation of one instruction. */
export interface CoreRelocation {
  readonly insnOffset: number;
  /** Root type of the access. */
  readonly typeId: TypeId;
  /** Access path like "0:1:2": array index, then member indexes. */
  readonly accessor: string;
  /** enum bpf_core_relo_kind; see CORE_RELO_KIND. */
  readonly kind: number;
}

/** enum bpf_core_relo_kind from include/uapi/linux/bpf.h. */
export const CORE_RELO_KIND = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

/** The parsed contents of a .BTF.ext section. */
export interface BtfExt {
  /** Keyed by ELF section name. */
  readonly funcInfos: ReadonlyMap<string, readonly FuncInfo[]>;
  readonly lineInfos: ReadonlyMap<string, readonly LineInfo[]>;
  readonly coreRelocations: ReadonlyMap<string, readonly CoreRelocation[]>;
  /**
   * Where the strings its records name (file names, source lines, CO-RE accessors) sit in the
   * .BTF string table: the offset each text was read from (the first, if several hold it). A
   * loader that sends the object's own BTF needs these offsets for line records, and the strings
   * of parsed records are these very keys, so looking them up here costs no search of the table.
   */
  readonly stringOffsets: ReadonlyMap<string, number>;
}

/** What .BTF.ext needs from the .BTF it belongs to. */
export interface StringSource {
  /** The string at `offset` of the .BTF string section. */
  string(offset: number): string;
}

const MIN_HEADER = 24;
const CORE_HEADER = 32;
const MIN_FUNC_INFO = 8;
const MIN_LINE_INFO = 16;
const MIN_CORE_RELO = 16;
/** Records of any one kind; far above what a real object holds, and it bounds a corrupt count. */
const MAX_RECORDS = 1 << 24;

/** Parses a .BTF.ext blob (func info, line info and CO-RE relocations); `btf` resolves its string offsets. */
export function parseBtfExt(bytes: Uint8Array, btf: StringSource): BtfExt {
  const le = detectEndianness(bytes, 'BTF.ext blob');
  if (bytes.length < MIN_HEADER) throw new BtfError(`BTF.ext blob is ${bytes.length} bytes, shorter than its header`, { offset: 0 });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(2);
  if (version !== 1) throw new BtfError(`unsupported BTF.ext version ${version}`, { offset: 2 });
  const headerLength = view.getUint32(4, le);
  if (headerLength < MIN_HEADER || headerLength > bytes.length) {
    throw new BtfError(`BTF.ext header length ${headerLength} is outside ${MIN_HEADER}..${bytes.length}`, { offset: 4 });
  }
  const r = new RecordReader(view, le, btf);
  const funcInfos = readSections(r, headerLength, 8, MIN_FUNC_INFO, 'func_info', FUNC_INFO) as Map<string, FuncInfo[]>;
  const lineInfos = readSections(r, headerLength, 16, MIN_LINE_INFO, 'line_info', LINE_INFO) as Map<string, LineInfo[]>;
  const coreRelocations =
    headerLength >= CORE_HEADER
      ? (readSections(r, headerLength, 24, MIN_CORE_RELO, 'CO-RE relocation', CORE_RELO) as Map<string, CoreRelocation[]>)
      : new Map<string, CoreRelocation[]>();
  return { funcInfos, lineInfos, coreRelocations, stringOffsets: r.offsets };
}

const FUNC_INFO = 0;
const LINE_INFO = 1;
const CORE_RELO = 2;
type RecordKind = typeof FUNC_INFO | typeof LINE_INFO | typeof CORE_RELO;

/**
 * Decodes one record of each kind. Methods of one class rather than a closure per kind passed
 * to readSections: a .BTF.ext holds a record per few instructions, and the closures' calls and
 * their captured state cost more than the records' decoding.
 */
class RecordReader {
  /** Line records name the same few file names and source lines over and over: each string is looked up in the BTF once. */
  private readonly strings = new Map<number, string>();
  /** The same, text to offset (the first offset of each text). */
  readonly offsets = new Map<string, number>();

  constructor(
    readonly view: DataView,
    readonly le: boolean,
    private readonly btf: StringSource,
  ) {}

  record(kind: RecordKind, at: number, insnOffset: number): FuncInfo | LineInfo | CoreRelocation {
    const view = this.view;
    const le = this.le;
    if (kind === LINE_INFO) {
      const lineCol = view.getUint32(at + 12, le);
      return {
        insnOffset,
        fileName: this.str(view.getUint32(at + 4, le), at + 4),
        line: this.str(view.getUint32(at + 8, le), at + 8),
        lineNumber: lineCol >>> 10,
        column: lineCol & 0x3ff,
      };
    }
    if (kind === FUNC_INFO) return { insnOffset, typeId: view.getUint32(at + 4, le) };
    return {
      insnOffset,
      typeId: view.getUint32(at + 4, le),
      accessor: this.str(view.getUint32(at + 8, le), at + 8),
      kind: view.getUint32(at + 12, le),
    };
  }

  /** The string at `off` of the .BTF string section; `at` is where the offset was read, for the error. */
  str(off: number, at: number): string {
    const known = this.strings.get(off);
    if (known !== undefined) return known;
    let s: string;
    try {
      s = this.btf.string(off);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError(`BTF.ext string offset ${off} is invalid`, { offset: at }, { cause: e });
      throw e;
    }
    this.strings.set(off, s);
    if (!this.offsets.has(s)) this.offsets.set(s, off);
    return s;
  }
}

/**
 * One info block: a record size, then per section {name_off, count, records}. Records may be
 * larger than this code knows (newer producers append fields); the tail is skipped.
 */
function readSections(
  r: RecordReader,
  headerLength: number,
  fieldAt: number,
  minRecord: number,
  what: string,
  kind: RecordKind,
): Map<string, (FuncInfo | LineInfo | CoreRelocation)[]> {
  const { view, le } = r;
  const out = new Map<string, (FuncInfo | LineInfo | CoreRelocation)[]>();
  const off = view.getUint32(fieldAt, le);
  const len = view.getUint32(fieldAt + 4, le);
  if (len === 0) return out;
  const start = headerLength + off;
  const end = start + len;
  if (end > view.byteLength) throw new BtfError(`${what} block ${start}+${len} runs past the blob`, { offset: fieldAt });
  if (len < 4) throw new BtfError(`${what} block is too short for its record size`, { offset: start });
  const recordSize = view.getUint32(start, le);
  if (recordSize < minRecord || recordSize % 4 !== 0 || recordSize > 1024) {
    throw new BtfError(`${what} record size ${recordSize} is invalid`, { offset: start });
  }
  let at = start + 4;
  let total = 0;
  while (at < end) {
    if (at + 8 > end) throw new BtfError(`${what} section header runs past its block`, { offset: at });
    const name = r.str(view.getUint32(at, le), at);
    const count = view.getUint32(at + 4, le);
    at += 8;
    total += count;
    if (total > MAX_RECORDS || at + count * recordSize > end) {
      throw new BtfError(`${what} section ${JSON.stringify(name)} claims ${count} records past its block`, { offset: at - 4 });
    }
    const records = out.get(name) ?? [];
    for (let i = 0; i < count; i++, at += recordSize) {
      const byteOffset = view.getUint32(at, le);
      if (byteOffset % 8 !== 0) throw new BtfError(`${what} instruction offset ${byteOffset} is not a multiple of 8`, { offset: at });
      records.push(r.record(kind, at, byteOffset / 8));
    }
    out.set(name, records);
  }
  return out;
}
