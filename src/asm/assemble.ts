import { encodeInstructions } from './encode.js';
import { AsmError } from './errors.js';
import * as f from './forms.js';
import { helperByName } from './helpers.js';
import { type ByteOrder, type Instruction } from './instruction.js';
import { stripComment, tokenAt, tokenize, type Token } from './lexer.js';
import * as op from './opcodes.js';
import { ALU_BINARY, ATOMIC_RMW, JUMP_CONDITIONS, findKey, type AtomicOp } from './operations.js';
import { resolveLabels } from './resolve.js';
import { type Size } from './size.js';

/**
 * Assembles LLVM-syntax BPF assembly (what `llvm-objdump -d` and disassemble() print) into bytecode.
 * Accepts decimal and hex immediates, comments (`;`, `#`, `//`), labels (`name:`), `goto name`,
 * `call name` (a label makes it a bpf-to-bpf call, otherwise a helper name such as
 * `map_lookup_elem`), plus the extensions disassemble() prints for forms LLVM cannot spell.
 */
export function assemble(text: string, order: ByteOrder = 'little'): Uint8Array {
  return encodeInstructions(assembleInstructions(text), order);
}

/** Like assemble() but returns the instructions (labels resolved, map references left as `reference`). */
export function assembleInstructions(text: string): Instruction[] {
  if (typeof text !== 'string') throw new AsmError('assemble expects a string');
  const insns: Instruction[] = [];
  const where: { line: number; column: number }[] = [];
  const labels = new Map<string, number>();
  let line = 0;
  for (const lineText of text.split('\n')) {
    line++;
    const tokens = tokenize(stripComment(lineText), line);
    let start = 0;
    // Any number of `label:` prefixes.
    while (startsLabel(tokens, start)) {
      const label = tokenAt(tokens, start);
      if (labels.has(label.text)) {
        throw new AsmError(`duplicate label '${label.text}'`, { line, column: label.column });
      }
      labels.set(label.text, insns.length);
      start += 2;
    }
    if (tokenAt(tokens, start).kind === 'end') continue;
    const parser = new LineParser(tokens, start, line);
    try {
      insns.push(parser.statement());
    } catch (err) {
      if (err instanceof AsmError && err.line === undefined) {
        throw new AsmError(err.detail, { line, column: parser.statementColumn });
      }
      throw err;
    }
    where.push({ line, column: parser.targetColumn ?? parser.statementColumn });
  }
  bindCallNames(insns, labels, where);
  markSubprograms(insns, labels);
  // resolveLabels only reports indexes of `insns`, and `where` has one entry per instruction.
  return resolveLabels(insns, labels, (index) => where[index] ?? { instruction: index });
}

/** Whether the tokens at `index` are a `name:` label prefix. */
function startsLabel(tokens: readonly Token[], index: number): boolean {
  const colon = tokenAt(tokens, index + 1);
  return tokenAt(tokens, index).kind === 'ident' && colon.kind === 'punct' && colon.text === ':';
}

/** `call name` was parsed as a bpf-to-bpf call; without such a label it means a helper. */
function bindCallNames(
  insns: Instruction[],
  labels: ReadonlyMap<string, number>,
  where: readonly { line: number; column: number }[],
): void {
  insns.forEach((insn, index) => {
    if (insn.opcode !== (op.BPF_JMP | op.BPF_CALL) || insn.src !== op.BPF_PSEUDO_CALL || insn.reference === undefined) return;
    if (labels.has(insn.reference)) return;
    const id = helperByName(insn.reference);
    if (id === undefined) {
      throw new AsmError(`'${insn.reference}' is neither a label in this program nor a known helper name`, where[index]);
    }
    insns[index] = f.callHelper(id);
  });
}

