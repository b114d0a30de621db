// The goroutine tracer's own CPU per event, with the reader woken per record and per batch
// (BPF_RB_NO_WAKEUP below a fill threshold, a timed wait bounding the latency). The workload is
// the committed Go fixture looping goroutines at tens of thousands of transitions per second.
//
//   npx tsx bench/tracer-cpu.ts [--seconds 5] [--rounds 2]
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GoroutineTracer } from '../src/goroutines/index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const FIXTURE = resolve('test/fixtures/go/goroutines');

async function measure(wakeupBytes: number): Promise<{ events: number; perSecond: number; cpuNsPerEvent: number; wakeups: number }> {
  const target = spawn(FIXTURE, ['-n', '50', '-loop', '100000000', '-q', '-wait=false'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const tracer = GoroutineTracer.open({ binary: FIXTURE, pid: target.pid!, wakeupBytes, maxLatencyMs: 50 });
  let events = 0;
  let wakeups = 0;
  const count = (): void => {
    events++;
  };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  try {
    while (Date.now() < end) {
      tracer.poll(count);
      if (await tracer.wait(Math.max(1, end - Date.now()))) wakeups++;
    }
    tracer.finish(count);
  } finally {
    tracer.close();
    target.kill('SIGKILL');
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events, perSecond: Math.round(events / wall), cpuNsPerEvent: Math.round(((cpu.user + cpu.system) * 1000) / events), wakeups };
}

for (let round = 0; round < Number(values.rounds); round++) {
  for (const [label, wakeupBytes] of [
    ['per record', 0],
    ['per batch (256 KiB or 50 ms)', 256 * 1024],
  ] as const) {
    const r = await measure(wakeupBytes);
    console.log(
      `${label.padEnd(30)} ${String(r.perSecond).padStart(7)} events/s  ${String(r.cpuNsPerEvent).padStart(6)} ns CPU/event  ${String(r.wakeups).padStart(6)} wake-ups`,
    );
  }
}
