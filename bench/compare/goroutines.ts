// The goroutine tracer on a goroutine-heavy Go program (bench/goroutines.ts): its slowdown against
// a bpftrace one-liner on the same probe and against the floor (an empty uprobe on the same
// function), the tracer's own CPU at start-up and per event, and the in-kernel summary mode's
// slowdown against the same floor and against the streaming tracer.
import { benchGoroutines } from '../goroutines.js';
import { log, quick } from '../lib/measure.js';
import { rows } from '../lib/table.js';

export async function benchGo(): Promise<void> {
  log('goroutine tracer overhead (bench/goroutines.ts)');
  const g = await benchGoroutines(quick);
  const bt = g.bpftrace && 'error' in g.bpftrace ? { error: g.bpftrace.error } : g.bpftrace?.slowdown;
  const btInfo =
    g.bpftrace && !('error' in g.bpftrace)
      ? `bpftrace ${g.bpftrace.ms.toFixed(0)} ms, ${g.bpftrace.events} events, ${g.bpftrace.lost} lost${g.bpftrace.hungRounds ? ` (${g.bpftrace.hungRounds} round(s) left out: bpftrace ignored SIGINT and was killed)` : ''}`
      : '';
  const ours = `ours (GoroutineTracer.pollColumns) ${g.ours.ms.toFixed(0)} ms, ${g.ours.events} events, ${g.ours.lost} lost; read with poll (an object per event) ${g.objects.ms.toFixed(0)} ms = ${g.objects.slowdown.toFixed(2)} x`;
  rows.push({
    metric: 'goroutine tracer slowdown (vs bpftrace)',
    unit: 'x',
    better: 'lower',
    target: 1.0,
    ours: g.ours.slowdown,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'bpftrace', value: bt },
    note: `anchor: bpftrace uprobe one-liner on the same probe (bench/goroutines.ts); untraced ${g.untracedMs.toFixed(0)} ms (median); ${ours}; ${btInfo}`,
  });
  rows.push({
    metric: 'goroutine tracer slowdown (vs empty uprobe)',
    unit: 'x',
    better: 'lower',
    target: 1.1,
    ours: g.ours.slowdown,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'empty uprobe', value: g.emptyUprobe.slowdown },
    note: `the floor: a uprobe on runtime.casgstatus whose program only returns (the cost of the trap itself), ${g.emptyUprobe.ms.toFixed(0)} ms (median); untraced ${g.untracedMs.toFixed(0)} ms; ${ours}`,
  });
  rows.push({
    metric: 'goroutine tracer CPU at start-up',
    unit: 'ms',
    better: 'lower',
    ours: g.cpu.startupMs,
    libbpf: undefined,
    cilium: undefined,
    note: 'user + system CPU of the tracing process in GoroutineTracer.open (inspect the binary, load, attach, map the ring), median of the rounds',
  });
  rows.push({
    metric: 'goroutine tracer CPU per event',
    unit: 'ns',
    better: 'lower',
    ours: g.cpu.perEventNs,
    libbpf: undefined,
    cilium: undefined,
    note: `user + system CPU of the tracing process while the target runs, divided by the events delivered; ${(g.cpu.eventsPerSec / 1000).toFixed(0)}k events/s on this workload; read with pollColumns (typed-array columns per batch, no object per event); read with poll (an object and BigInts per event): ${g.objects.perEventNs.toFixed(0)} ns`,
  });
  const ks = g.kernelSummary;
  const ksNote = `summary-only ${ks.ms.toFixed(0)} ms, ${ks.transitions} transitions aggregated in the kernel, finish() (detach, read the maps, close) took ${ks.finishMs.toFixed(1)} ms; untraced ${g.untracedMs.toFixed(0)} ms`;
  rows.push({
    metric: 'goroutine summary-only slowdown (vs empty uprobe)',
    unit: 'x',
    better: 'lower',
    target: 1.1,
    ours: ks.slowdown,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'empty uprobe', value: g.emptyUprobe.slowdown },
    note: `GoroutineSummaryProbe (ebpf goroutines --summary-only): no record per event; the floor ${g.emptyUprobe.ms.toFixed(0)} ms; ${ksNote}`,
  });
  rows.push({
    metric: 'goroutine summary-only slowdown (vs streaming)',
    unit: 'x',
    better: 'lower',
    target: 1.0,
    ours: ks.slowdown,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'streaming tracer', value: g.ours.slowdown },
    note: `the same workload traced by GoroutineTracer (a ring record per event, read and decoded in Node): ${ours}; ${ksNote}`,
  });
}