/** Labels that are called (or loaded as BPF_PSEUDO_FUNC) start subprograms. */
function markSubprograms(insns: Instruction[], labels: ReadonlyMap<string, number>): void {
  for (const insn of insns) {
    const isSubprogramUse =
      (insn.opcode === (op.BPF_JMP | op.BPF_CALL) && insn.src === op.BPF_PSEUDO_CALL) ||
      (insn.opcode === op.BPF_LDDW && insn.src === op.BPF_PSEUDO_FUNC);
    if (!isSubprogramUse || insn.reference === undefined) continue;
    const target = labels.get(insn.reference);
    const start = target === undefined ? undefined : insns[target];
    if (start !== undefined) start.symbol ??= insn.reference;
  }
}

type RegToken = Extract<Token, { kind: 'reg' }>;
type Address = { base: RegToken; offset: number };

const SIZE_BY_TYPE: Record<string, Size> = { u8: op.BPF_B, u16: op.BPF_H, u32: op.BPF_W, u64: op.BPF_DW };
const SIGNED_SIZE_BY_TYPE: Record<string, Size> = { s8: op.BPF_B, s16: op.BPF_H, s32: op.BPF_W };
const SWAP = /^(le|be|bswap)(16|32|64)$/;

/** Recursive-descent parser for one statement; every error carries the column of the offending token. */
class LineParser {
  private pos: number;
  /** Index of the token next() returned last (the end token can be returned repeatedly). */
  private lastIndex: number;
  readonly statementColumn: number;
  /** Column of a label operand, so unresolved-label errors point at it. */
  targetColumn: number | undefined;

  constructor(
    private readonly tokens: Token[],
    start: number,
    private readonly line: number,
  ) {
    this.pos = start;
    this.lastIndex = start;
    this.statementColumn = tokenAt(tokens, start).column;
  }

  statement(): Instruction {
    const first = this.peek();
    let insn: Instruction;
    if (first.kind === 'reg') insn = this.registerStatement();
    else if (first.kind === 'punct' && first.text === '*') insn = this.storeStatement();
    else if (first.kind === 'ident') insn = this.keywordStatement(first.text);
    else throw this.error('expected an instruction or a label');
    this.expectEnd();
    return insn;
  }

  // ---- statements ----

  private keywordStatement(word: string): Instruction {
    this.next();
    switch (word) {
      case 'exit':
        return f.exit();
      case 'goto':
        return this.at(() => f.ja(this.target(16)));
      case 'gotol':
        return this.at(() => f.gotol(this.target(32)));
      case 'may_goto':
        return this.at(() => f.mayGoto(this.target(16)));
      case 'if':
        return this.conditionalJump();
      case 'call':
        return this.call();
      case 'callx':
        return f.callx(this.register({ wide: true }).num);
      case 'lock':
        return this.lockStatement();
      case 'ld_pseudo':
        return this.ldPseudo();
      case 'store_release':
        return this.storeRelease();
      case '.insn':
        return this.rawInstruction();
      default:
        throw this.error(`unknown instruction '${word}'`, -1);
    }
  }

  private conditionalJump(): Instruction {
    const left = this.register();
    const opTok = this.next();
    const cond = findKey(JUMP_CONDITIONS, (e) => e.text === opTok.text);
    if (opTok.kind !== 'punct' || cond === undefined) {
      throw this.error('expected a comparison (== != > >= < <= s> s>= s< s<= &)', -1);
    }
    const width = left.wide ? 64 : 32;
    if (this.peek().kind === 'reg') {
      const right = this.register({ wide: left.wide });
      this.keyword('goto');
      return this.at(() => f.jumpReg(width, cond, left.num, right.num, this.target(16)));
    }
    const imm = this.imm32();
    this.keyword('goto');
    return this.at(() => f.jumpImm(width, cond, left.num, imm, this.target(16)));
  }

  private call(): Instruction {
    const tok = this.peek();
    if (tok.kind === 'ident' && tok.text === 'pc' && this.peekAt(1).kind === 'punct') {
      this.next();
      return f.callSub(Number(this.signedNumber(32, true)));
    }
    if (tok.kind === 'ident' && tok.text === 'kfunc' && this.peekAt(1).kind !== 'end') {
      this.next();
      return f.callKfunc(this.imm32());
    }
    if (tok.kind === 'ident') {
      this.next();
      this.targetColumn = tok.column;
      // Resolved after the whole text is read: a label means bpf-to-bpf, otherwise a helper name.
      return f.callSub(tok.text);
    }
    return f.callHelper(this.imm32());
  }

