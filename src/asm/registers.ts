/** A register number, 0 to 10. R10 is the read-only frame pointer. */
export type Register = number;

export const R0 = 0;
export const R1 = 1;
export const R2 = 2;
export const R3 = 3;
export const R4 = 4;
export const R5 = 5;
export const R6 = 6;
export const R7 = 7;
export const R8 = 8;
export const R9 = 9;
export const R10 = 10;

/** Highest register an instruction may name. */
export const MAX_REGISTER = 10;

export function isRegister(value: unknown): value is Register {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_REGISTER;
}
