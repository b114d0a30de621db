// Which map creations are worth handing to another thread. loadCollectionAsync creates maps on
// libuv's pool so that this thread can lay out programs meanwhile, but a hand-over is not free: on
// the 2-CPU test machine an awaited createAsync of a 4-entry array took 48-53 µs against 13-29 µs
// made here (bench/map-creation-cost.ts, 2026-12-07), and every pool thread woken competes with
// this one for the CPUs. Most maps cost the kernel less than that: all but those whose creation
// allocates per element or clears much memory. Measured there (µs, creation and close):
//   PERCPU_HASH / PERCPU_ARRAY  75 at 64 entries, 729-758 at 1024, 2945-3232 at 4096: ~0.7 per entry
//   HASH / LRU_HASH, prealloc   34-36 at 64, 54-59 at 1024, 146-174 at 4096, ~630 at 16384
//   HASH with BPF_F_NO_PREALLOC 19 at 64, 84 at 4096, 199 at 16384 (the bucket array only)
//   ARRAY 64-byte values        15 at 64, 71 at 4096 (256 KiB), 195 at 16384 (1 MiB)
//   RINGBUF                     15 at 4 KiB, 26 at 64 KiB, 205 at 1 MiB, 726 at 4 MiB
// A creation goes to the pool when its estimate passes what a hand-over costs.
import { MapType } from '../../uapi/bpf.js';
import type { MapSpecEntry } from '../spec/types.js';

const BPF_F_NO_PREALLOC = 1;
/** Entries from which a map with per-CPU entries costs more than a hand-over (~0.7 µs each). */
const PER_CPU_ENTRIES = 96;
/** Entries from which a preallocated hash map costs more than a hand-over. */
const PREALLOCATED_ENTRIES = 2048;
/** Bytes of values (or of ring) from which clearing them costs more than a hand-over. */
const STORAGE_BYTES = 256 * 1024;

// Hash maps whose elements the kernel allocates at creation unless BPF_F_NO_PREALLOC is given
// (LRU maps always).
const PREALLOCATED_HASHES = new Set<number>([
  MapType.HASH,
  MapType.PERCPU_HASH,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.HASH_OF_MAPS,
]);

/** Whether creating `m` costs the kernel more than handing the call to a pool thread does. */
export function costlyToCreate(m: Pick<MapSpecEntry, 'type' | 'flags' | 'maxEntries' | 'valueSize'>): boolean {
  const lru = m.type === MapType.LRU_HASH || m.type === MapType.LRU_PERCPU_HASH;
  const preallocated = PREALLOCATED_HASHES.has(m.type) && (lru || (m.flags & BPF_F_NO_PREALLOC) === 0);
  const perCpuEntries =
    m.type === MapType.PERCPU_ARRAY || ((m.type === MapType.PERCPU_HASH || m.type === MapType.LRU_PERCPU_HASH) && preallocated);
  if (perCpuEntries) return m.maxEntries >= PER_CPU_ENTRIES;
  if (preallocated && m.maxEntries >= PREALLOCATED_ENTRIES) return true;
  // A ring buffer's max_entries is its size in bytes.
  const storage = m.type === MapType.RINGBUF || m.type === MapType.USER_RINGBUF ? m.maxEntries : m.maxEntries * m.valueSize;
  return storage >= STORAGE_BYTES;
}