  private lockStatement(): Instruction {
    this.punct('*');
    const { size, address } = this.typedMemory();
    const opTok = this.next();
    const name = findKey(ATOMIC_RMW, (e) => e.text === opTok.text);
    if (opTok.kind !== 'punct' || name === undefined) throw this.error('expected one of += |= &= ^=', -1);
    const value = this.register({ wide: size === op.BPF_DW ? true : undefined });
    return this.at(() => f.atomic(size, name, address.base.num, address.offset, value.num));
  }

  private ldPseudo(): Instruction {
    const dst = this.register({ wide: true });
    this.punct(',');
    const src = this.number(0n, 6n, 'pseudo source (0..6)');
    this.punct(',');
    let low: number | string;
    const tok = this.peek();
    if (tok.kind === 'ident') {
      this.next();
      low = tok.text;
      this.targetColumn = tok.column;
    } else {
      low = this.imm32();
    }
    let high = 0;
    if (this.acceptPunct(',')) high = this.imm32();
    return this.at(() => f.lddwPseudo(dst.num, Number(src), low, high));
  }

  private storeRelease(): Instruction {
    this.punct('(');
    const { size, address } = this.typedMemory();
    this.punct(',');
    const value = this.register({ wide: size === op.BPF_DW ? true : undefined });
    this.punct(')');
    return this.at(() => f.storeRelease(size, address.base.num, address.offset, value.num));
  }

  private rawInstruction(): Instruction {
    const opcode = Number(this.number(0n, 0xffn, 'opcode'));
    this.punct(',');
    const dst = Number(this.number(0n, 0xfn, 'dst field'));
    this.punct(',');
    const src = Number(this.number(0n, 0xfn, 'src field'));
    this.punct(',');
    const offset = Number(this.signedNumber(16));
    this.punct(',');
    if (opcode === op.BPF_LDDW) {
      const value = BigInt.asIntN(64, this.signedNumber(64));
      return { opcode, dst, src, offset, imm: Number(BigInt.asIntN(32, value)), imm64: value };
    }
    return { opcode, dst, src, offset, imm: this.imm32() };
  }

  /** `*(uN *)(rD + off) = rS | imm` */
  private storeStatement(): Instruction {
    this.next();
    const { size, address } = this.typedMemory();
    this.punct('=');
    if (this.peek().kind === 'reg') {
      const value = this.register({ wide: size === op.BPF_DW ? true : undefined });
      return this.at(() => f.stx(size, address.base.num, address.offset, value.num));
    }
    const imm = this.imm32();
    return this.at(() => f.st(size, address.base.num, address.offset, imm));
  }

  private registerStatement(): Instruction {
    const dst = this.register();
    const width = dst.wide ? 64 : 32;
    const opTok = this.next();
    if (opTok.kind !== 'punct') throw this.error('expected an assignment operator such as = or +=', -1);
    if (opTok.text !== '=') {
      const name = findKey(ALU_BINARY, (e) => e.text === opTok.text);
      if (name === undefined || name === 'mov') throw this.error('expected an assignment operator such as = or +=', -1);
      if (this.peek().kind === 'reg') {
        const src = this.register({ wide: dst.wide });
        return f.aluReg(width, name, dst.num, src.num);
      }
      const imm = this.imm32();
      return this.at(() => f.aluImm(width, name, dst.num, imm));
    }
    return this.assignment(dst);
  }

