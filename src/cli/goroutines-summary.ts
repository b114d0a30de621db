// `ebpf goroutines --summary-only`: the summary computed in the kernel (GoroutineSummaryProbe).
// Nothing is read while the target runs; at the end (its exit, --pid's exit, SIGINT, SIGTERM) the
// probe is detached, the maps read once, and the tables printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { GoroutineSummaryProbe, type KernelSummary, type Log2Histogram } from '../goroutines/kernel-summary.js';
import { UsageError } from './command.js';
import { demoCommand, which, writeAll, type Options } from './goroutines.js';

/** "1.5 µs", "262 µs", "33.6 ms": a histogram bound for people. */
function duration(ns: number): string {
  if (ns < 1e3) return `${ns} ns`;
  if (ns < 1e6) return `${+(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toPrecision(3)} ms`;
  return `${+(ns / 1e9).toPrecision(3)} s`;
}

function histogramLines(h: Log2Histogram): string[] {
  const widest = Math.max(...h.buckets.map((b) => b.count));
  return h.buckets.map(
    (b) =>
      `  < ${duration(b.highNs).padStart(9)} ${String(b.count).padStart(8)} ${'#'.repeat(Math.max(1, Math.round((40 * b.count) / widest)))}`,
  );
}

/** The summary tables of `k` as text lines. */
export function formatKernelSummary(k: KernelSummary): string[] {
  const out: string[] = [];
  const s = k.stats;
  const incomplete = [
    s.chainBreaks && `${s.chainBreaks} transitions out of sequence`,
    s.updateFailures && `${s.updateFailures} goroutines not followed (per-g map full)`,
    s.reasonReadFailures && `${s.reasonReadFailures} wait reasons unread`,
  ].filter(Boolean);
  out.push(
    `\n${k.transitions} transitions, ${k.births} goroutines born, ${k.deaths} died, ${k.live} alive at the end, in ${k.durationMs.toFixed(1)} ms (aggregated in the kernel)${incomplete.length ? `; ${incomplete.join(', ')}` : ''}\n`,
  );
  out.push('  TRANSITION                       COUNT');
  for (const [kind, n] of Object.entries(k.byKind).slice(0, 15)) out.push(`  ${kind.padEnd(30)} ${String(n).padStart(7)}`);
  out.push('\n  STATE            TOTAL ms   INTERVALS  MEDIAN <    p99 <   (open at the end: ms, count)');
  for (const [state, t] of Object.entries(k.timePerState)) {
    const h = k.histograms[state];
    const p = (us: number | undefined): string => (us ? duration(us * 1000) : '-');
    out.push(
      `  ${state.padEnd(15)} ${t.totalMs.toFixed(3).padStart(9)} ${String(t.intervals).padStart(11)} ${p(h?.p50UsAtMost).padStart(9)} ${p(h?.p99UsAtMost).padStart(9)}   ${t.open ? `(${t.openMs.toFixed(3)}, ${t.open})` : ''}`,
    );
  }
  const reasons = Object.entries(k.waitReasons);
  if (reasons.length > 0) {
    out.push('\n  WAITING ON                    TOTAL ms   INTERVALS');
    for (const [reason, t] of reasons)
      out.push(`  ${reason.slice(0, 28).padEnd(28)} ${t.totalMs.toFixed(3).padStart(9)} ${String(t.intervals).padStart(11)}`);
  }
  const l = k.schedulingLatency;
  if (l.count > 0) {
    out.push(
      `\n  SCHEDULING LATENCY (runnable → running): ${l.count} waits, median < ${duration(l.p50UsAtMost * 1000)}, p99 < ${duration(l.p99UsAtMost * 1000)}`,
    );
    out.push(...histogramLines(l));
  }
  return out;
}

/** The summary as one JSON object (bigints as numbers). */
function summaryJson(k: KernelSummary): Record<string, unknown> {
  return { ...k, until: Number(k.until) };
}

/** Runs `ebpf goroutines --summary-only` with parsed options; returns the exit code. */
export async function summarizeInKernel(o: Options): Promise<number> {
  let child: ChildProcess | undefined;
  let binary: string;
  let pid = o.pid;
  const command = o.command ?? (o.pid === undefined && o.binary === undefined ? demoCommand() : undefined);
  const demo = o.command === undefined && command !== undefined;
  let probe: GoroutineSummaryProbe | undefined;
  const abort = new AbortController();
  let signalled: string | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled ??= sig;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const print = (lines: string[]): void => writeAll(1, lines.map((l) => `${l}\n`).join(''));
  try {
    if (command) {
      binary = which(command[0]!);
      // The command waits on stdin until the probe is attached; its stdout never mixes with JSON.
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
    probe = GoroutineSummaryProbe.open({ binary, pid });
    const info = probe.info;
    if (o.json) {
      print([
        JSON.stringify({
          type: 'start',
          mode: 'summary',
          binary,
          pid: pid ?? null,
          programId: probe.programId,
          version: info.version.raw,
          goidOffset: info.goidOffset,
          goidOffsetSource: info.goidOffsetSource,
          abi: info.abi.kind,
          warnings: info.warnings,
        }),
      ]);
    } else {
      print([
        `summarizing ${binary}${pid ? ` (pid ${pid})` : ' (every process running it)'} in the kernel: ${info.version.raw}, ${info.abi.kind} ABI; Ctrl-C ends it`,
        ...[...info.warnings, ...info.notes].map((w) => `  note: ${w}`),
      ]);
    }
    let childDone = false;
    if (child) {
      const c = child;
      void new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))).then(() => {
        childDone = true;
        abort.abort();
      });
      c.stdin!.end('go\n');
    }
    // Nothing to read while it runs: wait for the target's exit (--pid, or the command), or a signal.
    await probe.waitForExit({ signal: abort.signal });
    const k = probe.finish();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const stoppedBy = signalled ?? (childDone || probe.targetHasExited ? 'exit' : 'end');
    if (o.json)
      print([JSON.stringify({ type: 'summary', mode: 'summary', binary, version: info.version.raw, ...summaryJson(k), stoppedBy })]);
    else print(formatKernelSummary(k));
    return 0;
  } finally {
    probe?.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
