// The goroutine tracer's read path: the batch decoder against the Buffer decoder (independent code
// over the same bytes), and wait() with batched wake-ups against a live, looping Go program.
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import {
  decodeTransition,
  G_SCAN,
  GOROUTINE_RECORD as RECORD,
  GoroutineAttribution,
  GoroutineTracer,
  isBirth,
  type GoroutineTransition,
} from '../src/goroutines/index.js';
import { decodeTransitionAt } from '../src/goroutines/record.js';
import { isRoot, need } from './support/env.js';

/** Records laid out as a ring's data area lays them out: an 8-byte header, then the record. */
function records(fields: { oldState: number; newState: number; aux1: bigint; aux2: bigint; goid: bigint; gp: bigint }[]): {
  data: Buffer;
  offsets: number[];
} {
  const stride = 8 + RECORD.size;
  const data = Buffer.alloc(fields.length * stride + 8);
  const offsets: number[] = [];
  fields.forEach((f, i) => {
    const o = i * stride + 8;
    offsets.push(o);
    data.writeBigUInt64LE(0x1_2345_6789_abcdn + BigInt(i), o + RECORD.timestamp);
    data.writeUInt32LE(4_000_000 + i, o + RECORD.pid);
    data.writeUInt32LE(4_100_000 + i, o + RECORD.tid);
    data.writeBigUInt64LE(f.goid, o + RECORD.goid);
    data.writeUInt32LE(f.oldState, o + RECORD.oldState);
    data.writeUInt32LE(f.newState, o + RECORD.newState);
    data.writeBigUInt64LE(f.gp, o + RECORD.gp);
    data.writeBigUInt64LE(f.aux1, o + RECORD.aux1);
    data.writeBigUInt64LE(f.aux2, o + RECORD.aux2);
  });
  return { data, offsets };
}

describe('decodeTransitionAt', () => {
  it('gives what decodeTransition gives, property for property, for every kind of record', () => {
    const max = 0xffff_ffff_ffff_ffffn;
    const { data, offsets } = records([
      { oldState: 6, newState: 1, aux1: 0x1234n, aux2: max - 0x10n, goid: 0n, gp: 0xc000_0068_0000n }, // birth, pcs (one below ip)
      { oldState: 6, newState: 1, aux1: 0n, aux2: 0n, goid: 7n, gp: 0xc000_0068_0000n }, // birth, layout unknown
      { oldState: 0, newState: 6, aux1: 0n, aux2: 0n, goid: 0n, gp: 0xc000_0069_0000n }, // idle → dead
      { oldState: 2, newState: 4, aux1: 0x0000_0000_0000_0117n, aux2: 0n, goid: 2n ** 62n + 5n, gp: max }, // into waiting: low byte only
      { oldState: 2 | G_SCAN, newState: 4 | G_SCAN, aux1: 9n, aux2: 0n, goid: 11n, gp: 1n }, // waiting, scan bit
      { oldState: 0, newState: 4, aux1: 9n, aux2: 0n, goid: 12n, gp: 2n }, // from idle: no wait reason
      { oldState: 6 | G_SCAN, newState: 2, aux1: 5n, aux2: 6n, goid: 13n, gp: 3n }, // dead+scan counts as dead
      { oldState: 1, newState: 2, aux1: 0n, aux2: 0n, goid: 14n, gp: 4n }, // plain
    ]);
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const doubles = new BigUint64Array(data.buffer, data.byteOffset, data.length >>> 3);
    for (const o of offsets) {
      const fast = decodeTransitionAt(words, doubles, o);
      const slow = decodeTransition(data.subarray(o, o + RECORD.size));
      // toStrictEqual: the same optional properties present (not merely undefined), same values.
      expect(fast).toStrictEqual(slow);
      expect(Object.keys(fast)).toEqual(Object.keys(slow));
    }
  });

  it('GoroutineAttribution keyed by numbers: births of equal g addresses in two processes stay apart', () => {
    const a = new GoroutineAttribution({ goidAssignedBeforeBirth: false });
    const t = (pid: number, goid: bigint, oldState: number, newState: number): GoroutineTransition => ({
      timestamp: 0n,
      pid,
      tid: pid,
      goid,
      recordedGoid: goid,
      gp: 0xc000_0068_0000n,
      oldState,
      newState,
    });
    const out: string[] = [];
    const emit = (x: GoroutineTransition): void => void out.push(`${x.pid}:${x.goid} ${x.oldState}->${x.newState}`);
    a.push(t(1, 0n, 6, 1), emit);
    a.push(t(2, 0n, 6, 1), emit);
    expect(a.pending).toBe(2);
    a.push(t(2, 20n, 1, 2), emit);
    a.push(t(1, 10n, 1, 2), emit);
    a.push(t(1, 0n, 6, 1), emit); // a birth never followed: counted, not guessed
    a.flush(emit);
    expect(out).toEqual(['2:20 6->1', '2:20 1->2', '1:10 6->1', '1:10 1->2']);
    expect(a.unattributed).toBe(1);
    expect(a.pending).toBe(0);
  });
});

