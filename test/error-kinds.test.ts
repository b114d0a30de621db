// Every kind of MapError, ProgramError and LinkError that the running kernel can be made to
// produce, each provoked for real: the class, the stable code, the kind, and (for refusals by the
// kernel) the errno the kernel gave, read through the cause chain with errnoOf. The errnos
// expected are the kernel's own answers for these commands (kernel/bpf/syscall.c, ringbuf.c,
// net/core/filter.c), not this library's.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0 } from '../src/asm/registers.js';
import { u32, u64 } from '../src/codec/index.js';
import { errnoOf, findCause, isNotSupported, NotSupportedError, SyscallError } from '../src/errors/index.js';
import {
  attachCgroup,
  attachKprobe,
  attachSocketFilter,
  attachTracepoint,
  attachUprobe,
  attachXdp,
  Link,
  LinkError,
  type LinkErrorKind,
} from '../src/links/index.js';
import { BpfMap, MapError, openTypedMap, possibleCpus, XskMap, type MapErrorKind } from '../src/maps/index.js';
import { DeviceError } from '../src/netlink/devices.js';
import { Program, ProgramError, type ProgramErrorKind } from '../src/programs/index.js';
import { SymbolNotFoundError } from '../src/symbols/index.js';
import { AttachType, MapFlags, UpdateFlags } from '../src/uapi/bpf.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import './support/leaks.js';

/** What `fn` threw (fails the test when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** `fn` throws a MapError of `kind` whose cause is the kernel's `errno` (undefined: no kernel refusal under it). */
function mapFails(fn: () => unknown, kind: MapErrorKind, errno?: string): MapError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(MapError);
  expect(e).toMatchObject({ code: 'ERR_MAP', kind });
  expect(errnoOf(e)).toBe(errno);
  if (errno) expect((e as MapError).cause).toBeInstanceOf(SyscallError);
  return e as MapError;
}

function programFails(fn: () => unknown, kind: ProgramErrorKind, errno?: string): ProgramError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(ProgramError);
  expect(e).toMatchObject({ code: 'ERR_PROGRAM', kind });
  expect(errnoOf(e)).toBe(errno);
  return e as ProgramError;
}

function linkFails(fn: () => unknown, kind: LinkErrorKind, errno?: string): LinkError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(LinkError);
  expect(e).toMatchObject({ code: 'ERR_LINK', kind });
  expect(errnoOf(e)).toBe(errno);
  return e as LinkError;
}

const returns = (v: number): ProgramBuilder => new ProgramBuilder().mov64Imm(R0, v).exit();

/** What a caller's switch over the kinds looks like: exhaustive, so a new kind fails to compile here. */
function advice(e: LinkError): string {
  switch (e.kind) {
    case 'attach':
      return isNotSupported(e) ? 'the kernel lacks it' : `the kernel refused: ${errnoOf(e)}`;
    case 'options':
    case 'program':
    case 'target':
      return 'fix the call';
    case 'tracefs':
      return 'mount tracefs';
    case 'closed':
      return 'use an open link';
    case 'update':
    case 'pin':
    case 'detach':
    case 'info':
    case 'read':
      return `the kernel refused: ${errnoOf(e)}`;
    default: {
      const never: never = e.kind;
      return never;
    }
  }
}

