// Opcode field values of the eBPF instruction set (kernel Documentation/bpf/standardization/instruction-set.rst).
// Names follow the kernel's so they can be looked up there.

// Instruction classes: the low 3 bits of the opcode.
/** Instruction class (opcode bits 0-2): non-standard loads: lddw and the legacy packet loads. */
export const BPF_LD = 0x00;
/** Instruction class (opcode bits 0-2): load into a register from memory. */
export const BPF_LDX = 0x01;
/** Instruction class (opcode bits 0-2): store an immediate to memory. */
export const BPF_ST = 0x02;
/** Instruction class (opcode bits 0-2): store a register to memory, and atomics. */
export const BPF_STX = 0x03;
/** Instruction class (opcode bits 0-2): 32-bit arithmetic. */
export const BPF_ALU = 0x04;
/** Instruction class (opcode bits 0-2): jumps with 64-bit compares, calls and exit. */
export const BPF_JMP = 0x05;
/** Instruction class (opcode bits 0-2): jumps with 32-bit compares. */
export const BPF_JMP32 = 0x06;
/** Instruction class (opcode bits 0-2): 64-bit arithmetic. */
export const BPF_ALU64 = 0x07;

// Source bit for ALU and jump classes.
/** Source bit (opcode bit 3) of ALU and jump classes: the operand is the 32-bit immediate. */
export const BPF_K = 0x00;
/** Source bit (opcode bit 3) of ALU and jump classes: the operand is the src register. */
export const BPF_X = 0x08;
// Byte-swap direction, same bit as the source bit (BPF_END in BPF_ALU).
/** Source bit of BPF_END in the BPF_ALU class: convert to little endian (BPF_ALU64 with this bit is the unconditional byte swap, v4). */
export const BPF_TO_LE = 0x00;
/** Source bit of BPF_END in the BPF_ALU class: convert to big endian. */
export const BPF_TO_BE = 0x08;

// ALU operations: the high 4 bits.
/** ALU operation (opcode bits 4-7): `dst += src`. */
export const BPF_ADD = 0x00;
/** ALU operation (opcode bits 4-7): `dst -= src`. */
export const BPF_SUB = 0x10;
/** ALU operation (opcode bits 4-7): `dst *= src`. */
export const BPF_MUL = 0x20;
/** ALU operation (opcode bits 4-7): `dst /= src` (signed when off is 1). */
export const BPF_DIV = 0x30;
/** ALU operation (opcode bits 4-7): `dst |= src`. */
export const BPF_OR = 0x40;
/** ALU operation (opcode bits 4-7): `dst &= src`. */
export const BPF_AND = 0x50;
/** ALU operation (opcode bits 4-7): `dst <<= src`. */
export const BPF_LSH = 0x60;
/** ALU operation (opcode bits 4-7): `dst >>= src, logical`. */
export const BPF_RSH = 0x70;
/** ALU operation (opcode bits 4-7): `dst = -dst`. */
export const BPF_NEG = 0x80;
/** ALU operation (opcode bits 4-7): `dst %= src` (signed when off is 1). */
export const BPF_MOD = 0x90;
/** ALU operation (opcode bits 4-7): `dst ^= src`. */
export const BPF_XOR = 0xa0;
/** ALU operation (opcode bits 4-7): `dst = src` (sign-extending when off is 8, 16 or 32). */
export const BPF_MOV = 0xb0;
/** ALU operation (opcode bits 4-7): `dst s>>= src, arithmetic`. */
export const BPF_ARSH = 0xc0;
/** ALU operation (opcode bits 4-7): `byte swap of dst; width in imm`. */
export const BPF_END = 0xd0;

// Jump operations: the high 4 bits.
/** Jump operation (opcode bits 4-7): unconditional jump (`goto`). */
export const BPF_JA = 0x00;
/** Jump operation (opcode bits 4-7): jump if `dst == src`. */
export const BPF_JEQ = 0x10;
/** Jump operation (opcode bits 4-7): jump if `dst > src`, unsigned. */
export const BPF_JGT = 0x20;
/** Jump operation (opcode bits 4-7): jump if `dst >= src`, unsigned. */
export const BPF_JGE = 0x30;
/** Jump operation (opcode bits 4-7): jump if `dst & src` is non-zero. */
export const BPF_JSET = 0x40;
/** Jump operation (opcode bits 4-7): jump if `dst != src`. */
export const BPF_JNE = 0x50;
/** Jump operation (opcode bits 4-7): jump if `dst s> src`, signed. */
export const BPF_JSGT = 0x60;
/** Jump operation (opcode bits 4-7): jump if `dst s>= src`, signed. */
export const BPF_JSGE = 0x70;
/** Jump operation (opcode bits 4-7): function call (helper, bpf-to-bpf or kfunc, by src). */
export const BPF_CALL = 0x80;
/** Jump operation (opcode bits 4-7): return from the program or subprogram (`exit`). */
export const BPF_EXIT = 0x90;
/** Jump operation (opcode bits 4-7): jump if `dst < src`, unsigned. */
export const BPF_JLT = 0xa0;
/** Jump operation (opcode bits 4-7): jump if `dst <= src`, unsigned. */
export const BPF_JLE = 0xb0;
/** Jump operation (opcode bits 4-7): jump if `dst s< src`, signed. */
export const BPF_JSLT = 0xc0;
/** Jump operation (opcode bits 4-7): jump if `dst s<= src`, signed. */
export const BPF_JSLE = 0xd0;
/** may_goto: conditional pseudo-jump the verifier bounds (src=0). */
export const BPF_JCOND = 0xe0;

