// The machine's CPUs as the kernel lists them in sysfs: how many slots a per-CPU map value has, and
// which CPUs perf events can be opened on. Read where they are needed, cached where they cannot change.
import { readFileSync } from 'node:fs';
import { EbpfError } from '../errors/index.js';

/** A file under /sys or /proc that the kernel writes did not hold what it always holds. */
export class KernelFactError extends EbpfError {
  constructor(message: string) {
    super('ERR_KERNEL_FACT', message);
  }
}

/** Parses a kernel CPU list such as "0-3,8,10-11" into the CPU numbers it names. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new KernelFactError(`cannot parse CPU list "${text.trim()}"`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

let possible: number | undefined;

/** Possible CPUs: the number of slots in a per-CPU map value (the highest possible CPU plus one). */
export function possibleCpus(): number {
  possible ??= Math.max(-1, ...parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'))) + 1;
  return possible;
}

/** The CPUs online now: the ones perf events can be opened on. */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}
