// `ebpf goroutines`: traces every goroutine state change of a Go program (a uprobe on
// runtime.casgstatus) and prints the transitions, then a summary.
//
// Stopping: the command's exit, the traced process's exit (--pid), SIGINT or SIGTERM all end the
// same way: detach, drain the ring, read the stats, then print the summary. The event loop stays
// free while tracing (records are read in bounded chunks) because tsx gives its child about 30 ms
// to acknowledge a relayed signal before it kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readlinkSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { chromeTrace } from '../goroutines/chrome-trace.js';
import { stateMask, stateName, type GoroutineTransition } from '../goroutines/record.js';
import { GoroutineSummary, type SummaryReport } from '../goroutines/summary.js';
import { renderTop } from '../goroutines/top.js';
import type { GoroutineTransitionColumns } from '../goroutines/columns.js';
import { GoroutineTracer, type GoroutineTracerStats } from '../goroutines/tracer.js';
import { UsageError } from './command.js';

const USAGE = `usage: ebpf goroutines [--pid N | --binary PATH | -- COMMAND [ARGS...]] [options]

Traces goroutine state changes of a Go program. Without a target, traces esbuild (from
node_modules) bundling a file: a demo on a real, stripped Go binary.

  --pid N            trace the running process N (ends when it exits)
  --binary PATH      trace every process running the executable PATH
  -- COMMAND ARGS    run COMMAND and trace it (its stdout goes to stderr with --json)
  --json             JSON lines on stdout: one per transition, then the summary
  --trace-out FILE   also write a Chrome/Perfetto trace (JSON) to FILE
  --states a,b       only transitions into or out of these states (runnable, running, waiting, ...)
  --quiet            the summary only
  --summary-only     aggregate in the kernel (time per state and wait reason, latency
                     histogram); no record per event, the summary at the end
  --top              a live view, redrawn every second: goroutines by state and start
                     function, the longest waiters and why (then the summary)
  --max-latency MS   longest a record waits before it is read (default 50)
  --ring-size BYTES  ring buffer size (a power of two, at least 4096; default 8 MiB)
  -h, --help         this text
`;

export interface Options {
  pid?: number;
  binary?: string;
  command?: string[];
  json: boolean;
  quiet: boolean;
  top: boolean;
  /** --summary-only: the in-kernel summary (cli/goroutines-summary.ts). */
  summaryOnly: boolean;
  traceOut?: string;
  states?: string[];
  maxLatencyMs: number;
  ringSize?: number;
}

function parse(argv: string[]): Options | 'help' {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        pid: { type: 'string' },
        binary: { type: 'string' },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        top: { type: 'boolean', default: false },
        'summary-only': { type: 'boolean', default: false },
        'trace-out': { type: 'string' },
        states: { type: 'string' },
        'max-latency': { type: 'string' },
        'ring-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const o: Options = { json: values.json, quiet: values.quiet, top: values.top, summaryOnly: values['summary-only'], maxLatencyMs: 50 };
  if (o.summaryOnly) {
    const streamingOnly = (['top', 'trace-out', 'states', 'max-latency', 'ring-size'] as const).filter(
      (k) => values[k] !== undefined && values[k] !== false,
    );
    if (streamingOnly.length > 0)
      throw new UsageError(`--summary-only keeps no record per event, so it takes no ${streamingOnly.map((k) => `--${k}`).join(', ')}`);
  }
  if (o.top && o.json) throw new UsageError('--top is a view for a terminal; it cannot be combined with --json');
  const targets = [values.pid !== undefined, values.binary !== undefined, dash >= 0].filter(Boolean).length;
  if (targets > 1) throw new UsageError('give one target: --pid, --binary or -- COMMAND');
  if (values.pid !== undefined) {
    if (!/^[1-9]\d*$/.test(values.pid)) throw new UsageError(`--pid needs a process id, not "${values.pid}"`);
    o.pid = Number(values.pid);
  }
  if (values.binary !== undefined) {
    if (values.binary === '' || !existsSync(values.binary)) throw new UsageError(`--binary ${values.binary}: no such file`);
    o.binary = values.binary;
  }
  if (dash >= 0) {
    o.command = argv.slice(dash + 1);
    if (o.command.length === 0) throw new UsageError('-- needs a command');
  }
  if (values.states !== undefined) {
    o.states = values.states
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (o.states.length === 0) throw new UsageError('--states needs state names, e.g. --states running,waiting');
    try {
      stateMask(o.states);
    } catch (e) {
      throw new UsageError(`--states: ${(e as Error).message}`);
    }
  }
  if (values['max-latency'] !== undefined) {
    const ms = Number(values['max-latency']);
    if (!Number.isInteger(ms) || ms < 1 || ms > 60_000)
      throw new UsageError(`--max-latency needs milliseconds from 1 to 60000, not "${values['max-latency']}"`);
    o.maxLatencyMs = ms;
  }
  if (values['ring-size'] !== undefined) {
    const n = Number(values['ring-size']);
    if (!Number.isInteger(n) || n < 4096 || (n & (n - 1)) !== 0)
      throw new UsageError(`--ring-size needs a power of two of at least 4096 bytes, not "${values['ring-size']}"`);
    o.ringSize = n;
  }
  if (values['trace-out'] !== undefined) {
    if (values['trace-out'] === '') throw new UsageError('--trace-out needs a file name');
    o.traceOut = resolve(values['trace-out']);
    const dir = dirname(o.traceOut);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UsageError(`--trace-out ${values['trace-out']}: directory ${dir} does not exist`);
  }
  return o;
}

