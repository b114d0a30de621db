// USDT argument specs, the text <sys/sdt.h> stores for each probe: one "SIZE@LOCATION" per
// argument, separated by spaces. SIZE is the byte size, negative for signed ("-4@%eax" is a signed
// int in eax). LOCATION is assembler operand syntax of the target architecture:
//   x86-64:  %reg, $imm, off(%reg), (%reg), off(%base,%index,scale)
//   arm64:   reg, #imm, [reg], [reg, off], [reg, #off]
// Each register becomes its offset in the kernel's struct pt_regs, which a BPF program reads.
import { UsdtError } from './errors.js';

/** Architectures whose USDT argument syntax is understood. */
export type UsdtArch = 'x86_64' | 'aarch64';

/** Where one argument's value is when the probe fires. */
export type UsdtArgLocation =
  /** A constant: the value itself. */
  | { readonly kind: 'const'; readonly value: bigint }
  /** A register's content. */
  | { readonly kind: 'reg'; readonly reg: string; readonly regOffset: number }
  /** Memory at register + offset (read from the traced process). */
  | { readonly kind: 'deref'; readonly reg: string; readonly regOffset: number; readonly offset: bigint }
  /** Memory at base + index * scale + offset (x86 SIB addressing). */
  | {
      readonly kind: 'sib';
      readonly reg: string;
      readonly regOffset: number;
      readonly index: string;
      readonly indexOffset: number;
      readonly scale: number;
      readonly offset: bigint;
    };

/** One parsed USDT argument: its size, signedness and where its value is. */
export interface UsdtArg {
  /** Size in bytes: 1, 2, 4 or 8. */
  readonly size: number;
  readonly signed: boolean;
  readonly location: UsdtArgLocation;
  /** The spec's own text for this argument, for messages. */
  readonly text: string;
}

/** Offsets in the x86-64 kernel's struct pt_regs (arch/x86/include/asm/ptrace.h). */
export const X86_64_PT_REGS: Readonly<Record<string, number>> = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  orig_ax: 120,
  ip: 128,
  cs: 136,
  flags: 144,
  sp: 152,
  ss: 160,
};

/** x86-64 register names, every width, to the pt_regs field holding them. */
const X86_REGISTERS: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [r, field] of [
    ['a', 'ax'],
    ['b', 'bx'],
    ['c', 'cx'],
    ['d', 'dx'],
  ] as const) {
    for (const name of [`r${r}x`, `e${r}x`, `${r}x`, `${r}l`]) m.set(name, field);
  }
  for (const [r, field] of [
    ['si', 'si'],
    ['di', 'di'],
    ['bp', 'bp'],
    ['sp', 'sp'],
  ] as const) {
    for (const name of [`r${r}`, `e${r}`, r, `${r}l`]) m.set(name, field);
  }
  for (let i = 8; i <= 15; i++) for (const suffix of ['', 'd', 'w', 'b']) m.set(`r${i}${suffix}`, `r${i}`);
  m.set('rip', 'ip');
  m.set('eip', 'ip');
  return m;
})();

/** Offsets in the arm64 kernel's struct pt_regs: regs[31], sp, pc, pstate. */
function arm64RegOffset(name: string): number | undefined {
  const m = /^[xw](\d+)$/.exec(name);
  if (m && Number(m[1]) <= 30) return Number(m[1]) * 8;
  if (name === 'sp') return 31 * 8;
  if (name === 'pc') return 32 * 8;
  return undefined;
}

function x86Reg(name: string, where: { args: string; text: string }): { reg: string; regOffset: number } {
  const field = X86_REGISTERS.get(name);
  const regOffset = field === undefined ? undefined : X86_64_PT_REGS[field];
  if (regOffset === undefined) {
    throw new UsdtError(
      `unknown x86-64 register %${name} in "${where.text}"${/^[a-d]h$/.test(name) ? ' (the high-byte registers ah..dh cannot be read from pt_regs)' : ''}`,
      { args: where.args },
    );
  }
  return { reg: name, regOffset };
}

function arm64Reg(name: string, where: { args: string; text: string }): { reg: string; regOffset: number } {
  const offset = arm64RegOffset(name);
  if (offset === undefined) throw new UsdtError(`unknown arm64 register ${name} in "${where.text}"`, { args: where.args });
  return { reg: name, regOffset: offset };
}

/** Text of capture group `i`, one the pattern always captures when it matches. */
function captured(m: RegExpExecArray, i: number, where: { args: string; text: string }): string {
  const text = m[i];
  if (text === undefined) throw new UsdtError(`cannot parse "${where.text}"`, { args: where.args });
  return text;
}

