// bpf(2), one function per command. Each lays its bpf_attr and the memory it points to out in the
// shared scratch region, makes exactly one native call, and copies results out. Functions named *Raw
// return the kernel's result or -errno so hot paths can treat ENOENT as an answer, not a failure;
// the others throw SyscallError.
import { BpfCommand } from '../uapi/bpf.js';
import {
  BtfLoadAttr,
  EnableStatsAttr,
  GetIdAttr,
  InfoAttr,
  IterCreateAttr,
  LinkCreateAttr,
  LinkDetachAttr,
  LinkUpdateAttr,
  MapBatchAttr,
  MapCreateAttr,
  MapElemAttr,
  ObjAttr,
  ProgAttachAttr,
  ProgLoadAttr,
  ProgQueryAttr,
  RawTracepointAttr,
  TestRunAttr,
} from './attr.js';
import { check, SyscallError } from './errors.js';
import { pinHint } from './capabilities.js';
import { SYS_BPF, syscall3Async, syscall3Raw } from './libc.js';
import { HeapRegion, NativeMemory, scratch } from './memory.js';
import type { ByteAddress } from './byte-address.js';
import { Errno } from '../errors/errno.js';

const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(BpfCommand).map(([name, value]) => [value, `BPF_${name}`]));

export function commandName(cmd: number): string {
  return COMMAND_NAMES[cmd] ?? `bpf command ${cmd}`;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** BPF_F_TOKEN_FD: map_flags, prog_flags and btf_flags say a token fd is given (6.9+). */
const TOKEN_FD_FLAG = 1 << 16;

/** Lays out one call's attr and payloads in the scratch region. */
class Request {
  readonly mem: NativeMemory;
  readonly buf: Buffer;
  #cursor: number;

  /** In the shared scratch region, or in `own` (a region of the caller's, for a call that runs off this thread). */
  constructor(
    readonly attrSize: number,
    payload: number,
    own?: NativeMemory,
  ) {
    this.mem = own ?? scratch(Request.size(attrSize, payload));
    this.buf = this.mem.buffer;
    this.buf.fill(0, 0, attrSize);
    this.#cursor = align8(attrSize);
  }

  /** Bytes of native memory a request with this attr and payload needs. */
  static size(attrSize: number, payload: number): number {
    return align8(attrSize) + payload + 64;
  }

  /** Reserves `n` zeroed bytes and returns their offset in the region. */
  reserve(n: number): number {
    const at = this.reserveForOutput(n);
    this.buf.fill(0, at, at + n);
    return at;
  }

  /** Reserves `n` bytes the kernel only writes (left as they are: zeroing 100s of KiB costs). */
  reserveForOutput(n: number): number {
    const at = this.#cursor;
    this.#cursor = align8(at + n);
    return at;
  }

  /** Copies bytes in and returns their native address. */
  put(bytes: Uint8Array): number {
    const at = this.#cursor;
    this.buf.set(bytes, at);
    this.#cursor = align8(at + bytes.length);
    return this.mem.address + at;
  }

  putString(text: string): number {
    return this.put(Buffer.from(`${text}\0`, 'utf8'));
  }

  addr(offset: number): number {
    return this.mem.address + offset;
  }

  u32(offset: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, offset);
  }

  u64(offset: number, v: number | bigint): void {
    // Addresses and sizes are numbers: written as two words, no BigInt made per field.
    if (typeof v === 'number') writeAddress(this.buf, offset, v);
    else this.buf.writeBigUInt64LE(v, offset);
  }

  /** Name fields are fixed 16-byte arrays; the kernel wants them NUL-terminated. */
  name(offset: number, text: string | undefined): void {
    if (!text) return;
    this.buf.write(text.slice(0, 15), offset, 'utf8');
  }

  raw(cmd: number): number {
    return syscall3Raw(SYS_BPF, cmd, this.mem.address, this.attrSize);
  }

  /** The call on a worker thread; the region must stay as it is until the promise settles. */
  rawAsync(cmd: number): Promise<number> {
    return syscall3Async(SYS_BPF, cmd, this.mem.address, this.attrSize);
  }

  run(cmd: number, detail?: string): number {
    return check(commandName(cmd), this.raw(cmd), detail);
  }
}

// ---------------------------------------------------------------------------------------------
// Maps

export interface MapCreateRequest {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  numaNode?: number;
  name?: string;
  ifindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
  /** A BPF token fd (6.9+): sets BPF_F_TOKEN_FD. */
  tokenFd?: number;
}

export function mapCreate(r: MapCreateRequest): number {
  const q = mapCreateRequest(r, new Request(MapCreateAttr.size, 0));
  return q.run(BpfCommand.MAP_CREATE, r.name ? `map "${r.name}"` : undefined);
}

/**
 * BPF_MAP_CREATE on a worker thread (libuv's pool), in a region of its own: a loader creates its
 * maps there while this thread prepares the programs that will use them.
 */
export async function mapCreateAsync(r: MapCreateRequest): Promise<number> {
  const mem = takeRegion(Request.size(MapCreateAttr.size, 0));
  try {
    const q = mapCreateRequest(r, new Request(MapCreateAttr.size, 0, mem));
    return check(commandName(BpfCommand.MAP_CREATE), await q.rawAsync(BpfCommand.MAP_CREATE), r.name ? `map "${r.name}"` : undefined);
  } finally {
    giveBackRegion(mem);
  }
}

