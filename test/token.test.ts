// BPF tokens: created from a bpffs mounted with delegation options. This test runs in the initial
// user namespace, where the kernel refuses tokens by design; it proves both refusals say why.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfToken, TokenError } from '../src/token/index.js';
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
