import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isRoot, need } from './support/env.js';

describe.runIf(need(isRoot, 'needs root to create BPF objects'))('objects never closed', () => {
  it('are closed by the garbage collector, with one warning', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/forget-to-close.ts'], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      before: number;
      during: number;
      after: number;
      cleaned: number;
      warnings: string[];
    };
    expect(r.during - r.before).toBe(40);
    expect(r.after).toBe(r.before);
    expect(r.cleaned).toBe(40);
    expect(r.warnings.length).toBe(1);
    expect(r.warnings[0]).toMatch(/EBPF_UNCLOSED: (map|program) "forgotten\d+" was garbage-collected without close\(\)/);
  });

  it('mappings of the kernel BTF are unmapped once nothing refers to their bytes', () => {
    need(existsSync('/sys/kernel/btf/vmlinux'), 'the kernel has no BTF');
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/kernel-btf-mappings.ts'], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { before: number; during: number; after: number; same: boolean };
    expect(r.same).toBe(true);
    expect(r.during - r.before).toBe(30);
    expect(r.after).toBe(r.before);
  });
});
