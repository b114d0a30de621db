// .kconfig externs are filled from the running kernel. Oracles: uname -r and /proc/config.gz as
// zcat reads them, not the loader's own readers.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadCollection } from '../src/index.js';
import { isRoot, need } from './support/env.js';

describe.runIf(need(isRoot, 'loading needs root') && existsSync('/proc/config.gz'))('.kconfig externs', () => {
  it('LINUX_KERNEL_VERSION and CONFIG_* reach the program; a __weak unknown option reads 0', () => {
    using c = loadCollection('bpf/kconfig.o');
    expect(c.programs.kconfig_values.testRun({ data: Buffer.alloc(14) }).retval).toBe(2);
    const out = c.maps.kconfig_out;
    const read = (k: number): bigint => {
      const v = out.lookup(Buffer.from([k, 0, 0, 0])) as bigint | Buffer;
      return typeof v === 'bigint' ? v : v.readBigUInt64LE(0);
    };
    const [major, minor, patch] = execFileSync('uname', ['-r'], { encoding: 'utf8' }).split(/[.-]/).map(Number);
    expect(read(0)).toBe(BigInt((major << 16) + (minor << 8) + Math.min(255, patch)));
    const config = execFileSync('sh', ['-c', 'zcat /proc/config.gz'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const option = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(config)?.[1];
    expect(read(1)).toBe(option('CONFIG_BPF_SYSCALL') === 'y' ? 1n : 0n);
    expect(read(2)).toBe(BigInt(option('CONFIG_HZ')!));
    expect(read(3)).toBe(0n);
  });
});
