// BPF iterators on the running kernel: every kind it has attaches and reads; the task iterator
// agrees with /proc, the bpf_map iterator with the maps' own info; a pinned iterator reads with cat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0 } from '../src/asm/registers.js';
import { loadCollection, type Collection } from '../src/loader/index.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import {
  attachIter,
  CgroupIterOrder,
  ITER_LINK_INFO_SIZE,
  iteratorKinds,
  iteratorTarget,
  iterLinkInfo,
  LinkError,
} from '../src/links/index.js';
import { SyscallError } from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import './support/leaks.js';

const OBJECT = join(import.meta.dirname, '../bpf/iter.o');
const canRun = need(isRoot, 'iterator tests need root (CAP_BPF and CAP_PERFMON)');
const canCompile = need(hasCommand('cc'), 'the layout checks need a C compiler and the kernel UAPI headers');

/** The kinds issue 16 names; the kernel may have more. */
const NAMED_KINDS = ['task', 'task_file', 'task_vma', 'bpf_map', 'bpf_map_elem', 'bpf_prog', 'tcp', 'udp', 'unix', 'ksym', 'cgroup'];
/** Kinds that walk a map's elements: this kernel refuses to load their programs (EPERM), as it does for libbpf. */
const MAP_ELEMENT_KINDS = new Set(['bpf_map_elem', 'bpf_sk_storage_map', 'sockmap']);
const CGROUP2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find(
  (d) => existsSync(join(d, 'cgroup.procs')) && existsSync(join(d, 'cgroup.subtree_control')),
);

function inspectable(pid: number): boolean {
  try {
    readlinkSync(`/proc/${pid}/ns/pid`);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EACCES';
  }
}

function emptyIterator(kind: string): Program {
  return Program.load({
    ...iteratorTarget(kind),
    instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
    name: `it_${kind}`.slice(0, 15),
  });
}

