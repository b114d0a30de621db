// GoroutineSummary.addColumns (what `ebpf goroutines` feeds it) against the summary of the same
// transitions as objects: add() of this class, and the implementation from before column input
// (test/goroutines-summary-reference.ts), on random records decoded by the columns and on a live
// trace. Every output is compared: report(), the slices, the live goroutines, first/last/count and
// the per-goroutine names.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  G_SCAN,
  GOROUTINE_RECORD as RECORD,
  GoroutineSummary,
  GoroutineTracer,
  type GoroutineTransition,
  type GoroutineTransitionColumns,
} from '../src/goroutines/index.js';
import { TransitionColumns } from '../src/goroutines/columns.js';
import type { SummaryNames } from '../src/goroutines/summary.js';
import { isRoot, need } from './support/env.js';
import { ReferenceSummary } from './goroutines-summary-reference.js';

/** xorshift32 with a fixed seed: the same records every run. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Names for some pcs and reasons only (the others take the hex and "waitReason N" paths), '' reasons merging as "none". */
const NAMES: SummaryNames = {
  functionAt: (pc) => (pc % 3 === 0 ? `main.fn${pc % 7}` : undefined),
  positionAt: (pc) =>
    pc % 5 === 0 ? undefined : { function: `main.caller${pc % 4}`, ...(pc % 2 ? { file: 'main.go', line: pc % 100 } : {}) },
  waitReasons: ['', 'chan receive', '', 'select', 'sleep', 'GC assist'],
};

type AnySummary = GoroutineSummary | ReferenceSummary;

/** Everything a summary tells, BigInts and all; `finish` closes it first (live() is taken before). */
function outputs(s: AnySummary, goids: readonly (readonly [number, bigint])[]): unknown {
  const live = s.live();
  const names = goids.map(([pid, goid]) => [s.functionOf(pid, goid), s.createdByOf(pid, goid), s.createdAtOf(pid, goid)]);
  const before = { count: s.count, first: s.first, last: s.last };
  s.finish();
  return { live, names, before, report: s.report(), slices: s.slices };
}

/** Records as a ring lays them out (an 8-byte header before each). */
function ringOf(fields: Record<keyof typeof RECORD, bigint | number>[]): { words: Uint32Array; offsets: Uint32Array } {
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
  return { words: new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2), offsets };
}

/**
 * Random records of 3 processes decoded by TransitionColumns in uneven batches; each batch goes
 * to `onBatch` (with its rows as objects, from transition(i)).
 */
function randomBatches(seed: number, onBatch: (c: GoroutineTransitionColumns, objects: GoroutineTransition[]) => void): void {
  const r = random(seed);
  const timeBase = 0x2_0000_0000_0000n + 12345n;
  const fields: Record<keyof typeof RECORD, bigint | number>[] = [];
  let now = timeBase - 5000n;
  for (let i = 0; i < 8000; i++) {
    const pid = [1000, 1001, 4_000_000_000][r(3)];
    const oldState = [0, 1, 2, 3, 4, 4, 2, 1, 6, 9, 6 | G_SCAN, 2 | G_SCAN, 0x2_0003][r(13)];
    const newState = [1, 2, 4, 6, 4 | G_SCAN, 8, 3, 0x1_0002][r(8)];
    const wide = r(80) === 0; // a goid past 2^53: addColumns takes transition(i)
    now += BigInt(r(3) === 0 ? 0 : r(200_000)) - 500n; // mostly forward, sometimes a step back
    fields.push({
      timestamp: now,
      pid,
      tid: pid + r(4),
      goid: wide ? 2n ** 60n + BigInt(r(10)) : BigInt(r(8) === 0 ? 0 : 1 + r(300)),
      oldState,
      newState,
      gp: 0xc000_0000_00n + BigInt(r(40)) * 0x1a0n,
      // A relative start pc on a birth (below casgstatus too), the wait reason in the low byte on a park: 0 to 7 mostly.
      aux1:
        r(4) === 0
          ? 0n
          : (BigInt.asUintN(64, BigInt(r(0x4000)) * 0x100n - 0x20_0000n) | (r(2) ? 0n : 0x1_0000_0000n)) +
            BigInt(r(10) === 0 ? r(256) : r(8)),
      aux2: r(6) === 0 ? BigInt.asUintN(64, -0x45_6780n) : BigInt.asUintN(64, BigInt(r(0x40_0000)) - 0x30_0000n),
      size: 0,
    });
  }
  const { words, offsets } = ringOf(fields);
  const c = new TransitionColumns({ timeBase, casgstatus: 0x45_6780n, goidAssignedBeforeBirth: seed % 2 === 0, capacity: 16 });
  const deliver = (): void => {
    const objects: GoroutineTransition[] = [];
    for (let i = 0; i < c.count; i++) objects.push(c.transition(i));
    onBatch(c, objects);
  };
  for (let i = 0; i < offsets.length;) {
    const n = Math.min(offsets.length - i, 1 + r(400));
    c.count = 0;
    c.addRecords(words, offsets.subarray(i, i + n), n);
    deliver();
    i += n;
  }
  c.count = 0;
  c.flushHeld();
  deliver();
}

