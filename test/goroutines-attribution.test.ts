// Transitions credited to the right goroutine on both sides of Go 1.24, the first release whose
// newproc1 assigns the goid before casgstatus(newg, _Gdead, _Grunnable): the committed Go 1.19
// programs (before) and the esbuild binary npm installs (Go 1.26, after). Invariants are checked
// on every traced run.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { GoroutineTracer, inspectGoBinary, type GoroutineTransition } from '../src/goroutines/index.js';
import { isBirth } from '../src/goroutines/index.js';
import { isRoot, need } from './support/env.js';
import { checkInvariants } from './goroutine-invariants.js';

const FIXTURES = resolve('test/fixtures/go');
const WORKLOADS = ['workload', 'workload-stripped', 'workload-pie', 'workload-pie-stripped'] as const;
const esbuildPackage = dirname(createRequire(import.meta.url).resolve(`@esbuild/${process.platform}-${process.arch}/package.json`));
const esbuild = join(esbuildPackage, 'bin', 'esbuild');

/** Runs `argv` under the tracer: the command waits on stdin until the probe is attached. */
async function traceRun(
  binary: string,
  argv: string[],
  options: { states?: string[] } = {},
): Promise<{ seen: GoroutineTransition[]; out: string; stats: ReturnType<GoroutineTracer['stats']> }> {
  const child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', binary, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r, j) => {
    child.once('spawn', r);
    child.once('error', j);
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const tracer = GoroutineTracer.open({ binary, pid: child.pid!, states: options.states });
  const seen: GoroutineTransition[] = [];
  try {
    child.stdin!.end('go\n');
    // Ends by itself when the process exits: the ring drained, held births delivered.
    for await (const t of tracer) seen.push(t);
    expect(tracer.targetHasExited).toBe(true);
    expect(tracer.closed).toBe(true);
    await closed; // all of its output read
    return { seen, out, stats: tracer.stats() };
  } finally {
    tracer.close();
    child.kill('SIGKILL');
  }
}

describe.runIf(need(isRoot, 'tracing needs root'))('goroutine attribution', () => {
  it.each(WORKLOADS)('%s (Go 1.19): goids from the g address; invariants hold across waves of reused g structs', async (variant) => {
    const path = join(FIXTURES, variant);
    expect(inspectGoBinary(path).version.raw).toBe('go1.19.8');
    const { seen, out, stats } = await traceRun(path, ['-waves', '4', '-n', '6']);
    const printed = [...out.matchAll(/^goid (\d+) /gm)].map((m) => BigInt(m[1]));
    expect(printed.length).toBe(4 * 6 * 4);
    const inv = checkInvariants(seen, 19, printed);
    expect(inv.chainBreaks).toEqual([]);
    expect(inv.movesAfterDeath).toEqual([]);
    expect(inv.missing).toEqual([]);
    expect(stats).toMatchObject({ lost: 0n, goidReadFailures: 0n, unattributed: 0 });
    expect(stats.records).toBe(BigInt(seen.length));
    // The old order, seen live: the probe read 0 or a dead goroutine's id at most births, and
    // the g structs were reused (more goroutines than distinct g addresses).
    const births = seen.filter((t) => (t.oldState & 0xfff) === 6 && (t.newState & 0xfff) === 1);
    expect(births.length).toBeGreaterThanOrEqual(printed.length);
    expect(births.filter((t) => t.recordedGoid !== t.goid).length).toBeGreaterThan(births.length / 2);
    const gs = new Set(births.map((t) => t.gp));
    expect(gs.size).toBeLessThan(births.length);
  });

  it('esbuild (Go 1.26): the birth record already carries the new goid; invariants hold', async () => {
    const info = inspectGoBinary(esbuild);
    expect(info.version.minor).toBeGreaterThanOrEqual(24);
    const { seen, stats } = await traceRun(esbuild, [
      createRequire(import.meta.url).resolve('esbuild'),
      '--bundle',
      '--platform=node',
      '--log-level=error',
    ]);
    const inv = checkInvariants(seen, info.version.minor);
    expect(inv.chainBreaks).toEqual([]);
    expect(inv.movesAfterDeath).toEqual([]);
    expect(inv.goroutines).toBeGreaterThan(5);
    const births = seen.filter((t) => (t.oldState & 0xfff) === 6 && (t.newState & 0xfff) === 1);
    expect(births.length).toBeGreaterThan(5);
    expect(births.filter((t) => t.recordedGoid !== t.goid || t.goid === 0n)).toEqual([]);
    expect(stats.lost).toBe(0n);
  });

  it('under a state filter the invariants hold for the states kept', async () => {
    const { seen } = await traceRun(join(FIXTURES, 'workload'), ['-waves', '2', '-n', '4'], { states: ['runnable', 'running'] });
    expect(seen.length).toBeGreaterThan(50);
    // Intervals of kept states are whole: every → runnable / → running is followed, for the same
    // goroutine, by a transition out of it (or the goroutine is still in it at the end).
    const last = new Map<bigint, GoroutineTransition>();
    const gaps: string[] = [];
    for (const t of seen) {
      const prev = last.get(t.goid);
      const keptPrev = prev && [1, 2].includes(prev.newState & 0xfff);
      if (keptPrev && (prev.newState & 0xfff) !== (t.oldState & 0xfff)) gaps.push(`${t.goid}`);
      last.set(t.goid, t);
    }
    expect(gaps).toEqual([]);
  });

  it('isBirth: a g leaving the free list, or a new g put on it', () => {
    const t = (oldState: number, newState: number): GoroutineTransition => ({
      timestamp: 0n,
      pid: 1,
      tid: 1,
      goid: 0n,
      recordedGoid: 0n,
      gp: 1n,
      oldState,
      newState,
    });
    expect(isBirth(t(0, 6))).toBe(true);
    expect(isBirth(t(6, 1))).toBe(true);
    expect(isBirth(t(6, 4))).toBe(true);
    expect(isBirth(t(2, 6))).toBe(false);
    expect(isBirth(t(4, 1))).toBe(false);
  });
});

describe.runIf(need(isRoot, 'tracing needs root'))('waiting on a traced process', () => {
  it('targetExited resolves when the process exits; an aborted wait resolves false at once', async () => {
    const path = join(FIXTURES, 'workload');
    const child = spawn(path, ['-waves', '1', '-n', '1'], { stdio: ['pipe', 'ignore', 'inherit'] });
    await new Promise<void>((r) => child.once('spawn', () => r()));
    using tracer = GoroutineTracer.open({ binary: path, pid: child.pid! });
    const ac = new AbortController();
    const waiting = tracer.wait(60_000, { signal: ac.signal });
    const t0 = Date.now();
    ac.abort();
    expect(await waiting).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(tracer.targetHasExited).toBe(false);
    child.stdin!.end('go\n');
    await tracer.targetExited;
    expect(tracer.targetHasExited).toBe(true);
    expect(await tracer.wait(60_000)).toBe(false); // gone: no waiting forever
    const seen: GoroutineTransition[] = [];
    const stats = tracer.finish((t) => seen.push(t));
    expect(seen.length).toBeGreaterThan(10);
    expect(stats.records).toBe(BigInt(seen.length) + stats.lost + BigInt(stats.unattributed));
    expect(() => tracer.poll(() => undefined)).not.toThrow();
    expect(tracer.closed).toBe(true);
  });
});