/** The executable on PATH, as a path. */
export function which(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  throw new UsageError(`${cmd}: not found on PATH`);
}

/**
 * The demo: esbuild's executable as npm installs it (a real, stripped Go binary) bundling esbuild's
 * own JavaScript API to stdout. Nothing is written to disk.
 */
export function demoCommand(): string[] {
  const require = createRequire(import.meta.url);
  let binary: string;
  let input: string;
  try {
    binary = join(dirname(require.resolve(`@esbuild/${process.platform}-${process.arch}/package.json`)), 'bin', 'esbuild');
    input = require.resolve('esbuild');
  } catch {
    throw new UsageError('the demo needs esbuild in node_modules (npm install esbuild); or give --pid, --binary or -- COMMAND');
  }
  return [binary, input, '--bundle', '--platform=node', '--minify', '--log-level=error'];
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Buffered stdout: one write per chunk of records, not one per line. */
class Out {
  #buf = '';
  line(s: string): void {
    this.#buf += s + '\n';
    if (this.#buf.length > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.#buf === '') return;
    const b = this.#buf;
    this.#buf = '';
    writeAll(1, b);
  }
}

/** Synchronous write of the whole string (a pipe may take it in pieces). */
export function writeAll(fd: number, s: string): void {
  const b = Buffer.from(s);
  for (let off = 0; off < b.length;) {
    try {
      off += writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw e;
    }
  }
}

function printSummary(out: Out, r: SummaryReport, stats: GoroutineTracerStats): void {
  out.line(
    `\n${r.transitions} transitions, ${r.goroutines} goroutines in ${r.durationMs.toFixed(1)} ms, ${stats.lost} events lost${stats.unattributed ? `, ${stats.unattributed} births without a goid` : ''}\n`,
  );
  if (r.outOfSequence > 0) {
    out.line(
      `  ${r.outOfSequence} transitions out of sequence (old state not the one last seen: a --states filter, or changes the runtime made without casgstatus, e.g. GC stack scans); no time is credited across them\n`,
    );
  }
  out.line('  TRANSITION                       COUNT');
  for (const [k, n] of Object.entries(r.byKind).slice(0, 15)) out.line(`  ${k.padEnd(30)} ${String(n).padStart(7)}`);
  out.line('\n  STATE            TOTAL ms  GOROUTINES   p50 ms    p99 ms   (time per goroutine)');
  for (const [s, v] of Object.entries(r.timePerState).sort((a, b) => b[1].totalMs - a[1].totalMs)) {
    out.line(
      `  ${s.padEnd(15)} ${v.totalMs.toFixed(3).padStart(9)} ${String(v.goroutines).padStart(11)} ${v.p50Ms.toFixed(3).padStart(8)} ${v.p99Ms.toFixed(3).padStart(9)}`,
    );
  }
  const fns = Object.entries(r.byFunction)
    .sort((a, b) => b[1].goroutines - a[1].goroutines)
    .slice(0, 12);
  if (fns.length > 1 || (fns.length === 1 && fns[0][0] !== '?')) {
    out.line('\n  START FUNCTION                  GOROUTINES  RUNNING ms  RUNNABLE ms  WAITING ms (p50/p99 per goroutine)  WAITING ON');
    for (const [fn, f] of fns) {
      const ms = (s: string): string => (f.timePerState[s]?.totalMs ?? 0).toFixed(2);
      const w = f.timePerState.waiting;
      const reasons = Object.entries(f.waitReasons)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, v]) => `${k} ${v.toFixed(1)} ms`)
        .join(', ');
      out.line(
        `  ${fn.slice(0, 30).padEnd(30)} ${String(f.goroutines).padStart(11)} ${ms('running').padStart(11)} ${ms('runnable').padStart(12)} ${ms('waiting').padStart(11)} (${(w?.p50Ms ?? 0).toFixed(2)}/${(w?.p99Ms ?? 0).toFixed(2)})  ${reasons}`,
      );
    }
    const sites = fns
      .flatMap(([fn, f]) => Object.entries(f.createdAt).map(([site, n]) => ({ fn, site, n })))
      .sort((a, b) => b.n - a.n)
      .slice(0, 12);
    if (sites.length > 0) {
      out.line('\n  START FUNCTION                  GOROUTINES  CREATED BY (go statement)');
      for (const { fn, site, n } of sites) out.line(`  ${fn.slice(0, 30).padEnd(30)} ${String(n).padStart(11)}  ${site}`);
    }
  }
  const l = r.schedulingLatency;
  if (l.count > 0) {
    out.line(
      `\n  SCHEDULING LATENCY (runnable → running): ${l.count} waits, p50 ${l.p50Us.toFixed(1)} µs, p99 ${l.p99Us.toFixed(1)} µs, max ${l.maxUs.toFixed(1)} µs`,
    );
    const widest = Math.max(...l.buckets.map((b) => b.count));
    for (const b of l.buckets)
      out.line(
        `  ≤ ${String(b.leUs).padStart(8)} µs ${String(b.count).padStart(7)} ${'#'.repeat(Math.max(1, Math.round((40 * b.count) / widest)))}`,
      );
  }
}