function mapCreateRequest(r: MapCreateRequest, q: Request): Request {
  const a = MapCreateAttr;
  q.u32(a.map_type, r.type);
  q.u32(a.key_size, r.keySize);
  q.u32(a.value_size, r.valueSize);
  q.u32(a.max_entries, r.maxEntries);
  q.u32(a.map_flags, r.flags ?? 0);
  q.u32(a.inner_map_fd, r.innerMapFd ?? 0);
  q.u32(a.numa_node, r.numaNode ?? 0);
  q.name(a.map_name, r.name);
  q.u32(a.map_ifindex, r.ifindex ?? 0);
  q.u32(a.btf_fd, r.btfFd ?? 0);
  q.u32(a.btf_key_type_id, r.btfKeyTypeId ?? 0);
  q.u32(a.btf_value_type_id, r.btfValueTypeId ?? 0);
  q.u32(a.btf_vmlinux_value_type_id, r.btfVmlinuxValueTypeId ?? 0);
  q.u64(a.map_extra, r.mapExtra ?? 0n);
  if (r.tokenFd !== undefined) {
    q.u32(a.map_flags, (r.flags ?? 0) | TOKEN_FD_FLAG);
    q.u32(a.map_token_fd, r.tokenFd);
  }
  return q;
}

// The element commands are the hot path: fixed offsets, no allocation.
const ELEM_KEY = 64;

/**
 * One element command (lookup, update, delete, next key, lookup-and-delete). `key` may be null
 * (first key; queue/stack pop). `valueIn` is copied in (update; or the value slot's initial bytes),
 * `valueOut` receives the value or next key. Returns the kernel's result or -errno.
 */
export function mapElemRaw(
  cmd: number,
  fd: number,
  key: Uint8Array | null,
  valueIn: Uint8Array | null,
  valueOut: Uint8Array | null,
  flags: number,
): number {
  const keyLen = key ? key.length : 0;
  const valueOffset = ELEM_KEY + align8(keyLen);
  const valueLen = valueOut ? valueOut.length : valueIn ? valueIn.length : 0;
  const mem = scratch(valueOffset + valueLen);
  const buf = mem.buffer;
  const base = mem.address;
  buf.writeUInt32LE(fd, 0);
  buf.writeUInt32LE(0, 4);
  if (key) {
    buf.set(key, ELEM_KEY);
    writeAddress(buf, 8, base + ELEM_KEY);
  } else {
    writeAddress(buf, 8, 0);
  }
  if (valueIn) buf.set(valueIn, valueOffset);
  writeAddress(buf, 16, valueLen ? base + valueOffset : 0);
  writeAddress(buf, 24, flags);
  const ret = syscall3Raw(SYS_BPF, cmd, base, MapElemAttr.size);
  if (ret >= 0 && valueOut) buf.copy(valueOut, 0, valueOffset, valueOffset + valueOut.length);
  return ret;
}

/**
 * Native slots for one map's key and value, for single-element commands that allocate nothing:
 * the caller encodes straight into `key` and `value` (Buffers over native memory) and reads the
 * result straight out of `value`. All maps of a thread share one fixed region that never moves
 * (attr at 0, key at 64, value after the key), so the slots stay valid for the map's life; they
 * are only meaningful between filling them and the next element command on this thread.
 */
export interface ElemSlots {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Native addresses of the slots, split into the two u32 halves the attr wants. */
  readonly keyLo: number;
  readonly keyHi: number;
  readonly valueLo: number;
  readonly valueHi: number;
}

const ELEM_REGION_SIZE = 64 * 1024;
let elemRegion: { mem: NativeMemory; attr: Uint32Array } | undefined;

/** Slots for a map with these sizes, or undefined when key and value do not fit the region. */
export function elemSlots(keySize: number, valueSize: number): ElemSlots | undefined {
  const valueOffset = ELEM_KEY + align8(keySize);
  if (valueOffset + valueSize > ELEM_REGION_SIZE) return undefined;
  // Allocated on first use and kept for the thread's life, like the scratch arena.
  elemRegion ??= (() => {
    const mem = new NativeMemory(ELEM_REGION_SIZE);
    return { mem, attr: new Uint32Array(mem.buffer.buffer, mem.buffer.byteOffset, 8) };
  })();
  const { mem } = elemRegion;
  const keyAddr = mem.address + ELEM_KEY;
  const valueAddr = mem.address + valueOffset;
  return {
    key: mem.buffer.subarray(ELEM_KEY, ELEM_KEY + keySize),
    value: mem.buffer.subarray(valueOffset, valueOffset + valueSize),
    keyLo: keyAddr % 0x1_0000_0000,
    keyHi: Math.floor(keyAddr / 0x1_0000_0000),
    valueLo: valueAddr % 0x1_0000_0000,
    valueHi: Math.floor(valueAddr / 0x1_0000_0000),
  };
}

/**
 * One element command on slots already filled: `useKey`/`useValue` say whether the attr points at
 * them (a null key or value otherwise). Writes the 32-byte attr as eight u32 words and makes the
 * call; no allocation, no view. Returns the kernel's result or -errno.
 */
export function mapElemSlots(cmd: number, fd: number, slots: ElemSlots, useKey: boolean, useValue: boolean, flags: number): number {
  const a = elemRegion!.attr;
  a[0] = fd;
  a[1] = 0;
  if (useKey) {
    a[2] = slots.keyLo;
    a[3] = slots.keyHi;
  } else {
    a[2] = 0;
    a[3] = 0;
  }
  if (useValue) {
    a[4] = slots.valueLo;
    a[5] = slots.valueHi;
  } else {
    a[4] = 0;
    a[5] = 0;
  }
  a[6] = flags >>> 0;
  a[7] = 0;
  return syscall3Raw(SYS_BPF, cmd, elemRegion!.mem.address, MapElemAttr.size);
}

/**
 * One map's own attr and key and value slots for lookups and updates, in a HeapRegion: the fd and
 * both addresses are written once, so a call only sets the flags word before the system call
 * (the shared ElemSlots rewrite all eight words per call). The caller fills `key` (and `value`
 * for an update) and reads `value` after a lookup. Not for delete, whose attr must have no value.
 */
