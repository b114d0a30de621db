/**
 * Byte offsets of registers in the context a uprobe BPF program receives.
 * x86-64: the kernel's `struct pt_regs` (arch/x86/include/uapi/asm/ptrace.h, non-__i386__ layout).
 */
export const X86_64_PT_REGS = {
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
} as const;

/** Name of an x86-64 register in `struct pt_regs`. */
export type X86_64Register = keyof typeof X86_64_PT_REGS;

/** arm64: `struct user_pt_regs` { u64 regs[31]; u64 sp; u64 pc; u64 pstate; }, which starts the kernel's pt_regs. */
export const ARM64_USER_PT_REGS = {
  sp: 248,
  pc: 256,
  pstate: 264,
} as const;

/** Byte offset of arm64 register x`n` (0 to 30) in `struct user_pt_regs`; throws RangeError for other `n`. */
export function arm64RegisterOffset(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`arm64 has x0..x30, not x${n}`);
  return 8 * n;
}
