// `ebpf syscount`: counts the system calls of one process, in the kernel, with a program written
// in TypeScript.
//
//   ebpf syscount                        # counts the syscalls of `ls -laR /usr/include/linux`
//   ebpf syscount -- ls -R /usr          # runs a command and counts its syscalls
//   ebpf syscount --pid 1234 --seconds 5
//
// A raw tracepoint on sys_enter fires for every system call on the machine; the program keeps only
// those of the target process and adds one to that syscall's slot of an array map.
//
// A started command is run through a small shell wrapper that waits on stdin until the probe is
// attached, then execs the command (so no syscall of the command is missed). The wrapper's own
// system calls (reading the go line) must not be counted: the program counts nothing until the
// process calls execve, which arms it; the execve itself is the command's first counted call.
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ProgramBuilder, R0, R1, R2, R6, R7, R10, Size } from '../asm/index.js';
import { u32, u64 } from '../codec/index.js';
import { Link } from '../links/index.js';
import { BpfMap } from '../maps/index.js';
import { Program } from '../programs/index.js';
import { emitJson, intOption, numberOption, runCommand, UsageError, type CommandSpec } from './command.js';

const MAX_SYSCALLS = 1024;

const SPEC: CommandSpec = {
  usage: 'ebpf syscount [--pid N] [--seconds S] [--top N] [--json] [-- COMMAND ARGS...]',
  summary: 'Counts the system calls of one process in the kernel (a raw tracepoint on sys_enter, filtered by process).',
  details:
    'Without --pid or a command: counts `ls -laR /usr/include/linux`.\n' +
    'With --pid: counts for --seconds (default 3), or until Ctrl-C / SIGTERM.\n' +
    'With -- COMMAND: runs it and counts until it exits; its output goes to stderr under --json, so stdout\n' +
    'holds only the JSON line {"pid","command","exitCode","elapsedMs","total","syscalls":[{"nr","name","count"}]}.',
  options: {
    pid: { type: 'string', short: 'p', value: 'N', help: 'count this running process' },
    seconds: { type: 'string', value: 'S', help: 'with --pid: how long to count (default 3)' },
    top: { type: 'string', value: 'N', help: 'rows in the table (default 20; JSON has them all)' },
  },
  rest: true,
};

/** Syscall names from the installed kernel headers, when they are there. */
export function syscallNames(): Map<number, string> {
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

/** The executable `cmd` names: itself when it holds a slash, else the first match on PATH. */
function which(cmd: string): string {
  if (cmd.includes('/')) return cmd;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir || '.', cmd);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  throw new Error(`${cmd}: command not found on PATH`);
}

/** execve's number on this machine's architecture (the generic table is arm64's and riscv's). */
function execveNumber(): number {
  return process.arch === 'x64' ? 59 : process.arch === 'ia32' ? 11 : 221;
}

/**
 * The counting program, built instruction by instruction. `armed[0]` is 0 until the target calls
 * execve (the wrapper handing over to the command), 1 after; only then are calls counted.
 */
