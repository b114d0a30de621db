// `ebpf goroutines` (src/cli/goroutines.ts) as a user runs it: flags, the JSON stream, the demo
// through npm, and stopping by signal or by the target's exit. Each stop must print the summary
// with figures read after the final drain (records == delivered + lost + unattributed) and leave
// nothing attached.
import { describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../src/cli/goroutines.js';
import { isRoot, need } from './support/env.js';

const FIXTURES = resolve('test/fixtures/go');
const LOOPING = [join(FIXTURES, 'goroutines'), '-n', '50', '-loop', '1000000', '-q', '-wait=false'];

async function runCaptured(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await run(argv);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('ebpf goroutines: flags', () => {
  it('--help prints usage to stdout and returns 0', async () => {
    const r = await runCaptured(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: ebpf goroutines/);
    expect(r.stderr).toBe('');
  });

  it.each([
    [['--binary'], /--binary.*argument/i],
    [['--states'], /--states.*argument/i],
    [['--states', 'running,bogus'], /unknown goroutine state "bogus"/],
    [['--pid', 'abc'], /--pid needs a process id/],
    [['--pid', '1', '--binary', '/bin/sh'], /one target/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--'], /-- needs a command/],
    [['--ring-size', '1000'], /power of two/],
    [['--trace-out', '/nonexistent-dir/trace.json', '--', 'true'], /directory \/nonexistent-dir does not exist/],
  ])('%j fails at once with exit 2', async (argv, message) => {
    const t0 = Date.now();
    const r = await runCaptured(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(/usage: ebpf goroutines/);
    expect(r.stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

/** Pids of the processes in process group `pgid`. */
function groupPids(pgid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/**
 * Whether the kernel still has program `id` (the tracer's uprobe, named by the start line). A
 * program freed with its last fd is gone from `bpftool prog show id`; ids are not reused soon
 * (the kernel allocates them cyclically), so a gone id cannot be confused with a new program.
 */
function programExists(id: number): boolean {
  return spawnSync('bpftool', ['prog', 'show', 'id', String(id)], { encoding: 'utf8' }).status === 0;
}

interface Run {
  lines: Record<string, unknown>[];
  stderr: string;
  code: number | null;
  signal: string | null;
  pids: number[];
  programLoadedWhileTracing: boolean;
}

/** Starts `cmd` in its own process group; `act` gets the group id once the tracer says "start". */
async function traceUntil(cmd: string[], act: (pgid: number) => void | Promise<void>): Promise<Run> {
  const p = spawn(cmd[0], cmd.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = new Promise<void>((r) =>
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"type":"start"')) r();
    }),
  );
  const closed = new Promise<[number | null, string | null]>((r) => p.on('close', (c, s) => r([c, s])));
  let pids: number[] = [];
  try {
    await Promise.race([
      started,
      closed.then(() => {
        throw new Error(`ended before tracing: ${stderr}`);
      }),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    pids = groupPids(p.pid!);
    // The check after exit must be able to fail: the start line's program exists while tracing.
    const programLoadedWhileTracing = programExists((JSON.parse(out.split('\n')[0]!) as { programId: number }).programId);
    await act(p.pid!);
    const [code, signal] = await Promise.race([
      closed,
      new Promise<never>((_, j) => setTimeout(() => j(new Error(`no exit: ${stderr}`)), 30_000)),
    ]);
    return {
      lines: out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
      stderr,
      code,
      signal,
      pids,
      programLoadedWhileTracing,
    };
  } finally {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // the group is gone: what the test wants
    }
  }
}

function expectCompleteSummary(r: Run, stoppedBy: string): void {
  const summary = r.lines[r.lines.length - 1];
  // When it is missing, how the command ended says who stopped it (a relay's SIGKILL, an error).
  expect(summary.type, `exit code ${r.code}, signal ${r.signal}, stderr: ${r.stderr.trim().slice(-2000)}`).toBe('summary');
  expect(summary.stoppedBy).toBe(stoppedBy);
  expect(summary.transitions as number).toBeGreaterThan(100);
  // Stats read after the uprobe was removed and the ring drained: every record that passed the
  // filter was delivered, lost (ring full) or is a birth without a goid.
  expect(summary.records).toBe((summary.transitions as number) + (summary.lost as number) + (summary.unattributed as number));
  // Nothing is left: the group's processes are gone and the tracer's program with them.
  for (const pid of r.pids)
    expect(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(false);
  const programId = r.lines[0].programId as number;
  expect(programId).toBeGreaterThan(0);
  expect(r.programLoadedWhileTracing).toBe(true);
  expect(programExists(programId)).toBe(false);
}

describe.runIf(need(isRoot, 'tracing needs root'))('ebpf goroutines: live', () => {
  it('the demo (npm run demo: esbuild bundling) gives clean JSON lines and a Perfetto trace; nothing left in /tmp', () => {
    const before = new Set(readdirSync(tmpdir()));
    const traceFile = join(tmpdir(), `goroutines-trace-${process.pid}.json`);
    const r = spawnSync('npm', ['run', '--silent', 'demo', '--', '--json', '--trace-out', traceFile], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status).toBe(0);
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as {
      traceEvents: { ph: string; name: string; tid?: number; dur?: number; cat?: string; args?: Record<string, unknown> }[];
    };
    rmSync(traceFile);
    const tracks = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(tracks.some((t) => /^goroutine \d+/.test(String(t.args!.name)))).toBe(true);
    expect(tracks.some((t) => t.args!.name === 'thread')).toBe(true);
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    expect(slices.some((e) => e.name === 'running' && e.dur! > 0 && typeof e.args!.thread === 'number')).toBe(true);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0].type).toBe('start');
    const summary = lines.pop()!;
    expect(summary.type).toBe('summary');
    expect(summary.lost).toBe(0);
    expect(summary.goroutines as number).toBeGreaterThan(5);
    const transitions = lines.filter((l) => l.type === 'transition');
    expect(transitions.length).toBe(summary.transitions);
    expect(summary.records).toBe((summary.transitions as number) + (summary.unattributed as number));
    expect(transitions.some((t) => t.from === 'runnable' && t.to === 'running' && (t.goid as number) > 0)).toBe(true);
    expect([...readdirSync(tmpdir())].filter((f) => !before.has(f) && /goroutines/.test(f))).toEqual([]);
  });

  it("--json keeps the traced command's stdout out of the JSON stream; functions and wait reasons in JSON and in the trace", () => {
    const traceFile = join(tmpdir(), `goroutines-fields-${process.pid}.json`);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'examples/goroutines.ts',
        '--json',
        '--trace-out',
        traceFile,
        '--',
        join(FIXTURES, 'workload-pie-stripped'),
        '-waves',
        '1',
        '-n',
        '2',
        '-wait=false',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const workers = [...r.stderr.matchAll(/^goid (\d+) main\.worker$/gm)].map((m) => Number(m[1]));
    expect(workers.length).toBe(2);
    // The go statement's line, from the fixture's source.
    const goLine =
      readFileSync(join(FIXTURES, 'workload.go'), 'utf8')
        .split('\n')
        .findIndex((l) => l.trim() === 'go worker()') + 1;
    const site = new RegExp(`(^|/)workload\\.go:${goLine}$`);
    for (const goid of workers) {
      expect(
        lines.some(
          (l) =>
            l.goid === goid &&
            l.function === 'main.worker' &&
            l.createdBy === 'main.main' &&
            site.test(String(l.createdAt)) &&
            l.waitReason === 'chan receive',
        ),
      ).toBe(true);
    }
    const summary = lines[lines.length - 1] as { byFunction: Record<string, { goroutines: number; waitReasons: Record<string, number> }> };
    expect(summary.byFunction['main.worker'].goroutines).toBe(2);
    expect(summary.byFunction['main.worker'].waitReasons['chan receive']).toBeGreaterThan(0);
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as {
      traceEvents: { ph: string; name: string; tid?: number; args?: Record<string, unknown> }[];
    };
    rmSync(traceFile);
    for (const goid of workers) {
      expect(trace.traceEvents.some((e) => e.ph === 'M' && e.tid === goid && e.args!.name === `goroutine ${goid} main.worker`)).toBe(true);
      expect(
        trace.traceEvents.some(
          (e) =>
            e.ph === 'X' &&
            e.tid === goid &&
            e.args!.waitReason === 'chan receive' &&
            e.args!.startFunction === 'main.worker' &&
            e.args!.createdBy === 'main.main' &&
            site.test(String(e.args!.createdAt)),
        ),
      ).toBe(true);
    }
  });

  it('SIGINT to the process group of npm run demo: the summary, with its lost count, and nothing attached', async () => {
    const r = await traceUntil(
      ['npm', 'run', '--silent', 'demo', '--', '--json', '--quiet', '--ring-size', '4096', '--', ...LOOPING],
      (pgid) => {
        process.kill(-pgid, 'SIGINT');
      },
    );
    expectCompleteSummary(r, 'SIGINT');
  });

  it('SIGTERM to npm run demo alone: the summary, and nothing attached', async () => {
    const r = await traceUntil(['npm', 'run', '--silent', 'demo', '--', '--json', '--quiet', '--', ...LOOPING], (pgid) => {
      process.kill(pgid, 'SIGTERM');
    });
    expectCompleteSummary(r, 'SIGTERM');
    expect(r.code).toBe(0);
  });

  // tsx relays SIGINT to its child, waits 30 ms for the child's event loop to say it has a
  // handler, then 30 ms more, then sends SIGKILL (node_modules/tsx, relaySignalToChild). On a
  // machine loaded far past its cores the child can miss that window through no fault of its
  // own (a CI run on 2026-12-07 missed it twice in a row; alone, and beside two busy loops, it
  // passed every time); two retries tell that from a tracer that never answers.
  it('SIGINT to the process group of npx tsx: the summary, and nothing attached', { retry: 2 }, async () => {
    const r = await traceUntil(['npx', 'tsx', 'examples/goroutines.ts', '--json', '--quiet', '--', ...LOOPING], (pgid) => {
      process.kill(-pgid, 'SIGINT');
    });
    expectCompleteSummary(r, 'SIGINT');
  });

  it('--pid ends by itself when the target is killed', async () => {
    const target = spawn(LOOPING[0], LOOPING.slice(1), { stdio: 'ignore' });
    try {
      const r = await traceUntil(
        [process.execPath, '--import', 'tsx', 'examples/goroutines.ts', '--pid', String(target.pid), '--json', '--quiet'],
        () => {
          target.kill('SIGKILL');
        },
      );
      expectCompleteSummary(r, 'exit');
      expect(r.code).toBe(0);
    } finally {
      target.kill('SIGKILL');
    }
  });
});
