// A parsed BTF blob. Parsing is one pass that records where each type starts; a type's object
// is decoded on first request and cached, and the name index is built after the first lookups by
// name, so the kernel's ~100k types cost little until they are used.
import { decodeType, type TypeSource } from './decode-type.js';
import { BtfError } from './errors.js';
import { parseHeader, type BtfHeader } from './header.js';
import { BTF_MAX_TYPE, BTF_TYPE_HEADER_SIZE, KIND, infoKind, trailingBytes } from './kinds.js';
import { alignOf, findMember, resolveType, sizeOf, type MemberLocation } from './layout.js';
import { NameIndex, sameName } from './name-index.js';
import { StringTable } from './strings.js';
import { HOST_LITTLE_ENDIAN } from '../host.js';
import { VOID, type BtfKind, type BtfType, type TypeId } from './types.js';

/** Options of BTF parsing. */
export interface ParseBtfOptions {
  /** The base spec of split BTF (a kernel module's BTF continues vmlinux's ids and strings). */
  readonly base?: Btf;
}

const KIND_NAMES: readonly BtfKind[] = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
];

/** The name of a BTF kind; the parse admits only known kinds, so another is a broken invariant, reported as such. */
function kindName(kind: number, typeId?: TypeId): BtfKind {
  const name = KIND_NAMES[kind];
  if (name === undefined) throw new BtfError(`unknown BTF kind ${kind}`, { typeId });
  return name;
}

/** trailingBytes(kind, vlen) / 4 = TAIL_FIXED_WORDS[kind] + TAIL_VLEN_WORDS[kind] * vlen; -1 for unknown kinds. */
const TAIL_FIXED_WORDS = new Int32Array(32).fill(-1);
const TAIL_VLEN_WORDS = new Int32Array(32);
for (let kind = 1; kind < 32; kind++) {
  const none = trailingBytes(kind, 0);
  if (none < 0) continue;
  TAIL_FIXED_WORDS[kind] = none / 4;
  TAIL_VLEN_WORDS[kind] = (trailingBytes(kind, 1) - none) / 4;
}

/**
 * Records where each type starts in a native-order, aligned type section, with no check beyond
 * the one that ends the walk: an unknown kind or a record overrunning the section stops it, and
 * the checked walk takes over there to say why. Its own function, so V8 optimizes it on its own.
 */
function walkAlignedTypes(
  words: Uint32Array,
  typeStart: number,
  offsets: Uint32Array,
  infos: Uint32Array,
): { count: number; bytes: number } {
  const count = words.length;
  let n = 0;
  let w = 0;
  while (w + 3 <= count) {
    // Indexed reads, each provably in range: w + 1 < count, kind < 32 = the tables' length.
    // (for..of over a typed array costs about ten times more on Node 20.)
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const tailWords = TAIL_FIXED_WORDS[kind]! + TAIL_VLEN_WORDS[kind]! * (info & 0xffff);
    const next = w + 3 + tailWords;
    if (tailWords < 0 || next > count) break;
    offsets[n] = typeStart + w * 4;
    infos[n] = info;
    n++;
    w = next;
  }
  return { count: n, bytes: w * 4 };
}

/** Lookups by name answered by a scan before the name index is built. */
const SCANS_BEFORE_INDEX = 8;

/** Parses a raw BTF blob; with `options.base`, as split BTF on top of that base. */
export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  return new Btf(bytes, options.base);
}

/** Parsed BTF type information: types by id and by name, and the string table. Iterating yields every type from id 1 on, base types included. */
export class Btf implements Iterable<BtfType> {
  readonly header: BtfHeader;
  readonly base: Btf | undefined;
  /** First type id defined by this blob: 1, or one past the base's last id for split BTF. */
  readonly firstTypeId: TypeId;
  /** Highest valid type id (ids run 0..lastTypeId, 0 being void). */
  readonly lastTypeId: TypeId;
  readonly strings: StringTable;

  private readonly source: TypeSource;
  /** offsets[i] is the absolute offset of type firstTypeId + i; infos[i] its info word. */
  private readonly offsets: Uint32Array;
  private readonly infos: Uint32Array;
  /** Decoded types by index; a Map, since new Array(100k+) alone costs half a millisecond. */
  private readonly decoded = new Map<number, BtfType>();
  private nameIndex: NameIndex | undefined;
  private scans = 0;

