import { BpfCommand, MapType, UpdateFlags, objectName } from '../uapi/bpf.js';
import {
  BatchRegion,
  closeFd,
  commandName,
  elemSlots,
  getFdById,
  mapBatchRaw,
  mapCreate,
  mapCreateAsync,
  mapElemRaw,
  mapElemSlots,
  mapFreeze,
  ByteAddress,
  MapElemCall,
  objGet,
  objPin,
  OwnedFd,
  SyscallError,
  type ElemSlots,
  type MapCreateRequest,
} from '../syscall/index.js';
import type { Codec } from '../codec/index.js';
import { CodecError } from '../codec/index.js';
import { mapInfoFromFd, type MapInfo } from './info.js';
import { possibleCpus } from '../kernel/cpus.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';
import { Errno } from '../errors/errno.js';
import { explainCreateFailure } from './not-supported.js';
import { batchStateOf, MapBatchBuffers } from './batch-buffers.js';

/** Name of a map type: a key of MapType ("HASH", "RINGBUF", ...). */
export type MapTypeName = keyof typeof MapType;

/** What a map is made of. Sizes in bytes. */
export interface MapSpec {
  /** Map type, by number or name. */
  type: MapType | MapTypeName;
  /** Key size in bytes. */
  keySize?: number;
  /** Value size in bytes. */
  valueSize?: number;
  /** Maximum number of entries (for RINGBUF and USER_RINGBUF, the ring size in bytes). */
  maxEntries: number;
  /** BPF_F_* map flags (map_flags). */
  flags?: number;
  /** Map name the kernel shows: cut to 15 bytes, characters other than letters, digits, _ and . replaced by _. */
  name?: string;
  /** Template of the inner map, for array and hash of maps. */
  innerMap?: MapSpec | BpfMap<unknown, unknown>;
  /** NUMA node to allocate on; the kernel reads it only with BPF_F_NUMA_NODE in `flags`. */
  numaNode?: number;
  /** Network device for offloaded maps. */
  ifindex?: number;
  /** Per-type extra (the bloom filter's hash count). */
  mapExtra?: bigint;
  /** fd of the BTF that btfKeyTypeId and btfValueTypeId refer to. */
  btfFd?: number;
  /** BTF type id of the key. */
  btfKeyTypeId?: number;
  /** BTF type id of the value. */
  btfValueTypeId?: number;
  /** A BPF token's fd (BpfToken, 6.9+), for a user namespace with delegated map creation. */
  tokenFd?: number;
}

/** Values the raw (codec-less) interface accepts for a key or value of a given size. */
export type RawInput = Uint8Array | number | bigint | { readonly fd: number };

/** Codecs that turn a map's keys and values into JavaScript values; without one, keys or values are Buffers. */
export interface MapCodecs<K, V> {
  /** Codec of the keys. */
  key?: Codec<K>;
  /** Codec of the values. */
  value?: Codec<V>;
}

/**
 * What a MapError says failed, so callers can `switch (e.kind)`:
 * - `spec`: the map spec cannot describe a map (unknown type, a missing size, no inner map);
 * - `create`: something the map needs before BPF_MAP_CREATE failed (a storage map's BTF);
 * - `btf`: the map has no BTF to type its keys and values from;
 * - `key-size`, `value-size`: a codec or output buffer of the wrong size; `value-count`: per-CPU
 *   values not one per possible CPU, or a batch size that is not a whole number (batch buffers: 1 up); `key-range`: an index outside the map;
 * - `operation`: the operation does not fit the map type (per-CPU or not, keyless, bloom filter);
 * - `closed`: the map was used after close();
 * - the kernel refused an operation on a live map (`cause` is the SyscallError): `lookup`,
 *   `update`, `delete`, `next-key`, `batch`, `pin`, `freeze`.
 * Creating the map itself still fails with the kernel's SyscallError (or NotSupportedError).
 */
export type MapErrorKind =
  | 'spec'
  | 'create'
  | 'btf'
  | 'key-size'
  | 'value-size'
  | 'value-count'
  | 'key-range'
  | 'operation'
  | 'closed'
  | 'lookup'
  | 'update'
  | 'delete'
  | 'next-key'
  | 'batch'
  | 'pin'
  | 'freeze';

/** A map that cannot be created or used as asked; `kind` says what failed. */
export class MapError extends EbpfError {
  /** What failed; `code` stays ERR_MAP whatever the kind. */
  readonly kind: MapErrorKind;

  /** Creates the error of `kind` with `message`; `options.cause` is the underlying error. The code is ERR_MAP. */
  constructor(kind: MapErrorKind, message: string, options?: EbpfErrorOptions) {
    super('ERR_MAP', message, options);
    this.kind = kind;
  }
}

