import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** bpftool's JSON view of an object: an oracle independent of this library. */
export function bpftool<T = Record<string, unknown>>(...args: string[]): T {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' })) as T;
}

/** Makes sure a bpffs is mounted at /sys/fs/bpf (pins need one). */
export function ensureBpffs(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (!/ \/sys\/fs\/bpf bpf /.test(mounts)) {
    if (!existsSync('/sys/fs/bpf')) throw new Error('/sys/fs/bpf does not exist');
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
  return '/sys/fs/bpf';
}
