// The hints of privilege and limit errors, each provoked for real in a child process that runs
// under `setpriv` with exactly the capabilities named (uid 0 kept, so files stay readable; the
// bounding set limits what the exec grants). Each refusal is paired with the same operation
// succeeding once the capability the hint names is added: the hint must name what was missing.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { hasCommand, isRoot, need } from './support/env.js';

interface Outcome {
  ok: boolean;
  command?: string;
  code?: string;
  hint?: string;
  message?: string;
}

/** Runs one case of test/fixtures/hint-cases.ts with exactly `caps` (names without CAP_; 'all' = unchanged). */
function runCase(name: string, caps: string[] | 'all'): Outcome {
  const node = [process.execPath, '--import', 'tsx', 'test/fixtures/hint-cases.ts', name];
  const set = caps === 'all' ? '' : ['-all', ...caps.map((c) => `+${c}`)].join(',');
  const argv = caps === 'all' ? node : ['setpriv', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--', ...node];
  const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as Outcome;
}

describe.runIf(need(isRoot && hasCommand('setpriv'), 'the hint tests need root and setpriv (util-linux)'))('hints under setpriv', () => {
  it('a tracing load with only CAP_BPF says CAP_PERFMON is missing; with CAP_PERFMON it loads and attaches', () => {
    const r = runCase('tracing', ['bpf']);
    expect(r).toMatchObject({ ok: false, command: 'BPF_PROG_LOAD', code: 'EPERM' });
    expect(r.hint).toMatch(/^CAP_PERFMON is missing/);
    expect(r.hint).not.toMatch(/security module/);
    expect(runCase('tracing', ['bpf', 'perfmon'])).toEqual({ ok: true });
  }, 120_000);

  it('a networking load with only CAP_BPF says CAP_NET_ADMIN is missing; with it the program loads', () => {
    const r = runCase('networking', ['bpf']);
    expect(r).toMatchObject({ ok: false, command: 'BPF_PROG_LOAD', code: 'EPERM' });
    expect(r.hint).toMatch(/^CAP_NET_ADMIN is missing/);
    expect(runCase('networking', ['bpf', 'net_admin'])).toEqual({ ok: true });
  }, 120_000);

  it('plain map use without capabilities says CAP_BPF is missing; CAP_BPF alone is enough', () => {
    const r = runCase('map', []);
    expect(r).toMatchObject({ ok: false, command: 'BPF_MAP_CREATE', code: 'EPERM' });
    expect(r.hint).toMatch(/^CAP_BPF is missing/);
    expect(runCase('map', ['bpf'])).toEqual({ ok: true });
  }, 120_000);

  it('perf_event_open EACCES for CPU-wide events names perf_event_paranoid and CAP_PERFMON; CAP_PERFMON fixes it', () => {
    const paranoid = Number(execFileSync('cat', ['/proc/sys/kernel/perf_event_paranoid'], { encoding: 'utf8' }));
    expect(paranoid, 'this test needs perf_event_paranoid > 0 to provoke the refusal').toBeGreaterThan(0);
    const r = runCase('perfbuf', ['bpf']);
    expect(r).toMatchObject({ ok: false, command: 'perf_event_open', code: 'EACCES' });
    expect(r.hint).toContain(`perf_event_paranoid is ${paranoid}`);
    expect(r.hint).toContain('CAP_PERFMON');
    expect(runCase('perfbuf', ['bpf', 'perfmon'])).toEqual({ ok: true });
  }, 120_000);

  it('a uprobe with CAP_BPF + CAP_PERFMON says its perf event needs CAP_SYS_ADMIN; adding it attaches', () => {
    const r = runCase('uprobe', ['bpf', 'perfmon']);
    expect(r).toMatchObject({ ok: false, command: 'perf_event_open', code: 'EACCES' });
    expect(r.hint).toMatch(/uprobe .*needs CAP_SYS_ADMIN/);
    expect(runCase('uprobe', ['bpf', 'perfmon', 'sys_admin'])).toEqual({ ok: true });
  }, 120_000);

  it('pinning outside bpffs says the directory is not on a BPF file system (statfs), not "run as root"', () => {
    const r = runCase('pin', 'all');
    expect(r).toMatchObject({ ok: false, command: 'BPF_OBJ_PIN', code: 'EPERM' });
    expect(r.hint).toMatch(/is not on a BPF file system \(statfs magic 0x[0-9a-f]+, bpffs is 0xcafe4a11\)/);
    expect(r.hint).not.toMatch(/root/);
  }, 120_000);

  it('a full hash map says "the map is full", not a generic E2BIG text', () => {
    const r = runCase('full', 'all');
    expect(r).toMatchObject({ ok: false, command: 'BPF_MAP_UPDATE_ELEM', code: 'E2BIG' });
    expect(r.hint).toMatch(/^the map is full/);
  }, 120_000);
});