/** The MapError kind of a kernel refusal of each element command. */
const KIND_OF_COMMAND = new Map<number, MapErrorKind>([
  [BpfCommand.MAP_LOOKUP_ELEM, 'lookup'],
  [BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, 'lookup'],
  [BpfCommand.MAP_UPDATE_ELEM, 'update'],
  [BpfCommand.MAP_DELETE_ELEM, 'delete'],
  [BpfCommand.MAP_GET_NEXT_KEY, 'next-key'],
  [BpfCommand.MAP_LOOKUP_BATCH, 'batch'],
  [BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH, 'batch'],
  [BpfCommand.MAP_UPDATE_BATCH, 'batch'],
  [BpfCommand.MAP_DELETE_BATCH, 'batch'],
]);

const PERCPU_TYPES = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE]);
const KEYLESS_TYPES = new Set<number>([MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.RINGBUF, MapType.USER_RINGBUF]);
const FD_VALUE_TYPES = new Set<number>([
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.CGROUP_ARRAY,
]);

/** The MapType number of a map type given by number or name; throws MapError for an unknown name. */
export function mapTypeOf(t: MapType | MapTypeName): MapType {
  if (typeof t === 'number') return t;
  const v = MapType[t];
  if (v === undefined) throw new MapError('spec', `unknown map type "${t}"; known: ${Object.keys(MapType).join(', ')}`);
  return v;
}

const typeName = (t: number): string => Object.keys(MapType).find((k) => MapType[k as MapTypeName] === t) ?? `type ${t}`;

function defaultSizes(type: MapType, spec: MapSpec): { keySize: number; valueSize: number } {
  switch (type) {
    case MapType.RINGBUF:
    case MapType.USER_RINGBUF:
    case MapType.ARENA:
      return { keySize: spec.keySize ?? 0, valueSize: spec.valueSize ?? 0 };
    case MapType.PERF_EVENT_ARRAY:
    case MapType.PROG_ARRAY:
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS:
    case MapType.CGROUP_ARRAY:
      return { keySize: spec.keySize ?? 4, valueSize: spec.valueSize ?? 4 };
    case MapType.QUEUE:
    case MapType.STACK:
    case MapType.BLOOM_FILTER:
      return { keySize: spec.keySize ?? 0, valueSize: need(spec.valueSize, 'valueSize') };
    default:
      return { keySize: need(spec.keySize, 'keySize'), valueSize: need(spec.valueSize, 'valueSize') };
  }
}

function need(v: number | undefined, what: string): number {
  if (v === undefined) throw new MapError('spec', `map spec needs ${what}`);
  return v;
}

/**
 * A BPF map held by a file descriptor. Keys and values are Buffers by default (numbers, bigints and
 * objects with an `fd` are accepted as input), or typed through codecs.
 */
const ARRAY_TYPES = new Set<number>([
  MapType.ARRAY,
  MapType.PERCPU_ARRAY,
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
  MapType.ARRAY_OF_MAPS,
  MapType.CGROUP_ARRAY,
]);

/** A BPF map held by a file descriptor, with keys and values converted through optional codecs. */
export class BpfMap<K = Buffer, V = Buffer> {
  /** The map type. */
  readonly type: MapType;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Maximum number of entries. */
  readonly maxEntries: number;
  /** The map flags. */
  readonly flags: number;
  /** The map name. */
  readonly name: string;
  readonly #key: Codec<K> | undefined;
  readonly #value: Codec<V> | undefined;
  readonly #owned: OwnedFd;
  // Reused buffers: the hot path allocates only what it returns.
  readonly #keyBuf: Buffer;
  readonly #valueBuf: Buffer;
  // Native key and value slots shared by all maps, for delete (lookups and updates use #elem):
  // encoded straight into native memory, no copy and no allocation per call. null: per-CPU, or
  // too big for the slots.
  #slots: ElemSlots | null | undefined;
  // This map's own attr and slots for lookup, lookupInto and update (fd and addresses written
  // once); null: per-CPU, or too big. Made on first use.
  #elem: MapElemCall | null | undefined;
  // The type's per-CPU-ness, read on every element call: a field, not a Set lookup per call.
  readonly #isPerCpu: boolean;
  // Where the last raw key and value (or lookupInto's output) handed to lookupInto/update are:
  // the kernel reads and writes them in place (MapElemCall.runAt).
  readonly #keyAt = new ByteAddress();
  readonly #valueAt = new ByteAddress();

  /** Takes ownership of map `fd` with the properties in `info`; use create, fromFd, fromId or fromPin. */
  protected constructor(
    fd: number,
    info: { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string },
    codecs: MapCodecs<K, V> = {},
  ) {
    // Codecs of the wrong size are refused before the fd is owned: it is closed here, not leaked
    // to the garbage collector.
    const wrongCodec =
      codecs.key && codecs.key.size !== info.keySize
        ? new MapError('key-size', `key codec is ${codecs.key.size} bytes but map "${info.name}" has ${info.keySize}-byte keys`)
        : codecs.value && codecs.value.size !== info.valueSize
          ? new MapError('value-size', `value codec is ${codecs.value.size} bytes but map "${info.name}" has ${info.valueSize}-byte values`)
          : undefined;
    if (wrongCodec) {
      closeFd(fd);
      throw wrongCodec;
    }
    this.#owned = new OwnedFd(fd, `map "${info.name}"`, this);
    this.type = info.type as MapType;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.name = info.name;
    this.#key = codecs.key;
    this.#value = codecs.value;
    this.#isPerCpu = PERCPU_TYPES.has(info.type);
    this.#keyBuf = Buffer.alloc(info.keySize);
    this.#valueBuf = Buffer.alloc(this.#isPerCpu ? 0 : info.valueSize);
  }