export class MapElemCall {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly #region: HeapRegion;
  readonly #words: Uint32Array;
  // The slots' addresses as the attr's key and value words, and whether runAt pointed them elsewhere.
  readonly #slotWords: number[];
  #pointsAway = false;

  constructor(fd: number, keySize: number, valueSize: number) {
    const valueOffset = ELEM_KEY + align8(keySize);
    this.#region = new HeapRegion(valueOffset + valueSize);
    const { buffer, address } = this.#region;
    this.#words = new Uint32Array(buffer.buffer, buffer.byteOffset, 8);
    this.key = buffer.subarray(ELEM_KEY, ELEM_KEY + keySize);
    this.value = buffer.subarray(valueOffset, valueOffset + valueSize);
    const w = this.#words;
    w[0] = fd;
    w[2] = (address + ELEM_KEY) % 0x1_0000_0000;
    w[3] = Math.floor((address + ELEM_KEY) / 0x1_0000_0000);
    w[4] = (address + valueOffset) % 0x1_0000_0000;
    w[5] = Math.floor((address + valueOffset) / 0x1_0000_0000);
    this.#slotWords = [w[2], w[3], w[4], w[5]];
  }

  /** Whether key and value are small enough for a region of their own (large ones use the scratch path). */
  static fits(keySize: number, valueSize: number): boolean {
    return ELEM_KEY + align8(keySize) + valueSize <= ELEM_REGION_SIZE;
  }

  /** BPF_MAP_LOOKUP_ELEM or BPF_MAP_UPDATE_ELEM on the filled slots; the kernel's result or -errno. */
  run(cmd: number, flags: number): number {
    const w = this.#words;
    if (this.#pointsAway) {
      w[2] = this.#slotWords[0]!;
      w[3] = this.#slotWords[1]!;
      w[4] = this.#slotWords[2]!;
      w[5] = this.#slotWords[3]!;
      this.#pointsAway = false;
    }
    w[6] = flags >>> 0;
    return syscall3Raw(SYS_BPF, cmd, this.#region.address, MapElemAttr.size);
  }

  /**
   * run() with the key and the value in the caller's own memory (ByteAddress: an array of the
   * map's key size and one of at least its value size), which the kernel reads and writes
   * directly: no copy through the slots.
   */
  runAt(cmd: number, flags: number, key: ByteAddress, value: ByteAddress): number {
    const w = this.#words;
    w[2] = key.lo;
    w[3] = key.hi;
    w[4] = value.lo;
    w[5] = value.hi;
    w[6] = flags >>> 0;
    this.#pointsAway = true;
    return syscall3Raw(SYS_BPF, cmd, this.#region.address, MapElemAttr.size);
  }
}

/** Writes a non-negative integer below 2^53 as a u64 without allocating a BigInt. */
function writeAddress(buf: Buffer, offset: number, v: number): void {
  buf.writeUInt32LE(v % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), offset + 4);
}

export interface MapBatchRequest {
  cmd: number;
  fd: number;
  /** Opaque position from the previous call's outBatch; null to start. */
  inBatch: Uint8Array | null;
  /** Receives the position to continue from; sized as the map's key (hash maps) or 4 (arrays). */
  outBatch: Uint8Array | null;
  keys: Uint8Array;
  values: Uint8Array | null;
  count: number;
  keySize: number;
  valueSize: number;
  elemFlags?: number;
  flags?: number;
}

/** Returns the kernel's result (0 or -errno) and how many elements it processed. */
export function mapBatchRaw(r: MapBatchRequest): { ret: number; count: number } {
  const a = MapBatchAttr;
  const keysLen = r.count * r.keySize;
  const valuesLen = r.values ? r.count * r.valueSize : 0;
  const batchLen = Math.max(r.inBatch?.length ?? 0, r.outBatch?.length ?? 0);
  const q = new Request(a.size, 2 * align8(batchLen) + align8(keysLen) + align8(valuesLen));
  const inOff = r.inBatch ? q.reserve(batchLen) : -1;
  if (r.inBatch) q.buf.set(r.inBatch, inOff);
  const outOff = r.outBatch ? q.reserve(batchLen) : -1;
  // Lookups only read keys and values out; updates and deletes hand them in.
  const keysIn = r.cmd === BpfCommand.MAP_UPDATE_BATCH || r.cmd === BpfCommand.MAP_DELETE_BATCH;
  const keysOff = keysIn ? q.reserve(keysLen) : q.reserveForOutput(keysLen);
  if (keysIn) q.buf.set(r.keys.subarray(0, keysLen), keysOff);
  const valuesIn = r.cmd === BpfCommand.MAP_UPDATE_BATCH;
  const valuesOff = !r.values ? -1 : valuesIn ? q.reserve(valuesLen) : q.reserveForOutput(valuesLen);
  if (r.values && valuesIn) q.buf.set(r.values.subarray(0, valuesLen), valuesOff);
  if (r.inBatch) q.u64(a.in_batch, q.addr(inOff));
  if (r.outBatch) q.u64(a.out_batch, q.addr(outOff));
  q.u64(a.keys, q.addr(keysOff));
  if (r.values) q.u64(a.values, q.addr(valuesOff));
  q.u32(a.count, r.count);
  q.u32(a.map_fd, r.fd);
  q.u64(a.elem_flags, r.elemFlags ?? 0);
  q.u64(a.flags, r.flags ?? 0);
  const ret = q.raw(r.cmd);
  const count = q.buf.readUInt32LE(a.count);
  if (ret >= 0 || ret === -Errno.ENOENT /* end of map, count still valid */) {
    if (r.outBatch) q.buf.copy(r.outBatch, 0, outOff, outOff + r.outBatch.length);
    q.buf.copy(r.keys, 0, keysOff, keysOff + count * r.keySize);
    if (r.values) q.buf.copy(r.values, 0, valuesOff, valuesOff + count * r.valueSize);
  }
  return { ret, count };
}

/**
 * Memory for batch lookups whose results the kernel writes in place: the attr, the in and out
 * cursors, `capacity` keys and `capacity` values, in one HeapRegion. mapBatchRaw copies every key
 * and value out of the scratch region after the call (and its callers allocate them per call); a
 * BatchRegion is filled by the kernel itself, so a loop of batch lookups copies and allocates
 * nothing, as a C caller with static arrays does.
 */
export class BatchRegion {
  readonly region: HeapRegion;
  /** The attr as u32 words: in_batch 0-1, out_batch 2-3, keys 4-5, values 6-7, count 8, map_fd 9, elem_flags 10-11, flags 12-13. */
  readonly attr: Uint32Array;
  /** Views over the keys and values the kernel writes. */
  readonly keys: Buffer;
  readonly values: Buffer;
  /** Offsets of the cursors in region.buffer; each is cursorSize bytes. */
  readonly inOffset: number;
  readonly outOffset: number;
  // Address halves of the in cursor, written per call (0 when starting from the first entry).
  readonly #inLo: number;
  readonly #inHi: number;

