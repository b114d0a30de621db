#!/usr/bin/env node
// The `ebpf` command: one dispatcher over the subcommands in src/cli/. Each subcommand is a module
// exporting run(argv) (argv: the arguments after its name; returns the exit code), loaded only
// when asked for, so `ebpf --help` and a bad subcommand name never touch the kernel.
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';

type Runner = (argv: string[]) => Promise<number>;

/** One subcommand of the dispatcher. */
export interface Subcommand {
  /** One line for `ebpf --help`. */
  readonly summary: string;
  /** Imports the subcommand's module (its run(argv) returns the exit code). */
  readonly load: () => Promise<{ run: Runner }>;
}

/** Every subcommand: a one-line summary and how to load its module. */
export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  goroutines: { summary: 'trace the goroutine state changes of a Go program', load: () => import('./goroutines.js') },
  syscount: { summary: 'count the system calls of a process, in the kernel', load: () => import('./syscount.js') },
  'xdp-modes': { summary: 'XDP generic, native and offload on a lab veth pair', load: () => import('./xdp-modes.js') },
  prog: { summary: 'list or show loaded BPF programs (like bpftool prog)', load: () => import('./prog.js') },
  map: { summary: 'list, show or dump BPF maps, values decoded from BTF', load: () => import('./map.js') },
  link: { summary: 'list or show bpf_links', load: () => import('./link.js') },
  btf: { summary: 'list, show or dump BTF objects (dump: C header or raw)', load: () => import('./btf.js') },
  asm: { summary: 'assemble BPF text into bytecode', load: () => import('./asm.js') },
  disasm: { summary: 'disassemble an object file or a loaded program', load: () => import('./disasm.js') },
  go: { summary: 'inspect a Go executable (version, goid offset, ABI)', load: () => import('./go.js') },
  gen: { summary: 'generate TypeScript bindings for a BPF object', load: () => import('./gen.js') },
  feature: { summary: 'probe what the running kernel supports', load: () => import('./feature.js') },
};

const USAGE = 'usage: ebpf SUBCOMMAND [ARGS...]   (ebpf SUBCOMMAND --help for its options)';

/** The top-level help: every subcommand and its summary. */
export function mainHelp(): string {
  const rows = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(12)} ${s.summary}`);
  return (
    `${USAGE}\n\nA pure-TypeScript eBPF toolchain for Node.js.\n\nsubcommands:\n${rows.join('\n')}\n\n` +
    'Every subcommand takes --help and --json (JSON lines on stdout). Bad arguments exit with code 2.\n'
  );
}

/** Runs the `ebpf` command line `argv` (without node and the script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const sub = name === undefined ? undefined : Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    process.stderr.write(
      `error: ${name === undefined ? 'no subcommand given' : `unknown subcommand ${JSON.stringify(name)}`}\n${USAGE}\nsubcommands: ${Object.keys(SUBCOMMANDS).join(', ')}\n`,
    );
    return 2;
  }
  const mod = await sub.load();
  return mod.run(rest);
}

/** Whether this module is the process's entry point (also through npm's bin symlink). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A reader that goes away (`ebpf prog list | head`) ends the output, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // The exit code is set rather than process.exit() called, so pending stdout writes (a pipe to
  // jq, say) are flushed; a subcommand that leaves a handle open is ended once it returns.
  main(process.argv.slice(2)).then(
    (code) => {
      // A pipe takes what it can at once and Node queues the rest: exit only once stdout has
      // drained (the empty write's callback runs after every earlier write is flushed).
      process.exitCode = code;
      process.stdout.write('', () => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`ebpf: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
