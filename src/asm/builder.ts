import { AsmError } from './errors.js';
import * as f from './forms.js';
import { type Target } from './forms.js';
import { helperByName, type HelperName } from './helpers.js';
import { type Instruction } from './instruction.js';
import * as op from './opcodes.js';
import { type AtomicOp } from './operations.js';
import { type Register } from './registers.js';
import { resolveLabels } from './resolve.js';
import { Size } from './size.js';

/**
 * Fluent eBPF program builder. Method names say whether the operand is a register (`...Reg`) or
 * an immediate (`...Imm`), and the width: ALU methods carry 64 or 32 (`add64Imm`, `add32Reg`);
 * jumps compare 64-bit registers unless they carry 32 (`jeqImm` vs `jeq32Imm`, the JMP32 class).
 * Jump targets are label names (resolved by build()) or raw slot offsets.
 */
export class ProgramBuilder {
  private readonly insns: Instruction[] = [];
  private readonly labels = new Map<string, number>();
  private pendingSymbol: string | undefined;

  /** Appends an instruction as is (for forms not covered by a method). */
  emit(insn: Instruction): this {
    return this.push(() => ({ ...insn }));
  }

  /** Names the position of the next instruction. */
  label(name: string): this {
    this.define(name);
    return this;
  }

  /** Starts a subprogram: a label plus `symbol` on its first instruction, callable with callSub(name). */
  function(name: string): this {
    this.define(name);
    if (this.pendingSymbol !== undefined) {
      throw new AsmError(`function '${this.pendingSymbol}' has no instructions before function '${name}'`, { instruction: this.insns.length });
    }
    this.pendingSymbol = name;
    return this;
  }

  /** Number of instructions so far (lddw counts once). */
  get length(): number {
    return this.insns.length;
  }

  /** Resolves labels and subprogram calls and returns the instructions. Map references stay unresolved. */
  build(): Instruction[] {
    if (this.pendingSymbol !== undefined) {
      throw new AsmError(`function '${this.pendingSymbol}' has no instructions`, { instruction: this.insns.length });
    }
    return resolveLabels(this.insns, this.labels);
  }

