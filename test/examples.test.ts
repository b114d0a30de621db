// The examples are run as a user would run them, and their output is checked against what the
// workload is known to do.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { isRoot, need } from './support/env.js';

describe.runIf(need(isRoot, 'examples need root'))('examples', () => {
  it('syscount counts the reads and writes of dd, which does one of each per block', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'examples/syscount.ts',
        '--json',
        '--',
        'dd',
        'if=/dev/zero',
        'of=/dev/null',
        'bs=1',
        'count=5000',
        'status=none',
      ],
      { encoding: 'utf8' },
    );
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

  it('syscount --pid stops on SIGTERM, prints what it counted, exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const target = spawn('sh', ['-c', 'while :; do cat /etc/hostname > /dev/null; done'], { stdio: 'ignore' });
    try {
      const counter = spawn(
        process.execPath,
        ['--import', 'tsx', 'examples/syscount.ts', '--pid', String(target.pid), '--seconds', '60', '--json'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      counter.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      // Signalled once it says it counts (start-up under load can take seconds), then after a while.
      await new Promise<void>((r) =>
        counter.stderr!.on('data', (d: Buffer) => {
          if (d.toString().includes('counting')) r();
        }),
      );
      await new Promise((r) => setTimeout(r, 1500));
      counter.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => counter.on('exit', (c) => r(c)));
      expect(code).toBe(0);
      const result = JSON.parse(out.trim().split('\n').pop()!) as { total: number; syscalls: { name: string }[] };
      expect(result.total).toBeGreaterThan(0);
      expect(result.syscalls.map((s) => s.name)).toContain('wait4');
    } finally {
      target.kill('SIGKILL');
    }
  });
});
