// Goroutine tracer overhead: how much a goroutine-heavy Go program slows down when traced by our
// tracer, by our in-kernel summary (no record per event), and by a bpftrace one-liner on the same
// probe, side by side in one run.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { GoroutineSummaryProbe } from '../src/goroutines/index.js';
import { Program } from '../src/index.js';
import { ProgramBuilder, R0 } from '../src/asm/index.js';
import { attachUprobe } from '../src/links/index.js';
import { GoroutineTracer } from '../src/goroutines/index.js';

const TARGET = resolve('test/fixtures/go/goroutines');

export interface GoroutineBenchResult {
  untracedMs: number;
  /** GoroutineTracer read with pollColumns (columns, no object per transition): the fast public way. */
  ours: { ms: number; slowdown: number; events: number; lost: number };
  /** The same tracer read with poll (an object with BigInts per transition), CPU per event. */
  objects: { ms: number; slowdown: number; events: number; lost: number; perEventNs: number };
  /** The in-kernel summary (GoroutineSummaryProbe): aggregated in maps, read once at the end. */
  kernelSummary: { ms: number; slowdown: number; transitions: number; finishMs: number };
  /** The floor: an empty uprobe program on the same function, nothing read, nothing sent. */
  emptyUprobe: { ms: number; slowdown: number };
  /** The tracer's own CPU (this process, user + system): opening it, and per event while tracing. */
  cpu: { startupMs: number; perEventNs: number; eventsPerSec: number };
  bpftrace?: { ms: number; slowdown: number; events: number; lost: number; hungRounds: number } | { error: string };
}

function targetArgs(quick: boolean): string[] {
  return ['-n', '50', '-loop', quick ? '500' : '2000', '-q', '-pause=0'];
}

const elapsedMs = (out: string): number => Number(/elapsed_ns (\d+)/.exec(out)?.[1] ?? NaN) / 1e6;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Starts the target paused at "ready"; go() lets it run and resolves with its output. */
async function startTarget(quick: boolean): Promise<{ pid: number; go(): Promise<string> }> {
  const child = spawn(TARGET, targetArgs(quick), { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
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

async function untraced(quick: boolean): Promise<number> {
  const t = await startTarget(quick);
  return elapsedMs(await t.go());
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

interface OursRound {
  ms: number;
  events: number;
  lost: number;
  startupCpuMs: number;
  tracingCpuMs: number;
}

/**
 * Our tracer, read as a user of the public API reads it: `columns` = pollColumns (typed-array
 * columns per batch of transitions), else poll (an object per transition). Each event is counted.
 */
async function tracedByUs(quick: boolean, columns = true): Promise<OursRound> {
  const t = await startTarget(quick);
  const c0 = process.cpuUsage();
  const tracer = GoroutineTracer.open({ binary: TARGET, pid: t.pid, ringSize: 64 * 1024 * 1024 });
  const startupCpuMs = cpuMs(process.cpuUsage(c0));
  const c1 = process.cpuUsage();
  let events = 0;
  let running = true;
  const read = columns ? () => tracer.pollColumns((c) => (events += c.count)) : () => tracer.poll(() => events++);
  const consumer = (async () => {
    while (running) {
      read();
      // Once the target has exited, wait() returns false at once: without this, the loop would
      // run on microtasks alone and starve the event loop that reports the child's exit.
      if (tracer.targetHasExited) break;
      await tracer.wait(20);
    }
  })();
  const ms = elapsedMs(await t.go());
  running = false;
  await consumer;
  read();
  const tracingCpuMs = cpuMs(process.cpuUsage(c1));
  const lost = Number(tracer.stats().lost);
  tracer.close();
  return { ms, events, lost, startupCpuMs, tracingCpuMs };
}

/** The in-kernel summary on the same workload: nothing crosses to user space until the end. */
async function summarizedInKernel(quick: boolean): Promise<{ ms: number; transitions: number; finishMs: number }> {
  const t = await startTarget(quick);
  const probe = GoroutineSummaryProbe.open({ binary: TARGET, pid: t.pid });
  const ms = elapsedMs(await t.go());
  const r0 = performance.now();
  const k = probe.finish();
  return { ms, transitions: k.transitions, finishMs: performance.now() - r0 };
}

/** The floor of any tracer's slowdown: a uprobe on runtime.casgstatus whose program only returns. */
async function emptyUprobe(quick: boolean): Promise<number> {
  const t = await startTarget(quick);
  using prog = Program.load({ type: 'KPROBE', name: 'empty_uprobe', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build() });
  using link = attachUprobe(prog, TARGET, { symbol: 'runtime.casgstatus', pid: t.pid });
  void link;
  return elapsedMs(await t.go());
}

/** A bpftrace that had to be killed: its buffered output is lost, so the round is not counted. */
class BpftraceHung extends Error {}

/** The same probe as a bpftrace one-liner: goid read at the same offset, one output line per event. */
async function tracedByBpftrace(quick: boolean): Promise<{ ms: number; events: number; lost: number }> {
  const t = await startTarget(quick);
  const script = `uprobe:${TARGET}:runtime.casgstatus /pid == ${t.pid}/ { printf("%d %d %d\\n", *(uint64 *)(reg("ax") + 152), reg("bx"), reg("cx")); }`;
  const bt = spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let events = 0;
  let stderr = '';
  let partial = '';
  let attached: () => void = () => undefined;
  const ready = new Promise<void>((r) => (attached = r));
  bt.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('Attaching')) attached();
      else if (l) events++;
    }
  });
  bt.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const btExit = new Promise<void>((r) => bt.on('exit', () => r()));
  await Promise.race([ready, btExit, new Promise((r) => setTimeout(r, 30_000))]);
  if (bt.exitCode !== null) throw new Error(`bpftrace failed: ${stderr.trim()}`);
  const ms = elapsedMs(await t.go());
  await new Promise((r) => setTimeout(r, 500));
  // bpftrace flushes and exits on SIGINT; once in a full run one SIGINT went unanswered and the
  // bench waited for ever, so it is repeated, and SIGKILL ends a bpftrace that ignores them all.
  for (let i = 0; i < 5 && bt.exitCode === null && bt.signalCode === null; i++) {
    bt.kill('SIGINT');
    await Promise.race([btExit, new Promise((r) => setTimeout(r, 2000))]);
  }
  if (bt.exitCode === null && bt.signalCode === null) {
    bt.kill('SIGKILL');
    await btExit;
    throw new BpftraceHung();
  }
  const lost = [...stderr.matchAll(/Lost (\d+) events/g)].reduce((s, m) => s + Number(m[1]), 0);
  return { ms, events, lost };
}

