// Faults survived. A process killed with SIGKILL at random points of its work leaves no kernel
// object behind (the kernel frees what only its fds held; bpftool, not this library, lists what
// remains). Under a file-descriptor limit and a memory cgroup limit, every operation fails with a
// typed error that names the limit, and closing what was made gives every fd back.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleFixture } from './support/bundle.js';
import { hasCommand, isRoot, need } from './support/env.js';

type Listed = { id: number; name?: string };
const bpftool = (kind: 'prog' | 'map'): Listed[] =>
  JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as Listed[];
const ours = (prefix: string): string[] =>
  [...bpftool('prog'), ...bpftool('map')].filter((o) => o.name?.startsWith(prefix)).map((o) => `${o.name}#${o.id}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the victim, waits for its first full cycle, lets it run `delayMs` more, kills it with SIGKILL. */
async function killOne(victim: string, prefix: string, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [victim, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`victim exited (${code}) before its first cycle: ${err}`)));
  });
  await sleep(delayMs);
  child.kill('SIGKILL');
  await exited;
}

const run = isRoot && hasCommand('bpftool');
describe.runIf(need(run, 'fault trials need root and bpftool (Debian bpftool)'))('faults', () => {
  it('100 processes killed with SIGKILL at random points of load, attach and read leave nothing in the kernel', async () => {
    const prefix = `fk${process.pid.toString(36).slice(-3)}`;
    const victim = bundleFixture('test/fixtures/fault-victim.ts');
    for (let trial = 0; trial < 100; trial++) {
      // Cycles take well under a millisecond to a few: a random delay lands anywhere in one.
      await killOne(victim, prefix, Math.floor(Math.random() * 40));
    }
    // The kernel frees objects asynchronously (RCU, deferred work): give it a moment.
    let left = ours(prefix);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await sleep(100);
      left = ours(prefix);
    }
    expect(left).toEqual([]);
  }, 600_000);

  it('under RLIMIT_NOFILE, creating objects fails with EMFILE naming the limit, a load at the limit fails typed, and no fd leaks', () => {
    if (!need(hasCommand('prlimit'), 'prlimit (util-linux) sets the fd limit')) return;
    const out = execFileSync('prlimit', ['--nofile=64:64', process.execPath, bundleFixture('test/fixtures/fault-limits.ts'), 'fds'], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      created: number;
      first: { class: string; code: string; message: string };
      collection: { class: string; code?: string; message: string };
      leakedByLoad: number;
      leaked: number;
    };
    expect(r.created).toBeGreaterThan(10);
    expect(r.created).toBeLessThan(64);
    expect(r.first.class).toBe('SyscallError');
    expect(r.first.code).toBe('EMFILE');
    expect(r.first.message).toMatch(/ulimit -n|RLIMIT_NOFILE/);
    // The collection needs more fds than the three given back: it fails with a typed error
    // whose cause chain holds the EMFILE, and releases every fd it had opened.
    expect(r.collection.class).not.toBe('none');
    expect(r.collection.code).toMatch(/^(EMFILE|ERR_[A-Z_]+)$/);
    expect(r.collection.message).toMatch(/EMFILE/);
    expect(r.leakedByLoad).toBe(0);
    expect(r.leaked).toBe(0);
  }, 120_000);

  it('in a memory cgroup at its limit, creating maps fails with ENOMEM naming the cgroup, and nothing leaks', async () => {
    const root = '/sys/fs/cgroup/memory';
    if (!need(existsSync(`${root}/cgroup.procs`), 'a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory')) return;
    const group = `${root}/ebpf-faults-${process.pid}`;
    mkdirSync(group);
    try {
      const child = spawn(process.execPath, [bundleFixture('test/fixtures/fault-limits.ts'), 'memory'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        }),
      );
      // Charges made before the move stay where they were (cgroup v1): the limit meets only the
      // maps the child creates from here on, 8 MiB each.
      writeFileSync(`${group}/memory.limit_in_bytes`, String(40 << 20));
      writeFileSync(`${group}/cgroup.procs`, String(child.pid));
      child.stdin.write('go\n');
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code, err).toBe(0);
      const r = JSON.parse(out.trim().split('\n').pop()!) as {
        created: number;
        first: { class: string; code: string; message: string };
        leaked: number;
      };
      expect(r.created).toBeGreaterThan(0);
      expect(r.created).toBeLessThan(6);
      expect(r.first.class).toBe('SyscallError');
      expect(r.first.code).toBe('ENOMEM');
      expect(r.first.message).toMatch(/memory cgroup/);
      expect(r.leaked).toBe(0);
    } finally {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(group);
          break;
        } catch {
          await sleep(100);
        }
      }
    }
  }, 120_000);
});