  /** Everything of the form `rD = ...`. */
  private assignment(dst: RegToken): Instruction {
    const width = dst.wide ? 64 : 32;
    const tok = this.peek();
    if (tok.kind === 'reg') {
      this.register({ wide: dst.wide });
      return f.aluReg(width, 'mov', dst.num, tok.num);
    }
    if (tok.kind === 'number' || (tok.kind === 'punct' && (tok.text === '-' || tok.text === '+') && this.peekAt(1).kind === 'number')) {
      if (this.isLongImmediate()) {
        const value = this.signedNumber(64);
        this.keyword('ll');
        if (!dst.wide) throw this.error('a 64-bit load needs an r register', 0, dst.column);
        return f.lddw(dst.num, value);
      }
      return this.at(() => f.aluImm(width, 'mov', dst.num, this.imm32()));
    }
    if (tok.kind === 'punct' && tok.text === '-') {
      this.next();
      const same = this.register({ wide: dst.wide });
      if (same.num !== dst.num) throw this.error(`negation is in place: write ${dst.text} = -${dst.text}`, -1);
      return f.neg(width, dst.num);
    }
    if (tok.kind === 'punct' && tok.text === '(') return this.signExtendingMove(dst);
    if (tok.kind === 'punct' && tok.text === '*') return this.load(dst);
    if (tok.kind === 'ident') return this.namedOperation(dst);
    throw this.error('expected a register, a number, -reg, (s8/s16/s32)reg, a memory load or an operation');
  }

  private isLongImmediate(): boolean {
    const k = this.peek().kind === 'number' ? 1 : 2;
    const after = this.peekAt(k);
    return after.kind === 'ident' && after.text === 'll';
  }

  private signExtendingMove(dst: RegToken): Instruction {
    this.punct('(');
    const t = this.next();
    const bits = t.kind === 'ident' ? { s8: 8, s16: 16, s32: 32 }[t.text] : undefined;
    if (bits === undefined) throw this.error('expected s8, s16 or s32', -1);
    this.punct(')');
    const src = this.register({ wide: dst.wide });
    return this.at(() => f.movsx(dst.wide ? 64 : 32, dst.num, src.num, bits as 8 | 16 | 32));
  }

  /** `rD = *(uN|sN *)(rS + off)` or `r0 = *(uN *)skb[...]` */
  private load(dst: RegToken): Instruction {
    this.punct('*');
    this.punct('(');
    const typeTok = this.next();
    const unsigned = SIZE_BY_TYPE[typeTok.text];
    const signed = SIGNED_SIZE_BY_TYPE[typeTok.text];
    if (typeTok.kind !== 'ident' || (unsigned === undefined && signed === undefined)) {
      throw this.error('expected a type: u8 u16 u32 u64 (or s8 s16 s32 for sign-extending loads)', -1);
    }
    this.punct('*');
    this.punct(')');
    const size = (unsigned ?? signed) as Size;
    const skb = this.peek();
    if (skb.kind === 'ident' && skb.text === 'skb') {
      if (signed !== undefined) throw this.error('packet loads are unsigned; use u8, u16 or u32', 0, typeTok.column);
      if (dst.num !== 0) throw this.error('packet loads always write r0', 0, dst.column);
      return this.packetLoad(size);
    }
    const address = this.address();
    if (size === op.BPF_DW && !dst.wide) throw this.error('a 64-bit load needs an r register', 0, dst.column);
    if (signed !== undefined) return this.at(() => f.ldxsx(size, dst.num, address.base.num, address.offset));
    return this.at(() => f.ldx(size, dst.num, address.base.num, address.offset));
  }

  private packetLoad(size: Size): Instruction {
    this.next();
    this.punct('[');
    if (this.peek().kind === 'reg') {
      const index = this.register({ wide: true });
      let imm = 0;
      const sign = this.peek();
      if (sign.kind === 'punct' && (sign.text === '+' || sign.text === '-')) {
        this.next();
        const magnitude = this.number(0n, 0xffffffffn, 'packet offset');
        imm = Number(BigInt.asIntN(32, sign.text === '-' ? -magnitude : magnitude));
      }
      this.punct(']');
      return this.at(() => f.ldInd(size, index.num, imm));
    }
    const imm = this.imm32();
    this.punct(']');
    return this.at(() => f.ldAbs(size, imm));
  }

