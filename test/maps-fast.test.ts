// The zero-allocation element path: lookupInto, and update/delete/lookup on raw Buffers through the
// native slots. Values are checked against the kernel (bpftool map dump, and a program that writes
// the map through the helper), not only against our own lookup.
import { describe, expect, it } from 'vitest';
import { getHeapSpaceStatistics } from 'node:v8';
import { BpfMap, MapError, Program } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R3, R4, R10, Size } from '../src/asm/index.js';
import { isRoot, need } from './support/env.js';
import { bpftool } from './support/kernel.js';
import { track } from './support/track.js';

type Dump = Array<{ key: string[]; value: string[] }>;
const bytes = (hex: string[]): Buffer => Buffer.from(hex.map((h) => Number(h)));

/** The map's entries as the kernel reports them: key hex -> value hex. */
function kernelEntries(m: BpfMap): Map<string, string> {
  const dump = bpftool<Dump>('map', 'dump', 'id', String(m.info().id));
  return new Map(dump.map((e) => [bytes(e.key).toString('hex'), bytes(e.value).toString('hex')]));
}

const newSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

/**
 * Bytes the young generation grew by over `n` calls of `op`, less what reading the statistics
 * itself allocates (measured with no calls). A scavenge in the middle would make the figure
 * meaningless (it shrinks the space), so the loop is retried when the space shrank.
 */
function youngBytesAllocated(op: (i: number) => void, n: number): number {
  for (let i = 0; i < 1000; i++) op(i); // compile it first
  for (let attempt = 0; attempt < 5; attempt++) {
    const base0 = newSpaceUsed();
    const baseline = newSpaceUsed() - base0;
    const before = newSpaceUsed();
    for (let i = 0; i < n; i++) op(i);
    const grown = newSpaceUsed() - before;
    if (grown >= 0 && baseline >= 0) return grown - baseline;
  }
  throw new Error('a scavenge interrupted every attempt');
}

