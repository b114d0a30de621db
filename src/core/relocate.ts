// Applies a program's CO-RE relocations against a target BTF (the running kernel's): each one asks
// a question about a local type ("offset of task_struct.pid", "does enum pid_type have
// PIDTYPE_TGID") that the target answers, and the answer is patched into the instruction. A
// question no kernel type answers poisons its instruction, as libbpf does, so the program fails
// verification only if that instruction is reachable; `strict` turns that into an error instead.
import type { Instruction } from '../asm/index.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_CALL,
  BPF_JMP,
  BPF_K,
  BPF_LDDW,
  BPF_LDX,
  BPF_MEM,
  BPF_ST,
  BPF_STX,
  classOf,
  modeOf,
  sourceOf,
} from '../asm/opcodes.js';
import { BtfError, type Btf, type BtfType } from '../btf/index.js';
import { LoaderError } from '../errors/index.js';
import { localAccess, parseAccessor, targetAccess, type AccessIndexes, type FieldLocation } from './access.js';
import { essentialName } from './essential-name.js';
import { answersAbsence, CORE_KIND_NAMES, CoreKind, isEnumKind, isFieldKind, POISON_HELPER } from './kinds.js';
import { typesMatch } from './type-match.js';

/** One CO-RE relocation to apply: the instruction, the local type, the access string and the kind. */
export interface CoreRelocationInput {
  /** Index into the instruction list. */
  readonly instruction: number;
  readonly typeId: number;
  readonly accessor: string;
  readonly kind: number;
}

/** Where the relocations come from (for error messages), and whether unsatisfiable ones fail. */
export interface CoreContext {
  readonly object?: string;
  readonly section?: string;
  readonly program?: string;
  /** Fail instead of poisoning instructions whose relocation cannot be satisfied. */
  readonly strict?: boolean;
}

/** What became of one CO-RE relocation: the value patched in, or why the instruction was poisoned. */
export interface CoreOutcome {
  readonly relocation: CoreRelocationInput;
  /** The value patched in, or undefined when the instruction was poisoned. */
  readonly value: bigint | undefined;
  /** Why the instruction was poisoned. */
  readonly reason?: string;
}

/** Returns patched copies of the instructions (poisoned lddw become two calls, slots unchanged). */
export function applyCoreRelocations(
  instructions: readonly Instruction[],
  relocations: readonly CoreRelocationInput[],
  local: Btf,
  target: Btf,
  context: CoreContext = {},
  outcomes: CoreOutcome[] = [],
): Instruction[] {
  const out: (Instruction | Instruction[])[] = instructions.map((i) => ({ ...i }));
  const candidates = new Map<number, BtfType[]>();
  for (const r of relocations) {
    const insn = out[r.instruction];
    if (insn === undefined || Array.isArray(insn))
      throw coreError(`relocation points at instruction ${r.instruction}, which does not exist`, r, local, context);
    let answer: Answer | string;
    try {
      answer = answer_(r, local, target, candidates);
    } catch (e) {
      // A type id or string the relocation names that its BTF does not hold.
      if (e instanceof BtfError) throw coreError(`malformed BTF: ${e.message}`, r, local, context);
      throw e;
    }
    if (typeof answer === 'string') {
      if (context.strict) throw coreError(answer, r, local, context);
      outcomes.push({ relocation: r, value: undefined, reason: answer });
      out[r.instruction] = poison(insn);
      continue;
    }
    outcomes.push({ relocation: r, value: answer.value });
    out[r.instruction] = patch(insn, r, answer, local, context);
  }
  return out.flat();
}

interface Answer {
  readonly value: bigint;
  /** For field offsets patched into loads: the target field's size, to widen or narrow the load. */
  readonly fieldSize?: number;
}