  /** Creates a map in the kernel. */
  static create<K = Buffer, V = Buffer>(spec: MapSpec, codecs: MapCodecs<K, V> = {}): BpfMap<K, V> {
    const c = creation(spec);
    try {
      let fd: number;
      try {
        fd = mapCreate(c.request);
      } catch (e) {
        throw explainCreateFailure(e, c.request.type, c.name);
      }
      return new BpfMap<K, V>(fd, c.info, codecs);
    } finally {
      c.release();
    }
  }

  /**
   * create, with the kernel's work (allocating and, for preallocated and per-CPU maps, filling the
   * map's memory) done on libuv's pool: several maps can be created at once, and this thread goes
   * on meanwhile. Same checks, errors and result as create.
   */
  static async createAsync<K = Buffer, V = Buffer>(spec: MapSpec, codecs: MapCodecs<K, V> = {}): Promise<BpfMap<K, V>> {
    const c = creation(spec);
    try {
      let fd: number;
      try {
        fd = await mapCreateAsync(c.request);
      } catch (e) {
        throw explainCreateFailure(e, c.request.type, c.name);
      }
      return new BpfMap<K, V>(fd, c.info, codecs);
    } finally {
      c.release();
    }
  }

  /** Takes ownership of `fd` (a map fd from elsewhere) and reads its properties from the kernel. */
  static fromFd<K = Buffer, V = Buffer>(fd: number, codecs: MapCodecs<K, V> = {}): BpfMap<K, V> {
    let info: MapInfo;
    try {
      info = mapInfoFromFd(fd);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return new BpfMap<K, V>(fd, info, codecs);
  }

  /** Opens the map with kernel id `id` (BPF_MAP_GET_FD_BY_ID). */
  static fromId<K = Buffer, V = Buffer>(id: number, codecs: MapCodecs<K, V> = {}): BpfMap<K, V> {
    return BpfMap.fromFd(getFdById(BpfCommand.MAP_GET_FD_BY_ID, id), codecs);
  }

  /** Opens the map pinned at `path` in bpffs. */
  static fromPin<K = Buffer, V = Buffer>(path: string, codecs: MapCodecs<K, V> = {}): BpfMap<K, V> {
    return BpfMap.fromFd(objGet(path), codecs);
  }

  /** Whether the map holds one value per CPU (the PERCPU_* map types). */
  get isPerCpu(): boolean {
    return this.#isPerCpu;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** The kernel's view of the map (BPF_OBJ_GET_INFO_BY_FD). */
  info(): MapInfo {
    return mapInfoFromFd(this.#live());
  }

  /** Pins the map at `path` in bpffs, so it outlives this process. */
  pin(path: string): void {
    const fd = this.#live();
    this.#refused('pin', `pin at ${path}`, () => objPin(fd, path));
  }

  /** Makes the map read-only for user space from now on (programs may still write). */
  freeze(): void {
    const fd = this.#live();
    this.#refused('freeze', 'freeze', () => mapFreeze(fd));
  }

  /** Closes the map's fd. Calling it again does nothing. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The map's file descriptor; throws once the map is closed, so a stale number never reaches the kernel. */
  get fd(): number {
    return this.#live();
  }

  #live(): number {
    if (this.#owned.closed) throw new MapError('closed', `map "${this.name}" is closed`);
    return this.#owned.raw;
  }

  // ---- encoding -------------------------------------------------------------------------------

  // Raw bytes of the exact size always pass as they are, typed map or not.
  #encodeKey(key: K | RawInput, into: Buffer = this.#keyBuf): Buffer {
    if (this.#key && !isRawBytes(key, this.keySize)) this.#key.encode(key as K, into, 0);
    else coerce(key as RawInput, into, 'key', this.name);
    return into;
  }

  #encodeValue(value: V | RawInput, into: Buffer = this.#valueBuf, offset = 0, size = this.valueSize): void {
    if (this.#value && !isRawBytes(value, this.valueSize)) this.#value.encode(value as V, into, offset);
    else coerce(value as RawInput, size === into.length && offset === 0 ? into : into.subarray(offset, offset + size), 'value', this.name);
  }

  #decodeKey(b: Buffer): K {
    return this.#key ? this.#key.decode(b, 0) : (Buffer.from(b) as unknown as K);
  }

  #decodeValue(b: Buffer, offset = 0): V {
    if (this.#value) return this.#value.decode(b, offset);
    // A whole buffer is copied without making a view of it first, into a slice of Node's pool
    // (allocUnsafe, then set: measured 75-85 ns for 24 bytes against 110-170 for Buffer.from).
    if (offset === 0 && b.length === this.valueSize) {
      const copy = Buffer.allocUnsafe(this.valueSize);
      copy.set(b);
      return copy as unknown as V;
    }
    return Buffer.from(b.subarray(offset, offset + this.valueSize)) as unknown as V;
  }

  // The kernel refused an operation on this map: a MapError whose kind names the operation, with
  // the kernel's SyscallError (errno, hint) as its cause, so `errnoOf(e)` still answers.
  #fail(cmd: number, ret: number, what: string): never {
    // E2BIG from an update: an array's index is out of range; a hash is full (the generic hint).
    const arrayIndex =
      -ret === Errno.E2BIG && cmd === BpfCommand.MAP_UPDATE_ELEM && ARRAY_TYPES.has(this.type)
        ? `the index is beyond the array's ${this.maxEntries} entries (0..${this.maxEntries - 1})`
        : undefined;
    const cause = new SyscallError(commandName(cmd), -ret, `map "${this.name}" (${typeName(this.type)}) ${what}`, arrayIndex);
    throw new MapError(KIND_OF_COMMAND.get(cmd) ?? 'lookup', `map "${this.name}": ${what} failed: ${cause.message}`, { cause });
  }

  // A pin or freeze the kernel refused, wrapped the same way.
  #refused(kind: MapErrorKind, what: string, run: () => void): void {
    try {
      run();
    } catch (e) {
      if (e instanceof SyscallError) throw new MapError(kind, `map "${this.name}": ${what} failed: ${e.message}`, { cause: e });
      throw e;
    }
  }

