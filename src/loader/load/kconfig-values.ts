// Values of `.kconfig` externs from the running kernel: LINUX_KERNEL_VERSION from the release
// (Ubuntu's /proc/version_signature when present, since its uname hides the upstream sublevel),
// CONFIG_* from /proc/config.gz (or /boot/config-<release>).
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Btf } from '../../btf/index.js';
import { LoaderError } from '../../errors/index.js';
import type { KconfigExtern } from '../spec/types.js';
import { hasBpfCookie, hasSyscallWrapper } from './kernel-probes.js';

let config: Map<string, string> | undefined;

function kernelConfig(): Map<string, string> {
  if (config) return config;
  let text = '';
  if (existsSync('/proc/config.gz')) text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  else if (existsSync(`/boot/config-${release()}`)) text = readFileSync(`/boot/config-${release()}`, 'utf8');
  config = new Map();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) config.set(m[1], m[2]);
  }
  return config;
}

/** KERNEL_VERSION(a, b, c) of the running kernel, the sublevel capped at 255 as the kernel does. */
export function linuxKernelVersion(): number {
  let text = release();
  try {
    const signature = readFileSync('/proc/version_signature', 'utf8').trim().split(/\s+/);
    if (signature.length >= 3) text = signature[2];
  } catch {
    // Not Ubuntu.
  }
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new LoaderError(`cannot read a kernel version from "${text}"`);
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

/** The `.kconfig` map's value with every extern filled in. */
export function kconfigValue(externs: readonly KconfigExtern[], size: number, btf: Btf, object: string): Uint8Array {
  const out = Buffer.alloc(size);
  for (const e of externs) {
    const t = btf.resolve(e.typeId);
    let raw: string | undefined;
    if (e.name === 'LINUX_KERNEL_VERSION') raw = String(linuxKernelVersion());
    else if (e.name === 'LINUX_HAS_BPF_COOKIE') raw = hasBpfCookie() ? 'y' : 'n';
    else if (e.name === 'LINUX_HAS_SYSCALL_WRAPPER') raw = hasSyscallWrapper() ? 'y' : 'n';
    else if (e.name.startsWith('CONFIG_')) raw = kernelConfig().get(e.name);
    // libbpf refuses any other name, __weak or not: only CONFIG_* options may be missing.
    else
      throw new LoaderError(`unknown .kconfig extern ${e.name}`, {
        file: object,
        section: '.kconfig',
        symbol: e.name,
        hint: 'known: LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER and CONFIG_* (a __weak CONFIG_* the kernel lacks reads 0)',
      });
    if (raw === undefined) {
      if (e.weak) continue;
      throw new LoaderError(`the running kernel's configuration has no ${e.name}`, {
        file: object,
        section: '.kconfig',
        symbol: e.name,
        hint: 'declare it __weak to read 0 when it is unset',
      });
    }
    if (t.kind === 'array') {
      const s = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
      out.write(s.slice(0, e.size - 1), e.offset, 'utf8');
      continue;
    }
    let value: bigint;
    if (raw === 'y') value = 1n;
    else if (raw === 'm') value = 2n;
    else if (raw === 'n') value = 0n;
    else if (/^-?(0x[0-9a-fA-F]+|\d+)$/.test(raw)) value = raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw);
    else
      throw new LoaderError(`${e.name}=${raw} does not fit a ${e.size}-byte number`, { file: object, section: '.kconfig', symbol: e.name });
    let x = BigInt.asUintN(e.size * 8, value);
    for (let i = 0; i < e.size; i++) {
      out[e.offset + i] = Number(x & 0xffn);
      x >>= 8n;
    }
  }
  return out;
}
