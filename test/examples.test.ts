// The examples are run as a user would run them, and their output is checked against what the
// workload is known to do.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { isRoot, need } from './support/env.js';

describe.runIf(need(isRoot, 'examples need root'))('examples', () => {
  it('syscount counts the reads and writes of dd, which does one of each per block', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/syscount.ts', '--json', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=5000', 'status=none'], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { total: number; syscalls: { name: string; count: number }[] };
    const count = (name: string): number => result.syscalls.find((s) => s.name === name)?.count ?? 0;
    // dd copies 5000 one-byte blocks: 5000 reads and 5000 writes, plus a few for start-up
    // (the shell's read of its go line and the loader's reads of libraries).
    expect(count('write')).toBeGreaterThanOrEqual(5000);
    expect(count('write')).toBeLessThan(5010);
    expect(count('read')).toBeGreaterThanOrEqual(5000);
    expect(count('read')).toBeLessThan(5020);
    expect(count('execve')).toBeGreaterThanOrEqual(1);
  });
});