// Load/store sizes: bits 3-4.
/** Load/store size (opcode bits 3-4): 4 bytes (u32). */
export const BPF_W = 0x00;
/** Load/store size (opcode bits 3-4): 2 bytes (u16). */
export const BPF_H = 0x08;
/** Load/store size (opcode bits 3-4): 1 byte (u8). */
export const BPF_B = 0x10;
/** Load/store size (opcode bits 3-4): 8 bytes (u64). */
export const BPF_DW = 0x18;

// Load/store modes: the high 3 bits.
/** Load/store mode (opcode bits 5-7): 64-bit immediate (lddw). */
export const BPF_IMM = 0x00;
/** Load/store mode (opcode bits 5-7): legacy packet load at an absolute offset. */
export const BPF_ABS = 0x20;
/** Load/store mode (opcode bits 5-7): legacy packet load at a register-relative offset. */
export const BPF_IND = 0x40;
/** Load/store mode (opcode bits 5-7): regular memory access `*(size *)(reg + off)`. */
export const BPF_MEM = 0x60;
/** Load/store mode (opcode bits 5-7): sign-extending memory load (BPF_LDX, v4). */
export const BPF_MEMSX = 0x80;
/** Load/store mode (opcode bits 5-7): atomic operation (BPF_STX; the operation is in imm). */
export const BPF_ATOMIC = 0xc0;

// Atomic operations, carried in imm of STX|ATOMIC.
/** Atomic-operation flag in imm: return the old memory value in src. */
export const BPF_FETCH = 0x01;
/** Atomic operation in imm: exchange src with memory, old value into src. */
export const BPF_XCHG = 0xe0 | BPF_FETCH;
/** Atomic operation in imm: if memory equals r0, store src; r0 receives the old value. */
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
/** Atomic operation in imm: load-acquire, `dst = load_acquire((size *)(src + off))`. */
export const BPF_LOAD_ACQ = 0x100;
/** Atomic operation in imm: store-release, `store_release((size *)(dst + off), src)`. */
export const BPF_STORE_REL = 0x110;

// src register values that give lddw (BPF_LD|BPF_IMM|BPF_DW) a special meaning.
/** src register value of lddw: a plain 64-bit immediate. */
export const BPF_PSEUDO_IMM64 = 0;
/** src register value of lddw: imm is a map fd; loads the map pointer. */
export const BPF_PSEUDO_MAP_FD = 1;
/** src register value of lddw: imm is a map fd, next imm an offset; loads the address of the map value. */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** src register value of lddw: imm is a BTF id of a kernel variable; loads its address. */
export const BPF_PSEUDO_BTF_ID = 3;
/** src register value of lddw: imm is an instruction offset; loads the address of a subprogram. */
export const BPF_PSEUDO_FUNC = 4;
/** src register value of lddw: imm is an index into the fd array given at load time; loads the map pointer. */
export const BPF_PSEUDO_MAP_IDX = 5;
/** src register value of lddw: like BPF_PSEUDO_MAP_VALUE with imm an index into the fd array. */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// src register values of BPF_JMP|BPF_CALL.
/** src register value of BPF_CALL: imm is a helper id. */
export const BPF_PSEUDO_HELPER_CALL = 0;
/** src register value of BPF_CALL: bpf-to-bpf call, imm is the offset of the subprogram. */
export const BPF_PSEUDO_CALL = 1;
/** src register value of BPF_CALL: imm is the BTF id of a kernel function (kfunc). */
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** The lddw opcode (BPF_LD | BPF_IMM | BPF_DW), the only two-slot instruction. */
export const BPF_LDDW = BPF_LD | BPF_IMM | BPF_DW;

/** Instruction class of an opcode (its low 3 bits). */
export const classOf = (opcode: number): number => opcode & 0x07;
/** ALU or jump operation of an opcode (its high 4 bits). */
export const aluOpOf = (opcode: number): number => opcode & 0xf0;
/** Source bit of an opcode: BPF_K or BPF_X. */
export const sourceOf = (opcode: number): number => opcode & 0x08;
/** Load/store size field of an opcode (bits 3-4). */
export const sizeOf = (opcode: number): number => opcode & 0x18;
/** Load/store mode field of an opcode (its high 3 bits). */
export const modeOf = (opcode: number): number => opcode & 0xe0;

/** Bytes accessed by each size code. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size & 0x18) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}
