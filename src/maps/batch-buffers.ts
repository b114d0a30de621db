// Reusable buffers for batch lookups, the batch counterpart of lookupInto: the kernel writes keys,
// values and the cursor straight into them, so a loop of BpfMap.lookupBatchInto calls copies and
// allocates nothing (lookupBatchRaw allocates its buffers per call: for 10,000 entries of a 24-byte
// value that is 320 KB of fresh memory per call, about 5 ns per entry of malloc and page faults).
import type { BatchRegion } from '../syscall/index.js';

/** What BpfMap.lookupBatchInto keeps between calls; not exported from the package. */
export interface BatchState {
  /** The map the buffers were made for (its cursor means nothing to another map). */
  readonly owner: object;
  readonly region: BatchRegion;
  /** Whether the in cursor holds the position after the last call (false: start from the first entry). */
  started: boolean;
  done: boolean;
  count: number;
}

let stateOf: (b: MapBatchBuffers) => BatchState | undefined = () => undefined;

/**
 * Keys and values of one batch of a map's entries, reused across calls: made once by
 * `map.batchBuffers(capacity)`, filled by `map.lookupBatchInto(buffers)`. Each call continues
 * where the previous one stopped; the call after the one that reached the map's end (`done`)
 * starts again from the first entry. The memory belongs to the garbage collector (no close);
 * the views stay valid for as long as they are referenced, and each call overwrites them.
 */
export class MapBatchBuffers {
  /** Most entries one call returns. */
  readonly capacity: number;
  /** Bytes per key in `keys`. */
  readonly keySize: number;
  /** Bytes per value in `values`: the map's value size, or for a per-CPU map one 8-byte-rounded slot per possible CPU. */
  readonly valueSize: number;
  /** `capacity` keys, back to back; the first `count` are the last call's. */
  readonly keys: Buffer;
  /** `capacity` values, back to back, in the order of `keys`; the first `count` are the last call's. */
  readonly values: Buffer;
  readonly #state: BatchState;

  /** Use BpfMap.batchBuffers(capacity). */
  constructor(owner: object, region: BatchRegion) {
    this.capacity = region.capacity;
    this.keySize = region.keySize;
    this.valueSize = region.valueSize;
    this.keys = region.keys;
    this.values = region.values;
    this.#state = { owner, region, started: false, done: false, count: 0 };
  }

  /** Entries the last lookupBatchInto call wrote (0 before the first). */
  get count(): number {
    return this.#state.count;
  }

  /** Whether the last call reached the end of the map; the next call starts from the first entry. */
  get done(): boolean {
    return this.#state.done;
  }

  /** Makes the next call start from the first entry, wherever the last one stopped. */
  reset(): void {
    this.#state.started = false;
    this.#state.done = false;
    this.#state.count = 0;
  }

  static {
    stateOf = (b) => (typeof b === 'object' && b !== null && #state in b ? b.#state : undefined);
  }
}

/** The state behind `b`, or undefined when `b` is not a MapBatchBuffers; for BpfMap only. */
export function batchStateOf(b: MapBatchBuffers): BatchState | undefined {
  return stateOf(b);
}