describe.runIf(need(isRoot, 'maps need root'))('single elements on raw Buffers', () => {
  it('update and delete on raw Buffers agree with bpftool map dump', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 256, name: 'fast_hash' }));
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(24);
    const expected = new Map<string, string>();
    for (let i = 0; i < 100; i++) {
      key.writeBigUInt64LE(BigInt(i) * 0x1_0000_0001n);
      for (let j = 0; j < 24; j++) value[j] = (i * 7 + j) & 0xff;
      m.update(key, value);
      expected.set(key.toString('hex'), value.toString('hex'));
    }
    for (let i = 0; i < 100; i += 3) {
      key.writeBigUInt64LE(BigInt(i) * 0x1_0000_0001n);
      expect(m.delete(key)).toBe(true);
      expect(m.delete(key)).toBe(false);
      expected.delete(key.toString('hex'));
    }
    expect(kernelEntries(m)).toEqual(expected);
    // lookupInto reads back what the kernel holds.
    const out = Buffer.alloc(24);
    for (const [k, v] of expected) {
      expect(m.lookupInto(Buffer.from(k, 'hex'), out)).toBe(true);
      expect(out.toString('hex')).toBe(v);
    }
  });

  it('lookupInto reads values a program wrote through the helper; absent keys leave out untouched', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 8, name: 'fast_prog' }));
    // key 5 -> { 0x1122334455667788, 0x0badcafe } written by the kernel.
    const p = track(
      Program.load({
        type: 'SOCKET_FILTER',
        name: 'fast_write',
        maps: { m },
        instructions: new ProgramBuilder()
          .st(Size.W, R10, -4, 5)
          .lddw(R1, 0x1122334455667788n)
          .stx(Size.DW, R10, -24, R1)
          .st(Size.DW, R10, -16, 0x0badcafe)
          .ldMapFd(R1, 'm')
          .mov64Reg(R2, R10)
          .add64Imm(R2, -4)
          .mov64Reg(R3, R10)
          .add64Imm(R3, -24)
          .mov64Imm(R4, 0)
          .call('map_update_elem')
          .mov64Imm(R0, 0)
          .exit()
          .build(),
      }),
    );
    p.testRun({ data: Buffer.alloc(64) });
    const out = Buffer.alloc(20, 0xee); // longer than the value: only the first 16 bytes are written
    expect(m.lookupInto(Buffer.from([5, 0, 0, 0]), out)).toBe(true);
    expect(out.subarray(0, 16).toString('hex')).toBe(kernelEntries(m).get('05000000'));
    expect(out.readBigUInt64LE(0)).toBe(0x1122334455667788n);
    expect(out.readBigUInt64LE(8)).toBe(0x0badcafen);
    expect(out.subarray(16).toString('hex')).toBe('eeeeeeee');
    const untouched = Buffer.alloc(16, 0xab);
    expect(m.lookupInto(Buffer.from([6, 0, 0, 0]), untouched)).toBe(false);
    expect(untouched.equals(Buffer.alloc(16, 0xab))).toBe(true);
    // Numbers are keys too, as for lookup.
    expect(m.lookupInto(5, untouched)).toBe(true);
    expect(untouched.readBigUInt64LE(0)).toBe(0x1122334455667788n);
    expect(() => m.lookupInto(5, Buffer.alloc(15))).toThrow(/lookupInto needs a Uint8Array of at least 16 bytes/);
    expect(() => m.lookupInto(Buffer.alloc(3), out)).toThrow(/key is 3 bytes, the map wants 4/);
  });

  it('maps of different shapes used in turn keep their own keys and values', () => {
    const a = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 16, name: 'fast_a' }));
    const b = track(BpfMap.create({ type: 'HASH', keySize: 16, valueSize: 64, maxEntries: 16, name: 'fast_b' }));
    const c = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 70_000, maxEntries: 2, name: 'fast_big' }));
    const bigValue = Buffer.alloc(70_000, 0x5a);
    for (let i = 0; i < 10; i++) {
      a.update(Buffer.from([i, 0, 0, 0]), Buffer.alloc(8, i + 1));
      b.update(Buffer.alloc(16, i), Buffer.alloc(64, 0x80 + i));
      c.update(Buffer.from([1, 0, 0, 0]), bigValue);
    }
    const outA = Buffer.alloc(8);
    const outB = Buffer.alloc(64);
    const outC = Buffer.alloc(70_000);
    for (let i = 0; i < 10; i++) {
      expect(a.lookupInto(Buffer.from([i, 0, 0, 0]), outA)).toBe(true);
      expect(c.lookupInto(Buffer.from([1, 0, 0, 0]), outC)).toBe(true);
      expect(b.lookupInto(Buffer.alloc(16, i), outB)).toBe(true);
      expect(outA.equals(Buffer.alloc(8, i + 1))).toBe(true);
      expect(outB.equals(Buffer.alloc(64, 0x80 + i))).toBe(true);
      expect(outC.equals(bigValue)).toBe(true);
    }
    const ka = kernelEntries(a);
    const kb = kernelEntries(b);
    expect(ka.size).toBe(10);
    expect(kb.size).toBe(10);
    for (let i = 0; i < 10; i++) {
      expect(ka.get(Buffer.from([i, 0, 0, 0]).toString('hex'))).toBe(Buffer.alloc(8, i + 1).toString('hex'));
      expect(kb.get(Buffer.alloc(16, i).toString('hex'))).toBe(Buffer.alloc(64, 0x80 + i).toString('hex'));
    }
    expect(c.lookup(1)?.equals(bigValue)).toBe(true);
  });

  it("lookupInto and update use the caller's buffers in place, whatever they are views of", () => {
    // After an array is handed over twice in a row the kernel reads and writes it where it is
    // (no copy); the checks: every value read equals what was written, bytes around a window into
    // a larger buffer stay untouched, an absent key leaves the output as it was.
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 64, name: 'fast_inplace' }));
    const valueOf = (i: number): Buffer => Buffer.from(Array.from({ length: 24 }, (_, j) => (i * 7 + j + 1) & 0xff));
    const kinds: Record<string, () => Uint8Array> = {
      // Small Buffers keep their bytes inside the object until their memory is asked for.
      small: () => Buffer.alloc(24),
      window: () => Buffer.alloc(80, 0xee).subarray(20, 44),
      pooled: () => Buffer.allocUnsafe(24),
      uint8: () => new Uint8Array(24),
      shared: () => new Uint8Array(new SharedArrayBuffer(24)),
    };
    const keyOf = (kind: string): Uint8Array => kinds[kind]!().subarray(0, 8);
    for (const keyKind of Object.keys(kinds)) {
      for (const outKind of Object.keys(kinds)) {
        const key = keyOf(keyKind);
        const value = kinds[outKind]!();
        const out = kinds[outKind]!();
        const keyWords = new DataView(key.buffer, key.byteOffset, 8);
        for (let i = 0; i < 6; i++) {
          keyWords.setUint32(0, i, true);
          value.set(valueOf(i + 100 * Object.keys(kinds).indexOf(keyKind)));
          m.update(key, value);
          expect(Buffer.from(m.lookup(key) as Buffer)).toEqual(Buffer.from(value));
          expect(m.lookupInto(key, out)).toBe(true);
          expect(Buffer.from(out), `${keyKind} key, ${outKind} out, round ${i}`).toEqual(Buffer.from(value));
        }
        if (outKind === 'window') {
          const whole = Buffer.from(out.buffer, out.byteOffset - 20, 80);
          expect([...whole.subarray(0, 20), ...whole.subarray(44)].every((b) => b === 0xee)).toBe(true);
        }
        keyWords.setUint32(0, 1000, true);
        const before = Buffer.from(out);
        expect(m.lookupInto(key, out)).toBe(false);
        expect(Buffer.from(out)).toEqual(before);
      }
    }
  });

  it('a buffer transferred away after use is refused, never written', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 4, name: 'fast_detach' }));
    const key = new Uint8Array(new ArrayBuffer(8));
    const value = new Uint8Array(new ArrayBuffer(24)).fill(5);
    const out = new Uint8Array(new ArrayBuffer(24));
    for (let i = 0; i < 3; i++) {
      m.update(key, value);
      expect(m.lookupInto(key, out)).toBe(true);
    }
    // Transferred (detached): length 0 from then on, so neither call takes its old address.
    structuredClone(out.buffer, { transfer: [out.buffer] });
    expect(out.length).toBe(0);
    expect(() => m.lookupInto(key, out)).toThrow(MapError);
    structuredClone(value.buffer, { transfer: [value.buffer] });
    expect(() => m.update(key, value)).toThrow(/value|bytes|size/i);
    structuredClone(key.buffer, { transfer: [key.buffer] });
    expect(() => m.lookupInto(key, new Uint8Array(24))).toThrow(/key|bytes|size/i);
    // The map still works with other buffers.
    const fresh = new Uint8Array(24);
    expect(m.lookupInto(new Uint8Array(8), fresh)).toBe(true);
    expect([...fresh]).toEqual(new Array(24).fill(5));
  });

  it('per-CPU maps refuse lookupInto and say which call to use', () => {
    const m = track(BpfMap.create({ type: 'PERCPU_ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'fast_pcpu' }));
    expect(() => m.lookupInto(0, Buffer.alloc(8))).toThrow(MapError);
    expect(() => m.lookupInto(0, Buffer.alloc(8))).toThrow(/lookupPerCpu/);
  });

  it('lookupInto, update and delete on raw Buffers allocate nothing per call; lookup does', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 1024, name: 'fast_alloc' }));
    const keys = Array.from({ length: 1024 }, (_, i) => {
      const k = Buffer.alloc(8);
      k.writeUInt32LE(i);
      return k;
    });
    const value = Buffer.alloc(24, 3);
    const out = Buffer.alloc(24);
    for (const k of keys) m.update(k, value);
    // Bytes per call: the growth from 5,000 to 20,000 calls, so that a fixed amount allocated
    // around the loop (V8's and the test runner's bookkeeping, a few KiB) does not count.
    // The least of three measures: anything else in the process (the test runner's messages, a
    // deoptimisation) can only add to one of them, never take away.
    const perCall = (op: (i: number) => void): number =>
      Math.min(...[0, 1, 2].map(() => (youngBytesAllocated(op, 20_000) - youngBytesAllocated(op, 5_000)) / 15_000));
    const lookupInto = perCall((i) => m.lookupInto(keys[i & 1023], out));
    const update = perCall((i) => m.update(keys[i & 1023], value));
    const del = perCall((i) => {
      m.delete(keys[i & 1023]);
      m.update(keys[i & 1023], value);
    });
    // The returning call makes one Buffer per result: the measure sees it.
    const lookup = perCall((i) => m.lookup(keys[i & 1023]));
    expect(lookup).toBeGreaterThan(16);
    // Any object allocated per call would be 8 bytes or more.
    expect(lookupInto).toBeLessThan(1);
    expect(update).toBeLessThan(1);
    expect(del).toBeLessThan(1);
  });
});
