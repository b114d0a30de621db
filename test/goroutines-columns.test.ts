// GoroutineTracer.pollColumns: transitions decoded and attributed into typed-array columns. Checked
// against code it does not share: the Buffer decoder (decodeTransition) with GoroutineAttribution
// on synthetic records, the object path (poll) of a second tracer on the same live process, and
// bpftrace printing every call of the same function.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  decodeTransition,
  G_SCAN,
  GOROUTINE_RECORD as RECORD,
  GoroutineAttribution,
  GoroutineTracer,
  GoroutineTracerError,
  type GoroutineTransition,
  type GoroutineTransitionColumns,
} from '../src/goroutines/index.js';
import { TransitionColumns } from '../src/goroutines/columns.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { checkInvariants } from './goroutine-invariants.js';

const FIXTURES = resolve('test/fixtures/go');
const VARIANTS = ['goroutines', 'goroutines-stripped', 'goroutines-pie'] as const;

/** A pseudo-random generator with a fixed seed (xorshift32): the same records every run. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Records as a ring lays them out (an 8-byte header before each), filled from `fields`. */
function ringOf(fields: Record<keyof typeof RECORD, bigint | number>[]): { data: Buffer; offsets: Uint32Array } {
  const stride = 8 + RECORD.size;
  const data = Buffer.alloc(fields.length * stride + 8);
  const offsets = new Uint32Array(fields.length);
  fields.forEach((f, i) => {
    const o = i * stride + 8;
    offsets[i] = o;
    data.writeBigUInt64LE(BigInt(f.timestamp), o + RECORD.timestamp);
    data.writeUInt32LE(Number(f.pid), o + RECORD.pid);
    data.writeUInt32LE(Number(f.tid), o + RECORD.tid);
    data.writeBigUInt64LE(BigInt(f.goid), o + RECORD.goid);
    data.writeUInt32LE(Number(f.oldState), o + RECORD.oldState);
    data.writeUInt32LE(Number(f.newState), o + RECORD.newState);
    data.writeBigUInt64LE(BigInt(f.gp), o + RECORD.gp);
    data.writeBigUInt64LE(BigInt(f.aux1), o + RECORD.aux1);
    data.writeBigUInt64LE(BigInt(f.aux2), o + RECORD.aux2);
  });
  return { data, offsets };
}

/** What the object path makes of the same records: decodeTransition, the pcs rebased as the tracer does, GoroutineAttribution. */
function objectPath(
  data: Buffer,
  offsets: Uint32Array,
  casgstatus: bigint,
  goidAssignedBeforeBirth: boolean,
): { out: GoroutineTransition[]; unattributed: number } {
  const a = new GoroutineAttribution({ goidAssignedBeforeBirth });
  const out: GoroutineTransition[] = [];
  for (const o of offsets) {
    const t = decodeTransition(data.subarray(o, o + RECORD.size));
    if (t.startPc !== undefined) {
      t.startPc = BigInt.asUintN(64, t.startPc + casgstatus);
      t.createdAtPc = BigInt.asUintN(64, t.createdAtPc! + casgstatus);
    }
    a.push(t, (x) => out.push(x));
  }
  a.flush((x) => out.push(x));
  return { out, unattributed: a.unattributed };
}

/** Every row of `c` as an object, checking each column against the row's exact object. */
function rows(c: GoroutineTransitionColumns): GoroutineTransition[] {
  const out: GoroutineTransition[] = [];
  for (let i = 0; i < c.count; i++) {
    const t = c.transition(i);
    expect(c.timeBase + BigInt(c.time[i])).toBe(t.timestamp);
    expect([c.pid[i], c.tid[i], c.oldState[i], c.newState[i]]).toEqual([t.pid, t.tid, t.oldState, t.newState]);
    expect(c.gp[i]).toBe(Number(t.gp));
    expect(c.goidExact[i]).toBe(t.goid < 2n ** 53n && t.recordedGoid < 2n ** 53n ? 1 : 0);
    if (c.goidExact[i]) expect([c.goid[i], c.recordedGoid[i]]).toEqual([Number(t.goid), Number(t.recordedGoid)]);
    expect(c.startPc[i]).toBe(t.startPc === undefined ? 0 : Number(t.startPc));
    expect(c.createdAtPc[i]).toBe(t.createdAtPc === undefined ? 0 : Number(t.createdAtPc));
    expect(c.waitReason[i]).toBe(t.waitReason ?? -1);
    out.push(t);
  }
  return out;
}

