// Number spellings used by llvm-objdump for BPF: hex, with a minus sign for negative values.

export function hex(value: number | bigint): string {
  if (typeof value === 'bigint') return value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}

/** A jump displacement always carries its sign: +0x3, -0x3, +0x0. */
export function signedHex(value: number): string {
  return value < 0 ? hex(value) : `+${hex(value)}`;
}

/** `(r1 + 0x4)` / `(r10 - 0x8)` */
export function memoryOperand(base: number, offset: number): string {
  return offset < 0 ? `(r${base} - ${hex(-offset)})` : `(r${base} + ${hex(offset)})`;
}