  constructor(
    readonly capacity: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly cursorSize: number,
  ) {
    const attrLen = align8(MapBatchAttr.size);
    this.inOffset = attrLen;
    this.outOffset = this.inOffset + align8(cursorSize);
    // Keys and values start on cache lines (64 bytes) of the real addresses, as a C caller's
    // static arrays usually do: the kernel's copies to them then split no line at the start.
    const keysLen = capacity * keySize;
    this.region = new HeapRegion(this.outOffset + align8(cursorSize) + 64 + keysLen + 64 + capacity * valueSize);
    const { buffer, address } = this.region;
    const lineAfter = (offset: number): number => offset + ((64 - ((address + offset) % 64)) % 64);
    const keysOffset = lineAfter(this.outOffset + align8(cursorSize));
    const valuesOffset = lineAfter(keysOffset + keysLen);
    this.attr = new Uint32Array(buffer.buffer, buffer.byteOffset, attrLen / 4);
    this.keys = buffer.subarray(keysOffset, keysOffset + capacity * keySize);
    this.values = buffer.subarray(valuesOffset, valuesOffset + capacity * valueSize);
    const words = (at: number, v: number): void => {
      this.attr[at] = v % 0x1_0000_0000;
      this.attr[at + 1] = Math.floor(v / 0x1_0000_0000);
    };
    const inAddr = address + this.inOffset;
    this.#inLo = inAddr % 0x1_0000_0000;
    this.#inHi = Math.floor(inAddr / 0x1_0000_0000);
    // Fixed for the region's life: where the kernel writes the out cursor, the keys and the values.
    words(2, address + this.outOffset);
    words(4, address + keysOffset);
    words(6, address + valuesOffset);
  }

  /**
   * One batch lookup (cmd BPF_MAP_LOOKUP_BATCH or BPF_MAP_LOOKUP_AND_DELETE_BATCH) of up to
   * `count` entries into the region, after the cursor in the in slot when `fromCursor` (else from
   * the first entry). Returns the kernel's result or -errno (-ENOENT: the map's end was reached);
   * the number of entries written is `written` afterwards, the next cursor in the out slot.
   */
  lookup(cmd: number, fd: number, count: number, fromCursor: boolean): number {
    const a = this.attr;
    a[0] = fromCursor ? this.#inLo : 0;
    a[1] = fromCursor ? this.#inHi : 0;
    a[8] = count;
    a[9] = fd;
    a[10] = 0;
    a[11] = 0;
    a[12] = 0;
    a[13] = 0;
    return syscall3Raw(SYS_BPF, cmd, this.region.address, MapBatchAttr.size);
  }

  /** Entries the last lookup wrote (the kernel's count, read back from the attr). */
  get written(): number {
    return this.attr[8];
  }