describe('TransitionColumns against decodeTransition + GoroutineAttribution', () => {
  it.each([false, true])('random records of 3 processes, births held across batches (goid before birth: %s)', (goidAssignedBeforeBirth) => {
    const r = random(goidAssignedBeforeBirth ? 12345 : 777);
    const casgstatus = 0x45_6780n;
    const fields: Record<keyof typeof RECORD, bigint | number>[] = [];
    const timeBase = 0x2_0000_0000_0000n + 12345n;
    for (let i = 0; i < 6000; i++) {
      const pid = [1000, 1001, 4_000_000_000][r(3)];
      const oldState = [0, 1, 2, 3, 4, 6, 9, 6 | G_SCAN, 2 | G_SCAN][r(9)];
      const newState = [1, 2, 4, 6, 4 | G_SCAN, 8][r(6)];
      const wide = r(50) === 0; // a goid past 2^53: the columns say so, transition(i) stays exact
      fields.push({
        timestamp: timeBase + BigInt(r(1_000_000_000)) * 1000n - 5000n,
        pid,
        tid: pid + r(4),
        goid: wide ? 2n ** 60n + BigInt(r(1000)) : BigInt(r(3) === 0 ? 0 : 1 + r(100_000)),
        oldState,
        newState,
        gp: 0xc000_0000_00n + BigInt(r(40)) * 0x1a0n, // few g addresses: births held and released often
        // Relative pcs, below casgstatus too (two's complement), or none; a wait reason in the low byte.
        aux1: r(4) === 0 ? 0n : BigInt.asUintN(64, BigInt(r(0x40_0000)) - 0x20_0000n) | (r(2) ? 0n : 0x1_0000_0000n),
        aux2: BigInt.asUintN(64, BigInt(r(0x40_0000)) - 0x30_0000n),
        size: 0,
      });
    }
    const { data, offsets } = ringOf(fields);
    const want = objectPath(data, offsets, casgstatus, goidAssignedBeforeBirth);
    const c = new TransitionColumns({ timeBase, casgstatus, goidAssignedBeforeBirth, capacity: 16 });
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const got: GoroutineTransition[] = [];
    // In uneven batches, as the ring hands them out; columns emptied after each, as pollColumns does.
    for (let i = 0; i < offsets.length;) {
      const n = Math.min(offsets.length - i, 1 + r(300));
      c.count = 0;
      c.addRecords(words, offsets.subarray(i, i + n), n);
      got.push(...rows(c));
      i += n;
    }
    c.count = 0;
    c.flushHeld();
    got.push(...rows(c));
    expect(got.length).toBe(want.out.length);
    for (let i = 0; i < got.length; i++) expect(got[i]).toStrictEqual(want.out[i]);
    expect(c.unattributed).toBe(want.unattributed);
    expect(c.heldCount).toBe(0);
    expect(() => c.transition(c.count)).toThrow(GoroutineTracerError);
  });
});

/** Starts a fixture that prints "ready", then on go() runs and returns its output. */
async function startFixture(path: string, args: string[]): Promise<{ pid: number; go(): Promise<string> }> {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r, j) => {
    child.stdout!.once('data', () => r());
    child.once('error', j);
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin!.end('go\n');
      await exited;
      return out;
    },
  };
}

/**
 * Transitions grouped by goroutine (pid/goid), each one's in delivery order, the timestamp left
 * out. Not by thread: a birth is delivered when its g's next transition is read, which may be
 * another thread's, and two rings may interleave threads differently.
 */