const FIXTURE = resolve('test/fixtures/go/goroutines');

/** The fixture looping goroutines without end: a steady stream of transitions. */
async function looping(): Promise<ChildProcess> {
  const child = spawn(FIXTURE, ['-n', '20', '-loop', '100000000', '-q', '-wait=false'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r, j) => {
    child.stdout!.once('data', () => r());
    child.once('error', j);
  });
  return child;
}

describe.runIf(need(isRoot, 'tracing needs root'))('wait() with batched wake-ups, live', () => {
  it('below the threshold it returns once maxLatencyMs has passed, not at the first unread record', async () => {
    const child = await looping();
    try {
      const ringSize = 4 * 1024 * 1024;
      const wakeupBytes = ringSize / 2;
      const maxLatencyMs = 150;
      using tracer = GoroutineTracer.open({ binary: FIXTURE, pid: child.pid!, ringSize, wakeupBytes, maxLatencyMs });
      let n = 0;
      for (let round = 0; round < 3; round++) {
        n += tracer.poll(() => undefined);
        const t0 = Date.now();
        expect(await tracer.wait(30_000)).toBe(true);
        const elapsed = Date.now() - t0;
        // Either the threshold was reached (a wake-up) or the latency bound ran out: never earlier.
        expect(tracer.pendingRecords >= wakeupBytes || elapsed >= maxLatencyMs).toBe(true);
        expect(tracer.pendingRecords).toBeGreaterThan(0);
      }
      n += tracer.poll(() => undefined);
      expect(n).toBeGreaterThan(0);
      expect(tracer.stats().lost).toBe(0n);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('at the threshold the probe wakes the reader: wait() returns long before maxLatencyMs', async () => {
    const child = await looping();
    try {
      // 64 records; a latency bound no test would wait for, so only a wake-up can end the wait.
      using tracer = GoroutineTracer.open({ binary: FIXTURE, pid: child.pid!, wakeupBytes: 4096, maxLatencyMs: 10 * 60_000 });
      for (let round = 0; round < 5; round++) {
        tracer.poll(() => undefined);
        expect(await tracer.wait(20_000)).toBe(true);
        expect(tracer.pendingRecords).toBeGreaterThanOrEqual(4096);
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('a callback that throws loses nothing: the next poll goes on after it; one that closes the tracer ends the poll', async () => {
    const child = spawn(FIXTURE, ['-n', '8', '-q'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((r, j) => {
      child.stdout!.once('data', () => r());
      child.once('error', j);
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    using tracer = GoroutineTracer.open({ binary: FIXTURE, pid: child.pid! });
    child.stdin!.end('go\n');
    await exited;
    const seen: GoroutineTransition[] = [];
    const boom = new Error('boom');
    // Thrown at a transition that is no birth: the last one its record releases (held births
    // come before it), so only the records after it are left for the next poll.
    expect(() =>
      tracer.poll((t) => {
        if (seen.length >= 4 && !isBirth(t)) throw boom;
        seen.push(t);
      }),
    ).toThrow(boom);
    const before = seen.length;
    expect(before).toBeGreaterThanOrEqual(4);
    const stats = tracer.finish((t) => seen.push(t));
    // Every record delivered but the one whose callback threw.
    expect(stats).toMatchObject({ lost: 0n, unattributed: 0 });
    expect(BigInt(seen.length + 1)).toBe(stats.records);
    expect(seen.length).toBeGreaterThan(before + 20);

    const again = spawn(FIXTURE, ['-n', '8', '-q'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((r, j) => {
      again.stdout!.once('data', () => r());
      again.once('error', j);
    });
    const done = new Promise<void>((r) => again.once('exit', () => r()));
    using second = GoroutineTracer.open({ binary: FIXTURE, pid: again.pid! });
    again.stdin!.end('go\n');
    await done;
    let delivered = 0;
    expect(
      second.poll(() => {
        delivered++;
        second.close();
      }),
    ).toBe(1);
    expect(delivered).toBe(1);
    expect(second.closed).toBe(true);
  });

  it('woken per record (wakeupBytes 0): each wait returns with records unread', async () => {
    const child = await looping();
    try {
      using tracer = GoroutineTracer.open({ binary: FIXTURE, pid: child.pid!, wakeupBytes: 0 });
      let n = 0;
      for (let round = 0; round < 20; round++) {
        n += tracer.poll(() => undefined);
        expect(await tracer.wait(20_000)).toBe(true);
        expect(tracer.pendingRecords).toBeGreaterThan(0);
      }
      expect(n).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