  /** Makes the last lookup's out cursor the next lookup's in cursor. */
  advance(): void {
    this.region.buffer.copyWithin(this.inOffset, this.outOffset, this.outOffset + this.cursorSize);
  }
}

export function mapFreeze(fd: number): void {
  const q = new Request(MapElemAttr.size, 0);
  q.u32(MapElemAttr.map_fd, fd);
  q.run(BpfCommand.MAP_FREEZE);
}

// ---------------------------------------------------------------------------------------------
// Programs

export interface ProgLoadRequest {
  type: number;
  insns: Uint8Array;
  license: string;
  name?: string;
  flags?: number;
  ifindex?: number;
  expectedAttachType?: number;
  attachBtfId?: number;
  attachBtfObjFd?: number;
  attachProgFd?: number;
  kernVersion?: number;
  btfFd?: number;
  funcInfo?: { recSize: number; bytes: Uint8Array };
  lineInfo?: { recSize: number; bytes: Uint8Array };
  fdArray?: Int32Array;
  logLevel?: number;
  /** Native memory for the verifier log; its whole length is offered to the kernel. */
  log?: NativeMemory;
  /** A BPF token fd (6.9+): sets BPF_F_TOKEN_FD. */
  tokenFd?: number;
}

export interface ProgLoadResult {
  /** The program fd, or -errno. */
  ret: number;
  /** What the verifier wrote (empty without a log buffer). */
  log: string;
  /** The log size the kernel needed (kernel 6.4+; 0 when unknown). */
  logTrueSize: number;
}

export function progLoadRaw(r: ProgLoadRequest): ProgLoadResult {
  const q = progLoadRequest(r);
  return progLoadResult(r, q, q.raw(BpfCommand.PROG_LOAD));
}

/**
 * BPF_PROG_LOAD on a worker thread (libuv's pool), so that the verifier of several programs runs
 * on several CPUs at once and the event loop goes on meanwhile. The request is laid out in a
 * region of its own (the shared scratch region belongs to synchronous calls), which is freed when
 * the call returns; `r.log` must stay allocated until then.
 */
export async function progLoadRawAsync(r: ProgLoadRequest): Promise<ProgLoadResult> {
  const mem = takeRegion(Request.size(ProgLoadAttr.size, progLoadPayload(r)));
  try {
    const q = progLoadRequest(r, mem);
    return progLoadResult(r, q, await q.rawAsync(BpfCommand.PROG_LOAD));
  } finally {
    giveBackRegion(mem);
  }
}

/** A BPF_PROG_LOAD request laid out in memory of its own, for another thread to make (VerifierBatch). */
export interface PreparedProgLoad {
  /** The attr's native address and size: what bpf(BPF_PROG_LOAD) takes. */
  readonly address: number;
  readonly size: number;
  /** What the call returned (the fd or -errno) as progLoadRaw reports it. */
  result(ret: number): ProgLoadResult;
  /** Gives the memory back; the request must not be made after. */
  free(): void;
}

export function prepareProgLoad(r: ProgLoadRequest): PreparedProgLoad {
  const mem = takeRegion(Request.size(ProgLoadAttr.size, progLoadPayload(r)));
  try {
    const q = progLoadRequest(r, mem);
    return { address: mem.address, size: ProgLoadAttr.size, result: (ret) => progLoadResult(r, q, ret), free: () => giveBackRegion(mem) };
  } catch (e) {
    giveBackRegion(mem);
    throw e;
  }
}

// Regions of calls made off this thread, kept for the next ones: a collection's loads would
// otherwise map and unmap one each, on the thread that lays out the next program.
const spareRegions: NativeMemory[] = [];
const MAX_SPARE_REGIONS = 32;

function takeRegion(size: number): NativeMemory {
  const i = spareRegions.findIndex((m) => m.length >= size);
  return i >= 0 ? spareRegions.splice(i, 1)[0] : new NativeMemory(size);
}

function giveBackRegion(mem: NativeMemory): void {
  if (spareRegions.length < MAX_SPARE_REGIONS && mem.length <= 64 * 1024) spareRegions.push(mem);
  else mem.free();
}

function progLoadPayload(r: ProgLoadRequest): number {
  return (
    align8(r.insns.length) +
    align8(r.license.length + 1) +
    align8(r.funcInfo?.bytes.length ?? 0) +
    align8(r.lineInfo?.bytes.length ?? 0) +
    align8((r.fdArray?.length ?? 0) * 4)
  );
}

function progLoadRequest(r: ProgLoadRequest, own?: NativeMemory): Request {
  const a = ProgLoadAttr;
  const q = new Request(a.size, progLoadPayload(r), own);
  q.u32(a.prog_type, r.type);
  q.u32(a.insn_cnt, r.insns.length / 8);
  q.u64(a.insns, q.put(r.insns));
  q.u64(a.license, q.putString(r.license));
  if (r.log) {
    r.log.buffer[0] = 0;
    q.u32(a.log_level, r.logLevel ?? 1);
    q.u32(a.log_size, Math.min(r.log.length, 0x3fff_ffff));
    q.u64(a.log_buf, r.log.address);
  }
  q.u32(a.kern_version, r.kernVersion ?? 0);
  q.u32(a.prog_flags, r.flags ?? 0);
  q.name(a.prog_name, r.name);
  q.u32(a.prog_ifindex, r.ifindex ?? 0);
  q.u32(a.expected_attach_type, r.expectedAttachType ?? 0);
  q.u32(a.prog_btf_fd, r.btfFd ?? 0);
  if (r.funcInfo) {
    q.u32(a.func_info_rec_size, r.funcInfo.recSize);
    q.u64(a.func_info, q.put(r.funcInfo.bytes));
    q.u32(a.func_info_cnt, r.funcInfo.bytes.length / r.funcInfo.recSize);
  }
  if (r.lineInfo) {
    q.u32(a.line_info_rec_size, r.lineInfo.recSize);
    q.u64(a.line_info, q.put(r.lineInfo.bytes));
    q.u32(a.line_info_cnt, r.lineInfo.bytes.length / r.lineInfo.recSize);
  }
  q.u32(a.attach_btf_id, r.attachBtfId ?? 0);
  q.u32(a.attach_prog_fd, r.attachProgFd ?? r.attachBtfObjFd ?? 0);
  if (r.fdArray && r.fdArray.length) {
    q.u64(a.fd_array, q.put(new Uint8Array(r.fdArray.buffer, r.fdArray.byteOffset, r.fdArray.byteLength)));
  }
  if (r.tokenFd !== undefined) {
    q.u32(a.prog_flags, (r.flags ?? 0) | TOKEN_FD_FLAG);
    q.u32(a.prog_token_fd, r.tokenFd);
  }
  return q;
}

function progLoadResult(r: ProgLoadRequest, q: Request, ret: number): ProgLoadResult {
  const logTrueSize = q.buf.readUInt32LE(ProgLoadAttr.log_true_size);
  let log = '';
  if (r.log) {
    const end = r.log.buffer.indexOf(0);
    log = r.log.buffer.toString('utf8', 0, end < 0 ? r.log.length : end);
  }
  return { ret, log, logTrueSize };
}

export interface TestRunRequest {
  fd: number;
  dataIn?: Uint8Array;
  /** Bytes offered for data out; 0 asks for none. */
  dataOutSize?: number;
  ctxIn?: Uint8Array;
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface TestRunResult {
  retval: number;
  /** Mean duration of one run in nanoseconds, as the kernel measured it. */
  duration: number;
  dataOut: Buffer;
  ctxOut: Buffer;
}

export function progTestRun(r: TestRunRequest): TestRunResult {
  const a = TestRunAttr;
  const dataOutSize = r.dataOutSize ?? 0;
  const ctxOutSize = r.ctxOutSize ?? 0;
  const q = new Request(a.size, align8(r.dataIn?.length ?? 0) + align8(dataOutSize) + align8(r.ctxIn?.length ?? 0) + align8(ctxOutSize));
  q.u32(a.prog_fd, r.fd);
  if (r.dataIn) {
    q.u32(a.data_size_in, r.dataIn.length);
    q.u64(a.data_in, q.put(r.dataIn));
  }
  const dataOutOff = q.reserve(dataOutSize);
  if (dataOutSize) {
    q.u32(a.data_size_out, dataOutSize);
    q.u64(a.data_out, q.addr(dataOutOff));
  }
  if (r.ctxIn) {
    q.u32(a.ctx_size_in, r.ctxIn.length);
    q.u64(a.ctx_in, q.put(r.ctxIn));
  }
  const ctxOutOff = q.reserve(ctxOutSize);
  if (ctxOutSize) {
    q.u32(a.ctx_size_out, ctxOutSize);
    q.u64(a.ctx_out, q.addr(ctxOutOff));
  }
  q.u32(a.repeat, r.repeat ?? 0);
  q.u32(a.flags, r.flags ?? 0);
  q.u32(a.cpu, r.cpu ?? 0);
  q.u32(a.batch_size, r.batchSize ?? 0);
  q.run(BpfCommand.PROG_TEST_RUN);
  const dataLen = Math.min(q.buf.readUInt32LE(a.data_size_out), dataOutSize);
  const ctxLen = Math.min(q.buf.readUInt32LE(a.ctx_size_out), ctxOutSize);
  return {
    retval: q.buf.readUInt32LE(a.retval),
    duration: q.buf.readUInt32LE(a.duration),
    dataOut: Buffer.from(q.buf.subarray(dataOutOff, dataOutOff + dataLen)),
    ctxOut: Buffer.from(q.buf.subarray(ctxOutOff, ctxOutOff + ctxLen)),
  };
}

// ---------------------------------------------------------------------------------------------
// Objects: pins, ids, info

export function objPin(fd: number, path: string): void {
  const q = new Request(ObjAttr.size, Buffer.byteLength(path) + 1);
  q.u64(ObjAttr.pathname, q.putString(path));
  q.u32(ObjAttr.bpf_fd, fd);
  const ret = q.raw(BpfCommand.OBJ_PIN);
  // EPERM here is mostly a path outside bpffs, which statfs tells apart from a permission problem.
  if (ret === -1 || ret === -13) throw new SyscallError('BPF_OBJ_PIN', -ret, `path ${path}`, pinHint(path));
  check('BPF_OBJ_PIN', ret, `path ${path}`);
}

export function objGet(path: string, flags = 0): number {
  const q = new Request(ObjAttr.size, Buffer.byteLength(path) + 1);
  q.u64(ObjAttr.pathname, q.putString(path));
  q.u32(ObjAttr.file_flags, flags);
  return q.run(BpfCommand.OBJ_GET, `path ${path}`);
}

/** Next id after `start` for a *_GET_NEXT_ID command, or undefined at the end. */
export function getNextId(cmd: number, start: number): number | undefined {
  const q = new Request(GetIdAttr.size, 0);
  q.u32(GetIdAttr.start_id, start);
  const ret = q.raw(cmd);
  if (ret === -Errno.ENOENT) return undefined;
  check(commandName(cmd), ret);
  return q.buf.readUInt32LE(GetIdAttr.next_id);
}

/** A new fd for the object with `id`, through a *_GET_FD_BY_ID command. */
export function getFdById(cmd: number, id: number, openFlags = 0): number {
  const q = new Request(GetIdAttr.size, 0);
  q.u32(GetIdAttr.start_id, id);
  q.u32(GetIdAttr.open_flags, openFlags);
  return q.run(cmd, `id ${id}`);
}

/**
 * BPF_OBJ_GET_INFO_BY_FD into a zeroed struct of `size` bytes. `prepare` may set pointer fields
 * (given the native address of a region of `extra` bytes it may use) before the call.
 * Returns the struct and that extra region as the kernel left them.
 */
export function objGetInfo(
  fd: number,
  size: number,
  extra = 0,
  prepare?: (info: Buffer, extraAddress: number) => void,
): { info: Buffer; extra: Buffer } {
  const q = new Request(InfoAttr.size, align8(size) + extra);
  const infoOff = q.reserve(size);
  const extraOff = q.reserve(extra);
  const info = q.buf.subarray(infoOff, infoOff + size);
  if (prepare) prepare(info, q.addr(extraOff));
  q.u32(InfoAttr.bpf_fd, fd);
  q.u32(InfoAttr.info_len, size);
  q.u64(InfoAttr.info, q.addr(infoOff));
  q.run(BpfCommand.OBJ_GET_INFO_BY_FD);
  return { info: Buffer.from(info), extra: Buffer.from(q.buf.subarray(extraOff, extraOff + extra)) };
}

// ---------------------------------------------------------------------------------------------
// BTF

export function btfLoadRaw(btf: Uint8Array, log?: NativeMemory, logLevel = 1, tokenFd?: number): { ret: number; log: string } {
  const a = BtfLoadAttr;
  const q = new Request(a.size, btf.length);
  if (tokenFd !== undefined) {
    q.u32(a.btf_flags, TOKEN_FD_FLAG);
    q.u32(a.btf_token_fd, tokenFd);
  }
  q.u64(a.btf, q.put(btf));
  q.u32(a.btf_size, btf.length);
  if (log) {
    log.buffer[0] = 0;
    q.u64(a.btf_log_buf, log.address);
    q.u32(a.btf_log_size, Math.min(log.length, 0x3fff_ffff));
    q.u32(a.btf_log_level, logLevel);
  }
  const ret = q.raw(BpfCommand.BTF_LOAD);
  let text = '';
  if (log) {
    const end = log.buffer.indexOf(0);
    text = log.buffer.toString('utf8', 0, end < 0 ? log.length : end);
  }
  return { ret, log: text };
}

// ---------------------------------------------------------------------------------------------
// Attachments

export interface LinkCreateRequest {
  progFd: number;
  targetFd?: number;
  targetIfindex?: number;
  attachType: number;
  flags?: number;
  targetBtfId?: number;
  /** For BPF_PERF_EVENT links. */
  bpfCookie?: bigint;
  /** For tracing links (fentry/fexit): attach cookie. */
  tracingCookie?: bigint;
  /** For tcx links. */
  relativeFd?: number;
  expectedRevision?: bigint;
  /** For uprobe_multi links. */
  uprobeMulti?: {
    path: string;
    offsets: BigUint64Array;
    refCtrOffsets?: BigUint64Array;
    cookies?: BigUint64Array;
    flags?: number;
    pid?: number;
  };
  /** For iterator links. */
  iterInfo?: Uint8Array;
  /** For netfilter links: protocol family, hook, priority, flags (BPF_F_NETFILTER_IP_DEFRAG). */
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
  /** For kprobe_multi and kprobe_session links: symbols or addresses (one of them), cookies per probe. */
  kprobeMulti?: { symbols?: readonly string[]; addresses?: BigUint64Array; cookies?: BigUint64Array; flags?: number };
}

export function linkCreate(r: LinkCreateRequest): number {
  const a = LinkCreateAttr;
  const m = r.uprobeMulti;
  const k = r.kprobeMulti;
  const kprobeBytes = k
    ? 3 * 8 * ((k.symbols?.length ?? k.addresses?.length ?? 0) + 1) +
      (k.symbols ?? []).reduce((n, s) => n + align8(Buffer.byteLength(s) + 1), 0)
    : 0;
  const payload = m ? Buffer.byteLength(m.path) + 1 + 3 * align8(m.offsets.byteLength) : align8(r.iterInfo?.length ?? 0) + kprobeBytes;
  const q = new Request(a.size, payload);
  q.u32(a.prog_fd, r.progFd);
  q.u32(a.target_fd, r.targetFd ?? r.targetIfindex ?? 0);
  q.u32(a.attach_type, r.attachType);
  q.u32(a.flags, r.flags ?? 0);
  if (r.targetBtfId !== undefined) q.u32(a.target_btf_id, r.targetBtfId);
  if (r.bpfCookie !== undefined) q.u64(a['perf_event.bpf_cookie'], r.bpfCookie);
  if (r.tracingCookie !== undefined) q.u64(a['tracing.cookie'], r.tracingCookie);
  if (r.relativeFd !== undefined) q.u32(a['tcx.relative_fd'], r.relativeFd);
  if (r.expectedRevision !== undefined) q.u64(a['tcx.expected_revision'], r.expectedRevision);
  if (r.netfilter) {
    q.u32(a['netfilter.pf'], r.netfilter.pf);
    q.u32(a['netfilter.hooknum'], r.netfilter.hooknum);
    q.u32(a['netfilter.priority'], r.netfilter.priority >>> 0);
    q.u32(a['netfilter.flags'], r.netfilter.flags ?? 0);
  }
  if (r.iterInfo) {
    q.u64(a.iter_info, q.put(r.iterInfo));
    q.u32(a.iter_info_len, r.iterInfo.length);
  }
  if (k) {
    const count = k.symbols?.length ?? k.addresses?.length ?? 0;
    if (k.symbols) {
      // syms is an array of pointers to NUL-terminated names.
      const pointers = Buffer.alloc(8 * count);
      k.symbols.forEach((s, i) => pointers.writeBigUInt64LE(BigInt(q.putString(s)), 8 * i));
      q.u64(a['kprobe_multi.syms'], q.put(pointers));
    } else if (k.addresses) {
      q.u64(a['kprobe_multi.addrs'], q.put(new Uint8Array(k.addresses.buffer, k.addresses.byteOffset, k.addresses.byteLength)));
    }
    if (k.cookies) q.u64(a['kprobe_multi.cookies'], q.put(new Uint8Array(k.cookies.buffer, k.cookies.byteOffset, k.cookies.byteLength)));
    q.u32(a['kprobe_multi.cnt'], count);
    q.u32(a['kprobe_multi.flags'], k.flags ?? 0);
  }
  if (m) {
    const bytes = (arr: BigUint64Array): Uint8Array => new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    q.u64(a['uprobe_multi.path'], q.putString(m.path));
    q.u64(a['uprobe_multi.offsets'], q.put(bytes(m.offsets)));
    if (m.refCtrOffsets) q.u64(a['uprobe_multi.ref_ctr_offsets'], q.put(bytes(m.refCtrOffsets)));
    if (m.cookies) q.u64(a['uprobe_multi.cookies'], q.put(bytes(m.cookies)));
    q.u32(a['uprobe_multi.cnt'], m.offsets.length);
    q.u32(a['uprobe_multi.flags'], m.flags ?? 0);
    q.u32(a['uprobe_multi.pid'], m.pid ?? 0);
  }
  return q.run(BpfCommand.LINK_CREATE);
}

export function linkUpdate(linkFd: number, newProgFd: number, oldProgFd?: number, flags = 0): void {
  const a = LinkUpdateAttr;
  const q = new Request(a.size, 0);
  q.u32(a.link_fd, linkFd);
  q.u32(a.new_prog_fd, newProgFd);
  q.u32(a.flags, oldProgFd !== undefined ? flags | 4 /* BPF_F_REPLACE */ : flags);
  q.u32(a.old_prog_fd, oldProgFd ?? 0);
  q.run(BpfCommand.LINK_UPDATE);
}

/** BPF_ITER_CREATE: a new readable fd that runs the iterator link's program once per object as it is read. */
export function iterCreate(linkFd: number): number {
  const q = new Request(IterCreateAttr.size, 0);
  q.u32(IterCreateAttr.link_fd, linkFd);
  return q.run(BpfCommand.ITER_CREATE);
}

export function linkDetach(linkFd: number): void {
  const q = new Request(LinkDetachAttr.size, 0);
  q.u32(LinkDetachAttr.link_fd, linkFd);
  q.run(BpfCommand.LINK_DETACH);
}

export function rawTracepointOpen(name: string | undefined, progFd: number): number {
  const a = RawTracepointAttr;
  const q = new Request(a.size, (name?.length ?? 0) + 1);
  if (name) q.u64(a.name, q.putString(name));
  q.u32(a.prog_fd, progFd);
  return q.run(BpfCommand.RAW_TRACEPOINT_OPEN, name ? `tracepoint ${name}` : undefined);
}

export interface ProgAttachRequest {
  targetFd: number;
  progFd: number;
  attachType: number;
  flags?: number;
  replaceProgFd?: number;
}

export function progAttach(r: ProgAttachRequest): void {
  const a = ProgAttachAttr;
  const q = new Request(a.size, 0);
  q.u32(a.target_fd, r.targetFd);
  q.u32(a.attach_bpf_fd, r.progFd);
  q.u32(a.attach_type, r.attachType);
  q.u32(a.attach_flags, r.flags ?? 0);
  q.u32(a.replace_bpf_fd, r.replaceProgFd ?? 0);
  q.run(BpfCommand.PROG_ATTACH);
}

export function progDetach(targetFd: number, attachType: number, progFd = 0): void {
  const a = ProgAttachAttr;
  const q = new Request(a.size, 0);
  q.u32(a.target_fd, targetFd);
  q.u32(a.attach_bpf_fd, progFd);
  q.u32(a.attach_type, attachType);
  q.run(BpfCommand.PROG_DETACH);
}

/** What BPF_PROG_QUERY reports for one hook. */
export interface ProgQueryResult {
  /** Program ids in the order they run. */
  ids: number[];
  /** The hook's attach flags (cgroups: BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI). */
  attachFlags: number;
  /** Per program: the flags it was attached with (cgroups, with BPF_F_QUERY_EFFECTIVE unset). */
  programAttachFlags: number[];
  /** Per program: the bpf_link holding it, or 0 (tcx, kernel 6.6+; empty on older kernels). */
  linkIds: number[];
  /** The hook's revision (tcx, kernel 6.6+; 0n elsewhere). */
  revision: bigint;
}

/**
 * Programs attached to `targetFd` (a cgroup or netns fd, or an ifindex for tcx) at `attachType`.
 * Asks again with room for all when the kernel says more are attached than fit (ENOSPC).
 */
export function progQuery(targetFd: number, attachType: number, max = 64, queryFlags = 0): ProgQueryResult {
  const a = ProgQueryAttr;
  for (;;) {
    const q = new Request(a.size, max * 16);
    const idsOff = q.reserve(max * 4);
    const flagsOff = q.reserve(max * 4);
    const linksOff = q.reserve(max * 4);
    const linkFlagsOff = q.reserve(max * 4);
    q.u32(a.target_fd, targetFd);
    q.u32(a.attach_type, attachType);
    q.u32(a.query_flags, queryFlags);
    q.u64(a.prog_ids, q.addr(idsOff));
    q.u32(a.prog_cnt, max);
    // cgroups refuse per-program flags on an effective query (BPF_F_QUERY_EFFECTIVE).
    if (!(queryFlags & 1)) q.u64(a.prog_attach_flags, q.addr(flagsOff));
    q.u64(a.link_ids, q.addr(linksOff));
    q.u64(a.link_attach_flags, q.addr(linkFlagsOff));
    const ret = q.raw(BpfCommand.PROG_QUERY);
    const n = q.buf.readUInt32LE(a.prog_cnt);
    if (ret === -28 /* ENOSPC */ && n > max) {
      max = n;
      continue;
    }
    check(commandName(BpfCommand.PROG_QUERY), ret, `attach type ${attachType}`);
    const read = (off: number): number[] => Array.from({ length: Math.min(n, max) }, (_, i) => q.buf.readUInt32LE(off + 4 * i));
    return {
      ids: read(idsOff),
      attachFlags: q.buf.readUInt32LE(a.attach_flags),
      programAttachFlags: read(flagsOff),
      linkIds: read(linksOff),
      revision: q.buf.readBigUInt64LE(a.revision),
    };
  }
}

/** BPF_ENABLE_STATS: statistics stay on while the returned fd is open. */
export function enableStats(type: number): number {
  const q = new Request(EnableStatsAttr.size, 0);
  q.u32(EnableStatsAttr.type, type);
  return q.run(BpfCommand.ENABLE_STATS, `stats type ${type}`);
}

export { SyscallError };
