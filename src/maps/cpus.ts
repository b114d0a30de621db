import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list such as "0-3,8,10-11" into the CPU numbers it names. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`cannot parse CPU list "${text.trim()}"`);
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