describe('bpf_iter_link_info', () => {
  it('encodes each group at the offsets of the kernel header (C offsetof as the oracle)', () => {
    if (!canCompile) return;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-iter-'));
    try {
      writeFileSync(
        join(dir, 'p.c'),
        `#include <linux/bpf.h>
#include <stdio.h>
#include <stddef.h>
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu %zu %zu\\n", sizeof(union bpf_iter_link_info),
    offsetof(union bpf_iter_link_info, map.map_fd), offsetof(union bpf_iter_link_info, cgroup.order),
    offsetof(union bpf_iter_link_info, cgroup.cgroup_fd), offsetof(union bpf_iter_link_info, cgroup.cgroup_id),
    offsetof(union bpf_iter_link_info, task.tid), offsetof(union bpf_iter_link_info, task.pid),
    offsetof(union bpf_iter_link_info, task.pid_fd));
  printf("%zu %zu %zu %zu %zu %zu\\n", offsetof(struct bpf_link_info, iter.target_name), offsetof(struct bpf_link_info, iter.target_name_len),
    offsetof(struct bpf_link_info, iter.map.map_id), offsetof(struct bpf_link_info, iter.cgroup.cgroup_id),
    offsetof(struct bpf_link_info, iter.cgroup.order), offsetof(struct bpf_link_info, iter.task.pid));
  return 0;
}`,
      );
      execFileSync('cc', ['-o', join(dir, 'p'), join(dir, 'p.c')]);
      const [union, linkInfo] = execFileSync(join(dir, 'p'), { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split(' ').map(Number));
      const [size, mapFd, order, cgFd, cgId, tid, pid, pidFd] = union;
      expect(ITER_LINK_INFO_SIZE).toBe(size);
      const m = Buffer.from(iterLinkInfo({ map: 7 })!);
      expect(m.readUInt32LE(mapFd)).toBe(7);
      const c = Buffer.from(iterLinkInfo({ cgroup: { id: 0x1_0000_0002n, order: CgroupIterOrder.ANCESTORS_UP } })!);
      expect([c.readUInt32LE(order), c.readUInt32LE(cgFd), c.readBigUInt64LE(cgId)]).toEqual([4, 0, 0x1_0000_0002n]);
      expect(Buffer.from(iterLinkInfo({ cgroup: { fd: 9 } })!).readUInt32LE(cgFd)).toBe(9);
      expect(Buffer.from(iterLinkInfo({ task: { tid: 11 } })!).readUInt32LE(tid)).toBe(11);
      expect(Buffer.from(iterLinkInfo({ task: { pid: 12 } })!).readUInt32LE(pid)).toBe(12);
      expect(Buffer.from(iterLinkInfo({ task: { pidFd: 13 } })!).readUInt32LE(pidFd)).toBe(13);
      // The offsets IterLink.iterInfo() reads.
      expect(linkInfo).toEqual([16, 24, 28, 32, 40, 36]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses contradictory or malformed parameters with a LinkError naming them', () => {
    expect(iterLinkInfo({})).toBeUndefined();
    expect(() => iterLinkInfo({ map: 3, task: { pid: 1 } })).toThrow(/one of map, cgroup and task/);
    expect(() => iterLinkInfo({ task: { pid: 1, tid: 2 } })).toThrow(/exactly one of tid, pid and pidFd/);
    expect(() => iterLinkInfo({ task: {} })).toThrow(LinkError);
    expect(() => iterLinkInfo({ task: { pid: -4 } })).toThrow(/-4 is not a positive id/);
    expect(() => iterLinkInfo({ map: -1 })).toThrow(/not a map fd/);
    expect(() => iterLinkInfo({ cgroup: { fd: 3, id: 5n } })).toThrow(/not both/);
    expect(() => iterLinkInfo({ cgroup: { order: 0 as CgroupIterOrder } })).toThrow(/walk order/);
    expect(() => iterLinkInfo({ cgroup: { order: 9 as CgroupIterOrder } })).toThrow(/walk order/);
  });
});

describe.runIf(canRun)('iterators on this kernel', () => {
  let coll: Collection;
  let sleeper: ChildProcess;
  beforeAll(async () => {
    coll = loadCollection(OBJECT, { programs: ['dump_task', 'dump_bpf_map'] });
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => sleeper.once('spawn', r));
  });
  afterAll(() => {
    coll?.close();
    sleeper?.kill('SIGKILL');
  });

  it('finds every kind the issue names in the kernel BTF, and no open-coded iterator kfunc', () => {
    const kinds = iteratorKinds();
    for (const k of NAMED_KINDS) expect(kinds).toContain(k);
    expect(kinds).not.toContain('get_info');
    expect(kinds.some((k) => k.startsWith('num') || k.endsWith('_new'))).toBe(false);
    expect(() => iteratorTarget('no_such_kind')).toThrow(/no "no_such_kind" iterator.*it has: .*task/);
  });

  it.each(NAMED_KINDS.filter((k) => !MAP_ELEMENT_KINDS.has(k)))(
    'a %s iterator loads, attaches, reports its kind and reads to the end',
    (kind) => {
      const prog = track(emptyIterator(kind));
      const options = kind === 'cgroup' ? { cgroup: { order: CgroupIterOrder.SELF_ONLY } } : {};
      const link = track(attachIter(prog, options));
      expect(link.kind).toBe(kind);
      expect(link.info().type).toBe(4); // BPF_LINK_TYPE_ITER
      expect(link.info().programId).toBe(prog.info().id);
      expect(link.iterInfo().targetName).toBe(kind);
      // The program writes nothing, so every run is empty however many objects it visits.
      expect(link.read().length).toBe(0);
    },
  );

  it('map-element iterators: the kernel refuses the program (EPERM, as for libbpf), and the link needs the map', () => {
    let err: unknown;
    try {
      emptyIterator('bpf_map_elem').close();
    } catch (e) {
      err = e;
    }
    // This kernel refuses them; a kernel that loads them must then also attach them with a map.
    if (err === undefined) {
      const prog = track(emptyIterator('bpf_map_elem'));
      expect(() => attachIter(prog)).toThrow(/iterators of map elements need the map option/);
      const map = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 }));
      expect(attachIter(prog, { map }).iterInfo().mapId).toBe(map.info().id);
      return;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe('EPERM');
    expect((err as Error).message).toMatch(/refuses this iterator kind here.*bpf_map_elem/);
  });

  it('cgroup iterators take a directory, a walk order and report the start cgroup', () => {
    if (!need(CGROUP2 !== undefined, 'a cgroup v2 hierarchy')) return;
    const prog = track(emptyIterator('cgroup'));
    const link = track(attachIter(prog, { cgroup: { path: CGROUP2!, order: CgroupIterOrder.DESCENDANTS_POST } }));
    const info = link.iterInfo();
    expect(info.order).toBe(CgroupIterOrder.DESCENDANTS_POST);
    // The cgroup id is the directory's inode number on cgroup v2.
    expect(info.cgroupId).toBe(BigInt(execFileSync('stat', ['-c', '%i', CGROUP2!], { encoding: 'utf8' }).trim()));
    expect(() => attachIter(prog, { cgroup: { path: '/no/such/cgroup' } })).toThrow(/cannot open cgroup \/no\/such\/cgroup/);
    expect(() => attachIter(prog, { cgroup: { path: tmpdir() } })).toThrow(LinkError);
  });

  it("the task iterator lists this process's threads and a sleeping child with their names, as /proc does", () => {
    const link = track(attachIter(coll.programs.dump_task));
    const before = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
    const rows = link
      .readText()
      .trim()
      .split('\n')
      .map((l) => {
        const [tgid, pid, ...comm] = l.split(' ');
        return { tgid: Number(tgid), pid: Number(pid), comm: comm.join(' ') };
      });
    const byTid = new Map(rows.map((r) => [r.pid, r]));
    for (const tid of readdirSync('/proc/self/task').map(Number)) {
      const row = byTid.get(tid);
      expect(row, `thread ${tid} of this process`).toBeDefined();
      expect(row!.tgid).toBe(process.pid);
      expect(row!.comm).toBe(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
    }
    expect(byTid.get(sleeper.pid!)).toEqual({ tgid: sleeper.pid, pid: sleeper.pid, comm: 'sleep' });
    // Every process /proc listed before the run and still lists after it is in the run.
    const tgids = new Set(rows.map((r) => r.tgid));
    // Processes this one may not inspect (pid 1 here: the machine's supervisor, whose
    // /proc/1/ns/pid even root cannot read) are hidden from the iterator as well.
    expect(before.filter((p) => !tgids.has(p) && existsSync(`/proc/${p}`) && inspectable(p))).toEqual([]);
  });

  it('a task iterator limited to one process visits exactly its threads', () => {
    const link = track(attachIter(coll.programs.dump_task, { task: { pid: sleeper.pid! } }));
    expect(link.iterInfo()).toMatchObject({ targetName: 'task', pid: sleeper.pid });
    expect(link.readText()).toBe(`${sleeper.pid} ${sleeper.pid} sleep\n`);
    const self = track(attachIter(coll.programs.dump_task, { task: { tid: process.pid } }));
    expect(self.iterInfo().tid).toBe(process.pid);
    expect(self.readText()).toBe(`${process.pid} ${process.pid} ${readFileSync('/proc/self/comm', 'utf8').trim()}\n`);
  });

  it('the bpf_map iterator sees maps this process creates, with their ids and sizes', () => {
    const a = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1234, name: 'iter_a' }));
    const b = track(BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4321, name: 'iter_b' }));
    const link = track(attachIter(coll.programs.dump_bpf_map));
    const out = link.read();
    expect(out.length % 8).toBe(0);
    const seen = new Map<number, number>();
    for (let i = 0; i < out.length; i += 8) seen.set(out.readUInt32LE(i), out.readUInt32LE(i + 4));
    expect(seen.get(a.info().id)).toBe(1234);
    expect(seen.get(b.info().id)).toBe(4321);
    // Ids come in increasing order, as the kernel's idr walk gives them.
    const ids = [...seen.keys()];
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    const bId = b.info().id;
    b.close();
    const after = link.read();
    const idsAfter = new Set<number>();
    for (let i = 0; i < after.length; i += 8) idsAfter.add(after.readUInt32LE(i));
    expect(idsAfter.has(a.info().id)).toBe(true);
    // A closed map is freed after an RCU grace period; it must be gone by the next runs.
    for (let i = 0; i < 50 && idsAfter.has(bId); i++) {
      idsAfter.clear();
      const again = link.read();
      for (let j = 0; j < again.length; j += 8) idsAfter.add(again.readUInt32LE(j));
    }
    expect(idsAfter.has(bId)).toBe(false);
  });

  it('reads the same runs as an async iterable of chunks and as a Node Readable, closing the fd at the end', async () => {
    const link = track(attachIter(coll.programs.dump_task, { task: { pid: sleeper.pid! } }));
    const reader = link.open();
    const chunks: Buffer[] = [];
    for await (const c of reader) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe(`${sleeper.pid} ${sleeper.pid} sleep\n`);
    expect(reader.closed).toBe(true);
    expect(() => reader.readChunk()).toThrow(/is closed/);

    const stream = link.stream();
    let text = '';
    for await (const c of stream) text += (c as Buffer).toString();
    expect(text).toBe(`${sleeper.pid} ${sleeper.pid} sleep\n`);

    // A big run in small synchronous chunks equals the run read at once.
    const all = track(attachIter(coll.programs.dump_task));
    const r = all.open();
    const small: Buffer[] = [];
    for (let c = r.readChunk(100); c.length; c = r.readChunk(100)) {
      expect(c.length).toBeLessThanOrEqual(100);
      small.push(c);
    }
    r.close();
    expect(small.length).toBeGreaterThan(1);
    expect(Buffer.concat(small).toString().split('\n').length).toBeGreaterThan(10);

    // Destroying a stream early closes its reader too.
    const early = all.stream();
    await new Promise<void>((resolve) => {
      early.once('data', () => {
        early.destroy();
        resolve();
      });
    });
  });

  it('a link pinned in bpffs reads with cat, and keeps working after this process closes its fd', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-iter-bpffs-'));
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
    try {
      const link = attachIter(coll.programs.dump_task, { task: { pid: sleeper.pid! } });
      link.pin(join(dir, 'sleeper'));
      link.close();
      expect(execFileSync('cat', [join(dir, 'sleeper')], { encoding: 'utf8' })).toBe(`${sleeper.pid} ${sleeper.pid} sleep\n`);
      expect(execFileSync('cat', [join(dir, 'sleeper')], { encoding: 'utf8' })).toBe(`${sleeper.pid} ${sleeper.pid} sleep\n`);
    } finally {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('errors: a non-iterator program, a closed link, a closed program', () => {
    const other = track(
      Program.load({ type: 'KPROBE', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(), name: 'not_iter' }),
    );
    expect(() => attachIter(other)).toThrow(/attaching iterator "not_iter" failed: BPF_LINK_CREATE failed: EINVAL/);
    const traced = track(
      Program.load({
        type: 'KPROBE',
        instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
        name: 'wrong_type',
        expectedAttachType: AttachType.TRACE_KPROBE_MULTI,
      }),
    );
    expect(() => attachIter(traced)).toThrow(/not TRACE_ITER/);
    const prog = emptyIterator('bpf_prog');
    const link = attachIter(prog);
    link.close();
    expect(() => link.open()).toThrow(/is closed/);
    expect(() => link.read()).toThrow(/is closed/);
    expect(() => link.iterInfo()).toThrow(/is closed/);
    prog.close();
  });
});