export function syscountProgram(tgid: number, execve: number): ProgramBuilder {
  return new ProgramBuilder()
    .mov64Reg(R6, R1) //                         r6 = ctx (struct bpf_raw_tracepoint_args *)
    .call('get_current_pid_tgid')
    .rsh64Imm(R0, 32) //                         r0 = tgid
    .jneImm(R0, tgid, 'out')
    .ldx(Size.DW, R7, R6, 8) //                  r7 = args[1], the syscall number
    .st(Size.W, R10, -4, 0) //                   armed[0]
    .ldMapFd(R1, 'armed')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .ldx(Size.DW, R1, R0, 0)
    .jneImm(R1, 0, 'count')
    .jneImm(R7, execve, 'out') //                not armed yet: only execve arms
    .mov64Imm(R1, 1)
    .stx(Size.DW, R0, 0, R1)
    .label('count')
    .stx(Size.W, R10, -4, R7) //                 key on the stack
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

export async function run(argv: string[]): Promise<number> {
  return runCommand(SPEC, argv, async (inv) => {
    const pid = intOption(inv, 'pid', 1, 0x3fffffff);
    const seconds = numberOption(inv, 'seconds') ?? 3;
    const top = intOption(inv, 'top', 1) ?? 20;
    const explicit = inv.rest;
    if (pid !== undefined && explicit) throw new UsageError('give --pid or a command, not both');
    const command = explicit ?? (pid !== undefined ? undefined : ['ls', '-laR', '/usr/include/linux']);

    // Ctrl-C or SIGTERM ends the count early: detach, print what was counted, exit 0. Listened
    // for before anything is loaded, so an early signal still ends the count cleanly.
    let sigint: (() => void) | undefined;
    let sigterm: (() => void) | undefined;
    const interrupted = new Promise<void>((resolve) => {
      sigint = () => resolve();
      sigterm = () => resolve();
      process.once('SIGINT', sigint);
      process.once('SIGTERM', sigterm);
    });

    using counts = BpfMap.create(
      { type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: MAX_SYSCALLS, name: 'counts' },
      { key: u32, value: u64 },
    );
    using armed = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'armed' }, { key: u32, value: u64 });
    // A process given by --pid runs already: count from the start.
    if (!command) armed.update(0, 1n);

    // A started command waits on stdin until the probe is attached. Its output: nowhere for the
    // default demo, to stderr under --json (stdout holds the JSON only), else to our stdout.
    const stdout = !explicit ? 'ignore' : inv.json ? 2 : 'inherit';
    // The command's path is resolved here, so the wrapper's exec is one execve (a shell searching
    // PATH makes one failed execve per directory before the right one).
    const child = command
      ? spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', which(command[0]), ...command.slice(1)], { stdio: ['pipe', stdout, 'inherit'] })
      : undefined;
    const spawnError = child ? new Promise<Error>((resolve) => child.once('error', resolve)) : undefined;
    const tgid = child?.pid ?? pid!;
    if (child && child.pid === undefined) throw await spawnError!;

    let exitCode: number | null = null;
    const started = process.hrtime.bigint();
    try {
      using program = Program.load({
        type: 'RAW_TRACEPOINT',
        instructions: syscountProgram(tgid, execveNumber()).build(),
        maps: { counts, armed },
        name: 'syscount',
      });
      using link = Link.rawTracepoint(program, 'sys_enter');
      if (child) {
        const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        child.stdin!.on('error', () => undefined); // the command may exit before reading
        child.stdin!.end('go\n');
        await Promise.race([done, interrupted]);
        if (child.exitCode === null) child.kill('SIGTERM');
        exitCode = child.exitCode;
      } else {
        // On stderr, so --json output stays clean: the count has started (a test waits for it).
        process.stderr.write(`counting the system calls of pid ${tgid} for ${seconds} s (Ctrl-C stops)\n`);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, seconds * 1000))), interrupted]);
        clearTimeout(timer);
      }
      link.close();
    } finally {
      if (sigint) process.removeListener('SIGINT', sigint);
      if (sigterm) process.removeListener('SIGTERM', sigterm);
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;

    const names = syscallNames();
    const rows = counts
      .lookupBatch()
      .filter(([, n]) => n > 0n)
      .map(([nr, n]) => ({ nr, name: names.get(nr) ?? `syscall_${nr}`, count: Number(n) }));
    rows.sort((a, b) => b.count - a.count || a.nr - b.nr);
    const total = rows.reduce((s, r) => s + r.count, 0);

    if (inv.json) {
      emitJson({ pid: tgid, command: command ?? null, exitCode, elapsedMs, total, syscalls: rows });
      return 0;
    }
    process.stdout.write(
      `\n${total} system calls by pid ${tgid}${command ? ` (${command.join(' ')})` : ''} in ${elapsedMs.toFixed(0)} ms, counted in the kernel:\n\n`,
    );
    process.stdout.write('  SYSCALL              COUNT\n');
    for (const r of rows.slice(0, top)) process.stdout.write(`  ${r.name.padEnd(18)} ${String(r.count).padStart(7)}\n`);
    if (rows.length > top) process.stdout.write(`  ... and ${rows.length - top} more kinds\n`);
    return 0;
  });
}
