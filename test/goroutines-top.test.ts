// `ebpf goroutines --top`: the frame from a snapshot (by hand-made goroutines), and the live view
// on the committed fixture, through a pipe and through a pseudo-terminal (script(1)).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTop } from '../src/goroutines/top.js';
import { run } from '../src/cli/goroutines.js';
import { hasCommand, isRoot, need } from './support/env.js';

const FIXTURES = resolve('test/fixtures/go');
// 20 goroutines per round block on a channel receive for 1.5 s; two rounds.
const BLOCKING = [resolve(FIXTURES, 'goroutines'), '-n', '20', '-loop', '2', '-pause', '1500ms', '-q', '-wait=false'];

describe('renderTop', () => {
  it('counts by state and by start function, and lists the longest waiters first with their reasons', () => {
    const s = 1_000_000_000n;
    const lines = renderTop({
      title: 'app (pid 7)',
      now: 10n * s,
      transitions: 99,
      lost: 0,
      live: [
        { pid: 7, goid: 1n, state: 'waiting', since: 9n * s, waitReason: 'sleep', function: 'runtime.main' },
        { pid: 7, goid: 10n, state: 'waiting', since: 4n * s, waitReason: 'chan receive', function: 'main.worker' },
        { pid: 7, goid: 11n, state: 'waiting', since: 7n * s, waitReason: 'select', function: 'main.worker' },
        { pid: 7, goid: 12n, state: 'running', since: 9n * s, function: 'main.worker' },
        { pid: 7, goid: 13n, state: 'runnable', since: 9n * s },
      ],
    });
    expect(lines[0]).toBe('app (pid 7)  —  5 goroutines, 99 transitions, 0 lost');
    expect(lines[1]).toBe('running 1   runnable 1   waiting 3');
    const row = (fn: string) =>
      lines
        .find((l) => l.startsWith(fn))!
        .slice(44)
        .trim()
        .split(/\s+/)
        .map(Number);
    expect(row('main.worker')).toEqual([3, 1, 0, 2]);
    expect(row('runtime.main')).toEqual([1, 0, 0, 1]);
    expect(row('?')).toEqual([1, 0, 1, 0]);
    const waiters = lines.slice(lines.findIndex((l) => l.startsWith('LONGEST WAITERS')) + 1);
    expect(waiters.map((l) => l.split(/\s{2,}/).map((x) => x.trim()))).toEqual([
      ['goroutine 10', '6000.0 ms', 'chan receive', 'main.worker'],
      ['goroutine 11', '3000.0 ms', 'select', 'main.worker'],
      ['goroutine 1', '1000.0 ms', 'sleep', 'runtime.main'],
    ]);
  });

  it('--top with --json is a usage error', async () => {
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      expect(await run(['--top', '--json', '--pid', '1'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err.join('')).toMatch(/--top .* --json/);
  });
});

describe.runIf(need(isRoot, 'tracing needs root'))('--top, live', () => {
  it(
    'into a pipe: a frame a second; the blocked goroutines show as waiting on chan receive in main.main.func1',
    { timeout: 60_000 },
    () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/goroutines.ts', '--top', '--', ...BLOCKING], {
        encoding: 'utf8',
        timeout: 50_000,
      });
      expect(r.status).toBe(0);
      // Each frame starts with its title line: "<binary> (pid N)  —  ...".
      const frames = r.stdout.split(/^(?=\S.* \(pid \d+\) {2}— {2})/m).filter((b) => b.includes('LONGEST WAITERS'));
      expect(frames.length).toBeGreaterThanOrEqual(2);
      // At some frame all 20 of a round are alive and waiting (the program holds them 1.5 s).
      const full = frames.find((f) => /^main\.main\.func1\s+20\s+0\s+0\s+20$/m.test(f.slice(f.indexOf('START FUNCTION'))));
      expect(full, r.stdout).toBeDefined();
      const waits = [...r.stdout.matchAll(/^goroutine \d+\s+([\d.]+) ms\s+chan receive\s+main\.main\.func1$/gm)].map((m) => Number(m[1]));
      expect(waits.length).toBeGreaterThan(0);
      expect(Math.max(...waits)).toBeGreaterThan(500);
      expect(Math.max(...waits)).toBeLessThan(2500); // a round holds its goroutines 1.5 s; none waits much longer
      expect(r.stdout).not.toContain('\x1b['); // no terminal control codes into a pipe
      expect(r.stdout).toMatch(/transitions, \d+ goroutines in [\d.]+ ms, 0 events lost/); // then the summary
    },
  );

  it('in a pseudo-terminal: each frame clears the screen and redraws', { timeout: 60_000 }, () => {
    need(hasCommand('script'), 'script(1) from util-linux for a pseudo-terminal');
    // A 50-line terminal, so the waiter table has room for more than the runtime's own goroutines.
    const cmd =
      'stty rows 50 cols 120; ' +
      [process.execPath, '--import', 'tsx', 'examples/goroutines.ts', '--top', '--', ...BLOCKING].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 50_000 });
    expect(r.status).toBe(0);
    const clears = r.stdout.split('\x1b[H\x1b[2J').length - 1;
    expect(clears).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/LONGEST WAITERS/);
    expect(r.stdout).toMatch(/chan receive\s+main\.main\.func1/);
  });
});
