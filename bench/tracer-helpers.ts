// What the goroutine tracer's uprobe program spends its time on: the kernel's own count of each
// BPF program's run time (kernel.bpf_stats_enabled), for one-helper programs on the same
// uprobe (runtime.casgstatus of the goroutines fixture) and for the tracer's program itself.
// The figures behind the probe's design (src/goroutines/probe.ts): bpf_probe_read_user costs far
// more than the bytes it copies, so the probe reads goid and a transition's fields at once.
// Run as root:
//   npx tsx bench/tracer-helpers.ts [--rounds 2] [--loop 500]
// bpf_stats adds its own clock reads to every run: the empty program's figure is that cost.
import { execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { attachUprobe } from '../src/links/index.js';
import { Program } from '../src/programs/index.js';
import { BpfMap } from '../src/maps/index.js';
import { ProgramBuilder, R0, R1, R2, R3, R4, R10, Size } from '../src/asm/index.js';
import { GoroutineTracer } from '../src/goroutines/index.js';
import { X86_64_PT_REGS } from '../src/go/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, loop: { type: 'string', default: '500' } } });
const TARGET = resolve('test/fixtures/go/goroutines');
if (process.arch !== 'x64') throw new Error('the one-helper programs read x86-64 pt_regs');

/** The workload paused at "ready"; go() runs it to its end. */
async function startTarget(): Promise<{ pid: number; go(): Promise<void> }> {
  const child = spawn(TARGET, ['-n', '50', '-loop', values.loop, '-q', '-pause=0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  child.stdout!.resume();
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin!.end('go\n');
      await exited;
    },
  };
}

/** Runs and mean ns per run of program `id` as the kernel counted them. */
function runStats(id: number): { runs: number; ns: number } {
  const p = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
    run_cnt?: number;
    run_time_ns?: number;
  };
  return { runs: p.run_cnt ?? 0, ns: (p.run_time_ns ?? 0) / Math.max(1, p.run_cnt ?? 0) };
}

const SP = X86_64_PT_REGS.sp;
const variants: Record<string, () => ProgramBuilder> = {
  'empty (the stats cost)': () => new ProgramBuilder(),
  get_current_pid_tgid: () => new ProgramBuilder().call('get_current_pid_tgid'),
  ktime_get_ns: () => new ProgramBuilder().call('ktime_get_ns'),
  'probe_read_user, 8 B': () =>
    new ProgramBuilder().ldx(Size.DW, R3, R1, SP).mov64Reg(R1, R10).add64Imm(R1, -8).mov64Imm(R2, 8).call('probe_read_user'),
  'probe_read_user, 168 B': () =>
    new ProgramBuilder().ldx(Size.DW, R3, R1, SP).mov64Reg(R1, R10).add64Imm(R1, -168).mov64Imm(R2, 168).call('probe_read_user'),
  ringbuf_query: () => new ProgramBuilder().ldMapFd(R1, 'ring').mov64Imm(R2, 0).call('ringbuf_query'),
  'ringbuf_output, 56 B': () => {
    const b = new ProgramBuilder();
    for (let at = -56; at < 0; at += 8) b.st(Size.DW, R10, at, 0);
    // BPF_RB_NO_WAKEUP: nothing reads this ring.
    return b.ldMapFd(R1, 'ring').mov64Reg(R2, R10).add64Imm(R2, -56).mov64Imm(R3, 56).mov64Imm(R4, 1).call('ringbuf_output');
  },
};

// The counting is switched on for the run and put back as it was.
const statsBefore = execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled'], { encoding: 'utf8' }).trim();
execFileSync('sysctl', ['-q', 'kernel.bpf_stats_enabled=1']);
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    console.log(`round ${round}`);
    for (const [name, make] of Object.entries(variants)) {
      const t = await startTarget();
      // A ring of its own per run, never read (large enough for every record of the run).
      using ring = BpfMap.create({ type: 'RINGBUF', maxEntries: 64 << 20, name: 'helpers_ring' });
      using prog = Program.load({
        type: 'KPROBE',
        name: 'helper_cost',
        instructions: make().mov64Imm(R0, 0).exit().build(),
        maps: { ring },
      });
      using link = attachUprobe(prog, TARGET, { symbol: 'runtime.casgstatus', pid: t.pid });
      void link;
      await t.go();
      const s = runStats(prog.info().id);
      console.log(`  ${name.padEnd(26)} ${s.ns.toFixed(0).padStart(5)} ns/run (${s.runs} runs)`);
    }
    const t = await startTarget();
    const tracer = GoroutineTracer.open({ binary: TARGET, pid: t.pid, ringSize: 64 << 20 });
    try {
      await t.go();
      const s = runStats(tracer.programId);
      console.log(`  ${"the tracer's program".padEnd(26)} ${s.ns.toFixed(0).padStart(5)} ns/run (${s.runs} runs)`);
    } finally {
      tracer.close();
    }
  }
} finally {
  execFileSync('sysctl', ['-q', `kernel.bpf_stats_enabled=${statsBefore}`]);
}