  #notPerCpu(op: string): void {
    if (this.#isPerCpu)
      throw new MapError('operation', `map "${this.name}" is per-CPU: use ${op}PerCpu, which takes or returns one value per possible CPU`);
  }

  // ---- elements -------------------------------------------------------------------------------

  #slotsOf(): ElemSlots | null {
    if (this.#slots === undefined) this.#slots = this.#isPerCpu ? null : (elemSlots(this.keySize, this.valueSize) ?? null);
    return this.#slots;
  }

  #elemOf(): MapElemCall | null {
    if (this.#elem === undefined)
      this.#elem =
        this.#isPerCpu || !MapElemCall.fits(this.keySize, this.valueSize)
          ? null
          : new MapElemCall(this.#live(), this.keySize, this.valueSize);
    return this.#elem;
  }

  /** The value at `key`, or undefined when there is none. */
  lookup(key: K | RawInput, flags = 0): V | undefined {
    if (this.#isPerCpu) this.#notPerCpu('lookup');
    const s = this.#elem === undefined ? this.#elemOf() : this.#elem;
    if (s) {
      this.#live();
      // Raw key bytes of the right size go straight into the slot (the common hot-loop case).
      if (key instanceof Uint8Array && key.length === this.keySize) s.key.set(key);
      else this.#encodeKey(key, s.key);
      const ret = s.run(BpfCommand.MAP_LOOKUP_ELEM, flags);
      if (ret === -Errno.ENOENT) return undefined;
      if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'lookup');
      return this.#decodeValue(s.value);
    }
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, this.#live(), this.#encodeKey(key), null, this.#valueBuf, flags);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'lookup');
    return this.#decodeValue(this.#valueBuf);
  }

  /**
   * Copies the value at `key` into `out` (its first valueSize bytes) and returns true, or returns
   * false when there is none (`out` untouched). With a raw key (a Uint8Array of the key's size) it
   * allocates nothing, for hot loops: a key and an `out` handed over again (a loop's reused
   * buffers) are read and written by the kernel in place, others travel through native slots.
   * The map keeps a reference to the last ones.
   */
  lookupInto(key: K | RawInput, out: Uint8Array, flags = 0): boolean {
    if (this.#isPerCpu) this.#notPerCpu('lookup');
    if (!(out instanceof Uint8Array) || out.length < this.valueSize) {
      throw new MapError(
        'value-size',
        `map "${this.name}": lookupInto needs a Uint8Array of at least ${this.valueSize} bytes for the value, got ${out instanceof Uint8Array ? `${out.length} bytes` : typeof out}`,
      );
    }
    const s = this.#elem === undefined ? this.#elemOf() : this.#elem;
    if (s) {
      this.#live();
      if (key instanceof Uint8Array && key.length === this.keySize) {
        // The kernel reads the key from `key` and writes the value into `out` (lengths checked
        // above, on this call): nothing copied.
        if (this.#keyAt.of(key) && this.#valueAt.of(out)) {
          const ret = s.runAt(BpfCommand.MAP_LOOKUP_ELEM, flags, this.#keyAt, this.#valueAt);
          if (ret === -Errno.ENOENT) return false;
          if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'lookup');
          return true;
        }
        s.key.set(key);
      } else this.#encodeKey(key, s.key);
      const ret = s.run(BpfCommand.MAP_LOOKUP_ELEM, flags);
      if (ret === -Errno.ENOENT) return false;
      if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'lookup');
      out.set(s.value);
      return true;
    }
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, this.#live(), this.#encodeKey(key), null, this.#valueBuf, flags);
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'lookup');
    out.set(this.#valueBuf);
    return true;
  }

  /**
   * Sets `key` to `value`. flags: UpdateFlags.ANY (default), NOEXIST, EXIST, F_LOCK. With a raw key
   * and value (Uint8Arrays of the map's sizes) it allocates nothing; handed over again, they are
   * read by the kernel in place.
   */
  update(key: K | RawInput, value: V | RawInput, flags: number = UpdateFlags.ANY): void {
    if (this.#isPerCpu) this.#notPerCpu('update');
    const s = this.#elem === undefined ? this.#elemOf() : this.#elem;
    if (s) {
      // Raw key and value of the map's sizes: the kernel reads both where they are, nothing copied.
      if (
        key instanceof Uint8Array &&
        key.length === this.keySize &&
        value instanceof Uint8Array &&
        value.length === this.valueSize &&
        this.#keyAt.of(key) &&
        this.#valueAt.of(value)
      ) {
        this.#live();
        const ret = s.runAt(BpfCommand.MAP_UPDATE_ELEM, flags, this.#keyAt, this.#valueAt);
        if (ret < 0) this.#fail(BpfCommand.MAP_UPDATE_ELEM, ret, 'update');
        return;
      }
      if (value instanceof Uint8Array && value.length === this.valueSize) s.value.set(value);
      else this.#encodeValue(value, s.value);
      this.#live();
      if (key instanceof Uint8Array && key.length === this.keySize) s.key.set(key);
      else this.#encodeKey(key, s.key);
      const ret = s.run(BpfCommand.MAP_UPDATE_ELEM, flags);
      if (ret < 0) this.#fail(BpfCommand.MAP_UPDATE_ELEM, ret, 'update');
      return;
    }
    this.#encodeValue(value);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.#live(), this.#encodeKey(key), this.#valueBuf, null, flags);
    if (ret < 0) this.#fail(BpfCommand.MAP_UPDATE_ELEM, ret, 'update');
  }

  /** Removes `key`; returns whether it was there. With a raw key it allocates nothing. */
  delete(key: K | RawInput): boolean {
    const s = this.#slotsOf();
    let ret: number;
    if (s) {
      const fd = this.#live();
      this.#encodeKey(key, s.key);
      ret = mapElemSlots(BpfCommand.MAP_DELETE_ELEM, fd, s, true, false, 0);
    } else {
      ret = mapElemRaw(BpfCommand.MAP_DELETE_ELEM, this.#live(), this.#encodeKey(key), null, null, 0);
    }
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) this.#fail(BpfCommand.MAP_DELETE_ELEM, ret, 'delete');
    return true;
  }

  /** The key after `key` (the first key when `key` is undefined), or undefined at the end. */
  nextKey(key?: K | RawInput): K | undefined {
    const out = Buffer.alloc(this.keySize);
    const ret = mapElemRaw(BpfCommand.MAP_GET_NEXT_KEY, this.#live(), key === undefined ? null : this.#encodeKey(key), null, out, 0);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) this.#fail(BpfCommand.MAP_GET_NEXT_KEY, ret, 'next key');
    return this.#decodeKey(out);
  }

  /** Removes and returns the value at `key`; undefined when there is none. */
  lookupAndDelete(key: K | RawInput): V | undefined {
    this.#notPerCpu('lookupAndDelete');
    return this.#lookupAndDelete(this.#encodeKey(key));
  }

  #lookupAndDelete(key: Buffer | null): V | undefined {
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, this.#live(), key, null, this.#valueBuf, 0);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_AND_DELETE_ELEM, ret, 'lookup and delete');
    return this.#decodeValue(this.#valueBuf);
  }

  // ---- queue, stack, bloom filter -------------------------------------------------------------

  /** Queue/stack: adds a value (BPF_EXIST overwrites the oldest when full). Bloom filter: adds. */
  push(value: V | RawInput, flags = 0): void {
    this.#keyless('push');
    this.#encodeValue(value);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.#live(), null, this.#valueBuf, null, flags);
    if (ret < 0) this.#fail(BpfCommand.MAP_UPDATE_ELEM, ret, 'push');
  }

  /** Queue/stack: removes and returns the next value, or undefined when empty. */
  pop(): V | undefined {
    this.#keyless('pop');
    return this.#lookupAndDelete(null);
  }

  /** Queue/stack: the next value without removing it, or undefined when empty. */
  peek(): V | undefined {
    this.#keyless('peek');
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, this.#live(), null, null, this.#valueBuf, 0);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'peek');
    return this.#decodeValue(this.#valueBuf);
  }

  /** Bloom filter: false if `value` was certainly never pushed, true if it may have been. */
  mayContain(value: V | RawInput): boolean {
    if (this.type !== MapType.BLOOM_FILTER)
      throw new MapError('operation', `mayContain is for bloom filters; map "${this.name}" is ${typeName(this.type)}`);
    this.#encodeValue(value);
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, this.#live(), null, this.#valueBuf, null, 0);
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'bloom filter lookup');
    return true;
  }

  #keyless(op: string): void {
    if (!KEYLESS_TYPES.has(this.type))
      throw new MapError('operation', `${op} is for queue, stack and bloom filter maps; map "${this.name}" is ${typeName(this.type)}`);
  }

  // ---- per-CPU --------------------------------------------------------------------------------

  /** Size of one CPU's slot in a per-CPU value: the value rounded up to 8 bytes. */
  get perCpuStride(): number {
    return (this.valueSize + 7) & ~7;
  }

  /** One value per possible CPU, indexed by CPU number; undefined when the key is absent. */
  lookupPerCpu(key: K | RawInput): V[] | undefined {
    this.#perCpu('lookupPerCpu');
    const n = possibleCpus();
    const out = Buffer.alloc(this.perCpuStride * n);
    const ret = mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, this.#live(), this.#encodeKey(key), null, out, 0);
    if (ret === -Errno.ENOENT) return undefined;
    if (ret < 0) this.#fail(BpfCommand.MAP_LOOKUP_ELEM, ret, 'per-CPU lookup');
    return this.#splitPerCpu(out, 0);
  }

  /** Sets one value per possible CPU (all CPUs get `values` when it is a single value). */
  updatePerCpu(key: K | RawInput, values: readonly (V | RawInput)[] | V | RawInput, flags: number = UpdateFlags.ANY): void {
    this.#perCpu('updatePerCpu');
    const n = possibleCpus();
    const list = Array.isArray(values) ? values : new Array(n).fill(values);
    if (list.length !== n) throw new MapError('value-count', `map "${this.name}": ${list.length} values given for ${n} possible CPUs`);
    const buf = Buffer.alloc(this.perCpuStride * n);
    for (let i = 0; i < n; i++) this.#encodeValue(list[i], buf, i * this.perCpuStride, this.valueSize);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.#live(), this.#encodeKey(key), buf, null, flags);
    if (ret < 0) this.#fail(BpfCommand.MAP_UPDATE_ELEM, ret, 'per-CPU update');
  }

  #splitPerCpu(b: Buffer, offset: number): V[] {
    const n = possibleCpus();
    const out: V[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#decodeValue(b, offset + i * this.perCpuStride);
    return out;
  }

  #perCpu(op: string): void {
    if (!this.isPerCpu) throw new MapError('operation', `${op} is for per-CPU maps; map "${this.name}" is ${typeName(this.type)}`);
  }

