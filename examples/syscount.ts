// Counts the system calls of one process, in the kernel, with a program written in TypeScript.
//
//   npx tsx examples/syscount.ts                 # counts the syscalls of `ls -laR /usr/include/linux`
//   npx tsx examples/syscount.ts -- ls -R /usr   # runs a command and counts its syscalls
//   npx tsx examples/syscount.ts --pid 1234 --seconds 5
//
// A raw tracepoint on sys_enter fires for every system call on the machine; the program keeps only
// those of the target process and adds one to that syscall's slot of an array map.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BpfMap, Link, Program, ProgramBuilder, R0, R1, R2, R6, R10, Size, u32, u64 } from '../src/index.js';

const MAX_SYSCALLS = 1024;

function usage(): never {
  console.error('usage: syscount.ts [--pid N] [--seconds S] [--json] [-- command args...]');
  process.exit(2);
}

function parseArgs(argv: string[]): { pid?: number; seconds: number; json: boolean; command?: string[] } {
  const out: { pid?: number; seconds: number; json: boolean; command?: string[] } = { seconds: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { out.command = argv.slice(i + 1); break; }
    else if (a === '--pid') out.pid = Number(argv[++i]);
    else if (a === '--seconds') out.seconds = Number(argv[++i]);
    else if (a === '--json') out.json = true;
    else usage();
  }
  if (out.pid !== undefined && !(out.pid > 0)) usage();
  return out;
}

/** Syscall names from the installed kernel headers, when they are there. */
function syscallNames(): Map<number, string> {
  const names = new Map<number, string>();
  const headers = ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm-generic/unistd.h'];
  for (const h of process.arch === 'x64' ? headers : headers.slice(1)) {
    try {
      for (const m of readFileSync(h, 'utf8').matchAll(/#define __NR_(\w+)\s+(\d+)/g)) names.set(Number(m[2]), m[1]);
      if (names.size) break;
    } catch {
      // Headers are optional: numbers are printed instead.
    }
  }
  return names;
}

/** The counting program, built instruction by instruction. */
function buildProgram(tgid: number): ProgramBuilder {
  return new ProgramBuilder()
    .mov64Reg(R6, R1) //                         r6 = ctx (struct bpf_raw_tracepoint_args *)
    .call('get_current_pid_tgid')
    .rsh64Imm(R0, 32) //                         r0 = tgid
    .jneImm(R0, tgid, 'out')
    .ldx(Size.DW, R1, R6, 8) //                  r1 = args[1], the syscall number
    .stx(Size.W, R10, -4, R1) //                 key on the stack
    .ldMapFd(R1, 'counts')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out') //                     numbers beyond the array are ignored
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1) //            counts[nr] += 1, safe across CPUs
    .label('out')
    .mov64Imm(R0, 0)
    .exit();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const command = args.command?.length ? args.command : args.pid ? undefined
    : ['ls', '-laR', '/usr/include/linux'];

  // A started command waits on stdin until the probe is attached, so no syscall is missed.
  const quiet = !args.command?.length;
  const child = command ? spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', ...command], { stdio: ['pipe', quiet ? 'ignore' : 'inherit', 'inherit'] }) : undefined;
  const tgid = child?.pid ?? args.pid!;

  using counts = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: MAX_SYSCALLS, name: 'counts' }, { key: u32, value: u64 });
  const builder = buildProgram(tgid);
  using program = Program.load({ type: 'RAW_TRACEPOINT', instructions: builder.build(), maps: { counts }, name: 'syscount' });
  using link = Link.rawTracepoint(program, 'sys_enter');

  const started = process.hrtime.bigint();
  // Ctrl-C or SIGTERM ends the count early: detach, print what was counted, exit 0.
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  if (child) {
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdin!.end('go\n');
    await Promise.race([done, interrupted]);
    if (child.exitCode === null) child.kill('SIGTERM');
  } else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, args.seconds * 1000))), interrupted]);
    clearTimeout(timer);
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  link.close();

  const names = syscallNames();
  const rows = counts.lookupBatch().filter(([, n]) => n > 0n).map(([nr, n]) => ({ nr, name: names.get(nr) ?? `syscall_${nr}`, count: Number(n) }));
  rows.sort((a, b) => b.count - a.count);
  const total = rows.reduce((s, r) => s + r.count, 0);

  if (args.json) {
    console.log(JSON.stringify({ pid: tgid, command, elapsedMs, total, syscalls: rows }));
    return;
  }
  console.log(`\n${total} system calls by pid ${tgid}${command ? ` (${command.join(' ')})` : ''} in ${elapsedMs.toFixed(0)} ms, counted in the kernel:\n`);
  console.log('  SYSCALL              COUNT');
  for (const r of rows.slice(0, 20)) console.log(`  ${r.name.padEnd(18)} ${String(r.count).padStart(7)}`);
  if (rows.length > 20) console.log(`  ... and ${rows.length - 20} more kinds`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
