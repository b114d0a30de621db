// tc on a veth pair inside a throwaway network namespace: clsact + direct-action cls_bpf filters
// (tc itself is the oracle) and tcx links (bpftool and BPF_PROG_QUERY). Real datagrams cross the
// wire; the programs count them in ARRAY maps.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { LinkError } from '../src/links/link.js';
import { findCause } from '../src/errors/index.js';
import {
  attachTcFilter,
  attachTcx,
  createClsact,
  deleteClsact,
  detachTcFilter,
  listTcFilters,
  TcFilterLink,
  TcxLink,
} from '../src/links/tc.js';
import { BpfMap } from '../src/maps/index.js';
import { NetlinkError } from '../src/netlink/index.js';
import { Program } from '../src/programs/index.js';
import { progQuery, SyscallError } from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, openSockets, type TestNetns } from './support/netns.js';

const TC_ACT_OK = 0;
/** tcx: go on to the next program in the chain. */
const TCX_NEXT = -1;

/** A SCHED_CLS program that adds 1 to slot 0 of `map` for every packet and returns `verdict`. */
function counter(name: string, map: BpfMap, verdict = TC_ACT_OK): Program {
  const insns = new ProgramBuilder()
    .st(Size.W, R10, -4, 0)
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .ldMapFd(R1, 'counter')
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1)
    .label('out')
    .mov64Imm(R0, verdict)
    .exit()
    .build();
  return Program.load({ type: 'SCHED_CLS', instructions: insns, maps: { counter: map }, name });
}

const count = (map: BpfMap): number => Number(map.lookup(0)!.readBigUInt64LE(0));

interface TcJsonFilter {
  pref: number;
  kind: string;
  options?: { handle: string; bpf_name?: string; 'direct-action'?: boolean; prog?: { id: number } };
}

/** tc's own view of the filters (entries without options are the per-priority classifier heads). */
function tcFilters(
  ns: TestNetns,
  dev: string,
  direction: 'ingress' | 'egress',
): { priority: number; handle: number; name?: string; programId?: number; directAction?: boolean }[] {
  const out = ns.exec('tc', '-j', 'filter', 'show', 'dev', dev, direction).trim();
  return (JSON.parse(out || '[]') as TcJsonFilter[])
    .filter((f) => f.options)
    .map((f) => ({
      priority: f.pref,
      handle: Number(f.options!.handle),
      name: f.options!.bpf_name,
      programId: f.options!.prog?.id,
      directAction: f.options!['direct-action'],
    }));
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** The kernel's refusal under the LinkError (kind 'attach') that every attach function throws. */
function refusal(fn: () => unknown): NetlinkError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(LinkError);
  expect(e).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
  const cause = findCause(e, SyscallError);
  expect(cause).toBeInstanceOf(SyscallError);
  return cause as NetlinkError;
}

