// Running the anchors (small libbpf and cilium/ebpf programs built by bench/anchors/build.ts, each
// printing one JSON line) and reading their figures.
import { spawnSync } from 'node:child_process';
import type { Cell } from './table.js';

export { buildAnchors, type AnchorBuild } from '../anchors/build.js';

export type AnchorResult = Record<string, number> | { error: string };

/** Runs an anchor binary and parses its last JSON line. */
export function runAnchor(bin: string | undefined, args: string[], missing: string | undefined): AnchorResult {
  if (!bin) return { error: missing ?? 'not built' };
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  const line = (r.stdout ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line)
    return { error: `${bin.split('/').pop()} ${args[0] ?? ''}: exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}` };
  try {
    return JSON.parse(line) as AnchorResult;
  } catch {
    return { error: `unparsable output: ${line}` };
  }
}

/** One figure of an anchor's result, or its error. */
export const field = (res: AnchorResult, key: string): Cell =>
  'error' in res ? { error: String(res.error) } : typeof res[key] === 'number' ? res[key] : { error: `no ${key}` };
