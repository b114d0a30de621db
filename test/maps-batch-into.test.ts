// Batch lookups into reusable buffers (batchBuffers + lookupBatchInto): the kernel writes keys,
// values and the cursor in place. Entries are checked against bpftool's dump of the same map (the
// kernel's own view), across several calls that continue from the cursor, and after the map's end.
import { describe, expect, it } from 'vitest';
import { getHeapSpaceStatistics } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';
import { BpfMap, MapError, possibleCpus, type MapBatchBuffers } from '../src/maps/index.js';
import { isRoot, need } from './support/env.js';
import { bpftool } from './support/kernel.js';
import { track } from './support/track.js';

type Dump = Array<{ key: string[]; value?: string[]; values?: Array<{ cpu: number; value: string[] }> }>;
const hex = (bytes: string[]): string => Buffer.from(bytes.map((h) => Number(h))).toString('hex');

/** key hex -> value hex as bpftool dumps the map (per-CPU values: each CPU's bytes, back to back). */
function kernelEntries(m: BpfMap): Map<string, string> {
  const dump = bpftool<Dump>('map', 'dump', 'id', String(m.info().id));
  return new Map(dump.map((e) => [hex(e.key), e.value ? hex(e.value) : e.values!.map((v) => hex(v.value)).join('')]));
}

/** Every entry of one pass over the map (until done), and the count each call returned. */
function onePass(m: BpfMap, b: MapBatchBuffers, del = false): { entries: Map<string, string>; counts: number[] } {
  const entries = new Map<string, string>();
  const counts: number[] = [];
  do {
    // A cursor that did not move would loop for ever: no map here needs more than 100 calls.
    if (counts.length > 100) throw new Error('the pass does not end');
    const n = m.lookupBatchInto(b, del);
    expect(n).toBe(b.count);
    counts.push(n);
    for (let i = 0; i < n; i++) {
      const k = b.keys.subarray(i * b.keySize, (i + 1) * b.keySize).toString('hex');
      expect(entries.has(k)).toBe(false);
      entries.set(k, b.values.subarray(i * b.valueSize, (i + 1) * b.valueSize).toString('hex'));
    }
  } while (!b.done);
  return { entries, counts };
}

const newSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

