// A/B of the goroutine tracer against an earlier commit, interleaved round by round so machine
// noise hits both alike: the traced workload's run time next to the untraced run and the empty
// uprobe floor (as bench/goroutines.ts measures it), and the tracing process's CPU per event
// (process.cpuUsage, user + system: less noisy than wall time on a shared machine).
//
//   npx tsx bench/tracer-ab.ts [--base <commit>] [--rounds 5] [--loop 2000] [--columns]
//
// --columns: the working tree's tracer is read with pollColumns (the base's with poll, as before).
//
// The base commit's src/ and bpf/ are extracted with `git archive` into tmp/ (git-ignored) and
// imported beside the working tree's.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { attachUprobe } from '../src/links/index.js';
import { Program } from '../src/programs/index.js';
import { ProgramBuilder, R0 } from '../src/asm/index.js';
import * as current from '../src/goroutines/index.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'HEAD' },
    rounds: { type: 'string', default: '5' },
    loop: { type: 'string', default: '2000' },
    columns: { type: 'boolean', default: false },
  },
});
const rev = execFileSync('git', ['rev-parse', '--short', values.base], { encoding: 'utf8' }).trim();
const dir = resolve(`tmp/tracer-base-${rev}`);
if (!existsSync(`${dir}/src/goroutines/index.ts`)) {
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${rev} src bpf | tar -x -C ${dir}`]);
}
const base = (await import(pathToFileURL(`${dir}/src/goroutines/index.ts`).href)) as typeof current;
const TARGET = resolve('test/fixtures/go/goroutines');

const elapsedMs = (out: string): number => Number(/elapsed_ns (\d+)/.exec(out)?.[1] ?? NaN) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The workload paused at "ready"; go() runs it and resolves with its output. */
async function startTarget(): Promise<{ pid: number; go(): Promise<string> }> {
  const child = spawn(TARGET, ['-n', '50', '-loop', values.loop, '-q', '-pause=0'], { stdio: ['pipe', 'pipe', 'inherit'] });
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

/** The consumer of bench/goroutines.ts: poll everything, wait up to 20 ms, until the target ends. */
async function traced(
  Tracer: typeof current.GoroutineTracer,
  columns: boolean,
): Promise<{ ms: number; cpuNsPerEvent: number; events: number; lost: bigint }> {
  const t = await startTarget();
  const tracer = Tracer.open({ binary: TARGET, pid: t.pid, ringSize: 64 * 1024 * 1024 });
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  const lost = tracer.stats().lost;
  tracer.close();
  return { ms, cpuNsPerEvent: ((cpu.user + cpu.system) * 1000) / events, events, lost };
}

async function emptyUprobe(): Promise<number> {
  const t = await startTarget();
  using prog = Program.load({ type: 'KPROBE', name: 'empty_uprobe', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build() });
  using link = attachUprobe(prog, TARGET, { symbol: 'runtime.casgstatus', pid: t.pid });
  void link;
  return elapsedMs(await t.go());
}

const runs = {
  untraced: [] as number[],
  empty: [] as number[],
  base: [] as number[],
  current: [] as number[],
  baseCpu: [] as number[],
  currentCpu: [] as number[],
};
for (let i = 0; i < Number(values.rounds); i++) {
  runs.untraced.push(elapsedMs(await (await startTarget()).go()));
  runs.empty.push(await emptyUprobe());
  // Alternate which tracer goes first.
  for (const which of i % 2 ? (['current', 'base'] as const) : (['base', 'current'] as const)) {
    const r = await traced(which === 'base' ? base.GoroutineTracer : current.GoroutineTracer, which === 'current' && values.columns);
    runs[which].push(r.ms);
    runs[`${which}Cpu`].push(r.cpuNsPerEvent);
    if (r.lost > 0n) console.log(`  ${which}: ${r.lost} records lost`);
  }
  console.log(
    `round ${i}: untraced ${runs.untraced[i].toFixed(0)} ms, empty uprobe ${runs.empty[i].toFixed(0)} ms, ${rev} ${runs.base[i].toFixed(0)} ms (${runs.baseCpu[i].toFixed(0)} ns CPU/event), current ${runs.current[i].toFixed(0)} ms (${runs.currentCpu[i].toFixed(0)} ns CPU/event)`,
  );
}
const floor = median(runs.empty);
console.log(`medians of ${values.rounds} rounds: untraced ${median(runs.untraced).toFixed(0)} ms, empty uprobe ${floor.toFixed(0)} ms`);
for (const which of ['base', 'current'] as const) {
  const ms = median(runs[which]);
  console.log(
    `  ${which === 'base' ? rev : 'current'}: ${ms.toFixed(0)} ms = ${(ms / floor).toFixed(3)}x the empty uprobe, ${median(runs[`${which}Cpu`]).toFixed(0)} ns CPU/event`,
  );
}
