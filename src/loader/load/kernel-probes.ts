// What the `.kconfig` virtual externs libbpf provides say about the running kernel, probed the
// way libbpf probes them, once per process.
import { existsSync, readFileSync } from 'node:fs';
import { BPF_CALL, BPF_EXIT, BPF_JMP } from '../../asm/opcodes.js';
import { Program } from '../../programs/index.js';
import { ProgramType } from '../../uapi/bpf.js';
import { linuxHasSyscallWrapper } from '../../kernel/syscall-wrapper.js';

const GET_ATTACH_COOKIE = 174;
let cookie: boolean | undefined;
let wrapper: boolean | undefined;

/** LINUX_HAS_BPF_COOKIE: a tracepoint program calling bpf_get_attach_cookie() loads. */
export function hasBpfCookie(): boolean {
  if (cookie !== undefined) return cookie;
  try {
    Program.load({
      type: ProgramType.TRACEPOINT,
      name: 'probe_cookie',
      instructions: [
        { opcode: BPF_JMP | BPF_CALL, dst: 0, src: 0, offset: 0, imm: GET_ATTACH_COOKIE },
        { opcode: BPF_JMP | BPF_EXIT, dst: 0, src: 0, offset: 0, imm: 0 },
      ],
    }).close();
    cookie = true;
  } catch {
    cookie = false;
  }
  return cookie;
}

/**
 * LINUX_HAS_SYSCALL_WRAPPER: libbpf answers by creating a kprobe on `__<arch>_sys_bpf`, so the
 * answer is 1 only where kprobes can be created and that wrapper exists. This reads the same
 * facts without creating a probe: a kprobe PMU (or legacy kprobe_events) and the symbol in
 * /proc/kallsyms. A kernel without kprobes answers 0, as libbpf's probe does there.
 */
export function hasSyscallWrapper(): boolean {
  if (wrapper !== undefined) return wrapper;
  const kprobes =
    existsSync('/sys/bus/event_source/devices/kprobe/type') ||
    existsSync('/sys/kernel/tracing/kprobe_events') ||
    existsSync('/sys/kernel/debug/tracing/kprobe_events');
  wrapper = kprobes && linuxHasSyscallWrapper();
  return wrapper;
}

let kallsyms: Map<string, bigint> | undefined;

/** A kernel symbol's address from /proc/kallsyms (the first one of that name; module symbols too). */
export function kallsymsAddress(name: string): bigint | undefined {
  if (!kallsyms) {
    kallsyms = new Map();
    let text = '';
    try {
      text = readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      // No kallsyms: every lookup fails.
    }
    for (const line of text.split('\n')) {
      const a = line.indexOf(' ');
      const b = line.indexOf(' ', a + 1);
      if (a < 0 || b < 0) continue;
      let end = line.indexOf('\t', b + 1);
      if (end < 0) end = line.length;
      const sym = line.slice(b + 1, end);
      if (!kallsyms.has(sym)) kallsyms.set(sym, BigInt(`0x${line.slice(0, a)}`));
    }
  }
  return kallsyms.get(name);
}
