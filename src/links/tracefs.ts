// tracefs: where tracepoint ids live. Mounted on demand when we may.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { LinkError } from './link.js';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

let cached: string | undefined;

/** The tracefs mount point, mounting it at /sys/kernel/tracing when running as root. */
export function tracefsRoot(): string {
  if (cached) return cached;
  for (const dir of CANDIDATES) {
    if (existsSync(`${dir}/events`)) return (cached = dir);
  }
  if (process.getuid?.() === 0 && existsSync(CANDIDATES[0])) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'nodev', CANDIDATES[0]], { stdio: 'pipe' });
    } catch (e) {
      throw new LinkError(
        'tracefs',
        `tracefs is not mounted and mounting it at ${CANDIDATES[0]} failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? e}`,
      );
    }
    if (existsSync(`${CANDIDATES[0]}/events`)) return (cached = CANDIDATES[0]);
  }
  throw new LinkError('tracefs', `tracefs is not mounted; as root run: mount -t tracefs nodev ${CANDIDATES[0]}`);
}

/** The id of tracepoint category:name, as perf_event_open wants it in config. */
export function tracepointId(category: string, name: string): number {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) throw new LinkError('options', `bad tracepoint name "${category}/${name}"`);
  const root = tracefsRoot();
  const path = `${root}/events/${category}/${name}/id`;
  if (!existsSync(path)) {
    const hint = existsSync(`${root}/events/${category}`)
      ? `no event "${name}" in category "${category}"`
      : `no tracepoint category "${category}"`;
    throw new LinkError('target', `tracepoint ${category}/${name} not found: ${hint} (see ${root}/available_events)`);
  }
  return Number(readFileSync(path, 'utf8').trim());
}