  // ---- ALU, 64-bit ----
  mov64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'mov', dst, imm)); }
  mov64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'mov', dst, src)); }
  add64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'add', dst, imm)); }
  add64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'add', dst, src)); }
  sub64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'sub', dst, imm)); }
  sub64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'sub', dst, src)); }
  mul64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'mul', dst, imm)); }
  mul64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'mul', dst, src)); }
  div64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'div', dst, imm)); }
  div64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'div', dst, src)); }
  sdiv64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'sdiv', dst, imm)); }
  sdiv64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'sdiv', dst, src)); }
  mod64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'mod', dst, imm)); }
  mod64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'mod', dst, src)); }
  smod64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'smod', dst, imm)); }
  smod64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'smod', dst, src)); }
  or64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'or', dst, imm)); }
  or64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'or', dst, src)); }
  and64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'and', dst, imm)); }
  and64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'and', dst, src)); }
  xor64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'xor', dst, imm)); }
  xor64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'xor', dst, src)); }
  lsh64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'lsh', dst, imm)); }
  lsh64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'lsh', dst, src)); }
  rsh64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'rsh', dst, imm)); }
  rsh64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'rsh', dst, src)); }
  arsh64Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(64, 'arsh', dst, imm)); }
  arsh64Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(64, 'arsh', dst, src)); }
  neg64(dst: Register): this { return this.push(() => f.neg(64, dst)); }
  /** dst = (s8|s16|s32) src */
  movsx64(dst: Register, src: Register, bits: 8 | 16 | 32): this { return this.push(() => f.movsx(64, dst, src, bits)); }

  // ---- ALU, 32-bit (results zero-extended into the 64-bit register) ----
  mov32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'mov', dst, imm)); }
  mov32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'mov', dst, src)); }
  add32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'add', dst, imm)); }
  add32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'add', dst, src)); }
  sub32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'sub', dst, imm)); }
  sub32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'sub', dst, src)); }
  mul32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'mul', dst, imm)); }
  mul32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'mul', dst, src)); }
  div32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'div', dst, imm)); }
  div32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'div', dst, src)); }
  sdiv32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'sdiv', dst, imm)); }
  sdiv32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'sdiv', dst, src)); }
  mod32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'mod', dst, imm)); }
  mod32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'mod', dst, src)); }
  smod32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'smod', dst, imm)); }
  smod32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'smod', dst, src)); }
  or32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'or', dst, imm)); }
  or32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'or', dst, src)); }
  and32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'and', dst, imm)); }
  and32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'and', dst, src)); }
  xor32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'xor', dst, imm)); }
  xor32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'xor', dst, src)); }
  lsh32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'lsh', dst, imm)); }
  lsh32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'lsh', dst, src)); }
  rsh32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'rsh', dst, imm)); }
  rsh32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'rsh', dst, src)); }
  arsh32Imm(dst: Register, imm: number): this { return this.push(() => f.aluImm(32, 'arsh', dst, imm)); }
  arsh32Reg(dst: Register, src: Register): this { return this.push(() => f.aluReg(32, 'arsh', dst, src)); }
  neg32(dst: Register): this { return this.push(() => f.neg(32, dst)); }
  /** wdst = (s8|s16) wsrc */
  movsx32(dst: Register, src: Register, bits: 8 | 16): this { return this.push(() => f.movsx(32, dst, src, bits)); }

  // ---- byte order ----
  /** Convert to little endian (no-op on little-endian hosts apart from truncation). */
  le(dst: Register, bits: 16 | 32 | 64): this { return this.push(() => f.byteSwap('le', dst, bits)); }
  /** Convert to big endian. */
  be(dst: Register, bits: 16 | 32 | 64): this { return this.push(() => f.byteSwap('be', dst, bits)); }
  /** Unconditional byte swap (v4). */
  bswap(dst: Register, bits: 16 | 32 | 64): this { return this.push(() => f.byteSwap('bswap', dst, bits)); }

  // ---- jumps, 64-bit compare ----
  ja(target: Target): this { return this.push(() => f.ja(target)); }
  /** Unconditional jump with a 32-bit offset (v4). */
  gotol(target: Target): this { return this.push(() => f.gotol(target)); }
  mayGoto(target: Target): this { return this.push(() => f.mayGoto(target)); }
  jeqImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jeq', dst, imm, target)); }
  jeqReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jeq', dst, src, target)); }
  jneImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jne', dst, imm, target)); }
  jneReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jne', dst, src, target)); }
  jgtImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jgt', dst, imm, target)); }
  jgtReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jgt', dst, src, target)); }
  jgeImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jge', dst, imm, target)); }
  jgeReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jge', dst, src, target)); }
  jltImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jlt', dst, imm, target)); }
  jltReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jlt', dst, src, target)); }
  jleImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jle', dst, imm, target)); }
  jleReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jle', dst, src, target)); }
  jsetImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jset', dst, imm, target)); }
  jsetReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jset', dst, src, target)); }
  jsgtImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jsgt', dst, imm, target)); }
  jsgtReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jsgt', dst, src, target)); }
  jsgeImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jsge', dst, imm, target)); }
  jsgeReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jsge', dst, src, target)); }
  jsltImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jslt', dst, imm, target)); }
  jsltReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jslt', dst, src, target)); }
  jsleImm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(64, 'jsle', dst, imm, target)); }
  jsleReg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(64, 'jsle', dst, src, target)); }

  // ---- jumps, 32-bit compare (JMP32) ----
  jeq32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jeq', dst, imm, target)); }
  jeq32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jeq', dst, src, target)); }
  jne32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jne', dst, imm, target)); }
  jne32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jne', dst, src, target)); }
  jgt32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jgt', dst, imm, target)); }
  jgt32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jgt', dst, src, target)); }
  jge32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jge', dst, imm, target)); }
  jge32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jge', dst, src, target)); }
  jlt32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jlt', dst, imm, target)); }
  jlt32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jlt', dst, src, target)); }
  jle32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jle', dst, imm, target)); }
  jle32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jle', dst, src, target)); }
  jset32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jset', dst, imm, target)); }
  jset32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jset', dst, src, target)); }
  jsgt32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jsgt', dst, imm, target)); }
  jsgt32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jsgt', dst, src, target)); }
  jsge32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jsge', dst, imm, target)); }
  jsge32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jsge', dst, src, target)); }
  jslt32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jslt', dst, imm, target)); }
  jslt32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jslt', dst, src, target)); }
  jsle32Imm(dst: Register, imm: number, target: Target): this { return this.push(() => f.jumpImm(32, 'jsle', dst, imm, target)); }
  jsle32Reg(dst: Register, src: Register, target: Target): this { return this.push(() => f.jumpReg(32, 'jsle', dst, src, target)); }

  // ---- calls ----
  /** Calls a kernel helper by id or name (`'map_lookup_elem'` or `'bpf_map_lookup_elem'`). */
  call(helper: number | HelperName | (string & {})): this {
    return this.push(() => {
      if (typeof helper === 'number') return f.callHelper(helper);
      const id = helperByName(helper);
      if (id === undefined) throw new AsmError(`unknown helper '${helper}'; for a subprogram use callSub, for a kfunc callKfunc`);
      return f.callHelper(id);
    });
  }
  /** bpf-to-bpf call to a subprogram started with function(name) (or any label, or a raw slot offset). */
  callSub(target: Target): this { return this.push(() => f.callSub(target)); }
  /** Calls a kernel function by its BTF id. */
  callKfunc(btfId: number): this { return this.push(() => f.callKfunc(btfId)); }
  /** Indirect call through a register (LLVM encoding; not accepted by current kernels). */
  callx(reg: Register): this { return this.push(() => f.callx(reg)); }
  exit(): this { return this.push(() => f.exit()); }

  // ---- 64-bit immediate loads (two slots each) ----
  lddw(dst: Register, value: bigint | number): this { return this.push(() => f.lddw(dst, value)); }
  /** dst = map pointer; a name is left as `reference` for the loader, a number is used as the fd. */
  ldMapFd(dst: Register, map: string | number): this { return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_FD, map)); }
  /** dst = address of the map's value at `offset` (array maps); map by name or fd. */
  ldMapValue(dst: Register, map: string | number, offset = 0): this { return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_VALUE, map, offset)); }
  /** dst = map pointer by index into the fd array passed at load time. */
  ldMapIdx(dst: Register, index: number): this { return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_IDX, index)); }
  ldMapIdxValue(dst: Register, index: number, offset = 0): this { return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_IDX_VALUE, index, offset)); }
  /** dst = address of a kernel variable by BTF id. */
  ldBtfId(dst: Register, btfId: number): this { return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_BTF_ID, btfId)); }
  /** dst = address of a subprogram (for callbacks such as bpf_loop). */
  ldFunc(dst: Register, target: Target): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_FUNC, target));
  }

  // ---- legacy packet loads (socket filters): r0 = *(size *)skb[imm] / skb[src + imm] ----
  ldAbs(size: Size, imm: number): this { return this.push(() => { noDw(size, 'ldAbs'); return f.ldAbs(size, imm); }); }
  ldInd(size: Size, src: Register, imm = 0): this { return this.push(() => { noDw(size, 'ldInd'); return f.ldInd(size, src, imm); }); }

  // ---- memory ----
  /** dst = *(size *)(src + offset) */
  ldx(size: Size, dst: Register, src: Register, offset: number): this { return this.push(() => f.ldx(size, dst, src, offset)); }
  /** dst = *(s8|s16|s32 *)(src + offset), sign-extended (v4). */
  ldxsx(size: Size, dst: Register, src: Register, offset: number): this { return this.push(() => f.ldxsx(size, dst, src, offset)); }
  /** *(size *)(dst + offset) = imm */
  st(size: Size, dst: Register, offset: number, imm: number): this { return this.push(() => f.st(size, dst, offset, imm)); }
  /** *(size *)(dst + offset) = src */
  stx(size: Size, dst: Register, offset: number, src: Register): this { return this.push(() => f.stx(size, dst, offset, src)); }

  // ---- atomics on *(size *)(dst + offset), sizes W and DW ----
  atomic(size: Size, operation: AtomicOp, dst: Register, offset: number, src: Register): this {
    return this.push(() => f.atomic(size, operation, dst, offset, src));
  }
  atomicAdd(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'add', dst, offset, src); }
  atomicOr(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'or', dst, offset, src); }
  atomicAnd(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'and', dst, offset, src); }
  atomicXor(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'xor', dst, offset, src); }
  /** src = old value; memory += src. */
  atomicFetchAdd(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'fetch_add', dst, offset, src); }
  atomicFetchOr(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'fetch_or', dst, offset, src); }
  atomicFetchAnd(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'fetch_and', dst, offset, src); }
  atomicFetchXor(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'fetch_xor', dst, offset, src); }
  /** src = old value; memory = src. */
  atomicXchg(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'xchg', dst, offset, src); }
  /** If memory == r0 then memory = src; r0 = old value. */
  atomicCmpxchg(size: Size, dst: Register, offset: number, src: Register): this { return this.atomic(size, 'cmpxchg', dst, offset, src); }
  /** dst = load_acquire((size *)(src + offset)); any size. */
  loadAcquire(size: Size, dst: Register, src: Register, offset: number): this { return this.push(() => f.loadAcquire(size, dst, src, offset)); }
  /** store_release((size *)(dst + offset), src); any size. */
  storeRelease(size: Size, dst: Register, offset: number, src: Register): this { return this.push(() => f.storeRelease(size, dst, offset, src)); }

  private define(name: string): void {
    if (typeof name !== 'string' || !/^[A-Za-z_.$][\w.$]*$/.test(name)) {
      throw new AsmError(`label name ${JSON.stringify(name)} is not an identifier (letters, digits, _ . $; not starting with a digit)`, { instruction: this.insns.length });
    }
    const existing = this.labels.get(name);
    if (existing !== undefined) {
      throw new AsmError(`duplicate label '${name}' (already defined before instruction ${existing})`, { instruction: this.insns.length });
    }
    this.labels.set(name, this.insns.length);
  }

  private push(make: () => Instruction): this {
    let insn: Instruction;
    try {
      insn = make();
    } catch (err) {
      if (err instanceof AsmError) throw new AsmError(err.detail, { instruction: this.insns.length });
      throw err;
    }
    if (this.pendingSymbol !== undefined) {
      insn.symbol = this.pendingSymbol;
      this.pendingSymbol = undefined;
    }
    this.insns.push(insn);
    return this;
  }
}

function noDw(size: Size, method: string): void {
  if (size === Size.DW) throw new AsmError(`${method} supports sizes B, H and W; the kernel has no 64-bit packet load`);
}