describe.runIf(need(isRoot, 'maps need root'))('batch lookups into reusable buffers', () => {
  it('hash: a pass of several calls returns what bpftool dumps; the call after done starts over', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 4096, name: 'binto_hash' }));
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(24);
    for (let i = 0; i < 3000; i++) {
      key.writeBigUInt64LE(BigInt(i) * 0x1_0000_0003n);
      for (let j = 0; j < 24; j++) value[j] = (i * 11 + j) & 0xff;
      m.update(key, value);
    }
    const b = m.batchBuffers(700);
    expect([b.capacity, b.keySize, b.valueSize, b.keys.length, b.values.length]).toEqual([700, 8, 24, 700 * 8, 700 * 24]);
    expect([b.count, b.done]).toEqual([0, false]);
    const expected = kernelEntries(m);
    expect(expected.size).toBe(3000);
    const first = onePass(m, b);
    // Several calls, each continuing after the previous one's cursor.
    expect(first.counts.length).toBeGreaterThanOrEqual(5);
    expect(first.entries).toEqual(expected);
    // done: the next call starts from the first entry again, and sees a change made meanwhile.
    key.writeBigUInt64LE(0n);
    m.update(key, Buffer.alloc(24, 0xee));
    expected.set(key.toString('hex'), 'ee'.repeat(24));
    expect(onePass(m, b).entries).toEqual(expected);
    // reset() mid-way: the next call starts over too.
    m.lookupBatchInto(b);
    expect(b.done).toBe(false);
    b.reset();
    expect(b.count).toBe(0);
    expect(onePass(m, b).entries).toEqual(expected);
  });

  it('array and per-CPU hash: values as bpftool dumps them', () => {
    const a = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 12, maxEntries: 50, name: 'binto_array' }));
    for (let i = 0; i < 50; i++) a.update(i, Buffer.alloc(12, i + 1));
    const ab = a.batchBuffers(7);
    const arr = onePass(a, ab);
    expect(arr.counts.length).toBe(8);
    expect(arr.entries).toEqual(kernelEntries(a));

    const cpus = possibleCpus();
    const p = track(BpfMap.create({ type: 'PERCPU_HASH', keySize: 4, valueSize: 4, maxEntries: 64, name: 'binto_pcpu' }));
    for (let i = 0; i < 40; i++)
      p.updatePerCpu(
        i,
        Array.from({ length: cpus }, (_, c) => Buffer.from([i, c, 0xaa, 0xbb])),
      );
    const pb = p.batchBuffers(16);
    // One 8-byte-rounded slot per possible CPU: the 4 padding bytes after each value stay zero.
    expect(pb.valueSize).toBe(8 * cpus);
    const perCpu = onePass(p, pb);
    const expected = new Map([...kernelEntries(p)].map(([k, v]) => [k, v]));
    const ours = new Map(
      [...perCpu.entries].map(([k, v]) => [k, Array.from({ length: cpus }, (_, c) => v.slice(c * 16, c * 16 + 8)).join('')]),
    );
    expect(ours).toEqual(expected);
  });

  it('with del, a pass drains the map (bpftool then dumps nothing)', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 1024, name: 'binto_drain' }));
    for (let i = 0; i < 1000; i++) m.update(i, BigInt(i) * 5n);
    const expected = kernelEntries(m);
    const drained = onePass(m, m.batchBuffers(256), true);
    expect(drained.entries).toEqual(expected);
    expect(kernelEntries(m).size).toBe(0);
  });

  it('refuses buffers of another map, a closed map, bad capacities and transferred memory, with MapErrors', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 8, name: 'binto_err' }));
    const other = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 8, name: 'binto_other' }));
    m.update(1, 2);
    const kind = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(MapError);
        return (e as MapError).kind;
      }
      return undefined;
    };
    const b = m.batchBuffers(8);
    expect(kind(() => other.lookupBatchInto(b))).toBe('operation');
    expect(() => other.lookupBatchInto(b)).toThrow(/made by another map/);
    expect(kind(() => m.lookupBatchInto({} as MapBatchBuffers))).toBe('operation');
    expect(kind(() => m.lookupBatchInto(null as unknown as MapBatchBuffers))).toBe('operation');
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(kind(() => m.batchBuffers(bad))).toBe('value-count');
    expect(kind(() => m.lookupBatchRaw(-3))).toBe('value-count');
    // Memory handed to another thread (transferred) can no longer be written by the kernel.
    const moved = m.batchBuffers(8);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(null, [moved.keys.buffer as ArrayBuffer]);
    port1.close();
    port2.close();
    expect(() => m.lookupBatchInto(moved)).toThrow(/transferred/);
    expect(m.lookupBatchInto(b)).toBe(1);
    m.close();
    expect(kind(() => m.lookupBatchInto(b))).toBe('closed');
    expect(kind(() => m.batchBuffers(8))).toBe('closed');
  });

  it('allocates nothing per call', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 64, name: 'binto_alloc' }));
    for (let i = 0; i < 64; i++) m.update(BigInt(i), Buffer.alloc(24, i));
    const b = m.batchBuffers(64);
    const op = (): void => {
      if (m.lookupBatchInto(b) !== 64 || !b.done) throw new Error('short batch');
    };
    for (let i = 0; i < 1000; i++) op();
    // Young-generation growth over 2,000 and 8,000 calls; the least of three (anything else in the
    // process can only add). A scavenge in the middle shrinks the space: that attempt is retried.
    const grown = (n: number): number => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const before = newSpaceUsed();
        for (let i = 0; i < n; i++) op();
        const g = newSpaceUsed() - before;
        if (g >= 0) return g;
      }
      throw new Error('a scavenge interrupted every attempt');
    };
    const perCall = Math.min(...[0, 1, 2].map(() => (grown(8000) - grown(2000)) / 6000));
    expect(perCall).toBeLessThan(1);
  });
});
