// BPF tokens: created from a bpffs mounted with delegation options. This test runs in the initial
// user namespace, where the kernel refuses tokens by design; it proves both refusals say why.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfToken, TokenError } from '../src/token/index.js';
import { check } from '../src/syscall/errors.js';
import { closeFd, NativeMemory, syscall3Raw } from '../src/syscall/index.js';
import { syscall5Raw } from '../src/syscall/libc.js';
import { isRoot, need } from './support/env.js';
import './support/leaks.js';

const canRun = need(isRoot, 'mounting bpffs needs root');

function withBpffs<T>(options: string | undefined, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-token-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir, ...(options ? ['-o', options] : [])]);
  try {
    return fn(dir);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function tokenError(dir: string): TokenError {
  try {
    BpfToken.create(dir).close();
  } catch (e) {
    return e as TokenError;
  }
  throw new Error('BPF_TOKEN_CREATE succeeded in the initial user namespace');
}

describe.runIf(canRun)('BPF tokens', () => {
  it('a bpffs without delegation options gives no token; 6.18 checks the namespace first (EOPNOTSUPP), older 6.x kernels the options (ENOENT)', () => {
    const e = withBpffs(undefined, tokenError);
    expect(e).toBeInstanceOf(TokenError);
    expect(['EOPNOTSUPP', 'ENOENT']).toContain(e.code);
    expect(e.message).toMatch(e.code === 'ENOENT' ? /mounted without delegation.*delegate_cmds/ : /refused in the initial user namespace/);
  });

  it('with delegation, the initial user namespace is refused: EOPNOTSUPP, and the error says to create it in the owning namespace', () => {
    const mounted = execFileSync('sh', ['-c', 'cat /proc/filesystems'], { encoding: 'utf8' });
    expect(mounted).toMatch(/\bbpf\b/);
    const e = withBpffs('delegate_cmds=any,delegate_maps=any,delegate_progs=any,delegate_attachs=any', (dir) => {
      // The kernel kept the options (6.9+ shows them in the mount table).
      expect(execFileSync('sh', ['-c', `grep ' ${dir} ' /proc/self/mounts`], { encoding: 'utf8' })).toMatch(/delegate_cmds=any/);
      return tokenError(dir);
    });
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.message).toMatch(/refused in the initial user namespace/);
  });

  it('a directory that is not a bpffs is refused', () => {
    const e = tokenError(tmpdir());
    expect(e).toBeInstanceOf(TokenError);
    expect(['EINVAL', 'ENOENT', 'EBADF']).toContain(e.code);
  });
});

describe.runIf(canRun && need(hasUnshare(), 'unshare (util-linux) for a user namespace'))('a BPF token in a user namespace', () => {
  it('the namespace gets map create, BTF load and program load through the token, and none of them without it', async () => {
    const child = spawn(
      'unshare',
      ['--user', '--mount', '--map-root-user', process.execPath, '--import', 'tsx', join(import.meta.dirname, 'fixtures/token-child.ts')],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    try {
      while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 50));
      const { fsFd } = JSON.parse(out.split('\n')[0]) as { fsFd: number };
      expect(fsFd).toBeGreaterThan(0); // bpffs can be opened in a user namespace (6.9+)
      // The privileged side: take the context, delegate everything, create the instance.
      const str = new NativeMemory(4096);
      const at = (offset: number, text: string): number => {
        str.buffer.write(`${text}\0`, offset, 'utf8');
        return str.address + offset;
      };
      const pidfd = check('pidfd_open', syscall3Raw(434, child.pid!, 0, 0));
      const fd = check('pidfd_getfd', syscall3Raw(438, pidfd, fsFd, 0));
      for (const [i, key] of ['delegate_cmds', 'delegate_maps', 'delegate_progs', 'delegate_attachs'].entries()) {
        check('fsconfig', syscall5Raw(431, fd, 1 /* FSCONFIG_SET_STRING */, at(i * 64, key), at(1024 + i * 64, 'any'), 0));
      }
      check('fsconfig', syscall5Raw(431, fd, 6 /* FSCONFIG_CMD_CREATE */, 0, 0, 0));
      for (const f of [fd, pidfd]) closeFd(f);
      str.free();
      child.stdin!.end('mount it\n');
      expect(await exited).toBe(0);
      const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
      expect(result).toEqual({
        mapWithout: 'EPERM',
        btfWithout: 'errno 1',
        progWithout: 'EPERM',
        token: 'ok',
        map: 'ok',
        btf: 'ok',
        prog: 'ok',
      });
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});

function hasUnshare(): boolean {
  try {
    execFileSync('unshare', ['--user', '--mount', '--map-root-user', 'true']);
    return true;
  } catch {
    return false;
  }
}