export async function run(argv: string[]): Promise<number> {
  let o: Options;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    o = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`ebpf goroutines: ${e.message}\n${USAGE.split('\n')[0]}\n`);
    return 2;
  }
  try {
    return await (o.summaryOnly ? (await import('./goroutines-summary.js')).summarizeInKernel(o) : trace(o));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ebpf goroutines: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`ebpf goroutines: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return 1;
  }
}

async function trace(o: Options): Promise<number> {
  const out = new Out();
  let child: ChildProcess | undefined;
  let binary: string;
  let pid = o.pid;
  const command = o.command ?? (o.pid === undefined && o.binary === undefined ? demoCommand() : undefined);
  const demo = o.command === undefined && command !== undefined;
  // Opened now, so a bad path fails before the trace rather than after it.
  const traceFd = o.traceOut ? openSync(o.traceOut, 'w') : undefined;
  let tracer: GoroutineTracer | undefined;
  const abort = new AbortController();
  let signalled: string | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled ??= sig;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (command) {
      binary = which(command[0]);
      // The command waits on stdin until the probe is attached, so its first goroutines are seen
      // too. Its stdout never mixes with ours in JSON mode.
      const stdout = demo ? 'ignore' : o.json ? process.stderr : 'inherit';
      child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', binary, ...command.slice(1)], { stdio: ['pipe', stdout, 'inherit'] });
      await new Promise<void>((r, j) => {
        child!.once('spawn', r);
        child!.once('error', j);
      });
      pid = child.pid;
    } else if (o.binary !== undefined) {
      binary = o.binary;
    } else {
      try {
        binary = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        throw new UsageError(`process ${pid} is gone (or never existed)`);
      }
    }

    tracer = GoroutineTracer.open({ binary, pid, states: o.states, maxLatencyMs: o.maxLatencyMs, ringSize: o.ringSize });
    const info = tracer.info;
    if (o.json) {
      out.line(
        JSON.stringify({
          type: 'start',
          binary,
          pid: pid ?? null,
          programId: tracer.programId,
          version: info.version.raw,
          goidOffset: info.goidOffset,
          goidOffsetSource: info.goidOffsetSource,
          abi: info.abi.kind,
          warnings: info.warnings,
        }),
      );
      out.flush();
    } else {
      out.line(
        `tracing ${binary}${pid ? ` (pid ${pid})` : ' (every process running it)'}: ${info.version.raw}, goid at +${info.goidOffset} (from ${info.goidOffsetSource}), ${info.abi.kind} ABI`,
      );
      for (const w of [...info.warnings, ...info.notes]) out.line(`  note: ${w}`);
      out.flush();
    }
    const summary = new GoroutineSummary({
      states: o.states,
      keepSlices: traceFd !== undefined,
      names: {
        functionAt: (pc) => info.functions.nameAt(pc),
        positionAt: (pc) => info.functions.positionAt(pc),
        waitReasons: info.waitReasons,
      },
    });
    // Read in columns (GoroutineTracer.pollColumns): the summary takes each batch without an
    // object or BigInt per transition, and the default path (lines of text) and --json build their
    // lines from the columns. A row whose goid or time is beyond 2^53 goes through transition(i).
    let start: bigint | undefined;
    const onTransition = (t: GoroutineTransition): void => {
      if (o.json) {
        const fn = summary.functionOf(t.pid, t.goid);
        out.line(
          JSON.stringify({
            type: 'transition',
            ts: Number(t.timestamp),
            pid: t.pid,
            tid: t.tid,
            goid: Number(t.goid),
            from: stateName(t.oldState),
            to: stateName(t.newState),
            fromRaw: t.oldState,
            toRaw: t.newState,
            ...(fn ? { function: fn, createdBy: summary.createdByOf(t.pid, t.goid), createdAt: summary.createdAtOf(t.pid, t.goid) } : {}),
            ...(t.waitReason !== undefined ? { waitReason: summary.waitReasonName(t.waitReason) } : {}),
          }),
        );
        return;
      }
      start ??= t.timestamp;
      const ms = (Number(t.timestamp - start) / 1e6).toFixed(3);
      const why = t.waitReason !== undefined ? ` (${summary.waitReasonName(t.waitReason)})` : '';
      const fn = summary.functionOf(t.pid, t.goid);
      out.line(
        `${ms.padStart(10)} ms  pid ${t.pid}  goid ${String(t.goid).padStart(5)}  ${stateName(t.oldState)} → ${stateName(t.newState)}${why}${fn ? `  ${fn}` : ''}`,
      );
    };
    /** The line of row i, as onTransition makes it from transition(i). */
    const onRow = (c: GoroutineTransitionColumns, i: number, tsBase: number, sinceStart: number): void => {
      const goid = c.goid[i];
      const pid = c.pid[i];
      const reason = c.waitReason[i];
      const fn = summary.functionOf(pid, goid);
      if (o.json) {
        out.line(
          JSON.stringify({
            type: 'transition',
            ts: tsBase + c.time[i],
            pid,
            tid: c.tid[i],
            goid,
            from: stateName(c.oldState[i]),
            to: stateName(c.newState[i]),
            fromRaw: c.oldState[i],
            toRaw: c.newState[i],
            ...(fn ? { function: fn, createdBy: summary.createdByOf(pid, goid), createdAt: summary.createdAtOf(pid, goid) } : {}),
            ...(reason >= 0 ? { waitReason: summary.waitReasonName(reason) } : {}),
          }),
        );
        return;
      }
      const ms = ((sinceStart + c.time[i]) / 1e6).toFixed(3);
      const why = reason >= 0 ? ` (${summary.waitReasonName(reason)})` : '';
      out.line(
        `${ms.padStart(10)} ms  pid ${pid}  goid ${String(goid).padStart(5)}  ${stateName(c.oldState[i])} → ${stateName(c.newState[i])}${why}${fn ? `  ${fn}` : ''}`,
      );
    };
    const onBatch = (c: GoroutineTransitionColumns): void => {
      if (o.quiet || o.top) {
        summary.addColumns(c);
        return;
      }
      start ??= c.count > 0 ? c.timeBase + BigInt(c.time[0]) : undefined;
      // Both exact while the sums stay below 2^53 (CLOCK_MONOTONIC below 104 days); rows past it
      // take the BigInt path.
      const tsBase = c.timeBase <= MAX_EXACT ? Number(c.timeBase) : NaN;
      const sinceStart = Number(c.timeBase - start!);
      for (let i = 0; i < c.count; i++) {
        // Each row after the summary took it, as poll() does: the start function of a birth is
        // known on its own line.
        summary.addColumns(c, i, i + 1);
        if (c.goidExact[i] === 1 && tsBase + c.time[i] <= Number.MAX_SAFE_INTEGER) onRow(c, i, tsBase, sinceStart);
        else onTransition(c.transition(i));
      }
    };

    const childExited = child
      ? new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('exit', () => r())))
      : undefined;
    let childDone = false;
    void childExited?.then(() => {
      childDone = true;
      abort.abort();
    });
    child?.stdin!.end('go\n');
    // --top: a frame a second. In a terminal each frame replaces the last (cursor home, clear);
    // into a pipe the frames follow one another, each after a blank line.
    const tty = process.stdout.isTTY === true;
    const title = `${binary}${pid ? ` (pid ${pid})` : ''}`;
    const topTimer = o.top
      ? setInterval(() => {
          const lines = renderTop({
            title,
            now: process.hrtime.bigint(),
            live: summary.live(),
            transitions: summary.count,
            lost: tracer!.stats().lost,
            rows: tty ? Math.max(3, Math.floor(((process.stdout.rows || 40) - 9) / 2)) : 10,
          });
          out.line(`${tty ? '\x1b[H\x1b[2J' : '\n'}${lines.join('\n')}`);
          out.flush();
        }, 1000)
      : undefined;

    while (!abort.signal.aborted && !tracer.targetHasExited && !childDone) {
      // Bounded chunks: the event loop gets a turn between them (signals, the child's exit).
      while (tracer.pollColumns(onBatch, 4096) > 0 || tracer.pendingRecords > 0) {
        out.flush();
        await yieldToLoop();
        if (abort.signal.aborted) break;
      }
      out.flush();
      await tracer.wait(-1, { signal: abort.signal });
    }
    if (topTimer) clearInterval(topTimer);
    // Detach, drain, read the stats: in that order, so the figures describe everything traced.
    const stats = tracer.finishColumns(onBatch);
    out.flush();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');

    summary.finish();
    const report = summary.report();
    if (traceFd !== undefined) {
      writeAll(
        traceFd,
        JSON.stringify(chromeTrace(summary.slices, { binary, origin: summary.first, goroutineName: (p, g) => summary.functionOf(p, g) })),
      );
    }
    if (o.json) {
      out.line(
        JSON.stringify({
          type: 'summary',
          binary,
          version: info.version.raw,
          goidOffset: info.goidOffset,
          goidOffsetSource: info.goidOffsetSource,
          ...report,
          lost: Number(stats.lost),
          records: Number(stats.records),
          unattributed: stats.unattributed,
          stoppedBy: signalled ?? (childDone || tracer.targetHasExited ? 'exit' : 'end'),
        }),
      );
    } else {
      printSummary(out, report, stats);
      if (o.traceOut) out.line(`\ntrace written to ${o.traceOut} (open it in https://ui.perfetto.dev)`);
    }
    out.flush();
    return 0;
  } finally {
    tracer?.close();
    if (traceFd !== undefined) closeSync(traceFd);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
