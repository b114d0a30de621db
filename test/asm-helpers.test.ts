// The helper table against the running kernel's own list: enum bpf_func_id in its BTF, printed by
// bpftool.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Helper, helperByName, helperName } from '../src/asm/index.js';
import { hasCommand, need } from './support/env.js';

describe.runIf(
  need(hasCommand('bpftool') && existsSync('/sys/kernel/btf/vmlinux'), 'bpftool and kernel BTF are needed to check the helper list'),
)('helper table', () => {
  it('names and numbers every helper the running kernel has', () => {
    const c = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const kernel = new Map([...c.matchAll(/\bBPF_FUNC_(\w+) = (\d+),/g)].map((m) => [m[1], Number(m[2])]));
    expect(kernel.size).toBeGreaterThan(200);
    for (const [name, id] of kernel) {
      expect(`${name}=${(Helper as Record<string, number>)[name]}`).toBe(`${name}=${id}`);
      expect(helperName(id)).toBe(name);
      expect(helperByName(`bpf_${name}`)).toBe(id);
    }
  });
});
