/** A register number, 0 to 10. R10 is the read-only frame pointer. */
export type Register = number;

/** Register r0: return value of helpers, calls and the program. */
export const R0 = 0;
/** Register r1: first argument; holds the context pointer on program entry. */
export const R1 = 1;
/** Register r2: second argument of a call. */
export const R2 = 2;
/** Register r3: third argument of a call. */
export const R3 = 3;
/** Register r4: fourth argument of a call. */
export const R4 = 4;
/** Register r5: fifth argument of a call. */
export const R5 = 5;
/** Register r6: callee-saved. */
export const R6 = 6;
/** Register r7: callee-saved. */
export const R7 = 7;
/** Register r8: callee-saved. */
export const R8 = 8;
/** Register r9: callee-saved. */
export const R9 = 9;
/** Register r10: read-only frame pointer to the top of the 512-byte stack. */
export const R10 = 10;

/** Highest register an instruction may name. */
export const MAX_REGISTER = 10;

/** Whether `value` is a register number (an integer from 0 to 10). */
export function isRegister(value: unknown): value is Register {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_REGISTER;
}