function byGoroutine(ts: readonly GoroutineTransition[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const t of ts) {
    const { timestamp, ...rest } = t;
    void timestamp;
    const line = JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    const g = `${t.pid}/${t.goid}`;
    m.set(g, [...(m.get(g) ?? []), line]);
  }
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

describe.runIf(need(isRoot, 'tracing needs root'))('pollColumns, live', () => {
  it.each(VARIANTS)('%s: the same transitions as poll() on a second tracer of the same run', async (variant) => {
    const path = join(FIXTURES, variant);
    const child = await startFixture(path, ['-n', '40', '-loop', '20', '-q']);
    const objects = GoroutineTracer.open({ binary: path, pid: child.pid });
    const columns = GoroutineTracer.open({ binary: path, pid: child.pid });
    const a: GoroutineTransition[] = [];
    const b: GoroutineTransition[] = [];
    let batches = 0;
    const take = (c: GoroutineTransitionColumns): void => {
      batches++;
      b.push(...rows(c));
    };
    const run = child.go();
    // Read while it runs, so births are held across polls.
    for (let done = false; !done;) {
      done = await Promise.race([run.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))]);
      objects.poll((t) => a.push(t));
      columns.pollColumns(take);
    }
    const sa = objects.finish((t) => a.push(t));
    const sb = columns.finishColumns(take);
    expect(a.length).toBeGreaterThan(1000);
    expect(batches).toBeGreaterThan(1);
    // Both uprobes fire on every call, one after the other: each goroutine's transitions come in
    // the same order from both rings (across goroutines the rings may interleave differently).
    expect(byGoroutine(b)).toEqual(byGoroutine(a));
    expect(sb).toMatchObject({ lost: 0n, goidReadFailures: 0n, records: BigInt(b.length), unattributed: sa.unattributed });
    expect(sa.records).toBe(BigInt(a.length));
    // Each probe reads the clock itself, microseconds apart: compare per goroutine, in order.
    const times = (ts: GoroutineTransition[]): Map<string, bigint[]> => {
      const m = new Map<string, bigint[]>();
      for (const t of ts) m.set(`${t.pid}/${t.goid}`, [...(m.get(`${t.pid}/${t.goid}`) ?? []), t.timestamp]);
      return m;
    };
    const ta = times(a);
    for (const [g, tb] of times(b)) tb.forEach((x, i) => expect(Math.abs(Number(x - ta.get(g)![i]))).toBeLessThan(5_000_000));
    const inv = checkInvariants(b, 19);
    expect(inv).toEqual({ goroutines: inv.goroutines, chainBreaks: [], movesAfterDeath: [], missing: [] });
  });

  it('every call bpftrace sees on the same process, with the same thread, goid and states', async () => {
    if (!need(hasCommand('bpftrace'), 'bpftrace is the independent oracle')) return;
    const path = join(FIXTURES, 'goroutines');
    const child = await startFixture(path, ['-n', '20', '-loop', '5', '-q']);
    const script = `uprobe:${path}:runtime.casgstatus /pid == ${child.pid}/ { printf("%d %d %d %d\\n", tid, *(uint64 *)(reg("ax") + 152), reg("bx"), reg("cx")); }`;
    const bt = spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    bt.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    bt.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => bt.on('exit', () => r()));
    try {
      for (let i = 0; i < 600 && !out.includes('Attaching'); i++) {
        if (bt.exitCode !== null) throw new Error(`bpftrace failed: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      const tracer = GoroutineTracer.open({ binary: path, pid: child.pid });
      await child.go();
      const ours: string[] = [];
      tracer.finishColumns((c) => {
        for (let i = 0; i < c.count; i++) ours.push(`${c.tid[i]} ${c.recordedGoid[i]} ${c.oldState[i]} ${c.newState[i]}`);
      });
      await new Promise((r) => setTimeout(r, 300));
      bt.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      const theirs = out.split('\n').filter((l) => /^\d+ \d+ \d+ \d+$/.test(l));
      expect(err).not.toMatch(/Lost/);
      expect(ours.length).toBeGreaterThan(300);
      expect(ours.sort()).toEqual(theirs.sort());
    } finally {
      if (bt.exitCode === null) bt.kill('SIGKILL');
    }
  });

  it('one way of reading per tracer; after close nothing is read; a callback that closes ends the poll', async () => {
    const path = join(FIXTURES, 'goroutines');
    const child = await startFixture(path, ['-n', '20', '-q']);
    const t1 = GoroutineTracer.open({ binary: path, pid: child.pid });
    const t2 = GoroutineTracer.open({ binary: path, pid: child.pid });
    await child.go();
    t1.poll(() => undefined, 1);
    expect(() => t1.pollColumns(() => undefined)).toThrow(GoroutineTracerError);
    expect(() => t1.finishColumns(() => undefined)).toThrow(/read with poll\(\), finish\(\) or iteration/);
    t2.pollColumns(() => undefined, 1);
    expect(() => t2.poll(() => undefined)).toThrow(/read with pollColumns\(\) or finishColumns\(\)/);
    let calls = 0;
    const n = t2.pollColumns((c) => {
      calls++;
      expect(c.count).toBeGreaterThan(0);
      t2.close();
    });
    expect(calls).toBe(1);
    expect(n).toBeGreaterThan(0);
    expect(t2.pollColumns(() => calls++)).toBe(0);
    expect(calls).toBe(1);
    expect(() => t2.finishColumns(() => undefined)).toThrow(/after close/);
    t1.close();
  });
});
