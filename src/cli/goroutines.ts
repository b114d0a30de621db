// Traces every goroutine state change of a Go program: a uprobe on runtime.casgstatus whose BPF
// program is assembled here, for the target's Go version, from facts read out of the executable.
//
//   npx tsx examples/goroutines.ts                      # traces esbuild (a stripped Go binary) bundling a small project
//   npx tsx examples/goroutines.ts -- ./server --port 8080
//   npx tsx examples/goroutines.ts --pid 1234
//   npx tsx examples/goroutines.ts --binary /usr/local/bin/app   # every process running it
// Options: --json (one record per line), --trace-out FILE (Chrome trace JSON for Perfetto),
//          --states runnable,running (only transitions into these), --quiet (summary only).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GoroutineState, GoroutineTracer, stateName, type GoroutineTransition } from '../index.js';
import { intOption, runCommand, stringOption, UsageError, type CommandSpec } from './command.js';

interface Args { pid?: number; binary?: string; command?: string[]; json: boolean; traceOut?: string; states?: string[]; quiet: boolean }

const SPEC: CommandSpec = {
  usage: 'ebpf goroutines [--pid N | --binary PATH | -- COMMAND ARGS...] [--json] [--trace-out FILE] [--states a,b] [--quiet]',
  summary: 'Traces every goroutine state change of a Go program (a uprobe on runtime.casgstatus, assembled for its Go version).',
  details: 'Without a target: traces esbuild (a stripped Go binary npm installs) bundling a small project.\n' +
    'With --json: one JSON line per transition {"type":"transition",...}, then {"type":"summary",...};\n' +
    'a started command\'s output then goes to stderr.',
  options: {
    pid: { type: 'string', short: 'p', value: 'N', help: 'trace this running Go process' },
    binary: { type: 'string', value: 'PATH', help: 'trace every process running this executable' },
    'trace-out': { type: 'string', value: 'FILE', help: 'write Chrome trace JSON (one track per goroutine) for Perfetto' },
    states: { type: 'string', value: 'a,b', help: 'only transitions into these states (runnable,running,waiting,...)' },
    quiet: { type: 'boolean', short: 'q', help: 'print the summary only' },
  },
  rest: true,
};

function argsOf(inv: Parameters<Parameters<typeof runCommand>[2]>[0]): Args {
  const a: Args = {
    pid: intOption(inv, 'pid', 1, 0x3fffffff),
    binary: stringOption(inv, 'binary'),
    command: inv.rest ? [...inv.rest] : undefined,
    json: inv.json,
    traceOut: stringOption(inv, 'trace-out'),
    states: stringOption(inv, 'states')?.split(',').filter(Boolean),
    quiet: inv.values.quiet === true,
  };
  const targets = [a.pid !== undefined, a.binary !== undefined, a.command !== undefined].filter(Boolean).length;
  if (targets > 1) throw new UsageError('give one of --pid, --binary or -- COMMAND');
  if (a.states !== undefined && a.states.length === 0) throw new UsageError('--states needs state names, for example runnable,running');
  return a;
}

/** The executable on PATH, as a path. */
function which(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  throw new Error(`${cmd}: not found on PATH`);
}

/** esbuild's executable, as npm installs it: a real, stripped Go binary. */
function esbuildBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve(`@esbuild/${process.platform}-${process.arch}/package.json`);
  return join(dirname(pkg), 'bin', 'esbuild');
}

/** A small project for esbuild to bundle. */
function demoProject(): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'goroutines-demo-'));
  const files = 24;
  for (let i = 0; i < files; i++) {
    writeFileSync(join(dir, `m${i}.ts`), `export function f${i}(x: number): number { return ${i === 0 ? 'x' : `f${i - 1}(x) + ${i}`}; }\nimport { f${Math.max(0, i - 1)} } from './m${Math.max(0, i - 1)}';\n`.replace(i === 0 ? /import.*\n/ : /^$/, ''));
  }
  writeFileSync(join(dir, 'main.ts'), `import { f${files - 1} } from './m${files - 1}';\nconsole.log(f${files - 1}(1));\n`);
  return { dir, args: [join(dir, 'main.ts'), '--bundle', '--minify', `--outfile=${join(dir, 'out.js')}`, '--log-level=warning'] };
}

