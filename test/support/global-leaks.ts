// Across the whole run: no program, map or link that the tests created may remain in the kernel.
// bpftool lists them, independently of this library.
import { execFileSync } from 'node:child_process';

type Obj = { id: number; name?: string; type?: string };

function list(kind: 'prog' | 'map' | 'link'): Obj[] {
  try {
    return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as Obj[];
  } catch {
    return [];
  }
}

const kinds = ['prog', 'map', 'link'] as const;
let before: Record<string, Set<number>> = {};

export function setup(): void {
  before = Object.fromEntries(kinds.map((k) => [k, new Set(list(k).map((o) => o.id))]));
}

export async function teardown(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  // The kernel frees objects after an RCU grace period; give it a moment.
  let leaked: string[] = [];
  for (let i = 0; i < 50; i++) {
    leaked = kinds.flatMap((k) => list(k).filter((o) => !before[k].has(o.id)).map((o) => `${k} ${o.id} ${o.type ?? ''} ${o.name ?? ''}`));
    if (leaked.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kernel objects left behind by the tests:\n  ${leaked.join('\n  ')}`);
}
