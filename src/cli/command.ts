// What every `ebpf` subcommand shares: arguments parsed by node:util parseArgs, `--help` on
// stdout with exit code 0, bad arguments rejected at once with a usage line on stderr and exit
// code 2, failures reported as one line on stderr with exit code 1, and `--json` output written
// as JSON lines (one value per line, bigints as numbers when exact, else as strings).
import { parseArgs } from 'node:util';

/** One option of a subcommand, in node:util parseArgs' terms plus a line of help. */
export interface OptionSpec {
  /** A flag (boolean) or an option that takes a value (string). */
  readonly type: 'string' | 'boolean';
  /** A one-letter alias, without the dash. */
  readonly short?: string;
  /** Whether the option may be given more than once (its values then come as an array). */
  readonly multiple?: boolean;
  /** The value's name in the help text, for example "N" or "PATH". */
  readonly value?: string;
  /** The option's line in the help text. */
  readonly help: string;
}

/** A subcommand's interface: its usage line, help text, options and positional arguments. */
export interface CommandSpec {
  /** The usage line without "usage: ", for example "ebpf syscount [--pid N] [-- COMMAND ARGS...]". */
  readonly usage: string;
  /** One sentence: what the subcommand does. */
  readonly summary: string;
  /** More lines of help, printed after the options. */
  readonly details?: string;
  /** The options besides --help and --json, which every subcommand has. */
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** How many positional arguments (before any `--`) are accepted; default none. */
  readonly positionals?: { readonly min: number; readonly max: number; readonly names?: string };
  /** Whether `-- COMMAND ARGS...` is accepted; what follows `--` is then `rest`. */
  readonly rest?: boolean;
}

/** The parsed arguments a subcommand's handler receives. */
export interface Invocation {
  /** The options' values by name, as node:util parseArgs gives them. */
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  /** The positional arguments before any `--`. */
  readonly positionals: readonly string[];
  /** What followed `--`, when the spec accepts it and it was given. */
  readonly rest: readonly string[] | undefined;
  /** Whether --json was given. */
  readonly json: boolean;
}

/** Bad arguments: reported with the usage line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
  json: { type: 'boolean', help: 'write JSON lines (one value per line) to stdout, nothing else' },
};

/** The full help text of a subcommand. */
export function helpText(spec: CommandSpec): string {
  const options = { ...spec.options, ...COMMON_OPTIONS };
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(26)} ${o.help}`;
  });
  return [`usage: ${spec.usage}`, '', spec.summary, '', 'options:', ...rows, ...(spec.details ? ['', spec.details] : [])].join('\n') + '\n';
}

/** Prints the usage line and the reason to stderr; returns exit code 2. */
export function usageFailure(spec: CommandSpec, message: string): number {
  process.stderr.write(`error: ${message}\nusage: ${spec.usage}\n(--help for details)\n`);
  return 2;
}

/**
 * Parses `argv` against `spec` and runs `handler`. Returns the exit code: 0 after --help, 2 for
 * bad arguments (also a UsageError thrown by the handler), 1 when the handler throws anything
 * else (its message printed on stderr), else what the handler returns.
 */
export async function runCommand(
  spec: CommandSpec,
  argv: readonly string[],
  handler: (invocation: Invocation) => Promise<number> | number,
): Promise<number> {
  let invocation: Invocation;
  try {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
    for (const [name, o] of Object.entries({ ...spec.options, ...COMMON_OPTIONS })) {
      options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
    }
    const { values, positionals, tokens } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true });
    if (values.help) {
      process.stdout.write(helpText(spec));
      return 0;
    }
    const terminator = tokens.find((t) => t.kind === 'option-terminator');
    const before = terminator
      ? positionals.slice(0, tokens.filter((t) => t.kind === 'positional' && t.index < terminator.index).length)
      : positionals;
    const after = terminator ? positionals.slice(before.length) : undefined;
    if (after !== undefined && !spec.rest) throw new UsageError('unexpected `--`: this subcommand runs no command');
    if (after !== undefined && after.length === 0) throw new UsageError('`--` needs a command after it');
    const { min, max } = spec.positionals ?? { min: 0, max: 0 };
    if (before.length < min) throw new UsageError(`missing argument${spec.positionals?.names ? ` ${spec.positionals.names}` : ''}`);
    if (before.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(before[max])}`);
    invocation = { values, positionals: before, rest: after, json: values.json === true };
  } catch (e) {
    return usageFailure(spec, e instanceof Error ? e.message : String(e));
  }
  try {
    return await handler(invocation);
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(spec, e.message);
    const name = /^ebpf(?: [a-z][a-z-]*)*/.exec(spec.usage)?.[0] ?? 'ebpf';
    process.stderr.write(`${name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    return 1;
  }
}

/** A string option's value, or undefined. */
export function stringOption(inv: Invocation, name: string): string | undefined {
  const v = inv.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** An integer option: undefined when absent, a UsageError when not an integer in [min, max]. */
export function intOption(inv: Invocation, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = stringOption(inv, name);
  if (v === undefined) return undefined;
  return parseInteger(v, `--${name}`, min, max);
}

/** A positive number option (fractions allowed): undefined when absent. */
export function numberOption(inv: Invocation, name: string): number | undefined {
  const v = stringOption(inv, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} needs a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** Parses a decimal integer argument; a UsageError names `what` when it is not one. */
export function parseInteger(v: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${what} needs an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${v}`);
  return n;
}

/** JSON with bigints: exact ones as numbers, larger ones as decimal strings; Buffers as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint')
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
    if (
      v !== null &&
      typeof v === 'object' &&
      (v as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    }
    return v;
  });
}

/** Writes one JSON line to stdout. */
export function emitJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** Dispatches `argv[0]` to one of `verbs` (for `ebpf prog list`, `ebpf map dump`, ...). */
export async function runVerb(
  group: string,
  verbs: Readonly<Record<string, { summary: string; run: (argv: string[]) => Promise<number> }>>,
  argv: readonly string[],
): Promise<number> {
  const names = Object.keys(verbs);
  const usage = `ebpf ${group} ${names.join('|')} [ARGS...]`;
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h') {
    process.stdout.write(
      `usage: ${usage}\n\n${names.map((n) => `  ${`ebpf ${group} ${n}`.padEnd(22)} ${verbs[n].summary}`).join('\n')}\n\n'ebpf ${group} VERB --help' for a verb's options.\n`,
    );
    return 0;
  }
  const target = verb === undefined ? undefined : verbs[verb];
  if (!target) {
    process.stderr.write(
      `error: ${verb === undefined ? `ebpf ${group} needs a verb` : `unknown verb ${JSON.stringify(verb)}`}\nusage: ${usage}\n`,
    );
    return 2;
  }
  return target.run(rest);
}