  /** be16/le32/bswap64 and the function-call-like atomics. */
  private namedOperation(dst: RegToken): Instruction {
    const word = this.next().text;
    const swap = SWAP.exec(word);
    if (swap) {
      if (!dst.wide) throw this.error(`${word} operates on a 64-bit register: write r${dst.num} = ${word} r${dst.num}`, 0, dst.column);
      const same = this.register({ wide: true });
      if (same.num !== dst.num) throw this.error(`byte swaps are in place: write ${dst.text} = ${word} ${dst.text}`, -1);
      return f.byteSwap(swap[1] as f.ByteSwapKind, dst.num, Number(swap[2]) as 16 | 32 | 64);
    }
    const fetch = /^atomic_fetch_(add|or|and|xor)$/.exec(word);
    if (fetch) {
      this.punct('(');
      const { size, address } = this.typedMemory();
      this.punct(',');
      const src = this.sameRegister(dst, word);
      this.punct(')');
      return this.at(() => f.atomic(size, `fetch_${fetch[1]}` as AtomicOp, address.base.num, address.offset, src.num));
    }
    if (word === 'xchg_64' || word === 'xchg32_32' || word === 'cmpxchg_64' || word === 'cmpxchg32_32') {
      const wide = word.endsWith('_64');
      if (dst.wide !== wide) throw this.error(`${word} writes a ${wide ? 'r' : 'w'} register`, 0, dst.column);
      this.punct('(');
      const address = this.bareAddress();
      this.punct(',');
      let src: RegToken;
      if (word.startsWith('cmpxchg')) {
        if (dst.num !== 0) throw this.error('cmpxchg compares with and writes r0', 0, dst.column);
        this.sameRegister(dst, word);
        this.punct(',');
        src = this.register({ wide });
      } else {
        src = this.sameRegister(dst, word);
      }
      this.punct(')');
      const size = wide ? op.BPF_DW : op.BPF_W;
      return this.at(() => f.atomic(size, word.startsWith('cmpxchg') ? 'cmpxchg' : 'xchg', address.base.num, address.offset, src.num));
    }
    if (word === 'load_acquire') {
      this.punct('(');
      const { size, address } = this.typedMemory();
      this.punct(')');
      if (size === op.BPF_DW && !dst.wide) throw this.error('a 64-bit load needs an r register', 0, dst.column);
      return this.at(() => f.loadAcquire(size, dst.num, address.base.num, address.offset));
    }
    throw this.error(`unknown operation '${word}'`, -1);
  }

  // ---- operands ----

  /** `(uN *)(rX + off)` */
  private typedMemory(): { size: Size; address: Address } {
    this.punct('(');
    const typeTok = this.next();
    const size = SIZE_BY_TYPE[typeTok.text];
    if (typeTok.kind !== 'ident' || size === undefined) throw this.error('expected a type: u8, u16, u32 or u64', -1);
    this.punct('*');
    this.punct(')');
    return { size, address: this.address() };
  }

  /** `(rX + off)` */
  private address(): Address {
    this.punct('(');
    const address = this.bareAddress();
    this.punct(')');
    return address;
  }

  /** `rX + off` / `rX - off` */
  private bareAddress(): Address {
    const base = this.register({ wide: true });
    const sign = this.next();
    if (sign.kind !== 'punct' || (sign.text !== '+' && sign.text !== '-')) throw this.error("expected '+' or '-' and an offset", -1);
    const magnitude = this.number(0n, 0x8000n, 'offset');
    const offset = Number(sign.text === '-' ? -magnitude : magnitude);
    if (offset > 0x7fff) throw this.error('offset 32768 does not fit in a signed 16-bit field (-32768..32767)', -1);
    return { base, offset };
  }

  private sameRegister(dst: RegToken, what: string): RegToken {
    const r = this.register({ wide: dst.wide });
    if (r.num !== dst.num) throw this.error(`${what} returns the old value in its source register: both must be ${dst.text}`, -1);
    return r;
  }

  /** Jump/call target: a label name, or a signed slot count. */
  private target(bits: 16 | 32): string | number {
    const tok = this.peek();
    if (tok.kind === 'ident') {
      this.next();
      this.targetColumn = tok.column;
      return tok.text;
    }
    return Number(this.signedNumber(bits));
  }