class Summary {
  readonly transitions = new Map<string, number>();
  readonly goroutines = new Set<string>();
  /** Per goroutine: current state and since when. */
  readonly current = new Map<string, { state: number; since: bigint }>();
  /** Per state name: per goroutine, nanoseconds spent. */
  readonly timeIn = new Map<string, Map<string, bigint>>();
  readonly slices: { goid: string; pid: number; state: string; start: bigint; end: bigint }[] = [];
  first: bigint | undefined;
  last = 0n;
  count = 0;

  add(t: GoroutineTransition): void {
    this.count++;
    this.first ??= t.timestamp;
    this.last = t.timestamp;
    const kind = `${stateName(t.oldState)} → ${stateName(t.newState)}`;
    this.transitions.set(kind, (this.transitions.get(kind) ?? 0) + 1);
    if (t.goid === 0n) return; // a goroutine not yet given its id (Go before 1.24)
    const g = `${t.pid}/${t.goid}`;
    this.goroutines.add(g);
    const cur = this.current.get(g);
    if (cur) this.#spent(g, t.pid, cur.state, cur.since, t.timestamp);
    this.current.set(g, { state: t.newState, since: t.timestamp });
  }

  #spent(g: string, pid: number, state: number, start: bigint, end: bigint): void {
    // Time on the free list (idle, dead) is not a goroutine's own time.
    if ((state & 0xfff) === GoroutineState.idle || (state & 0xfff) === GoroutineState.dead) return;
    const name = stateName(state);
    let m = this.timeIn.get(name);
    if (!m) this.timeIn.set(name, (m = new Map()));
    m.set(g, (m.get(g) ?? 0n) + (end - start));
    this.slices.push({ goid: g.split('/')[1], pid, state: name, start, end });
  }

  /** Closes the open intervals at the last timestamp seen. */
  finish(): void {
    for (const [g, cur] of this.current) {
      if (cur.since < this.last) this.#spent(g, Number(g.split('/')[0]), cur.state, cur.since, this.last);
    }
    this.current.clear();
  }

  report(lost: bigint): Record<string, unknown> {
    const perState: Record<string, { totalMs: number; goroutines: number; p50Ms: number; p99Ms: number }> = {};
    for (const [state, m] of this.timeIn) {
      const v = [...m.values()].map(Number).sort((a, b) => a - b);
      const pct = (p: number): number => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] / 1e6;
      perState[state] = { totalMs: v.reduce((s, x) => s + x, 0) / 1e6, goroutines: v.length, p50Ms: pct(50), p99Ms: pct(99) };
    }
    return {
      transitions: this.count,
      byKind: Object.fromEntries([...this.transitions].sort((a, b) => b[1] - a[1])),
      goroutines: this.goroutines.size,
      timePerState: perState,
      lost: Number(lost),
    };
  }
}

function printSummary(r: Record<string, unknown>): void {
  const byKind = r.byKind as Record<string, number>;
  const per = r.timePerState as Record<string, { totalMs: number; goroutines: number; p50Ms: number; p99Ms: number }>;
  console.log(`\n${r.transitions} transitions, ${r.goroutines} goroutines, ${r.lost} events lost\n`);
  console.log('  TRANSITION                       COUNT');
  for (const [k, n] of Object.entries(byKind).slice(0, 15)) console.log(`  ${k.padEnd(30)} ${String(n).padStart(7)}`);
  console.log('\n  STATE            TOTAL ms  GOROUTINES   p50 ms    p99 ms   (time per goroutine)');
  for (const [s, v] of Object.entries(per).sort((a, b) => b[1].totalMs - a[1].totalMs)) {
    console.log(`  ${s.padEnd(15)} ${v.totalMs.toFixed(3).padStart(9)} ${String(v.goroutines).padStart(11)} ${v.p50Ms.toFixed(3).padStart(8)} ${v.p99Ms.toFixed(3).padStart(9)}`);
  }
}