function answer_(r: CoreRelocationInput, local: Btf, target: Btf, cache: Map<number, BtfType[]>): Answer | string {
  if (r.kind === CoreKind.TYPE_ID_LOCAL) return { value: BigInt(r.typeId) };
  if (r.kind > CoreKind.TYPE_MATCHES) return `unknown CO-RE relocation kind ${r.kind}`;
  const indexes = parseAccessor(r.accessor);
  if (!indexes) return `malformed access string "${r.accessor}"`;
  const localType = local.typeById(r.typeId);
  const name = essentialName(localType.name);
  if (name === '') return 'CO-RE relocations need a named type';
  let cands = cache.get(r.typeId);
  if (!cands) {
    cands = target.typesByName(name).filter((t) => sameKind(localType, t));
    cache.set(r.typeId, cands);
  }
  const what = describe(r, local);
  const answers: Answer[] = [];
  for (const cand of cands) {
    const a = answerFor(r, indexes, local, target, cand);
    if (a !== undefined) answers.push(a);
  }
  const [first] = answers;
  if (first === undefined) {
    if (answersAbsence(r.kind)) return { value: 0n };
    return cands.length === 0
      ? `no type named ${name} in the kernel's BTF (${what})`
      : `${what} matches no field of the kernel's ${localType.kind} ${name}`;
  }
  if (answers.some((a) => a.value !== first.value))
    return `${what} is ambiguous: ${cands.length} kernel types named ${name} give different answers`;
  return first;
}

function answerFor(r: CoreRelocationInput, indexes: AccessIndexes, local: Btf, target: Btf, cand: BtfType): Answer | undefined {
  if (isFieldKind(r.kind)) {
    const walk = localAccess(local, r.typeId, indexes);
    if (typeof walk === 'string') return undefined;
    const field = targetAccess(target, cand.id, indexes[0], walk.steps, local, r.typeId);
    if (!field) return undefined;
    return fieldAnswer(r.kind, field, target);
  }
  if (isEnumKind(r.kind)) {
    const localEnum = local.resolve(r.typeId);
    if (localEnum.kind !== 'enum' && localEnum.kind !== 'enum64') return undefined;
    const wanted = localEnum.values[indexes[0]];
    if (!wanted || (cand.kind !== 'enum' && cand.kind !== 'enum64')) return undefined;
    const v = cand.values.find((x) => essentialName(x.name) === essentialName(wanted.name));
    if (!v) return undefined;
    return { value: r.kind === CoreKind.ENUMVAL_EXISTS ? 1n : BigInt(v.value) };
  }
  switch (r.kind) {
    case CoreKind.TYPE_ID_TARGET:
      return { value: BigInt(cand.id) };
    case CoreKind.TYPE_EXISTS:
      return { value: 1n };
    case CoreKind.TYPE_SIZE:
      return { value: BigInt(target.sizeOf(cand.id)) };
    case CoreKind.TYPE_MATCHES:
      return typesMatch(local, r.typeId, target, cand.id) ? { value: 1n } : undefined;
    default:
      return undefined;
  }
}

function fieldAnswer(kind: number, field: FieldLocation, target: Btf): Answer {
  const size = field.type.kind === 'array' ? target.sizeOf(field.type.id) : sizeOfType(field.type, target);
  if (field.bitfieldSize === 0) {
    const byteOffset = field.bitOffset / 8;
    switch (kind) {
      case CoreKind.FIELD_BYTE_OFFSET:
        return { value: BigInt(byteOffset), fieldSize: size };
      case CoreKind.FIELD_BYTE_SIZE:
        return { value: BigInt(size) };
      case CoreKind.FIELD_EXISTS:
        return { value: 1n };
      case CoreKind.FIELD_SIGNED:
        return { value: isSigned(field.type) ? 1n : 0n };
      case CoreKind.FIELD_LSHIFT_U64:
        return { value: BigInt(64 - size * 8) };
      default:
        return { value: BigInt(64 - size * 8) };
    }
  }
  // A bitfield is loaded through its storage unit: the smallest naturally aligned power of two
  // bytes that holds it, as the kernel docs describe.
  let unit = Math.max(1, size);
  let unitOffset = Math.floor(field.bitOffset / 8 / unit) * unit;
  while (field.bitOffset + field.bitfieldSize > (unitOffset + unit) * 8 && unit < 8) {
    unit *= 2;
    unitOffset = Math.floor(field.bitOffset / 8 / unit) * unit;
  }
  switch (kind) {
    case CoreKind.FIELD_BYTE_OFFSET:
      return { value: BigInt(unitOffset) };
    case CoreKind.FIELD_BYTE_SIZE:
      return { value: BigInt(unit) };
    case CoreKind.FIELD_EXISTS:
      return { value: 1n };
    case CoreKind.FIELD_SIGNED:
      return { value: isSigned(field.type) ? 1n : 0n };
    case CoreKind.FIELD_LSHIFT_U64:
      return { value: BigInt(64 - (field.bitOffset + field.bitfieldSize - unitOffset * 8)) };
    default:
      return { value: BigInt(64 - field.bitfieldSize) };
  }
}

