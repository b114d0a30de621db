// Local storage maps (task, inode, socket, cgroup) made with a public BTF load, and the arena, which
// this kernel refuses: the error must say so. Oracle: bpftool map show (type, BTF id, key/value ids).
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfMap, createStorageMap, MapError, MapType, Program } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R3, R4, Size } from '../src/asm/index.js';
import { u64 } from '../src/codec/index.js';
import { BtfObject } from '../src/objects/index.js';
import { mapType, NotSupportedError, programType } from '../src/features/index.js';
import { closeFd, openPath, syscall3Raw } from '../src/syscall/index.js';
import { libc } from '../src/syscall/libc.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { bpftool } from './support/kernel.js';
import { haveFeature } from './support/features.js';
import { track } from './support/track.js';

const SYS_PIDFD_OPEN = 434;
const O_DIRECTORY = 0o200000;

function cgroup2Root(): string | undefined {
  const line = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[2] === 'cgroup2');
  return line?.split(' ')[1];
}

interface ShownMap {
  type: string | number;
  btf_id?: number;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  flags: number;
}

describe.runIf(need(isRoot && hasCommand('bpftool'), 'storage map tests need root and bpftool'))('local storage maps', () => {
  it.each([
    ['TASK_STORAGE', 'task_storage'],
    ['INODE_STORAGE', 'inode_storage'],
    ['SK_STORAGE', 'sk_storage'],
    ['CGRP_STORAGE', 'cgrp_storage'],
  ] as const)('%s: created with BTF, one value per object keyed by its fd, as bpftool shows it', (type, shownType) => {
    need(
      haveFeature(() => mapType(type)),
      `${type} maps`,
    );
    const map = track(createStorageMap(type, { valueSize: 8, name: `objs_${shownType}`.slice(0, 15) }, { value: u64 }));
    const info = map.info();
    expect(info.btfId).toBeGreaterThan(0);
    const shown = bpftool<ShownMap>('map', 'show', 'id', String(info.id));
    expect([shown.btf_id, shown.bytes_key, shown.bytes_value, shown.max_entries, shown.flags]).toEqual([info.btfId, 4, 8, 0, 1]);
    // bpftool 7.1 names the types it knows; cgrp_storage (6.2) prints as its number.
    expect([shownType, MapType[type]]).toContain(shown.type);
    // The fd of an object of the map's kind is the key.
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-storage-'));
    const cgroupDir = type === 'CGRP_STORAGE' ? `${cgroup2Root()}/ebpf_storage_${process.pid}` : undefined;
    if (cgroupDir) mkdirSync(cgroupDir);
    let fd: number;
    let release: () => void;
    switch (type) {
      case 'TASK_STORAGE':
        fd = syscall3Raw(SYS_PIDFD_OPEN, process.pid, 0, 0);
        release = () => closeFd(fd);
        break;
      case 'INODE_STORAGE':
        fd = openSync(join(dir, 'f'), 'w');
        release = () => closeSync(fd);
        break;
      case 'SK_STORAGE':
        fd = Number(libc.socket(2, 2, 0));
        release = () => closeFd(fd);
        break;
      default:
        fd = openPath(cgroupDir!, O_DIRECTORY);
        release = () => closeFd(fd);
    }
    try {
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(map.lookup(fd)).toBeUndefined();
      map.update(fd, 0x1122334455667788n);
      expect(map.lookup(fd)).toBe(0x1122334455667788n);
      map.delete(fd);
      expect(map.lookup(fd)).toBeUndefined();
    } finally {
      release();
      rmSync(dir, { recursive: true, force: true });
      if (cgroupDir) rmdirSync(cgroupDir);
    }
  });

  it('a program reads and writes the task storage user space wrote (SYSCALL program, run in this thread)', () => {
    need(haveFeature(() => mapType('TASK_STORAGE')) && haveFeature(() => programType('SYSCALL')), 'task storage and SYSCALL programs');
    const storage = track(createStorageMap('TASK_STORAGE', { valueSize: 8, name: 'objs_task_rw' }, { value: u64 }));
    // r0 = current task; v = task_storage_get(storage, task, NULL, 0); if (v) *v += 1; return v != 0
    const insns = new ProgramBuilder()
      .call('get_current_task_btf')
      .mov64Reg(R2, R0)
      .ldMapFd(R1, 'storage')
      .mov64Imm(R3, 0)
      .mov64Imm(R4, 0)
      .call('task_storage_get')
      .jeqImm(R0, 0, 'out')
      .ldx(Size.DW, R1, R0, 0)
      .add64Imm(R1, 1)
      .stx(Size.DW, R0, 0, R1)
      .mov64Imm(R0, 1)
      .label('out')
      .exit()
      .build();
    const prog = track(
      Program.load({ type: 'SYSCALL', name: 'objs_task_rw', instructions: insns, maps: { storage }, flags: 1 << 4 /* BPF_F_SLEEPABLE */ }),
    );
    const pidfd = syscall3Raw(SYS_PIDFD_OPEN, process.pid, 0, 0);
    try {
      expect(prog.testRun().retval).toBe(0); // nothing stored for this task yet
      storage.update(pidfd, 41n);
      expect(prog.testRun().retval).toBe(1);
      expect(storage.lookup(pidfd)).toBe(42n);
    } finally {
      closeFd(pidfd);
    }
  });

  it('takes caller-loaded BTF (a struct value) through BtfObject.load, and refuses a bad size before the kernel does', () => {
    using btf = BtfObject.load([
      { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false },
      { kind: 'int', id: 2, name: 'long long unsigned int', size: 8, bitOffset: 0, bits: 64, signed: false, char: false, bool: false },
      {
        kind: 'struct',
        id: 3,
        name: 'task_counters',
        size: 16,
        members: [
          { name: 'events', type: 2, bitOffset: 0, bitfieldSize: 0 },
          { name: 'bytes', type: 2, bitOffset: 64, bitfieldSize: 0 },
        ],
      },
    ]);
    const map = track(
      createStorageMap('TASK_STORAGE', { valueSize: 16, name: 'objs_counters', btf: { fd: btf.fd, keyTypeId: 1, valueTypeId: 3 } }),
    );
    const info = map.info();
    expect(info.btfId).toBe(btf.info().id);
    expect([info.btfKeyTypeId, info.btfValueTypeId]).toEqual([1, 3]);
    const shown = bpftool<{ btf_id: number }>('map', 'show', 'id', String(info.id));
    expect(shown.btf_id).toBe(btf.info().id);
    // The kernel checks the value type's size against valueSize.
    expect(() => createStorageMap('TASK_STORAGE', { valueSize: 8, btf: { fd: btf.fd, keyTypeId: 1, valueTypeId: 3 } })).toThrow(/EINVAL/);
    expect(() => createStorageMap('TASK_STORAGE', { valueSize: 0 })).toThrow(MapError);
  });
});

describe.runIf(need(isRoot, 'arena tests need root'))('arena maps', () => {
  it('an arena is created mmapable where the kernel allows it; where it refuses, the error is NotSupportedError naming the probe', () => {
    const spec = { type: 'ARENA' as const, maxEntries: 1, flags: 1 << 10 /* BPF_F_MMAPABLE */, name: 'objs_arena' };
    const probe = mapType('ARENA');
    if (probe.supported) {
      using arena = BpfMap.create(spec);
      expect(arena.type).toBe(MapType.ARENA);
      return;
    }
    // This machine's kernel refuses arenas (EPERM even as root, as it refuses trampolines).
    let caught: unknown;
    try {
      BpfMap.create(spec);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NotSupportedError);
    expect(caught).toMatchObject({ feature: 'map_type/arena', minimumKernel: '6.9' });
    expect((caught as Error).message).toMatch(
      /creating map "objs_arena" \(EPERM; probe: BPF_MAP_CREATE: EPERM\): map_type\/arena is not supported by this kernel \(it came in Linux 6\.9\)/,
    );
  });
});