describe.runIf(need(isRoot && hasCommand('ip') && hasCommand('tc'), 'tc tests need root, iproute2 and tc'))('tc', () => {
  let ns: TestNetns;
  let mapA: BpfMap;
  let mapB: BpfMap;
  let progA: Program;
  let progB: Program;
  let socketsBefore: string[];

  beforeAll(() => {
    socketsBefore = openSockets();
    ns = createTestNetns();
    mapA = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'tc_a' });
    mapB = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'tc_b' });
    progA = counter('tc_a', mapA);
    progB = counter('tc_b', mapB);
  });

  afterEach(() => {
    ns.run(() => {
      deleteClsact(ns.a, { ignoreMissing: true });
      deleteClsact(ns.b, { ignoreMissing: true });
    });
  });

  afterAll(() => {
    progA?.close();
    progB?.close();
    mapA?.close();
    mapB?.close();
    ns?.remove();
    // Every netlink socket the attachments held was closed with them.
    expect(openSockets()).toEqual(socketsBefore);
  });

  const idA = (): number => progA.info().id;
  const idB = (): number => progB.info().id;

  it("creates and deletes the clsact qdisc, with the kernel's words when it exists or is missing", () => {
    expect(ns.run(() => createClsact(ns.b))).toBe(true);
    expect(ns.exec('tc', '-j', 'qdisc', 'show', 'dev', ns.b)).toMatch(/"kind":"clsact"/);
    const e = thrown(() => ns.run(() => createClsact(ns.b))) as NetlinkError;
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EEXIST', extack: 'Exclusivity flag on, cannot modify' });
    expect(e.message).toMatch(/create clsact qdisc on veth-b failed: EEXIST.*already has a clsact qdisc \(pass ignoreExisting: true/);
    expect(ns.run(() => createClsact(ns.b, { ignoreExisting: true }))).toBe(false);
    expect(ns.run(() => deleteClsact(ns.b))).toBe(true);
    expect(ns.exec('tc', '-j', 'qdisc', 'show', 'dev', ns.b)).not.toMatch(/clsact/);
    const missing = thrown(() => ns.run(() => deleteClsact(ns.b))) as NetlinkError;
    expect(missing).toMatchObject({ code: 'EINVAL', extack: 'Invalid handle' });
    expect(ns.run(() => deleteClsact(ns.b, { ignoreMissing: true }))).toBe(false);
  });

  it('an ingress filter counts real traffic; tc lists it with our program; close deletes it', () => {
    const f = ns.run(() => attachTcFilter(progA, ns.b, 'ingress'));
    expect(f).toBeInstanceOf(TcFilterLink);
    expect(f.priority).toBeGreaterThan(0); // chosen by the kernel, learned from its echo
    expect(f.handle).toBeGreaterThan(0);
    expect(f.programId).toBe(idA());
    const oracle = tcFilters(ns, ns.b, 'ingress');
    expect(oracle).toEqual([{ priority: f.priority, handle: f.handle, name: 'tc_a', programId: idA(), directAction: true }]);
    expect(ns.run(() => listTcFilters(ns.b, 'ingress'))).toMatchObject([
      { priority: f.priority, handle: f.handle, kind: 'bpf', protocol: 3, name: 'tc_a', programId: idA(), directAction: true },
    ]);
    const before = count(mapA);
    ns.sendUdp(10);
    expect(count(mapA) - before).toBeGreaterThanOrEqual(10);
    f.close();
    expect(tcFilters(ns, ns.b, 'ingress')).toEqual([]);
    f.close();
  });

  it('an egress filter counts what leaves the other end', () => {
    using f = ns.run(() => attachTcFilter(progB, ns.a, 'egress', { priority: 10, handle: 1, name: 'egress_counter' }));
    expect(tcFilters(ns, ns.a, 'egress')).toEqual([
      { priority: 10, handle: 1, name: 'egress_counter', programId: idB(), directAction: true },
    ]);
    expect(tcFilters(ns, ns.a, 'ingress')).toEqual([]);
    const before = count(mapB);
    ns.sendUdp(6);
    expect(count(mapB) - before).toBeGreaterThanOrEqual(6);
    expect(f.target).toBe('tc/veth-a egress (priority 10, handle 1)');
  });

  it('create refuses an existing filter (EEXIST); replace swaps the program in place', () => {
    using first = ns.run(() => attachTcFilter(progA, ns.b, 'ingress', { priority: 5, handle: 3 }));
    const e = refusal(() => ns.run(() => attachTcFilter(progB, ns.b, 'ingress', { priority: 5, handle: 3 })));
    expect(e).toMatchObject({ code: 'EEXIST', extack: 'Filter already exists' });
    expect(e.message).toMatch(
      /add tc ingress filter on veth-b \(priority 5, handle 3\) running program "tc_b" failed: EEXIST.*pass replace: true/,
    );
    expect(() => ns.run(() => attachTcFilter(progB, ns.b, 'ingress', { replace: true }))).toThrow(/replace needs priority and handle/);

    // The link's own replace.
    first.replace(progB);
    expect(first.programId).toBe(idB());
    expect(tcFilters(ns, ns.b, 'ingress')).toMatchObject([{ priority: 5, handle: 3, programId: idB() }]);
    const [a0, b0] = [count(mapA), count(mapB)];
    ns.sendUdp(5);
    expect(count(mapA)).toBe(a0);
    expect(count(mapB) - b0).toBeGreaterThanOrEqual(5);

    // Someone else replaces it: then it is theirs, and closing `first` leaves it alone.
    const theirs = ns.run(() => attachTcFilter(progA, ns.b, 'ingress', { priority: 5, handle: 3, replace: true }));
    expect(tcFilters(ns, ns.b, 'ingress')).toMatchObject([{ priority: 5, handle: 3, programId: idA() }]);
    first.close();
    expect(tcFilters(ns, ns.b, 'ingress')).toMatchObject([{ priority: 5, handle: 3, programId: idA() }]);
    theirs.close();
    expect(tcFilters(ns, ns.b, 'ingress')).toEqual([]);
  });

  it('detachTcFilter removes a filter whoever added it, and says when there is none', () => {
    const f = ns.run(() => attachTcFilter(progA, ns.b, 'ingress', { priority: 7, handle: 2 }));
    ns.run(() => detachTcFilter(ns.b, 'ingress', { priority: 7, handle: 2 }));
    expect(tcFilters(ns, ns.b, 'ingress')).toEqual([]);
    f.close(); // gone already: nothing to do
    const e = thrown(() => ns.run(() => detachTcFilter(ns.b, 'ingress', { priority: 7, handle: 2 }))) as NetlinkError;
    expect(e).toMatchObject({ code: 'ENOENT', extack: 'Cannot find specified filter chain' });
    expect(e.message).toMatch(/delete tc ingress filter on veth-b \(priority 7, handle 2\) failed: ENOENT.*no such filter/);
  });

  it('without a clsact qdisc and createQdisc off, the kernel refuses with its reason', () => {
    const e = refusal(() => ns.run(() => attachTcFilter(progA, ns.b, 'ingress', { createQdisc: false })));
    expect(e).toMatchObject({ code: 'EINVAL', extack: "Parent Qdisc doesn't exists" });
    expect(e.message).toMatch(/has no clsact qdisc: create one with createClsact/);
    expect(ns.run(() => listTcFilters(ns.b, 'ingress'))).toEqual([]);
  });

  it('a tcx ingress link counts traffic, bpftool lists it, ordering follows before/after, close detaches', () => {
    const ifindex = (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.b)) as { ifindex: number }[])[0].ifindex;
    const mapC = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'tcx_c' });
    const passOn = counter('tcx_next', mapC, TCX_NEXT);
    try {
      const a = ns.run(() => attachTcx(progA, ns.b, 'ingress'));
      expect(a).toBeInstanceOf(TcxLink);
      const info = a.info();
      expect(info).toMatchObject({ type: 11, programId: idA() }); // BPF_LINK_TYPE_TCX
      const listed = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(info.id)], { encoding: 'utf8' })) as {
        id: number;
        type: string | number;
        prog_id: number;
      };
      expect(listed).toMatchObject({ id: info.id, prog_id: idA() });
      expect(['tcx', 11]).toContain(listed.type);
      let before = count(mapA);
      ns.sendUdp(8);
      expect(count(mapA) - before).toBeGreaterThanOrEqual(8);

      // A program placed before `a` that passes packets on (TCX_NEXT): both count.
      const c = ns.run(() => attachTcx(passOn, ns.b, 'ingress', { before: a }));
      expect(ns.run(() => progQuery(ifindex, AttachType.TCX_INGRESS).ids)).toEqual([passOn.info().id, idA()]);
      // One placed before that, returning TC_ACT_OK (TCX_PASS): the chain stops there.
      const b = ns.run(() => attachTcx(progB, ns.b, 'ingress', { before: passOn }));
      expect(ns.run(() => progQuery(ifindex, AttachType.TCX_INGRESS).ids)).toEqual([idB(), passOn.info().id, idA()]);
      before = count(mapA);
      const [b0, c0] = [count(mapB), count(mapC)];
      ns.sendUdp(5);
      expect(count(mapB) - b0).toBeGreaterThanOrEqual(5);
      expect(count(mapC)).toBe(c0);
      expect(count(mapA)).toBe(before);
      b.close();
      c.close();
      a.close();
      expect(ns.run(() => progQuery(ifindex, AttachType.TCX_INGRESS).ids)).toEqual([]);
      expect(() => execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(info.id)], { stdio: 'pipe' })).toThrow();
    } finally {
      passOn.close();
      mapC.close();
    }
  });

  it('names the missing device, a bad direction, a wrong program type and a bad relative program', () => {
    expect(() => ns.run(() => attachTcFilter(progA, 'nosuchdev0', 'ingress'))).toThrow(/no device named "nosuchdev0"/);
    expect(() => ns.run(() => attachTcx(progA, 'nosuchdev0', 'ingress'))).toThrow(/no device named "nosuchdev0"/);
    expect(() => ns.run(() => listTcFilters('nosuchdev0', 'egress'))).toThrow(/no device named "nosuchdev0"/);
    // @ts-expect-error: untyped callers
    expect(() => ns.run(() => attachTcFilter(progA, ns.b, 'inbound'))).toThrow(/bad tc direction "inbound": use 'ingress' or 'egress'/);
    expect(() => ns.run(() => attachTcFilter(progA, ns.b, 'ingress', { priority: 70000 }))).toThrow(LinkError);
    using xdp = Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, 2).exit().build(), name: 'xdp_pass' });
    expect(() => ns.run(() => attachTcFilter(xdp, ns.b, 'ingress'))).toThrow(/not SCHED_CLS/);
    // progB is not on the egress hook: the kernel cannot place anything before it.
    const e = thrown(() => ns.run(() => attachTcx(progA, ns.b, 'egress', { before: progB })));
    expect(e.message).toMatch(
      /BPF_LINK_CREATE \(attach program "tc_a" to tcx egress of veth-b\) failed: ENOENT.*not attached to veth-b's tcx hook/,
    );
  });
});
