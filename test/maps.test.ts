import { describe, expect, it } from 'vitest';
import { readdirSync, rmSync } from 'node:fs';
import { BpfMap, MapError, possibleCpus } from '../src/maps/index.js';
import { errnoOf } from '../src/errors/index.js';
import { MapFlags, MapType, UpdateFlags } from '../src/uapi/bpf.js';
import { struct, u32, u64, u8, array } from '../src/codec/index.js';
import { SyscallError, perfEventOpen, closeFd } from '../src/syscall/index.js';
import { Program } from '../src/programs/index.js';
import { isRoot, need } from './support/env.js';
import { bpftool, ensureBpffs } from './support/kernel.js';
import { closeTracked, track } from './support/track.js';

function returnProgram(value: number): Program {
  // r0 = value; exit
  const code = Buffer.alloc(16);
  code.writeUInt8(0xb7, 0);
  code.writeInt32LE(value, 4);
  code.writeUInt8(0x95, 8);
  return Program.load({ type: 'XDP', instructions: new Uint8Array(code), name: 'ret' });
}

describe.runIf(need(isRoot, 'map tests need root (bpf(2) with CAP_BPF)'))('maps on the real kernel', () => {
  it('createAsync makes what create makes (bpftool shows the same map), refuses what it refuses with the same error, and leaks nothing', async () => {
    const spec = {
      type: 'PERCPU_HASH',
      keySize: 4,
      valueSize: 8,
      maxEntries: 512,
      flags: MapFlags.NO_PREALLOC,
      name: 'async_made',
    } as const;
    const sync = track(BpfMap.create(spec));
    const made = track(await BpfMap.createAsync(spec, { key: u32, value: u64 }));
    const shown = (m: BpfMap<unknown, unknown>): Record<string, unknown> => {
      const { id: _id, ...rest } = bpftool<Record<string, unknown>>('map', 'show', 'id', String(m.info().id));
      return rest;
    };
    expect(shown(made)).toEqual(shown(sync));
    made.updatePerCpu(7, 9n);
    expect(made.lookupPerCpu(7)).toEqual(new Array(possibleCpus()).fill(9n));
    // Several at once on the pool: each its own map.
    const many = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => BpfMap.createAsync({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: n, name: `async_${n}` })),
    );
    expect(many.map((m) => m.maxEntries)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(many.map((m) => m.info().id)).size).toBe(6);
    for (const m of many) m.close();
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const bad = { type: 'HASH', keySize: 0, valueSize: 8, maxEntries: 4, name: 'async_bad' } as const;
    const syncError = (() => {
      try {
        BpfMap.create(bad).close();
      } catch (e) {
        return e as Error;
      }
      throw new Error('create should have refused a 0-byte key');
    })();
    const error = await BpfMap.createAsync(bad).then(track, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as Error).message).toBe(syncError.message);
    expect(fds()).toBe(before);
  });

  it('hash: update, lookup, flags, delete, next key, info agrees with bpftool', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 64, name: 'test_hash' }));
    m.update(1, 100n);
    m.update(2, 200n);
    expect(m.lookup(1)?.readBigUInt64LE()).toBe(100n);
    expect(m.lookup(3)).toBeUndefined();
    expect(() => m.update(1, 5n, UpdateFlags.NOEXIST)).toThrow(/EEXIST/);
    expect(() => m.update(9, 5n, UpdateFlags.EXIST)).toThrow(/ENOENT/);
    const keys = [...m.keys()].map((k) => k.readUInt32LE()).sort();
    expect(keys).toEqual([1, 2]);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    const info = m.info();
    const tool = bpftool<{ id: number; type: string; bytes_key: number; bytes_value: number; max_entries: number; name: string }>(
      'map',
      'show',
      'id',
      String(info.id),
    );
    expect(tool).toMatchObject({ type: 'hash', bytes_key: 4, bytes_value: 8, max_entries: 64, name: 'test_hash' });
    expect(info).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, name: 'test_hash' });
  });

  it('hash: lookup and delete, full map error', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 2, name: 'small' }));
    m.update(1, 11);
    m.update(2, 22);
    const err = (() => {
      try {
        m.update(3, 33);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MapError);
    expect(err).toMatchObject({ code: 'ERR_MAP', kind: 'update' });
    expect(errnoOf(err)).toBe('E2BIG');
    expect((err as MapError).cause).toBeInstanceOf(SyscallError);
    expect(m.lookupAndDelete(1)?.readUInt32LE()).toBe(11);
    expect(m.lookup(1)).toBeUndefined();
    expect(m.lookupAndDelete(1)).toBeUndefined();
  });

  it('array with struct codecs, freeze makes it read-only', () => {
    const value = struct({ a: u8, b: u64, c: array(u32, 2) });
    expect(value.size).toBe(24);
    const m = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 24, maxEntries: 4, name: 'arr' }, { key: u32, value }));
    m.update(2, { a: 7, b: 1n << 40n, c: [1, 2] });
    expect(m.lookup(2)).toEqual({ a: 7, b: 1n << 40n, c: [1, 2] });
    expect(m.lookup(0)).toEqual({ a: 0, b: 0n, c: [0, 0] });
    expect(m.lookup(4)).toBeUndefined();
    // Raw bytes of the value's size pass through a typed map as they are.
    const raw = Buffer.alloc(24);
    raw[0] = 9;
    raw.writeBigUInt64LE(5n, 8);
    m.update(Buffer.from([3, 0, 0, 0]), raw);
    expect(m.lookup(3)).toEqual({ a: 9, b: 5n, c: [0, 0] });
    expect(() => m.delete(0)).toThrow(/EINVAL/);
    m.freeze();
    expect(() => m.update(1, { a: 1, b: 1n, c: [0, 0] })).toThrow(/EPERM/);
  });

  it('per-CPU hash and array: one value per possible CPU', () => {
    const n = possibleCpus();
    for (const type of ['PERCPU_HASH', 'PERCPU_ARRAY'] as const) {
      const m = track(BpfMap.create({ type, keySize: 4, valueSize: 4, maxEntries: 8, name: type.toLowerCase() }, { key: u32, value: u32 }));
      const values = Array.from({ length: n }, (_, i) => 10 + i);
      m.updatePerCpu(1, values);
      expect(m.lookupPerCpu(1)).toEqual(values);
      expect(() => m.lookup(1)).toThrow(/per-CPU/);
      const batch = m.lookupBatchPerCpu();
      expect(batch.find(([k]) => k === 1)?.[1]).toEqual(values);
    }
  });

  it('LRU hash and LRU per-CPU hash evict instead of failing', () => {
    const m = track(BpfMap.create({ type: 'LRU_HASH', keySize: 4, valueSize: 4, maxEntries: 32, name: 'lru' }, { key: u32, value: u32 }));
    for (let i = 0; i < 500; i++) m.update(i, i);
    const keys = [...m.keys()];
    expect(keys.length).toBeLessThanOrEqual(32);
    expect(m.lookup(499)).toBe(499);
    const p = track(
      BpfMap.create({ type: 'LRU_PERCPU_HASH', keySize: 4, valueSize: 8, maxEntries: 32, name: 'lrupc' }, { key: u32, value: u64 }),
    );
    for (let i = 0; i < 200; i++) p.updatePerCpu(i, 7n);
    expect([...p.keys()].length).toBeLessThanOrEqual(32 * possibleCpus() + 32);
    expect(p.lookupPerCpu(199)).toEqual(new Array(possibleCpus()).fill(7n));
  });

  it('LPM trie: longest prefix wins', () => {
    const key = struct({ prefixlen: u32, addr: array(u8, 4) });
    const m = track(
      BpfMap.create(
        { type: 'LPM_TRIE', keySize: 8, valueSize: 4, maxEntries: 16, flags: MapFlags.NO_PREALLOC, name: 'lpm' },
        { key, value: u32 },
      ),
    );
    m.update({ prefixlen: 8, addr: [10, 0, 0, 0] }, 1);
    m.update({ prefixlen: 16, addr: [10, 1, 0, 0] }, 2);
    expect(m.lookup({ prefixlen: 32, addr: [10, 1, 2, 3] })).toBe(2);
    expect(m.lookup({ prefixlen: 32, addr: [10, 2, 0, 1] })).toBe(1);
    expect(m.lookup({ prefixlen: 32, addr: [11, 0, 0, 1] })).toBeUndefined();
  });

  it('queue is FIFO, stack is LIFO, both report empty', () => {
    const q = track(BpfMap.create({ type: 'QUEUE', valueSize: 4, maxEntries: 8, name: 'q' }, { value: u32 }));
    const s = track(BpfMap.create({ type: 'STACK', valueSize: 4, maxEntries: 8, name: 's' }, { value: u32 }));
    for (const v of [1, 2, 3]) {
      q.push(v);
      s.push(v);
    }
    expect(q.peek()).toBe(1);
    expect(s.peek()).toBe(3);
    expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([1, 2, 3, undefined]);
    expect([s.pop(), s.pop(), s.pop(), s.pop()]).toEqual([3, 2, 1, undefined]);
    expect(() => q.lookup(0)).toThrow();
  });

  it('bloom filter: pushed values may be contained, others are not', () => {
    const b = track(BpfMap.create({ type: 'BLOOM_FILTER', valueSize: 8, maxEntries: 1000, mapExtra: 3n, name: 'bloom' }, { value: u64 }));
    for (const v of [1n, 2n, 3n]) b.push(v);
    expect([1n, 2n, 3n].map((v) => b.mayContain(v))).toEqual([true, true, true]);
    // With 3 of 1000 slots used, a false positive on all of these is practically impossible.
    expect([100n, 200n, 300n, 400n].filter((v) => b.mayContain(v)).length).toBeLessThan(4);
  });

  it('program array holds programs; lookup returns the program id', () => {
    const prog = track(returnProgram(1));
    const m = track(BpfMap.create({ type: 'PROG_ARRAY', maxEntries: 4, name: 'progs' }, { key: u32, value: u32 }));
    m.update(0, prog.fd);
    expect(m.lookup(0)).toBe(prog.info().id);
    expect(m.lookup(1)).toBeUndefined();
  });

  it('perf event array holds perf event fds', () => {
    const m = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'perf' }));
    // PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT on CPU 0.
    const pfd = perfEventOpen({ type: 1, config: 10n, sampleType: 0x400n, wakeupEvents: 1 }, -1, 0);
    try {
      m.update(0, { fd: pfd });
      expect(m.delete(0)).toBe(true);
      expect(m.delete(0)).toBe(false);
    } finally {
      closeFd(pfd);
    }
  });

  it('ring buffer is created with a page-multiple size; element commands are refused with a typed error', () => {
    const r = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 64 * 1024, name: 'ring' }));
    expect(r.info()).toMatchObject({ type: MapType.RINGBUF, maxEntries: 64 * 1024, keySize: 0, valueSize: 0 });
    expect(() => BpfMap.create({ type: 'RINGBUF', maxEntries: 1000 })).toThrow(/EINVAL/);
    expect(() => r.nextKey()).toThrow(MapError);
  });

  it('array of maps and hash of maps hold maps by fd and return their ids', () => {
    const inner = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 2, name: 'inner' }, { key: u32, value: u32 }));
    inner.update(1, 42);
    const aom = track(BpfMap.create({ type: 'ARRAY_OF_MAPS', maxEntries: 2, innerMap: inner, name: 'aom' }, { key: u32, value: u32 }));
    const hom = track(
      BpfMap.create(
        {
          type: 'HASH_OF_MAPS',
          keySize: 4,
          maxEntries: 2,
          innerMap: { type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 2 },
          name: 'hom',
        },
        { key: u32, value: u32 },
      ),
    );
    aom.update(0, inner.fd);
    hom.update(7, inner.fd);
    const id = inner.info().id;
    expect(aom.lookup(0)).toBe(id);
    expect(hom.lookup(7)).toBe(id);
    const again = track(BpfMap.fromId(aom.lookup(0)!, { key: u32, value: u32 }));
    expect(again.lookup(1)).toBe(42);
    expect(() => BpfMap.create({ type: 'ARRAY_OF_MAPS', maxEntries: 1 })).toThrow(/innerMap/);
  });

  it('batch update, lookup, delete and lookup-and-delete over 10,000 entries', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 10_000, name: 'batch' }, { key: u32, value: u64 }));
    const entries = Array.from({ length: 10_000 }, (_, i) => [i, BigInt(i) * 3n] as const);
    m.updateBatch(entries);
    const got = m.lookupBatch(1000);
    expect(got.length).toBe(10_000);
    expect(new Map(got)).toEqual(new Map(entries));
    expect(m.deleteBatch(Array.from({ length: 5000 }, (_, i) => i))).toBe(5000);
    expect(m.lookup(4999)).toBeUndefined();
    expect(m.lookup(5000)).toBe(15_000n);
    let drained = 0;
    let cursor: Buffer | undefined;
    for (;;) {
      const r = m.lookupBatchRaw(777, cursor, true);
      drained += r.count;
      if (r.done) break;
      cursor = r.cursor;
    }
    expect(drained).toBe(5000);
    expect(m.nextKey()).toBeUndefined();
  });

  it('iterates synchronously and asynchronously', async () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 1000, name: 'iter' }, { key: u32, value: u32 }));
    for (let i = 0; i < 600; i++) m.update(i, i * 2);
    const sync = new Map([...m]);
    const asyncEntries: [number, number][] = [];
    for await (const e of m) asyncEntries.push(e);
    expect(sync.size).toBe(600);
    expect(new Map(asyncEntries)).toEqual(sync);
    expect(sync.get(599)).toBe(1198);
  });

  it('pins, opens by pin and by id, and closes', () => {
    const dir = ensureBpffs();
    const path = `${dir}/ebpf_test_${process.pid}`;
    const m = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'pinned' }, { key: u32, value: u32 }));
    m.update(0, 5);
    m.pin(path);
    try {
      const p = track(BpfMap.fromPin(path, { key: u32, value: u32 }));
      expect(p.lookup(0)).toBe(5);
      expect(p.info().id).toBe(m.info().id);
      expect(() => m.pin(path)).toThrow(/EEXIST/);
    } finally {
      rmSync(path);
    }
    expect(() => BpfMap.fromPin(path)).toThrow(/ENOENT/);
    const id = m.info().id;
    closeTracked();
    m.close();
    expect(() => m.lookup(0)).toThrow(/closed/);
    // The kernel frees the map asynchronously once the last fd is gone.
    const deadline = Date.now() + 5000;
    let gone: unknown;
    while (!gone && Date.now() < deadline) {
      try {
        BpfMap.fromId(id).close();
      } catch (e) {
        gone = e;
      }
    }
    expect(String(gone)).toMatch(/ENOENT.*no object with that id/);
  });

  it('rejects bad specs and inputs with clear errors', () => {
    expect(() => BpfMap.create({ type: 'NOPE' as 'HASH', keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/unknown map type "NOPE"/);
    expect(() => BpfMap.create({ type: 'HASH', valueSize: 4, maxEntries: 1 })).toThrow(/keySize/);
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 1, name: 'bad' }));
    expect(() => m.update(Buffer.alloc(3), 1)).toThrow(/3 bytes, the map wants 4/);
    expect(() => m.update(1, 1n)).toThrow(/bigint fills 8 bytes/);
    expect(() => BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 0 })).toThrow(SyscallError);
  });
});