  private register(want: { wide?: boolean } = {}): RegToken {
    const tok = this.next();
    if (tok.kind !== 'reg') {
      const hint = tok.kind === 'ident' && /^[rw]\d+$/.test(tok.text) ? '; eBPF has r0..r10 (w0..w10 for 32-bit)' : '';
      throw this.error(`expected a register${hint}`, -1);
    }
    if (want.wide !== undefined && tok.wide !== want.wide) {
      throw this.error(`expected ${want.wide ? 'an r' : 'a w'} register here, found ${tok.text} (do not mix r and w registers)`, -1);
    }
    return tok;
  }

  /** A possibly signed integer in [-2^(bits-1), 2^bits) (or only signed range if `signedOnly`). */
  private signedNumber(bits: 16 | 32 | 64, signedOnly = bits === 16): bigint {
    const sign = this.peek();
    let negative = false;
    if (sign.kind === 'punct' && (sign.text === '-' || sign.text === '+')) {
      this.next();
      negative = sign.text === '-';
    }
    const tok = this.next();
    if (tok.kind !== 'number') throw this.error(`expected a number`, -1);
    const value = negative ? -tok.value : tok.value;
    const min = -(1n << BigInt(bits - 1));
    const max = signedOnly ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    if (value < min || value > max) {
      const fix =
        bits === 16 ? ' (for far jumps use gotol)' : bits === 32 ? '; use a 64-bit load (`rN = value ll`) for wider constants' : '';
      throw this.error(`${value} does not fit in ${bits} bits${fix}`, -1);
    }
    return value;
  }

  private imm32(): number {
    return Number(BigInt.asIntN(32, this.signedNumber(32)));
  }

  private number(min: bigint, max: bigint, what: string): bigint {
    const tok = this.next();
    if (tok.kind !== 'number') throw this.error(`expected ${what}`, -1);
    if (tok.value < min || tok.value > max) throw this.error(`${what} ${tok.value} is out of range [${min}, ${max}]`, -1);
    return tok.value;
  }

  private keyword(word: string): void {
    const tok = this.next();
    if (tok.kind !== 'ident' || tok.text !== word) throw this.error(`expected '${word}'`, -1);
  }

  private punct(text: string): void {
    const tok = this.next();
    if (tok.kind !== 'punct' || tok.text !== text) throw this.error(`expected '${text}'`, -1);
  }

  private acceptPunct(text: string): boolean {
    const tok = this.peek();
    if (tok.kind === 'punct' && tok.text === text) {
      this.next();
      return true;
    }
    return false;
  }

  private expectEnd(): void {
    if (this.peek().kind !== 'end') throw this.error('expected end of line');
  }

  private peek(): Token {
    return tokenAt(this.tokens, this.pos);
  }

  private peekAt(ahead: number): Token {
    return tokenAt(this.tokens, this.pos + ahead);
  }

  private next(): Token {
    this.lastIndex = this.pos;
    const tok = tokenAt(this.tokens, this.pos);
    if (tok.kind !== 'end') this.pos++;
    return tok;
  }

  /** Runs an instruction constructor, pinning its operand errors to the statement. */
  private at(make: () => Instruction): Instruction {
    try {
      return make();
    } catch (err) {
      if (err instanceof AsmError && err.line === undefined)
        throw new AsmError(err.detail, { line: this.line, column: this.statementColumn });
      throw err;
    }
  }

  /**
   * An error at the current token (`relative` 0), the one just consumed (-1), or an explicit column.
   * Names what was found so the message reads "expected X, found Y".
   */
  private error(message: string, relative = 0, column?: number): AsmError {
    const tok = tokenAt(this.tokens, relative < 0 ? this.lastIndex : this.pos);
    const found = tok.kind === 'end' ? 'end of line' : `'${tok.text}'`;
    const text = message.startsWith('expected') ? `${message}, found ${found}` : message;
    return new AsmError(text, { line: this.line, column: column ?? tok.column });
  }
}