function sizeOfType(t: BtfType, btf: Btf): number {
  return 'size' in t && typeof t.size === 'number' ? t.size : t.kind === 'ptr' ? 8 : btf.sizeOf(t.id);
}

function isSigned(t: BtfType): boolean {
  return (t.kind === 'int' && t.signed) || ((t.kind === 'enum' || t.kind === 'enum64') && t.signed);
}

function sameKind(local: BtfType, target: BtfType): boolean {
  const enumLike = (k: string): boolean => k === 'enum' || k === 'enum64';
  if (enumLike(local.kind)) return enumLike(target.kind);
  return local.kind === target.kind;
}

const CALL = BPF_JMP | BPF_CALL;

function poison(insn: Instruction): Instruction | Instruction[] {
  const call: Instruction = { opcode: CALL, dst: 0, src: 0, offset: 0, imm: POISON_HELPER };
  return insn.opcode === BPF_LDDW ? [call, { ...call }] : call;
}

function patch(insn: Instruction, r: CoreRelocationInput, a: Answer, local: Btf, context: CoreContext): Instruction {
  const cls = classOf(insn.opcode);
  const value = a.value;
  if (insn.opcode === BPF_LDDW) {
    insn.imm64 = value;
    insn.imm = Number(BigInt.asIntN(32, value));
    return insn;
  }
  if ((cls === BPF_ALU || cls === BPF_ALU64) && sourceOf(insn.opcode) === BPF_K) {
    if (value > 0xffffffffn || value < -0x80000000n)
      throw coreError(`value ${value} does not fit the instruction's 32-bit immediate`, r, local, context);
    insn.imm = Number(BigInt.asIntN(32, value));
    return insn;
  }
  if ((cls === BPF_LDX || cls === BPF_ST || cls === BPF_STX) && modeOf(insn.opcode) === BPF_MEM) {
    if (r.kind !== CoreKind.FIELD_BYTE_OFFSET) throw coreError('only field offsets can be patched into a memory access', r, local, context);
    if (value > 0x7fffn) throw coreError(`offset ${value} does not fit the instruction's 16-bit offset`, r, local, context);
    insn.offset = Number(value);
    // A field whose size changed in the kernel: load it at its real size (integers only).
    const bits = a.fieldSize === undefined ? undefined : LDX_SIZE_BITS.get(a.fieldSize);
    if (cls === BPF_LDX && bits !== undefined) {
      insn.opcode = (insn.opcode & ~0x18) | bits;
    }
    return insn;
  }
  throw coreError(`cannot patch a CO-RE value into opcode 0x${insn.opcode.toString(16)}`, r, local, context);
}

/** The size bits of a BPF_LDX opcode for a load of 1, 2, 4 or 8 bytes. */
const LDX_SIZE_BITS: ReadonlyMap<number, number> = new Map([
  [1, 0x10],
  [2, 0x08],
  [4, 0x00],
  [8, 0x18],
]);

function describe(r: CoreRelocationInput, local: Btf): string {
  const t = local.typeById(r.typeId);
  const kind = CORE_KIND_NAMES[r.kind] ?? `kind ${r.kind}`;
  const indexes = parseAccessor(r.accessor);
  if (isFieldKind(r.kind) && indexes) {
    const walk = localAccess(local, r.typeId, indexes);
    if (typeof walk !== 'string') {
      const path = walk.steps.map((s) => (s.name !== undefined ? `.${s.name}` : `[${s.index}]`)).join('');
      return `${kind} of ${t.kind} ${t.name}${path}`;
    }
  }
  if (isEnumKind(r.kind) && indexes) {
    const e = local.resolve(r.typeId);
    const value = e.kind === 'enum' || e.kind === 'enum64' ? e.values[indexes[0]] : undefined;
    if (value) return `${kind} of ${value.name} in enum ${t.name}`;
  }
  return `${kind} of ${t.kind} ${t.name}`;
}

function coreError(message: string, r: CoreRelocationInput, local: Btf, context: CoreContext): LoaderError {
  let what = '';
  try {
    what = ` (${describe(r, local)})`;
  } catch {
    // An invalid type id: the message says enough.
  }
  return new LoaderError(`CO-RE relocation: ${message}${message.includes('(') ? '' : what}`, {
    ...(context.object !== undefined ? { file: context.object } : {}),
    ...(context.section !== undefined ? { section: context.section } : {}),
    ...(context.program !== undefined ? { symbol: context.program } : {}),
    offset: r.instruction * 8,
  });
}