describe('GoroutineSummary.addColumns against the same transitions as objects', () => {
  it.each([
    [11, undefined],
    [12, ['running', 'waiting']],
  ] as const)('random records (seed %i, states %j): every output equal to add() and to the reference', (seed, states) => {
    const options = { states, keepSlices: true, names: NAMES };
    const byColumns = new GoroutineSummary(options);
    const byObjects = new GoroutineSummary(options);
    const reference = new ReferenceSummary(options);
    const goids = new Map<string, readonly [number, bigint]>();
    let rows = 0;
    let wide = 0;
    randomBatches(seed, (c, objects) => {
      // Whole batches, and a batch in two ranges: both ways the CLI calls it.
      if (c.count > 2 && c.count % 2 === 0) {
        byColumns.addColumns(c, 0, 1);
        byColumns.addColumns(c, 1);
      } else {
        byColumns.addColumns(c);
      }
      for (const t of objects) {
        byObjects.add(t);
        reference.add(t);
        goids.set(`${t.pid}/${t.goid}`, [t.pid, t.goid]);
        rows++;
        if (t.goid >= 2n ** 53n) wide++;
      }
    });
    expect(rows).toBeGreaterThan(5000);
    expect(wide).toBeGreaterThan(20);
    const g = [...goids.values()];
    const want = outputs(reference, g);
    const got = outputs(byColumns, g);
    expect(outputs(byObjects, g)).toStrictEqual(want);
    expect(got).toStrictEqual(want);
    // The streams reach the paths that matter: gaps, several timed states.
    const report = (want as { report: { outOfSequence: number; timePerState: object; byKind: object } }).report;
    expect(report.outOfSequence).toBeGreaterThan(0);
    expect(Object.keys(report.timePerState).length).toBeGreaterThan(1);
  });

  it('a mutation fails the comparison: the reasons or times of a batch changed, a row dropped or taken twice', () => {
    const mutants: ((c: GoroutineTransitionColumns, s: GoroutineSummary, k: number) => void)[] = [
      // Other wait reasons in one batch.
      (c, s, k) => {
        const w = c.waitReason as Int16Array;
        if (k === 3) for (let i = 0; i < c.count; i++) if (w[i] >= 0) w[i] = (w[i] + 1) % 6;
        s.addColumns(c);
      },
      // One row less.
      (c, s, k) => s.addColumns(c, k === 5 ? 1 : 0),
      // One row twice.
      (c, s, k) => {
        s.addColumns(c);
        if (k === 7) s.addColumns(c, 0, 1);
      },
      // The times of one batch shifted by 1 ns.
      (c, s, k) => {
        if (k === 9) for (let i = 0; i < c.count; i++) (c.time as Float64Array)[i] += 1;
        s.addColumns(c);
      },
    ];
    for (const [m, mutate] of mutants.entries()) {
      const reference = new ReferenceSummary({ keepSlices: true, names: NAMES });
      const mutant = new GoroutineSummary({ keepSlices: true, names: NAMES });
      const goids = new Map<string, readonly [number, bigint]>();
      let k = 0;
      randomBatches(11, (c, objects) => {
        for (const t of objects) {
          reference.add(t);
          goids.set(`${t.pid}/${t.goid}`, [t.pid, t.goid]);
        }
        mutate(c, mutant, k++);
      });
      const g = [...goids.values()];
      expect({ m, equal: JSON.stringify(outputs(mutant, g), big) === JSON.stringify(outputs(reference, g), big) }).toEqual({
        m,
        equal: false,
      });
    }
  });
});

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

const FIXTURES = resolve('test/fixtures/go');

describe.runIf(need(isRoot, 'tracing needs root'))('GoroutineSummary.addColumns, live', () => {
  it('a live trace read with pollColumns: addColumns equals add() and the reference on the same rows', async () => {
    const path = join(FIXTURES, 'goroutines');
    const child = spawn(path, ['-n', '40', '-loop', '20', '-q'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((r, j) => {
      child.stdout!.once('data', () => r());
      child.once('error', j);
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const tracer = GoroutineTracer.open({ binary: path, pid: child.pid });
    const names: SummaryNames = {
      functionAt: (pc) => tracer.info.functions.nameAt(pc),
      positionAt: (pc) => tracer.info.functions.positionAt(pc),
      waitReasons: tracer.info.waitReasons,
    };
    const byColumns = new GoroutineSummary({ keepSlices: true, names });
    const byObjects = new GoroutineSummary({ keepSlices: true, names });
    const reference = new ReferenceSummary({ keepSlices: true, names });
    const goids = new Map<string, readonly [number, bigint]>();
    let batches = 0;
    const take = (c: GoroutineTransitionColumns): void => {
      batches++;
      byColumns.addColumns(c);
      for (let i = 0; i < c.count; i++) {
        const t = c.transition(i);
        byObjects.add(t);
        reference.add(t);
        goids.set(`${t.pid}/${t.goid}`, [t.pid, t.goid]);
      }
    };
    try {
      child.stdin!.end('go\n');
      for (let done = false; !done;) {
        done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))]);
        tracer.pollColumns(take);
      }
      tracer.finishColumns(take);
    } finally {
      tracer.close();
    }
    expect(batches).toBeGreaterThan(1);
    expect(reference.count).toBeGreaterThan(1000);
    const g = [...goids.values()];
    const want = outputs(reference, g) as { report: { byFunction: Record<string, unknown> } };
    expect(Object.keys(want.report.byFunction).filter((f) => f !== '?').length).toBeGreaterThan(0);
    expect(outputs(byObjects, g)).toStrictEqual(want);
    expect(outputs(byColumns, g)).toStrictEqual(want);
  });
});
