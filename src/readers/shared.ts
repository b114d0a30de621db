// What every reader (and the user ring buffer producer) shares: the error, the map they take, the
// memory-ordering rules for positions shared with the kernel, lost-record counting, and the rule
// that one process has one consumer (or producer) per map.
import { HOST_LITTLE_ENDIAN } from '../host.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/** A reader or producer misused, or a ring holding what the kernel never writes. */
export class ReaderError extends EbpfError {
  /** Creates the error with `message` and `code` (ERR_READER by default). */
  constructor(message: string, code = 'ERR_READER', options?: EbpfErrorOptions) {
    super(code, message, options);
  }
}

/** What a reader needs of a map: a BpfMap fits. */
export interface ReaderMap {
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly name: string;
}

/** The ring buffer reader's name for ReaderMap (kept for compatibility). */
export type RingBufferMap = ReaderMap;

/** A map with its kernel id, which identifies it whatever fd a reader was given. */
export interface IdentifiedMap extends ReaderMap {
  info(): { id: number };
}

/*
 * Acquire and release. Producer and consumer share positions and record headers through memory:
 * the producer publishes a record (clears a header's busy bit, advances producer_pos or data_head)
 * with a release store, and the consumer reads them with acquire loads before it reads the record;
 * the consumer hands space back (consumer_pos, data_tail) with a release store after it is done
 * with the records, and the producer reads that with an acquire load before it reuses the space.
 *
 * On x86 (TSO) every load is an acquire and every store a release, and V8 emits typed-array loads
 * and stores in program order, so plain accesses are right there (as libbpf's smp_load_acquire and
 * smp_store_release compile to plain movs); elsewhere the readers use Atomics.load/Atomics.store.
 * The hot loops keep a module-local copy of PLAIN_LOADS_ACQUIRE, so that V8 folds the test away.
 */
export const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';

/** Index of the low 32-bit half of a u64 in a Uint32Array view of it. */
export const LOW_WORD = HOST_LITTLE_ENDIAN ? 0 : 1;

/**
 * Advances a u64 position this side owns (consumer_pos, data_tail, a user ring's producer_pos;
 * its low half is `words[index]`) from `low` (its low 32 bits) by `bytes`, with release semantics,
 * and returns the new low 32 bits. While the high half stays the same a 32-bit store of the low
 * half is the whole update (the other side reads the u64 in one load, so it sees the old or the
 * new value); when the low half carries, the u64 is stored whole.
 */
export function advancePosition(words: Uint32Array, index: number, whole: BigUint64Array, low: number, bytes: number): number {
  const next = low + bytes;
  if (next <= 0xffff_ffff) {
    if (PLAIN_LOADS_ACQUIRE)
      words[index] = next; // x86: a plain store is a release store
    else Atomics.store(words, index, next);
    return next;
  }
  Atomics.store(whole, 0, BigInt.asUintN(64, Atomics.load(whole, 0) + BigInt(bytes)));
  return next - 0x1_0000_0000;
}

/** Records a kernel dropped because a ring was full, in total and per CPU. */
export class LostCounter {
  total = 0;
  readonly byCpu = new Map<number, number>();

  add(cpu: number, count: number): void {
    this.total += count;
    this.byCpu.set(cpu, (this.byCpu.get(cpu) ?? 0) + count);
  }
}

/** Maps with a live reader or producer in this process (by id), and what holds them. */
const claims = new Map<string, string>();

/**
 * Claims a map for one reader (or producer) in this process: a ring has one consumer position
 * (a perf event array one perf event per CPU slot), so two readers would each see part of the
 * records, or take each other's slots. Returns the map id to release.
 */
export function claimMap(map: ReaderMap & { info?(): { id: number } }, holder: string, why: string): string {
  // A map without info() (a ReaderMap made up by the caller) is known by its fd only.
  const id = map.info ? `id ${map.info().id}` : `fd ${map.fd}`;
  const held = claims.get(id);
  if (held !== undefined) {
    throw new ReaderError(
      `${holder} "${map.name}" (${id}) already has a ${held} in this process: ${why}; use one and fan out in JavaScript`,
      'ERR_READER_BUSY',
    );
  }
  claims.set(id, holder.includes('producer') ? 'producer' : 'reader');
  return id;
}

export function releaseMap(id: string): void {
  claims.delete(id);
}

/** `max` as a small integer, so the hot loops compare integers (Infinity and large values: 2^31 - 1). */
export function toLimit(max: number): number {
  return max >= 0x7fff_ffff ? 0x7fff_ffff : max > 0 ? max | 0 : 0;
}