  /** Parses `bytes`; with `base`, as split BTF continuing the base's type ids and strings. parseBtf is the usual entry point. */
  constructor(
    readonly bytes: Uint8Array,
    base?: Btf,
  ) {
    const header = parseHeader(bytes);
    this.header = header;
    this.base = base;
    if (base !== undefined && base.header.littleEndian !== header.littleEndian) {
      throw new BtfError('split BTF and its base differ in byte order');
    }
    this.firstTypeId = base === undefined ? 1 : base.lastTypeId + 1;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const stringBytes = bytes.subarray(header.stringStart, header.stringStart + header.stringLength);
    if (base === undefined && (stringBytes.length === 0 || stringBytes[0] !== 0)) {
      throw new BtfError('string section must start with the empty string', { offset: header.stringStart });
    }
    if (stringBytes.length > 0 && stringBytes[stringBytes.length - 1] !== 0) {
      throw new BtfError('string section does not end with NUL', { offset: header.stringStart + stringBytes.length - 1 });
    }
    this.strings = new StringTable(stringBytes, base?.strings.end ?? 0, header.stringStart, base?.strings);

    // Each type takes at least 12 bytes, which bounds the count before reading anything.
    const capacity = Math.floor(header.typeLength / BTF_TYPE_HEADER_SIZE);
    const offsets = new Uint32Array(capacity);
    const infos = new Uint32Array(capacity);
    const le = header.littleEndian;
    const end = header.typeStart + header.typeLength;
    // Native-order, aligned blobs (the usual case) are read through a Uint32Array, which is
    // several times faster than DataView on the 100k-type kernel blob.
    const words =
      le === HOST_LITTLE_ENDIAN && (bytes.byteOffset + header.typeStart) % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset + header.typeStart, header.typeLength / 4)
        : undefined;
    let n = 0;
    let at = header.typeStart;
    if (words !== undefined) {
      const walked = walkAlignedTypes(words, header.typeStart, offsets, infos);
      n = walked.count;
      at += walked.bytes;
    }
    while (at < end) {
      if (at + BTF_TYPE_HEADER_SIZE > end) {
        throw new BtfError('type record runs past the type section', { offset: at, typeId: this.firstTypeId + n });
      }
      const info = view.getUint32(at + 4, le);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const tail = kind === KIND.UNKN ? -1 : trailingBytes(kind, vlen);
      if (tail < 0) throw new BtfError(`unknown BTF kind ${kind}`, { offset: at + 4, typeId: this.firstTypeId + n });
      const next = at + BTF_TYPE_HEADER_SIZE + tail;
      if (next > end) {
        throw new BtfError(`type of kind ${kindName(kind)} with vlen ${vlen} runs past the type section`, {
          offset: at,
          typeId: this.firstTypeId + n,
        });
      }
      offsets[n] = at;
      infos[n] = info;
      n++;
      at = next;
    }
    this.lastTypeId = this.firstTypeId + n - 1;
    if (this.lastTypeId > BTF_MAX_TYPE) throw new BtfError(`${this.lastTypeId} types exceed the kernel's limit`);
    this.offsets = offsets.subarray(0, n);
    this.infos = infos.subarray(0, n);
    this.source = { view, littleEndian: le, strings: this.strings, lastId: this.lastTypeId };
  }

  /** Number of types, base types included and void excluded. */
  get count(): number {
    return this.lastTypeId;
  }

  /** Number of types this blob itself defines. */
  get ownCount(): number {
    return this.offsets.length;
  }

  /** Whether the blob is little-endian (read from its magic). */
  get littleEndian(): boolean {
    return this.header.littleEndian;
  }

  /** The type with id `id` (0 is void; ids below firstTypeId come from the base); throws BtfError when there is none. */
  typeById(id: TypeId): BtfType {
    if (id === 0) return VOID;
    if (id < this.firstTypeId) {
      if (this.base !== undefined && Number.isInteger(id) && id > 0) return this.base.typeById(id);
      throw new BtfError(`no type with id ${id}`, { typeId: id });
    }
    const i = id - this.firstTypeId;
    const offset = this.offsets[i];
    if (offset === undefined) throw new BtfError(`no type with id ${id}`, { typeId: id });
    let t = this.decoded.get(i);
    if (t === undefined) {
      t = Object.freeze(decodeType(this.source, id, offset));
      this.decoded.set(i, t);
    }
    return t;
  }

  /** Where a type's record starts in `bytes`: for editing a copy in place (ids and sizes unchanged). */
  recordOffset(id: TypeId): number {
    const offset = this.offsets[id - this.firstTypeId];
    if (offset === undefined) throw new BtfError(`no type with id ${id} in this blob`, { typeId: id });
    return offset;
  }

  /** The kind of a type without decoding it. */
  kindOf(id: TypeId): BtfKind {
    if (id === 0) return 'void';
    if (id < this.firstTypeId && this.base !== undefined) return this.base.kindOf(id);
    const info = this.infos[id - this.firstTypeId];
    if (info === undefined) throw new BtfError(`no type with id ${id}`, { typeId: id });
    return kindName(infoKind(info), id);
  }

  /** The name of a type without decoding the rest of it. */
  nameOf(id: TypeId): string {
    if (id === 0) return '';
    if (id < this.firstTypeId && this.base !== undefined) return this.base.nameOf(id);
    const offset = this.offsets[id - this.firstTypeId];
    if (offset === undefined) throw new BtfError(`no type with id ${id}`, { typeId: id });
    return this.strings.get(this.source.view.getUint32(offset, this.littleEndian), id);
  }

  /** Every type with this name, base types first, in id order. */
  typesByName(name: string): BtfType[] {
    const out = this.base?.typesByName(name) ?? [];
    for (const id of this.idsNamed(name)) out.push(this.typeById(id));
    return out;
  }

  /** The first type with this name (and kind, if given), or undefined. */
  findType<K extends BtfKind>(name: string, kind?: K): Extract<BtfType, { kind: K }> | undefined {
    const accept = kind === undefined ? undefined : (id: TypeId): boolean => this.kindOf(id) === kind;
    const [id] = this.idsNamed(name, accept, true);
    if (id !== undefined) return this.typeById(id) as Extract<BtfType, { kind: K }>;
    return this.base?.findType(name, kind);
  }

  /** All types from id 1 to the last, base types included. */
  *[Symbol.iterator](): Iterator<BtfType> {
    for (let id = 1; id <= this.lastTypeId; id++) yield this.typeById(id);
  }

  /** Only the types this blob defines (for split BTF, not the base's). */
  *ownTypes(): IterableIterator<BtfType> {
    for (let id = this.firstTypeId; id <= this.lastTypeId; id++) yield this.typeById(id);
  }

  /** The string at `offset` in the string table. */
  string(offset: number): string {
    return this.strings.get(offset);
  }

  /** Skips typedef, const, volatile, restrict and type tags. */
  resolve(id: TypeId): BtfType {
    return resolveType(this, id);
  }

  /** Size in bytes of a value of this type. */
  sizeOf(id: TypeId): number {
    return sizeOf(this, id);
  }

  /** Alignment in bytes of a value of this type, as the compiler laid it out. */
  alignOf(id: TypeId): number {
    return alignOf(this, id);
  }

  /** Finds a member by name, looking into anonymous struct and union members too. */
  findMember(id: TypeId, name: string): MemberLocation | undefined {
    return findMember(this, id, name);
  }

  /**
   * Ids of this blob's types named `name` that `accept` takes, ascending; only the first if
   * `firstOnly`. The first few lookups scan the names in place, which costs a fraction of
   * hashing every name into the index (libbpf always scans); later ones use the index.
   */
  private idsNamed(name: string, accept?: (id: TypeId) => boolean, firstOnly = false): TypeId[] {
    if (this.nameIndex === undefined && this.scans < SCANS_BEFORE_INDEX) {
      this.scans++;
      return this.scanNames(name, accept, firstOnly);
    }
    const ids = this.index().lookup(name);
    const taken = accept === undefined ? ids : ids.filter(accept);
    return firstOnly ? taken.slice(0, 1) : taken;
  }

  private scanNames(name: string, accept: ((id: TypeId) => boolean) | undefined, firstOnly: boolean): TypeId[] {
    const out: TypeId[] = [];
    const want = utf8.encode(name);
    if (want.length === 0) return out;
    const { view, littleEndian } = this.source;
    const own = this.strings.ownBytes;
    const first = this.strings.firstOffset;
    const lead = want[0];
    for (let i = 0; i < this.offsets.length; i++) {
      const off = view.getUint32(this.offsets[i]!, littleEndian); // i < offsets.length
      if (off === 0) continue;
      let bytes = own;
      let at = off - first;
      if (at < 0 || at >= own.length) {
        const where = this.strings.locate(off);
        if (where === undefined) continue;
        bytes = where.bytes;
        at = where.index;
      }
      if (bytes[at] !== lead || !sameName(bytes, at, want)) continue;
      const id = this.firstTypeId + i;
      if (accept !== undefined && !accept(id)) continue;
      out.push(id);
      if (firstOnly) break;
    }
    return out;
  }

  private index(): NameIndex {
    if (this.nameIndex === undefined) {
      const { view, littleEndian } = this.source;
      const nameOffsets = new Uint32Array(this.offsets.length);
      for (let i = 0; i < nameOffsets.length; i++) nameOffsets[i] = view.getUint32(this.offsets[i]!, littleEndian); // same length
      this.nameIndex = new NameIndex(this.strings, nameOffsets, this.firstTypeId);
    }
    return this.nameIndex;
  }
}

const utf8 = new TextEncoder();
