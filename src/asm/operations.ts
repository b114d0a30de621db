// Name <-> opcode tables shared by the builder, the text assembler and the disassembler.
import * as op from './opcodes.js';

/** Two-operand ALU operations; sdiv/smod are div/mod with offset 1. `text` is the LLVM assembly operator. */
export const ALU_BINARY = {
  add: { code: op.BPF_ADD, offset: 0, text: '+=' },
  sub: { code: op.BPF_SUB, offset: 0, text: '-=' },
  mul: { code: op.BPF_MUL, offset: 0, text: '*=' },
  div: { code: op.BPF_DIV, offset: 0, text: '/=' },
  sdiv: { code: op.BPF_DIV, offset: 1, text: 's/=' },
  or: { code: op.BPF_OR, offset: 0, text: '|=' },
  and: { code: op.BPF_AND, offset: 0, text: '&=' },
  lsh: { code: op.BPF_LSH, offset: 0, text: '<<=' },
  rsh: { code: op.BPF_RSH, offset: 0, text: '>>=' },
  mod: { code: op.BPF_MOD, offset: 0, text: '%=' },
  smod: { code: op.BPF_MOD, offset: 1, text: 's%=' },
  xor: { code: op.BPF_XOR, offset: 0, text: '^=' },
  mov: { code: op.BPF_MOV, offset: 0, text: '=' },
  arsh: { code: op.BPF_ARSH, offset: 0, text: 's>>=' },
} as const;
/** Name of a two-operand ALU operation ("add", "sdiv", "arsh", ...). */
export type AluBinaryOp = keyof typeof ALU_BINARY;

/** Conditional jumps; `text` is the LLVM comparison operator. */
export const JUMP_CONDITIONS = {
  jeq: { code: op.BPF_JEQ, text: '==' },
  jgt: { code: op.BPF_JGT, text: '>' },
  jge: { code: op.BPF_JGE, text: '>=' },
  jset: { code: op.BPF_JSET, text: '&' },
  jne: { code: op.BPF_JNE, text: '!=' },
  jsgt: { code: op.BPF_JSGT, text: 's>' },
  jsge: { code: op.BPF_JSGE, text: 's>=' },
  jlt: { code: op.BPF_JLT, text: '<' },
  jle: { code: op.BPF_JLE, text: '<=' },
  jslt: { code: op.BPF_JSLT, text: 's<' },
  jsle: { code: op.BPF_JSLE, text: 's<=' },
} as const;
/** Name of a conditional jump ("jeq", "jsgt", ...). */
export type JumpCondition = keyof typeof JUMP_CONDITIONS;

/** Read-modify-write atomics (STX|ATOMIC, sizes W and DW); `code` is the imm field. */
export const ATOMIC_RMW = {
  add: { code: op.BPF_ADD, text: '+=' },
  or: { code: op.BPF_OR, text: '|=' },
  and: { code: op.BPF_AND, text: '&=' },
  xor: { code: op.BPF_XOR, text: '^=' },
  fetch_add: { code: op.BPF_ADD | op.BPF_FETCH, text: 'atomic_fetch_add' },
  fetch_or: { code: op.BPF_OR | op.BPF_FETCH, text: 'atomic_fetch_or' },
  fetch_and: { code: op.BPF_AND | op.BPF_FETCH, text: 'atomic_fetch_and' },
  fetch_xor: { code: op.BPF_XOR | op.BPF_FETCH, text: 'atomic_fetch_xor' },
  xchg: { code: op.BPF_XCHG, text: 'xchg' },
  cmpxchg: { code: op.BPF_CMPXCHG, text: 'cmpxchg' },
} as const;
/** Name of an atomic read-modify-write operation ("add", "fetch_or", "xchg", "cmpxchg", ...). */
export type AtomicOp = keyof typeof ATOMIC_RMW;

/** Reverse lookup helper: first key whose entry matches. */
export function findKey<T extends Record<string, object>>(table: T, match: (entry: T[keyof T]) => boolean): keyof T | undefined {
  for (const key of Object.keys(table) as (keyof T)[]) if (match(table[key])) return key;
  return undefined;
}
