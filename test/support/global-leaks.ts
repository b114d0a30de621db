// Across the whole run: no program, map or link that the tests created may remain in the kernel.
// bpftool lists them, independently of this library. Objects another live process holds open
// (another test run, a benchmark, a daemon) are that process's, not ours, and are left out.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

type Obj = { id: number; name?: string; type?: string; prog_id?: number; map_ids?: number[] };

function list(kind: 'prog' | 'map' | 'link'): Obj[] {
  try {
    return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as Obj[];
  } catch {
    return [];
  }
}

const kinds = ['prog', 'map', 'link'] as const;

/** Ids of the objects other processes hold through an fd (from /proc/PID/fdinfo), and what those use. */
export function heldElsewhere(lists: Record<string, Obj[]>): Record<string, Set<number>> {
  const held: Record<string, Set<number>> = { prog: new Set(), map: new Set(), link: new Set() };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let info: string;
      try {
        info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      } catch {
        continue;
      }
      for (const m of info.matchAll(/^(prog|map|link)_id:\s+(\d+)$/gm)) held[m[1]].add(Number(m[2]));
    }
  }
  for (const l of lists.link) if (held.link.has(l.id) && l.prog_id !== undefined) held.prog.add(l.prog_id);
  for (const p of lists.prog) if (held.prog.has(p.id)) for (const m of p.map_ids ?? []) held.map.add(m);
  return held;
}

let before: Record<string, Set<number>> = {};

export function setup(): void {
  before = Object.fromEntries(kinds.map((k) => [k, new Set(list(k).map((o) => o.id))]));
}

export async function teardown(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  // The kernel frees objects after an RCU grace period; give it a moment.
  let leaked: string[] = [];
  for (let i = 0; i < 50; i++) {
    const lists = Object.fromEntries(kinds.map((k) => [k, list(k)])) as Record<string, Obj[]>;
    const others = heldElsewhere(lists);
    leaked = kinds.flatMap((k) =>
      lists[k].filter((o) => !before[k].has(o.id) && !others[k].has(o.id)).map((o) => `${k} ${o.id} ${o.type ?? ''} ${o.name ?? ''}`),
    );
    if (leaked.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kernel objects left behind by the tests:\n  ${leaked.join('\n  ')}`);
}
