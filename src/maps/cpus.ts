import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list such as "0-3,8,10-11" into the highest CPU number plus one. */
export function parseCpuList(text: string): number {
  let max = -1;
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`cannot parse CPU list "${text.trim()}"`);
    max = Math.max(max, Number(m[2] ?? m[1]));
  }
  return max + 1;
}

let cached: number | undefined;

/** Possible CPUs: the number of slots in a per-CPU map value. */
export function possibleCpus(): number {
  cached ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  return cached;
}