  // ---- iteration ------------------------------------------------------------------------------

  /** Keys in the kernel's order. A key deleted while iterating restarts the walk at the kernel's discretion. */
  *keys(): IterableIterator<K> {
    const cur = Buffer.alloc(this.keySize);
    const next = Buffer.alloc(this.keySize);
    let first = true;
    for (;;) {
      const ret = mapElemRaw(BpfCommand.MAP_GET_NEXT_KEY, this.#live(), first ? null : cur, null, next, 0);
      if (ret === -Errno.ENOENT) return;
      if (ret < 0) this.#fail(BpfCommand.MAP_GET_NEXT_KEY, ret, 'iteration');
      first = false;
      next.copy(cur);
      yield this.#decodeKey(next);
    }
  }

  /** [key, value] pairs; per-CPU maps yield one value per CPU. Entries removed mid-walk are skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** [key, values] pairs of a per-CPU map, one value per possible CPU. Entries removed mid-walk are skipped. */
  *entriesPerCpu(): IterableIterator<[K, V[]]> {
    for (const k of this.keys()) {
      const v = this.lookupPerCpu(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** Same as entries(). */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Entries, fetched in batches where the kernel has them, yielding to the event loop between batches. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<[K, V]> {
    if (this.isPerCpu) throw new MapError('operation', `map "${this.name}" is per-CPU: iterate with entriesPerCpu()`);
    let batch: [K, V][] = [];
    for (const e of this.entries()) {
      batch.push(e);
      if (batch.length === 256) {
        yield* batch;
        batch = [];
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    yield* batch;
  }

  // ---- batches --------------------------------------------------------------------------------

  /**
   * Looks up (and with `del`, removes) up to `count` entries per call, starting after `cursor`.
   * Returns the raw keys and values (`count` × keySize and × value size, per-CPU values as
   * possible CPUs × 8-byte-rounded slots) and the cursor for the next call, or done.
   */
  lookupBatchRaw(
    count: number,
    cursor?: Buffer,
    del = false,
  ): { keys: Buffer; values: Buffer; count: number; cursor: Buffer; done: boolean } {
    // The kernel writes the keys and values straight into the memory returned (views of one fresh
    // region), with no copy out of the scratch region. A loop that wants no allocation at all
    // uses batchBuffers() and lookupBatchInto().
    const region = this.#batchRegion(count);
    if (cursor) region.region.buffer.set(cursor.subarray(0, region.cursorSize), region.inOffset);
    const cmd = del ? BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.MAP_LOOKUP_BATCH;
    const ret = region.lookup(cmd, this.#live(), count, cursor !== undefined);
    if (ret < 0 && ret !== -Errno.ENOENT) this.#fail(cmd, ret, 'batch lookup');
    const n = region.written;
    return {
      keys: region.keys.subarray(0, n * this.keySize),
      values: region.values.subarray(0, n * region.valueSize),
      count: n,
      cursor: Buffer.from(region.region.buffer.subarray(region.outOffset, region.outOffset + region.cursorSize)),
      done: ret === -Errno.ENOENT,
    };
  }

  // Native-addressable memory for `count` entries of this map, with cursors sized as its key (hash
  // maps) or 4 bytes (arrays: an index).
  #batchRegion(count: number): BatchRegion {
    if (!Number.isInteger(count) || count < 0 || count > 0xffff_ffff)
      throw new MapError('value-count', `map "${this.name}": a batch holds a whole number of entries, got ${count}`);
    const valueSlot = this.isPerCpu ? this.perCpuStride * possibleCpus() : this.valueSize;
    return new BatchRegion(count, this.keySize, valueSlot, Math.max(this.keySize, 4));
  }

  /**
   * Buffers for lookupBatchInto: room for `capacity` keys and values of this map, made once and
   * reused by every call, so a loop of batch lookups allocates nothing. Only this map can fill
   * them (their cursor is a position in this map).
   */
  batchBuffers(capacity: number): MapBatchBuffers {
    this.#live();
    if (capacity < 1) throw new MapError('value-count', `map "${this.name}": batch buffers hold at least one entry, got ${capacity}`);
    return new MapBatchBuffers(this, this.#batchRegion(capacity));
  }

  /**
   * Looks up (and with `del`, removes) up to `buffers.capacity` entries in one system call, into
   * `buffers` (from `batchBuffers`): their first `count` keys and values, back to back. Each call
   * continues after the entries of the previous one; when it reaches the map's end,
   * `buffers.done` is true and the next call starts from the first entry again. Returns the
   * number of entries written. Copies and allocates nothing: the kernel writes into `buffers`.
   */
  lookupBatchInto(buffers: MapBatchBuffers, del = false): number {
    const st = batchStateOf(buffers);
    if (st === undefined) throw new MapError('operation', `map "${this.name}": lookupBatchInto needs buffers made by batchBuffers()`);
    if (st.owner !== this)
      throw new MapError(
        'operation',
        `map "${this.name}": these batch buffers were made by another map; make them with this map's batchBuffers()`,
      );
    const fd = this.#live();
    if (!st.region.region.live)
      throw new MapError('operation', `map "${this.name}": the batch buffers' memory was transferred away (postMessage); make new ones`);
    if (st.done) {
      st.started = false;
      st.done = false;
    }
    const cmd = del ? BpfCommand.MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.MAP_LOOKUP_BATCH;
    const ret = st.region.lookup(cmd, fd, st.region.capacity, st.started);
    if (ret < 0 && ret !== -Errno.ENOENT) {
      st.count = 0;
      this.#fail(cmd, ret, 'batch lookup');
    }
    st.count = st.region.written;
    if (ret === -Errno.ENOENT) st.done = true;
    else {
      st.region.advance();
      st.started = true;
    }
    return st.count;
  }

  /** All entries through the batch commands, `chunk` entries per system call. */
  lookupBatch(chunk = 4096): [K, V][] {
    if (this.isPerCpu) throw new MapError('operation', `map "${this.name}" is per-CPU: use lookupBatchPerCpu`);
    const out: [K, V][] = [];
    let cursor: Buffer | undefined;
    for (;;) {
      const r = this.lookupBatchRaw(chunk, cursor);
      for (let i = 0; i < r.count; i++) {
        out.push([
          this.#decodeKey(r.keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          this.#decodeValue(r.values, i * this.valueSize),
        ]);
      }
      if (r.done) return out;
      cursor = r.cursor;
    }
  }

  /** All entries of a per-CPU map through the batch commands. */
  lookupBatchPerCpu(chunk = 1024): [K, V[]][] {
    this.#perCpu('lookupBatchPerCpu');
    const out: [K, V[]][] = [];
    const slot = this.perCpuStride * possibleCpus();
    let cursor: Buffer | undefined;
    for (;;) {
      const r = this.lookupBatchRaw(chunk, cursor);
      for (let i = 0; i < r.count; i++) {
        out.push([this.#decodeKey(r.keys.subarray(i * this.keySize, (i + 1) * this.keySize)), this.#splitPerCpu(r.values, i * slot)]);
      }
      if (r.done) return out;
      cursor = r.cursor;
    }
  }

  /** Updates many entries in one system call. */
  updateBatch(entries: readonly (readonly [K | RawInput, V | RawInput])[], flags: number = UpdateFlags.ANY): void {
    this.#notPerCpu('updateBatch');
    const n = entries.length;
    const keys = Buffer.alloc(n * this.keySize);
    const values = Buffer.alloc(n * this.valueSize);
    for (let i = 0; i < n; i++) {
      this.#encodeKey(entries[i][0], keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      this.#encodeValue(entries[i][1], values, i * this.valueSize, this.valueSize);
    }
    const r = mapBatchRaw({
      cmd: BpfCommand.MAP_UPDATE_BATCH,
      fd: this.#live(),
      inBatch: null,
      outBatch: null,
      keys,
      values,
      count: n,
      keySize: this.keySize,
      valueSize: this.valueSize,
      elemFlags: flags,
    });
    if (r.ret < 0) this.#fail(BpfCommand.MAP_UPDATE_BATCH, r.ret, `batch update (${r.count} of ${n} done)`);
  }

  /** Deletes many keys in one system call; returns how many were deleted. */
  deleteBatch(keyList: readonly (K | RawInput)[]): number {
    const n = keyList.length;
    const keys = Buffer.alloc(n * this.keySize);
    for (let i = 0; i < n; i++) this.#encodeKey(keyList[i], keys.subarray(i * this.keySize, (i + 1) * this.keySize));
    const r = mapBatchRaw({
      cmd: BpfCommand.MAP_DELETE_BATCH,
      fd: this.#live(),
      inBatch: null,
      outBatch: null,
      keys,
      values: null,
      count: n,
      keySize: this.keySize,
      valueSize: this.valueSize,
    });
    if (r.ret < 0 && r.ret !== -Errno.ENOENT) this.#fail(BpfCommand.MAP_DELETE_BATCH, r.ret, `batch delete (${r.count} of ${n} done)`);
    return r.count;
  }

  /** Whether values of this map are file descriptors of other objects (maps, programs, perf events). */
  get holdsFds(): boolean {
    return FD_VALUE_TYPES.has(this.type);
  }
}

function isRawBytes(v: unknown, size: number): boolean {
  return v instanceof Uint8Array && v.length === size;
}

function coerce(v: RawInput, into: Buffer, what: string, mapName: string): void {
  const size = into.length;
  if (v instanceof Uint8Array) {
    if (v.length !== size) throw new CodecError(`map "${mapName}": ${what} is ${v.length} bytes, the map wants ${size}`);
    into.set(v);
    return;
  }
  if (typeof v === 'object' && v !== null && typeof v.fd === 'number') {
    if (size !== 4) throw new CodecError(`map "${mapName}": an fd needs a 4-byte ${what}, the map has ${size}`);
    into.writeUInt32LE(v.fd);
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new CodecError(`map "${mapName}": ${what} ${v} is not an integer`);
    if (size === 8) into.writeBigInt64LE(BigInt(v));
    else if (size >= 1 && size <= 6) {
      if (v < 0) into.writeIntLE(v, 0, size);
      else into.writeUIntLE(v, 0, size);
    } else throw new CodecError(`map "${mapName}": a number cannot fill a ${size}-byte ${what}; pass a Buffer or a codec`);
    return;
  }
  if (typeof v === 'bigint') {
    if (size !== 8) throw new CodecError(`map "${mapName}": a bigint fills 8 bytes, the ${what} has ${size}`);
    if (v < 0n) into.writeBigInt64LE(v);
    else into.writeBigUInt64LE(v);
    return;
  }
  throw new CodecError(`map "${mapName}": cannot use ${typeof v} as a ${what}`);
}

/**
 * What create and createAsync send for `spec`, with the inner map template of a map of maps
 * created from its spec when it is not a map already (release closes it: the kernel keeps what it
 * needs of it once the outer map exists).
 */
function creation(spec: MapSpec): {
  request: MapCreateRequest;
  name: string;
  info: { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string };
  release(): void;
} {
  const type = mapTypeOf(spec.type);
  const { keySize, valueSize } = defaultSizes(type, spec);
  let innerFd: number | undefined;
  let ownInner: BpfMap<unknown, unknown> | undefined;
  if (type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS) {
    if (!spec.innerMap)
      throw new MapError('spec', `${typeName(type)} "${spec.name ?? ''}" needs innerMap, a template map or spec for its elements`);
    if (spec.innerMap instanceof BpfMap) innerFd = spec.innerMap.fd;
    else {
      ownInner = BpfMap.create({ ...spec.innerMap, name: spec.innerMap.name ?? 'inner_template' });
      innerFd = ownInner.fd;
    }
  }
  const name = spec.name ?? '';
  return {
    request: {
      type,
      keySize,
      valueSize,
      maxEntries: spec.maxEntries,
      flags: spec.flags,
      innerMapFd: innerFd,
      numaNode: spec.numaNode,
      name: objectName(name),
      ifindex: spec.ifindex,
      btfFd: spec.btfFd,
      btfKeyTypeId: spec.btfKeyTypeId,
      btfValueTypeId: spec.btfValueTypeId,
      mapExtra: spec.mapExtra,
      tokenFd: spec.tokenFd,
    },
    name,
    info: { type, keySize, valueSize, maxEntries: spec.maxEntries, flags: spec.flags ?? 0, name },
    release: () => ownInner?.close(),
  };
}