/** Chrome trace-event JSON: one track per goroutine, its states as slices (opens in Perfetto). */
function writeTrace(path: string, s: Summary, binary: string): void {
  const t0 = s.first ?? 0n;
  const us = (ns: bigint): number => Number(ns - t0) / 1000;
  const events: Record<string, unknown>[] = [];
  const tracks = new Set<string>();
  for (const x of s.slices) {
    const key = `${x.pid}/${x.goid}`;
    if (!tracks.has(key)) {
      tracks.add(key);
      events.push({ ph: 'M', name: 'thread_name', pid: x.pid, tid: Number(x.goid), args: { name: `goroutine ${x.goid}` } });
    }
    events.push({ ph: 'X', name: x.state, cat: 'goroutine', pid: x.pid, tid: Number(x.goid), ts: us(x.start), dur: Math.max(0.001, Number(x.end - x.start) / 1000) });
  }
  for (const pid of new Set(s.slices.map((x) => x.pid))) events.push({ ph: 'M', name: 'process_name', pid, args: { name: `${binary} (${pid})` } });
  writeFileSync(path, JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms' }));
}

/** `ebpf goroutines`: returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(SPEC, argv, async (inv) => {
    await trace(argsOf(inv));
    return 0;
  });
}

async function trace(args: Args): Promise<void> {
  let child: ChildProcess | undefined;
  let binary: string;
  let pid: number | undefined = args.pid;
  let cleanup = (): void => undefined;
  let command = args.command;
  if (!command && args.pid === undefined && !args.binary) {
    const project = demoProject();
    cleanup = () => rmSync(project.dir, { recursive: true, force: true });
    command = [esbuildBinary(), ...project.args];
  }
  if (command) {
    binary = which(command[0]);
    // The command waits on stdin until the probe is attached, so its first goroutines are seen too.
    // Under --json stdout holds JSON lines only: the command's own output goes to stderr.
    child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', binary, ...command.slice(1)], { stdio: ['pipe', args.json ? 2 : 'inherit', 'inherit'] });
    pid = child.pid;
  } else if (args.binary) {
    binary = args.binary;
  } else {
    try {
      binary = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      throw new Error(`process ${pid} is gone (or never existed)`);
    }
  }

  const tracer = GoroutineTracer.open({ binary, pid, states: args.states });
  const info = tracer.info;
  if (!args.json) {
    console.log(`tracing ${binary}${pid ? ` (pid ${pid})` : ' (every process running it)'}: ${info.version.raw}, goid at +${info.goidOffset} (from ${info.goidOffsetSource}), ${info.abi.kind} ABI`);
    for (const w of info.warnings) console.log(`  note: ${w}`);
  }
  const summary = new Summary();
  let start: bigint | undefined;
  const onTransition = (t: GoroutineTransition): void => {
    summary.add(t);
    if (args.quiet) return;
    if (args.json) {
      console.log(JSON.stringify({ type: 'transition', ts: Number(t.timestamp), pid: t.pid, tid: t.tid, goid: Number(t.goid), from: stateName(t.oldState), to: stateName(t.newState), fromRaw: t.oldState, toRaw: t.newState }));
      return;
    }
    start ??= t.timestamp;
    const ms = (Number(t.timestamp - start) / 1e6).toFixed(3);
    console.log(`${ms.padStart(10)} ms  pid ${t.pid}  goid ${String(t.goid).padStart(5)}  ${stateName(t.oldState)} → ${stateName(t.newState)}`);
  };

  let stopping = false;
  const stop = (): void => {
    stopping = true;
    tracer.close(); // wakes the pending wait
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const exited = child ? new Promise<void>((r) => child!.once('exit', () => r())) : undefined;
  exited?.then(() => { stopping = true; });
  child?.stdin!.end('go\n');

  while (!stopping) {
    tracer.poll(onTransition);
    await tracer.wait(100);
  }
  const { lost } = tracer.stats();
  tracer.poll(onTransition);
  tracer.close();
  if (child && child.exitCode === null) child.kill('SIGTERM');
  cleanup();

  summary.finish();
  const report = summary.report(lost);
  if (args.traceOut) writeTrace(args.traceOut, summary, binary);
  if (args.json) console.log(JSON.stringify({ type: 'summary', binary, version: info.version.raw, goidOffset: info.goidOffset, goidOffsetSource: info.goidOffsetSource, ...report }));
  else printSummary(report);
  if (args.traceOut && !args.json) console.log(`\ntrace written to ${args.traceOut} (open it in https://ui.perfetto.dev)`);
}
