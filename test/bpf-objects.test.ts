// The BPF objects committed in bpf/ are what their C sources compile to: tests load the committed
// objects (so they never need clang), and this check keeps them honest.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasCommand, need } from './support/env.js';

describe('bpf/ objects', () => {
  it('match what their sources compile to (make -C bpf check)', () => {
    if (!need(hasCommand('clang') && hasCommand('llvm-objdump'), 'clang and llvm-objdump (Debian clang, llvm) rebuild bpf/')) return;
    const out = execFileSync('make', ['-s', '-C', 'bpf', 'check'], { encoding: 'utf8' });
    expect(out).toContain('committed objects match their sources');
  }, 300_000);
});