function integer(text: string, where: { args: string; text: string }): bigint {
  const m = /^([+-]?)(0x[0-9a-fA-F]+|\d+)$/.exec(text);
  if (!m) throw new UsdtError(`"${text}" is not an integer in "${where.text}"`, { args: where.args });
  const v = BigInt(captured(m, 2, where));
  if (v >= 1n << 64n) throw new UsdtError(`${text} does not fit 64 bits in "${where.text}"`, { args: where.args });
  return m[1] === '-' ? -v : v;
}

const SIZES = new Set([1, 2, 4, 8]);

/** Parses one probe's argument text ("8@%rbp 8@%r12 -4@%eax"); an empty text is no arguments. */
export function parseUsdtArgs(args: string, arch: UsdtArch = 'x86_64'): UsdtArg[] {
  const out: UsdtArg[] = [];
  const trimmed = args.trim();
  if (trimmed === '') return out;
  // Arguments are space-separated, but arm64's "[x0, 8]" has a space inside brackets.
  const parts = arch === 'aarch64' ? (trimmed.match(/(?:[^\s[]|\[[^\]]*\])+/g) ?? []) : trimmed.split(/\s+/);
  if (parts.length > 12) throw new UsdtError(`${parts.length} arguments; USDT probes have at most 12`, { args });
  for (const text of parts) {
    const m = /^(-?\d+)@(.+)$/.exec(text);
    if (!m) throw new UsdtError(`argument "${text}" is not SIZE@LOCATION`, { args });
    const where = { args, text };
    const n = Number(captured(m, 1, where));
    const size = Math.abs(n);
    if (!SIZES.has(size)) throw new UsdtError(`argument size ${n} in "${text}" is not 1, 2, 4 or 8 bytes (negative for signed)`, { args });
    const spec = captured(m, 2, where);
    const location = arch === 'aarch64' ? arm64Location(spec, where) : x86Location(spec, where);
    out.push({ size, signed: n < 0, location, text });
  }
  return out;
}

function x86Location(loc: string, where: { args: string; text: string }): UsdtArgLocation {
  let m: RegExpExecArray | null;
  if ((m = /^\$(.+)$/.exec(loc))) return { kind: 'const', value: integer(captured(m, 1, where), where) };
  if ((m = /^%(\w+)$/.exec(loc))) return { kind: 'reg', ...x86Reg(captured(m, 1, where), where) };
  if ((m = /^([+-]?(?:0x[0-9a-fA-F]+|\d+))?\(%(\w+)\)$/.exec(loc))) {
    return { kind: 'deref', ...x86Reg(captured(m, 2, where), where), offset: m[1] ? integer(m[1], where) : 0n };
  }
  if ((m = /^([+-]?(?:0x[0-9a-fA-F]+|\d+))?\(%(\w+),%(\w+)(?:,(\d+))?\)$/.exec(loc))) {
    const scale = m[4] ? Number(m[4]) : 1;
    if (![1, 2, 4, 8].includes(scale)) throw new UsdtError(`scale ${scale} in "${where.text}" is not 1, 2, 4 or 8`, { args: where.args });
    const index = x86Reg(captured(m, 3, where), where);
    return {
      kind: 'sib',
      ...x86Reg(captured(m, 2, where), where),
      index: index.reg,
      indexOffset: index.regOffset,
      scale,
      offset: m[1] ? integer(m[1], where) : 0n,
    };
  }
  throw new UsdtError(`cannot parse x86-64 argument location "${loc}" in "${where.text}"`, { args: where.args });
}

function arm64Location(loc: string, where: { args: string; text: string }): UsdtArgLocation {
  let m: RegExpExecArray | null;
  if ((m = /^#?(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(loc))) return { kind: 'const', value: integer(captured(m, 1, where), where) };
  if ((m = /^\[(\w+)(?:,\s*#?(-?(?:0x[0-9a-fA-F]+|\d+)))?\]$/.exec(loc))) {
    return { kind: 'deref', ...arm64Reg(captured(m, 1, where), where), offset: m[2] ? integer(m[2], where) : 0n };
  }
  if ((m = /^(\w+)$/.exec(loc))) return { kind: 'reg', ...arm64Reg(captured(m, 1, where), where) };
  throw new UsdtError(`cannot parse arm64 argument location "${loc}" in "${where.text}"`, { args: where.args });
}
