// The kprobe family. This kernel has no kprobes and no fprobe, so every attachment is tested to
// where the kernel refuses it (a LinkNotSupportedError naming the feature and its kernel); the
// pure parts (glob matching, syscall names, tracefs probe lines) are tested fully, against
// /proc/kallsyms read independently.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0 } from '../src/asm/registers.js';
import { Program } from '../src/programs/index.js';
import {
  attachKprobeAuto,
  attachKprobeMulti,
  attachKsyscall,
  globToRegExp,
  kernelFunctionsMatching,
  kprobeEventLine,
  LinkError,
  LinkNotSupportedError,
  matchKernelFunctions,
  syscallFunctionName,
} from '../src/links/index.js';
import { linuxHasSyscallWrapper } from '../src/kernel/syscall-wrapper.js';
import { AttachType } from '../src/uapi/bpf.js';
import { findCause, isNotSupported, NotSupportedError } from '../src/errors/index.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import './support/leaks.js';

const canRun = need(isRoot, 'loading kprobe programs needs root');
const hasKprobes = existsSync('/sys/bus/event_source/devices/kprobe');
const KALLSYMS = readFileSync('/proc/kallsyms', 'utf8');

function kprobeProgram(expectedAttachType?: number): Program {
  return Program.load({
    type: 'KPROBE',
    instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
    name: 'kprobe_test',
    expectedAttachType,
  });
}

describe('kernel function patterns', () => {
  it('globs match whole names, * any run and ? one character, other characters literally', () => {
    expect(globToRegExp('vfs_*').test('vfs_read')).toBe(true);
    expect(globToRegExp('vfs_*').test('do_vfs_read')).toBe(false);
    expect(globToRegExp('vfs_rea?').test('vfs_read')).toBe(true);
    expect(globToRegExp('vfs_rea?').test('vfs_readv')).toBe(false);
    expect(globToRegExp('a.b+c').test('a.b+c')).toBe(true);
    expect(globToRegExp('a.b+c').test('aXb+c')).toBe(false);
    expect(() => globToRegExp('')).toThrow(/empty kprobe pattern/);
  });

  it('matches text symbols of kallsyms and lines of available_filter_functions, once each, without clones', () => {
    const kallsyms = [
      'ffffffff81000000 T vfs_read',
      'ffffffff81000010 t vfs_readv',
      'ffffffff81000020 D vfs_readable_data',
      'ffffffff81000030 t vfs_read.cold',
      'ffffffff81000040 T __pfx_vfs_read',
      'ffffffff81000050 t vfs_readv',
      'ffffffff81000060 W vfs_read_weak [mod]',
    ].join('\n');
    expect(matchKernelFunctions('vfs_read*', kallsyms, 'kallsyms')).toEqual(['vfs_read', 'vfs_readv', 'vfs_read_weak']);
    expect(
      matchKernelFunctions('tcp_*', 'tcp_v4_connect\ntcp_sendmsg [some_module]\nudp_sendmsg\ntcp_close.isra.0\n', 'filter-functions'),
    ).toEqual(['tcp_v4_connect', 'tcp_sendmsg']);
  });

  it("finds the running kernel's functions as a grep of /proc/kallsyms does", () => {
    const ours = kernelFunctionsMatching('vfs_re*').sort();
    const grep = [
      ...new Set(
        KALLSYMS.split('\n')
          .map((l) => l.split(' '))
          .filter((f) => /^[tTwW]$/.test(f[1] ?? '') && /^vfs_re/.test(f[2] ?? '') && !f[2].includes('.'))
          .map((f) => f[2]),
      ),
    ].sort();
    expect(ours).toEqual(grep);
    expect(ours).toContain('vfs_read');
  });
});

describe('syscall entry names', () => {
  it('use the arch wrapper when the kernel has one (LINUX_HAS_SYSCALL_WRAPPER), the bare name otherwise', () => {
    expect(syscallFunctionName('openat', { wrapper: true, arch: 'x64' })).toBe('__x64_sys_openat');
    expect(syscallFunctionName('openat', { wrapper: true, arch: 'arm64' })).toBe('__arm64_sys_openat');
    expect(syscallFunctionName('openat', { wrapper: true, arch: 's390x' })).toBe('__s390x_sys_openat');
    expect(syscallFunctionName('openat', { wrapper: false })).toBe('sys_openat');
    expect(() => syscallFunctionName('open at')).toThrow(/not a syscall name/);
    expect(() => syscallFunctionName('openat', { wrapper: true, arch: 'mips' })).toThrow(
      /no known syscall wrapper prefix for architecture mips/,
    );
  });

  it('detect the wrapper from kallsyms: this x86-64 kernel has __x64_sys_openat', () => {
    const wrapped = / T __x64_sys_openat$/m.test(KALLSYMS);
    expect(linuxHasSyscallWrapper()).toBe(wrapped);
    expect(linuxHasSyscallWrapper('ffffffff81000000 T __x64_sys_bpf\n')).toBe(process.arch === 'x64');
    expect(linuxHasSyscallWrapper('ffffffff81000000 T sys_bpf\n')).toBe(false);
    if (process.arch === 'x64') {
      expect(wrapped).toBe(true);
      expect(syscallFunctionName('openat')).toBe('__x64_sys_openat');
    }
  });
});

