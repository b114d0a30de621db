// The perf event array reader owns its per-CPU perf event fds: a constructor that fails midway
// (RLIMIT_NOFILE leaves room for its map reference, the epoll set and only some CPUs' perf events) closes every fd it
// had opened, whichever CPU it failed on. Run in a child process, whose fd table and limit are its
// own (test/fixtures/perf-reader-fd-limit.ts); the fds are counted from /proc/self/fd there.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { BpfMap, possibleCpus } from '../src/maps/index.js';
import { PerfEventArrayReader } from '../src/perf.js';
import { MapType } from '../src/uapi/bpf.js';
import { isRoot, need } from './support/env.js';
import './support/leaks.js';

interface Trial {
  free: number;
  failed: boolean;
  command?: string;
  code?: string;
  leaked: string[];
}

describe.runIf(need(isRoot, 'perf event array readers need root (CPU-wide perf events)'))('perf event array reader fds', () => {
  it('a constructor that runs out of fds at any CPU closes every fd it opened', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/perf-reader-fd-limit.ts'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { cpus: number; trials: Trial[] };
    const last = r.trials.at(-1)!;
    // With enough fds free the reader is built (and closed).
    expect(last.failed).toBe(false);
    // Each CPU's perf_event_open was the one refused once: with k fds left for perf events, the
    // k+1-th CPU fails after k CPUs were opened, mapped and stored in the map.
    const atPerfOpen = r.trials.filter((t) => t.command === 'perf_event_open');
    expect(atPerfOpen.length).toBe(r.cpus);
    for (const t of atPerfOpen) expect(t.code).toBe('EMFILE');
    expect(r.cpus, 'a failure midway needs two CPUs or more').toBeGreaterThanOrEqual(2);
    // Before that, the reader's own reference to the map (a dup), the epoll set or its eventfd is what ran out.
    const early = r.trials.slice(0, r.trials.length - 1 - r.cpus);
    expect(early.length).toBeGreaterThanOrEqual(2);
    for (const t of early) expect(['fcntl(F_DUPFD_CLOEXEC)', 'epoll_create1', 'eventfd']).toContain(t.command);
    // And nothing leaked, whatever failed.
    expect(r.trials.map((t) => t.leaked)).toEqual(r.trials.map(() => []));
  }, 180_000);

  it('holds its own reference to the map: closing the BpfMap first leaves the reader working and closable', () => {
    const map = BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'fd_ref' });
    const id = map.info().id;
    const reader = new PerfEventArrayReader(map);
    try {
      map.close();
      // The kernel still has the map, through the reader's fd: it opens by id.
      const again = BpfMap.fromId(id);
      expect(again.type).toBe(MapType.PERF_EVENT_ARRAY);
      again.close();
      expect(reader.poll(() => undefined)).toBe(0);
    } finally {
      reader.close();
    }
    reader.close(); // idempotent
    expect(reader.closed).toBe(true);
  });
});