describe.runIf(need(isRoot, 'error kinds are provoked on the real kernel, which needs root'))('error kinds', () => {
  it('MapError: every kind a live map, a spec or an input can produce', () => {
    const m = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 2, name: 'kinds' }));
    m.update(1, 1);
    m.update(2, 2);
    // A full hash: E2BIG; NOEXIST on a present key: EEXIST.
    expect(mapFails(() => m.update(3, 3), 'update', 'E2BIG').message).toMatch(
      /map "kinds": update failed: BPF_MAP_UPDATE_ELEM failed: E2BIG.*the map is full/,
    );
    mapFails(() => m.update(1, 1, UpdateFlags.NOEXIST), 'update', 'EEXIST');
    mapFails(() => m.update(9, 1, UpdateFlags.EXIST), 'update', 'ENOENT');

    // Access flags: user space may not read a WRONLY map nor write an RDONLY one (EPERM).
    const writeOnly = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlags.WRONLY }));
    writeOnly.update(1, 1);
    mapFails(() => writeOnly.lookup(1), 'lookup', 'EPERM');
    mapFails(() => writeOnly.nextKey(), 'next-key', 'EPERM');
    const readOnly = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlags.RDONLY }));
    mapFails(() => readOnly.delete(1), 'delete', 'EPERM');
    mapFails(() => readOnly.updateBatch([[1, 1]]), 'batch', 'EPERM');

    // Frozen twice: a frozen map is no longer writable from user space, which map_freeze checks
    // first (EPERM), before its own "already frozen" (EBUSY).
    const frozen = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }));
    frozen.freeze();
    mapFails(() => frozen.freeze(), 'freeze', 'EPERM');
    mapFails(() => frozen.update(0, 1), 'update', 'EPERM');

    // Pins: outside bpffs (EPERM), into a directory that does not exist (ENOENT).
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-kinds-'));
    try {
      expect(mapFails(() => m.pin(join(dir, 'm')), 'pin', 'EPERM').message).toMatch(/is not on a BPF file system/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    mapFails(() => m.pin(`/sys/fs/bpf/no-such-dir-${process.pid}/m`), 'pin', 'ENOENT');

    // A ring buffer has no keys: the kernel refuses key iteration with ENOTSUPP (524, kernel-internal).
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096 }));
    mapFails(() => ring.nextKey(), 'next-key', 'ENOTSUPP');

    // Refused before the kernel is asked.
    mapFails(() => m.lookupPerCpu(1), 'operation');
    mapFails(() => m.push(1), 'operation');
    mapFails(() => m.lookupInto(1, Buffer.alloc(2)), 'value-size');
    mapFails(() => BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 1 }, { value: u64 }), 'value-size');
    mapFails(() => BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u64 }), 'key-size');
    const perCpu = track(BpfMap.create({ type: 'PERCPU_ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }, { key: u32, value: u32 }));
    mapFails(() => perCpu.updatePerCpu(0, new Array<number>(possibleCpus() + 1).fill(0)), 'value-count');
    // @ts-expect-error: an unknown type name, as from untyped callers
    mapFails(() => BpfMap.create({ type: 'NO_SUCH_TYPE', keySize: 4, valueSize: 4, maxEntries: 1 }), 'spec');
    mapFails(() => BpfMap.create({ type: 'HASH', valueSize: 4, maxEntries: 1 }), 'spec');
    mapFails(() => BpfMap.create({ type: 'ARRAY_OF_MAPS', maxEntries: 1 }), 'spec');
    mapFails(() => openTypedMap(m.info().id), 'btf');
    const xsks = track(new XskMap({ maxEntries: 2 }));
    mapFails(() => xsks.set(2, { fd: 0 }), 'key-range');

    // Closed: no kernel refusal under it, the fd is never used.
    const closed = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 });
    closed.close();
    mapFails(() => closed.lookup(0), 'closed');
    mapFails(() => closed.fd, 'closed');
  });

  it('ProgramError: test run, pin, closed and bad specs', () => {
    const prog = track(Program.load({ type: 'SOCKET_FILTER', instructions: returns(0).build(), name: 'kinds' }));
    // A socket filter's test run needs at least an Ethernet header (ETH_HLEN, 14 bytes): EINVAL.
    programFails(() => prog.testRun({ data: Buffer.alloc(4) }), 'test-run', 'EINVAL');
    expect(prog.testRun({ data: Buffer.alloc(64) }).retval).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-kinds-'));
    try {
      programFails(() => prog.pin(join(dir, 'p')), 'pin', 'EPERM');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // @ts-expect-error: an unknown type name
    programFails(() => Program.load({ type: 'NO_SUCH_TYPE', instructions: returns(0).build() }), 'spec');
    programFails(() => Program.load({ type: 'SOCKET_FILTER', instructions: new Uint8Array(12) }), 'spec');
    programFails(
      () =>
        Program.load({ type: 'SOCKET_FILTER', instructions: new ProgramBuilder().ldMapFd(R0, 'absent').mov64Imm(R0, 0).exit().build() }),
      'map-reference',
    );
    const closed = Program.load({ type: 'SOCKET_FILTER', instructions: returns(0).build(), name: 'closed' });
    closed.close();
    programFails(() => closed.fd, 'closed');
    programFails(() => closed.testRun({ data: Buffer.alloc(64) }), 'closed');
  });

  it("LinkError: every attach wraps the kernel's refusal as kind attach; a live link's update, pin and detach", () => {
    const filter = track(Program.load({ type: 'SOCKET_FILTER', instructions: returns(0).build(), name: 'kinds_sf' }));
    // A socket filter on a raw tracepoint or a cgroup hook: the kernel refuses the program (EINVAL).
    linkFails(() => Link.rawTracepoint(filter, 'sys_enter'), 'attach', 'EINVAL');
    linkFails(() => attachCgroup(filter, '/sys/fs/cgroup', AttachType.CGROUP_INET_INGRESS), 'attach', 'EINVAL');
    // A tracepoint that does not exist, a function not in the binary, a device that does not exist.
    linkFails(() => attachTracepoint(filter, 'syscalls', 'sys_enter_no_such_call'), 'target');
    const noSymbol = linkFails(() => attachUprobe(filter, process.execPath, { symbol: 'no_such_function_here' }), 'target');
    expect(noSymbol.cause).toBeInstanceOf(SymbolNotFoundError);
    const xdp = track(Program.load({ type: 'XDP', instructions: returns(2).build(), name: 'kinds_xdp' }));
    // The device lookup (RTM_GETLINK) answers ENODEV.
    linkFails(() => attachXdp(xdp, 'nosuchdev0'), 'target', 'ENODEV');
    const badName = linkFails(() => attachXdp(xdp, 'no/such:dev'), 'options');
    expect(badName.cause).toBeInstanceOf(DeviceError);
    // Refused before the kernel is asked.
    linkFails(() => attachXdp(filter, 'lo'), 'program');
    // A closed program is the program's own error, whichever attach is given it.
    const closedProgram = Program.load({ type: 'SOCKET_FILTER', instructions: returns(0).build(), name: 'kinds_closed' });
    closedProgram.close();
    programFails(() => Link.rawTracepoint(closedProgram, 'sys_enter'), 'closed');
    programFails(() => attachSocketFilter(closedProgram, 0), 'closed');
    programFails(() => attachCgroup(closedProgram, '/sys/fs/cgroup', AttachType.CGROUP_INET_INGRESS), 'closed');
    // @ts-expect-error: a mode the type does not allow
    linkFails(() => attachXdp(xdp, 'lo', { mode: 'driver' }), 'options');

    // kprobes: this project's kernel has no kprobe PMU (NotSupportedError under the LinkError); a
    // kernel with one refuses a function that does not exist (ENOENT or EINVAL from perf_event_open).
    const kprobe = track(Program.load({ type: 'KPROBE', instructions: returns(0).build(), name: 'kinds_kp' }));
    const missing = thrown(() => attachKprobe(kprobe, 'no_such_kernel_function_xyz'));
    expect(missing).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
    if (existsSync('/sys/bus/event_source/devices/kprobe')) {
      expect(['ENOENT', 'EINVAL']).toContain(errnoOf(missing));
    } else {
      expect(isNotSupported(missing)).toBe(true);
      expect(findCause(missing, NotSupportedError)).toMatchObject({ feature: 'kprobe PMU', minimumKernel: '4.17' });
    }
    expect(advice(missing as LinkError)).toMatch(/the kernel/);

    // A live raw tracepoint link: update to a program of another type (EINVAL), pin outside bpffs
    // (EPERM), detach (raw tracepoint links have none: EOPNOTSUPP), and closed.
    const raw = track(Program.load({ type: 'RAW_TRACEPOINT', instructions: returns(0).build(), name: 'kinds_raw' }));
    const link = Link.rawTracepoint(raw, 'sys_enter');
    try {
      linkFails(() => link.update(filter), 'update', 'EINVAL');
      const dir = mkdtempSync(join(tmpdir(), 'ebpf-kinds-'));
      try {
        linkFails(() => link.pin(join(dir, 'l')), 'pin', 'EPERM');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      linkFails(() => link.detach(), 'detach', 'EOPNOTSUPP');
    } finally {
      link.close();
    }
    linkFails(() => link.fd, 'closed');
  });
});