describe('tracefs kprobe_events lines', () => {
  it("write probes, return probes with maxactive and offsets as the kernel's kprobetrace format wants", () => {
    expect(kprobeEventLine('ebpf/e1', 'vfs_read')).toBe('p:ebpf/e1 vfs_read');
    expect(kprobeEventLine('ebpf/e1', 'vfs_read', { offset: 4 })).toBe('p:ebpf/e1 vfs_read+4');
    expect(kprobeEventLine('ebpf/e2', 'vfs_read', { ret: true })).toBe('r:ebpf/e2 vfs_read');
    expect(kprobeEventLine('ebpf/e2', 'vfs_read', { ret: true, maxActive: 64 })).toBe('r64:ebpf/e2 vfs_read');
    expect(() => kprobeEventLine('ebpf/e3', 'vfs_read', { maxActive: 8 })).toThrow(/only kretprobes take it/);
    expect(() => kprobeEventLine('ebpf/e3', 'vfs_read', { ret: true, maxActive: 0 })).toThrow(/from 1 to 4096/);
    expect(() => kprobeEventLine('ebpf/e3', 'vfs_read; rm -rf /')).toThrow(/not a kernel symbol name/);
  });
});

describe.runIf(canRun)('attaching on a kernel without kprobes and fprobe', () => {
  it('kprobe.multi, kretprobe.multi and kprobe.session load, and the link is refused with LinkNotSupportedError', () => {
    const multi = track(kprobeProgram(AttachType.TRACE_KPROBE_MULTI));
    const session = track(kprobeProgram(AttachType.TRACE_KPROBE_SESSION));
    const cases: [Program, Parameters<typeof attachKprobeMulti>[1], string, string][] = [
      [multi, { symbols: ['vfs_read', 'vfs_write'], cookies: [1n, 2n] }, 'kprobe.multi', '5.18'],
      [multi, { pattern: 'vfs_rea*', ret: true }, 'kretprobe.multi', '5.18'],
      [multi, { addresses: [BigInt(`0x${/^([0-9a-f]+) T vfs_read$/m.exec(KALLSYMS)![1]}`)] }, 'kprobe.multi', '5.18'],
      [session, { symbols: ['vfs_read'], session: true }, 'kprobe.session', '6.10'],
    ];
    for (const [prog, options, feature, minKernel] of cases) {
      let err: unknown;
      try {
        track(attachKprobeMulti(prog, options));
      } catch (e) {
        err = e;
      }
      if (err === undefined) {
        // A kernel with fprobe attaches: then it is this one no more, and the test says so.
        expect(hasKprobes, 'a kernel that attaches kprobe_multi has kprobes').toBe(true);
        continue;
      }
      // Every attach function throws LinkError kind 'attach'; the missing feature is its cause.
      expect(err).toBeInstanceOf(LinkError);
      expect(err).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
      expect(isNotSupported(err)).toBe(true);
      const e = findCause(err, LinkNotSupportedError)!;
      expect(e).toBeInstanceOf(LinkNotSupportedError);
      expect([e.feature, e.minKernel, e.code]).toEqual([feature, minKernel, 'ERR_NOT_SUPPORTED']);
      expect(e.message).toMatch(
        new RegExp(
          `${feature.replace('.', '\\.')} is not supported by this kernel \\(it came in Linux ${minKernel}\\).*EOPNOTSUPP.*CONFIG_FPROBE`,
        ),
      );
      expect((e.cause as { code?: string }).code).toBe('EOPNOTSUPP');
    }
  });

  it('ksyscall, kretsyscall, kprobes with maxActive: the kernel has neither the kprobe PMU nor kprobe_events', () => {
    if (hasKprobes) return; // Only this kernel's refusal is under test here.
    const prog = track(kprobeProgram());
    for (const [attach, feature] of [
      [() => attachKsyscall(prog, 'openat'), /ksyscall\/openat \(a kprobe on __x64_sys_openat\)/],
      [() => attachKsyscall(prog, 'openat', { ret: true }), /kretsyscall\/openat/],
      [() => attachKprobeAuto(prog, 'vfs_read', { ret: true, maxActive: 16 }), /^kprobe is not supported/],
      [() => attachKprobeAuto(prog, 'vfs_read'), /^kprobe is not supported/],
    ] as const) {
      let err: unknown;
      try {
        attach();
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
      const e = findCause(err, LinkNotSupportedError)!;
      expect(e).toBeInstanceOf(LinkNotSupportedError);
      expect(e.message).toMatch(feature);
      expect(e.message).toMatch(/CONFIG_KPROBES/);
      expect(e.minKernel).toMatch(/^2\.6\.33/);
    }
  });

  it('bad input is refused before the kernel is asked', () => {
    const multi = track(kprobeProgram(AttachType.TRACE_KPROBE_MULTI));
    expect(() => attachKprobeMulti(multi, {})).toThrow(/exactly one of symbols, addresses and pattern/);
    expect(() => attachKprobeMulti(multi, { symbols: ['a'], pattern: 'b*' })).toThrow(/exactly one/);
    expect(() => attachKprobeMulti(multi, { symbols: [] })).toThrow(/no functions given/);
    expect(() => attachKprobeMulti(multi, { pattern: 'no_such_function_anywhere_*' })).toThrow(
      /no traceable kernel function matches "no_such_function_anywhere_\*"/,
    );
    expect(() => attachKprobeMulti(multi, { symbols: ['vfs_read'], cookies: [1n, 2n] })).toThrow(/2 cookies for 1 functions/);
    expect(() => attachKprobeMulti(multi, { symbols: ['vfs_read'], ret: true, session: true })).toThrow(/exclude each other/);
    expect(() => attachKprobeMulti(multi, { symbols: ['vfs_read'], session: true })).toThrow(/kprobe\.session needs 56/);
    const refused = (() => {
      try {
        attachKprobeMulti(multi, { symbols: ['vfs_read'] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(LinkError);
    expect(findCause(refused, NotSupportedError)).toBeInstanceOf(NotSupportedError);
  });
});