export async function benchGoroutines(quick: boolean): Promise<GoroutineBenchResult> {
  const rounds = quick ? 3 : 5;
  const base: number[] = [];
  const ours: OursRound[] = [];
  const objects: OursRound[] = [];
  const empty: number[] = [];
  const summarized: { ms: number; transitions: number; finishMs: number }[] = [];
  const theirs: { ms: number; events: number; lost: number }[] = [];
  const hasBpftrace = spawnSync('sh', ['-c', 'command -v bpftrace']).status === 0;
  let bpftraceError: string | undefined = hasBpftrace ? undefined : 'bpftrace is not installed';
  let hungRounds = 0;
  // Interleaved, so machine noise hits all three alike.
  for (let i = 0; i < rounds; i++) {
    base.push(await untraced(quick));
    empty.push(await emptyUprobe(quick));
    ours.push(await tracedByUs(quick));
    objects.push(await tracedByUs(quick, false));
    summarized.push(await summarizedInKernel(quick));
    if (!bpftraceError) {
      try {
        theirs.push(await tracedByBpftrace(quick));
      } catch (e) {
        if (e instanceof BpftraceHung) hungRounds++;
        else bpftraceError = (e as Error).message;
      }
    }
  }
  const untracedMs = median(base);
  const pick = (xs: { ms: number; events: number; lost: number }[]) => {
    const ms = median(xs.map((x) => x.ms));
    return { ms, slowdown: ms / untracedMs, events: median(xs.map((x) => x.events)), lost: Math.max(...xs.map((x) => x.lost)) };
  };
  if (!bpftraceError && theirs.length === 0) bpftraceError = `bpftrace did not exit on SIGINT in any of ${hungRounds} rounds`;
  const emptyMs = median(empty);
  const tracingCpuMs = ours.reduce((a, r) => a + r.tracingCpuMs, 0);
  const tracedEvents = ours.reduce((a, r) => a + r.events, 0);
  const cpu = {
    startupMs: median(ours.map((r) => r.startupCpuMs)),
    perEventNs: (tracingCpuMs * 1e6) / tracedEvents,
    eventsPerSec: tracedEvents / (ours.reduce((a, r) => a + r.ms, 0) / 1000),
  };
  const summaryMs = median(summarized.map((x) => x.ms));
  const kernelSummary = {
    ms: summaryMs,
    slowdown: summaryMs / untracedMs,
    transitions: median(summarized.map((x) => x.transitions)),
    finishMs: median(summarized.map((x) => x.finishMs)),
  };
  const objectsCpuMs = objects.reduce((a, r) => a + r.tracingCpuMs, 0);
  const objectsEvents = objects.reduce((a, r) => a + r.events, 0);
  return {
    untracedMs,
    ours: pick(ours),
    objects: { ...pick(objects), perEventNs: (objectsCpuMs * 1e6) / objectsEvents },
    kernelSummary,
    emptyUprobe: { ms: emptyMs, slowdown: emptyMs / untracedMs },
    cpu,
    bpftrace: bpftraceError ? { error: bpftraceError } : { ...pick(theirs), hungRounds },
  };
}
