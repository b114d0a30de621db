// Lookup of type ids by name, built on first use. Hashes the UTF-8 bytes of each name in place
// instead of decoding them into JS strings: a Map keyed by 100k fresh strings costs several
// times more than the whole parse.
import type { StringTable } from './strings.js';

const encoder = new TextEncoder();

/** Hash of bytes[from, to); callers pass a range inside `bytes`. */
function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  // A subarray per name would allocate 100k views; the range is inside bytes (see above).
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export class NameIndex {
  private readonly buckets: Int32Array;
  /** next[i]: the following entry in type i's bucket chain, -1 at the end. */
  private readonly next: Int32Array;
  private readonly mask: number;

  /**
   * @param nameOffsets name_off of each type, index i standing for type id firstTypeId + i
   */
  constructor(
    private readonly strings: StringTable,
    private readonly nameOffsets: Uint32Array,
    private readonly firstTypeId: number,
  ) {
    const n = nameOffsets.length;
    let size = 16;
    while (size < n * 2) size *= 2;
    this.mask = size - 1;
    this.buckets = new Int32Array(size).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    // Walk backwards and prepend, so each chain lists ids in ascending order.
    const own = strings.ownBytes;
    const first = strings.firstOffset;
    for (let i = n - 1; i >= 0; i--) {
      const off = nameOffsets[i]!; // 0 <= i < n = nameOffsets.length
      if (off === 0) continue;
      let bytes = own;
      let index = off - first;
      if (index < 0 || index >= own.length) {
        const where = strings.locate(off);
        if (where === undefined) continue;
        bytes = where.bytes;
        index = where.index;
      }
      let end = index;
      while (end < bytes.length && bytes[end] !== 0) end++;
      const slot = fnv1a(bytes, index, end) & this.mask;
      this.next[i] = this.buckets[slot]!; // slot <= mask < buckets.length
      this.buckets[slot] = i;
    }
  }

  /** Ids of the types named `name`, ascending. */
  lookup(name: string): number[] {
    const out: number[] = [];
    if (name === '') return out;
    const want = encoder.encode(name);
    const slot = fnv1a(want, 0, want.length) & this.mask;
    // Chains hold indexes of nameOffsets and end in -1; slot <= mask < buckets.length.
    for (let i = this.buckets[slot]!; i >= 0; i = this.next[i]!) {
      const where = this.strings.locate(this.nameOffsets[i]!);
      if (where !== undefined && sameName(where.bytes, where.index, want)) out.push(this.firstTypeId + i);
    }
    return out;
  }
}

/** Whether the NUL-terminated name at bytes[at] is exactly `want`. */
export function sameName(bytes: Uint8Array, at: number, want: Uint8Array): boolean {
  if (at + want.length >= bytes.length || bytes[at + want.length] !== 0) return false;
  for (let j = 0; j < want.length; j++) if (bytes[at + j] !== want[j]) return false;
  return true;
}
