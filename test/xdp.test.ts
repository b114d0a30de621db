// XDP attachment on a veth pair inside a throwaway network namespace. Real datagrams cross the
// wire; the programs count them in ARRAY maps. iproute2 (`ip -d -j link show`) and bpftool are the
// oracles for what is attached.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { attachXdp, detachXdp, queryXdp, XdpLink, XdpNetlinkAttachment, type XdpState } from '../src/links/xdp.js';
import { LinkError } from '../src/links/link.js';
import { findCause } from '../src/errors/index.js';
import { BpfMap } from '../src/maps/index.js';
import { NetlinkError } from '../src/netlink/index.js';
import { Program } from '../src/programs/index.js';
import { SyscallError } from '../src/syscall/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, openSockets, type TestNetns } from './support/netns.js';

const XDP_PASS = 2;

/** An XDP program that adds 1 to slot 0 of `map` for every frame and passes it on. */
function counter(name: string, map: BpfMap): Program {
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
    .mov64Imm(R0, XDP_PASS)
    .exit()
    .build();
  return Program.load({ type: 'XDP', instructions: insns, maps: { counter: map }, name });
}

const count = (map: BpfMap): number => Number(map.lookup(0)!.readBigUInt64LE(0));

interface IpXdp {
  mode: number;
  prog?: { id: number };
  attached?: { mode: number; prog: { id: number } }[];
}

/** iproute2's view: mode 1 native (driver), 2 generic (skb), 3 offload, 4 several. */
function ipXdp(ns: TestNetns, dev: string): IpXdp | undefined {
  return (JSON.parse(ns.ip('-d', '-j', 'link', 'show', 'dev', dev)) as { xdp?: IpXdp }[])[0].xdp;
}

function asOracle(s: XdpState): IpXdp | undefined {
  const modes: Record<string, number> = { native: 1, generic: 2, offload: 3, multi: 4 };
  if (s.attached === 'none') return undefined;
  const attached = (
    [
      ['native', s.nativeProgramId],
      ['generic', s.genericProgramId],
      ['offload', s.offloadProgramId],
    ] as const
  )
    .filter(([, id]) => id !== undefined)
    .map(([m, id]) => ({ mode: modes[m], prog: { id: id! } }));
  return s.attached === 'multi' ? { mode: 4, attached } : { mode: modes[s.attached], prog: { id: s.programId! }, attached };
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

describe.runIf(need(isRoot && hasCommand('ip'), 'XDP tests need root and iproute2'))('XDP', () => {
  let ns: TestNetns;
  let mapA: BpfMap;
  let mapB: BpfMap;
  let progA: Program;
  let progB: Program;
  let socketsBefore: string[];

  beforeAll(() => {
    socketsBefore = openSockets();
    ns = createTestNetns();
    mapA = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'count_a' });
    mapB = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'count_b' });
    progA = counter('count_a', mapA);
    progB = counter('count_b', mapB);
  });

  afterEach(() => {
    // Whatever a failed test left attached by netlink (bpf_links go with their fds).
    ns.run(() => {
      detachXdp(ns.b);
      detachXdp('lo');
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

  for (const via of ['link', 'netlink'] as const) {
    for (const mode of ['generic', 'native'] as const) {
      it(`counts real traffic in ${mode} mode via ${via}; ip link agrees; closing detaches`, () => {
        const link = ns.run(() => attachXdp(progA, ns.b, { mode, via }));
        try {
          expect(link).toBeInstanceOf(via === 'link' ? XdpLink : XdpNetlinkAttachment);
          expect(link.mode).toBe(mode);
          expect(link.target).toBe(`xdp/${ns.b} (${mode}, ${via === 'link' ? 'bpf_link' : 'netlink'})`);
          const state = ns.run(() => queryXdp(ns.b));
          expect(state).toMatchObject({ attached: mode, programId: idA(), [`${mode}ProgramId`]: idA() });
          expect(ipXdp(ns, ns.b)).toMatchObject(asOracle(state)!);
          const before = count(mapA);
          ns.sendUdp(10);
          expect(count(mapA) - before).toBeGreaterThanOrEqual(10);
        } finally {
          link.close();
        }
        expect(ipXdp(ns, ns.b)).toBeUndefined();
        expect(ns.run(() => queryXdp(ns.b))).toEqual({ attached: 'none' });
        link.close(); // twice is harmless
      });
    }
  }

  it('lets the kernel choose the mode when none is given: native on veth, generic on lo', () => {
    using onVeth = ns.run(() => attachXdp(progA, ns.b));
    expect(onVeth).toBeInstanceOf(XdpLink);
    expect(onVeth.mode).toBe('native');
    using onLo = ns.run(() => attachXdp(progB, 'lo', { via: 'netlink' }));
    expect(onLo.mode).toBe('generic');
    expect(ipXdp(ns, 'lo')).toMatchObject({ mode: 2, prog: { id: idB() } });
  });

  it("refuses native mode on lo with the kernel's reason and a hint to use generic", () => {
    const e = refusal(() => ns.run(() => attachXdp(progA, 'lo', { mode: 'native', via: 'netlink' })));
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe('EOPNOTSUPP');
    expect(e.errno).toBe(95);
    expect(e.extack).toBe('Underlying driver does not support XDP in native mode');
    expect(e.message).toMatch(
      /attach XDP program "count_a" to lo \(native, netlink\) failed: .*kernel says: "Underlying driver does not support XDP in native mode"; hint: lo has no driver \(native\) XDP support: use mode 'generic'/,
    );
    // bpf(2) carries no ext-ack text: the hint comes from the errno.
    const viaLink = thrown(() => ns.run(() => attachXdp(progA, 'lo', { mode: 'native', via: 'link' })));
    expect(viaLink).toBeInstanceOf(LinkError);
    expect(findCause(viaLink, SyscallError)).toBeInstanceOf(SyscallError);
    expect(viaLink.message).toMatch(
      /BPF_LINK_CREATE \(attach XDP program "count_a" to lo \(native, bpf_link\)\) failed: EOPNOTSUPP.*use mode 'generic'/,
    );
  });

  it("cannot run native and generic at once: EEXIST with the kernel's text", () => {
    using generic = ns.run(() => attachXdp(progA, ns.b, { mode: 'generic', via: 'netlink' }));
    const e = refusal(() => ns.run(() => attachXdp(progB, ns.b, { mode: 'native', via: 'netlink' })));
    expect(e).toMatchObject({ code: 'EEXIST', extack: "Native and generic XDP can't be active at the same time" });
    expect(e.message).toMatch(/a program is attached to veth-b in generic mode \(attached now: generic program id \d+\); detach it first/);
    const viaLink = thrown(() => ns.run(() => attachXdp(progB, ns.b, { mode: 'native', via: 'link' })));
    expect(viaLink.message).toMatch(/EEXIST.*native and generic XDP cannot be active/);
    expect(generic.programId).toBe(idA());
  });

  it('updateIfNoExist refuses to replace (EBUSY); without it netlink replaces', () => {
    using first = ns.run(() => attachXdp(progA, ns.b, { mode: 'generic', via: 'netlink' }));
    const e = refusal(() => ns.run(() => attachXdp(progB, ns.b, { mode: 'generic', via: 'netlink', updateIfNoExist: true })));
    expect(e).toMatchObject({ code: 'EBUSY', extack: 'XDP program already attached' });
    expect(e.message).toMatch(/updateIfNoExist was set/);
    using second = ns.run(() => attachXdp(progB, ns.b, { mode: 'generic', via: 'netlink' }));
    expect(ipXdp(ns, ns.b)).toMatchObject({ mode: 2, prog: { id: idB() } });
    // `first` no longer owns the attachment: closing it leaves progB in place.
    first.close();
    expect(ipXdp(ns, ns.b)).toMatchObject({ mode: 2, prog: { id: idB() } });
    second.close();
    expect(ipXdp(ns, ns.b)).toBeUndefined();
  });

  it('replace with the wrong expected program fails (EEXIST); with the right one it swaps', () => {
    using att = ns.run(() => attachXdp(progA, ns.b, { mode: 'native', via: 'netlink' }));
    const e = refusal(() => ns.run(() => attachXdp(progA, ns.b, { mode: 'native', replace: progB })));
    expect(e).toMatchObject({ code: 'EEXIST', extack: 'Active program does not match expected' });
    expect(e.message).toMatch(/replacing program "count_b".*is not the expected one/);
    expect(() => ns.run(() => attachXdp(progA, ns.b, { via: 'link', replace: progB }))).toThrow(LinkError);
    // The attachment's own replace: expected = what it attached.
    att.replace(progB);
    expect(att.programId).toBe(idB());
    expect(ipXdp(ns, ns.b)).toMatchObject({ mode: 1, prog: { id: idB() } });
    const [a0, b0] = [count(mapA), count(mapB)];
    ns.sendUdp(5);
    expect(count(mapA)).toBe(a0);
    expect(count(mapB) - b0).toBeGreaterThanOrEqual(5);
    att.close();
    expect(ipXdp(ns, ns.b)).toBeUndefined();
  });

  it('a bpf_link update swaps the program: the new counter moves, the old one stops', () => {
    using link = ns.run(() => attachXdp(progA, ns.b, { mode: 'native', via: 'link' })) as XdpLink;
    const info = link.info();
    expect(info).toMatchObject({ type: 6, programId: idA() }); // BPF_LINK_TYPE_XDP
    const oracle = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(info.id)], { encoding: 'utf8' })) as {
      type: string;
      prog_id: number;
      ifindex?: number;
    };
    expect(oracle).toMatchObject({ type: 'xdp', prog_id: idA() });
    ns.sendUdp(3);
    expect(() => link.update(progB, progB)).toThrow(/BPF_LINK_UPDATE failed: EPERM/);
    link.update(progB, progA);
    const [a0, b0] = [count(mapA), count(mapB)];
    ns.sendUdp(5);
    expect(count(mapA)).toBe(a0);
    expect(count(mapB) - b0).toBeGreaterThanOrEqual(5);
    expect(ns.run(() => queryXdp(ns.b))).toMatchObject({ attached: 'native', programId: idB() });
  });

  it("netlink cannot replace or detach a bpf_link-owned program (EBUSY, with the kernel's text)", () => {
    using link = ns.run(() => attachXdp(progA, ns.b, { mode: 'generic', via: 'link' }));
    const e = refusal(() => ns.run(() => attachXdp(progB, ns.b, { mode: 'generic', via: 'netlink' })));
    expect(e).toMatchObject({ code: 'EBUSY', extack: "Can't replace active BPF XDP link" });
    expect(e.message).toMatch(/held by a bpf_link/);
    expect(() => ns.run(() => detachXdp(ns.b, 'generic'))).toThrow(/EBUSY.*Can't replace active BPF XDP link.*held by a bpf_link/);
    // And a bpf_link does not replace a program that is there.
    const l2 = thrown(() => ns.run(() => attachXdp(progB, ns.b, { mode: 'generic', via: 'link' })));
    expect(l2.message).toMatch(/EBUSY.*a bpf_link never replaces one/);
    link.close();
    expect(ipXdp(ns, ns.b)).toBeUndefined();
  });

  it('a netlink attachment outlives the program fd; detachXdp removes it, whoever attached it', () => {
    const map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'count_tmp' });
    const prog = counter('count_tmp', map);
    const id = prog.info().id;
    const att = ns.run(() => attachXdp(prog, ns.b, { mode: 'generic', via: 'netlink' }));
    prog.close();
    map.close();
    // No fd of ours holds the program: the device does.
    expect(ipXdp(ns, ns.b)).toMatchObject({ mode: 2, prog: { id } });
    expect(JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' }))).toMatchObject({
      id,
      name: 'count_tmp',
    });
    expect(ns.run(() => detachXdp(ns.b))).toEqual(['generic']);
    expect(ipXdp(ns, ns.b)).toBeUndefined();
    expect(ns.run(() => detachXdp(ns.b))).toEqual([]);
    att.close(); // nothing of ours is left to detach
  });

  it('close() detaches the program even after the caller closed its program fd', () => {
    const map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'count_tmp2' });
    const prog = counter('count_tmp2', map);
    const att = ns.run(() => attachXdp(prog, ns.b, { mode: 'native', via: 'netlink' }));
    prog.close();
    map.close();
    att.close();
    expect(ipXdp(ns, ns.b)).toBeUndefined();
  });

  it('offload on veth: the program cannot be bound to it, and attaching says the device has no XDP offload', () => {
    const ifindex = (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.b)) as { ifindex: number }[])[0].ifindex;
    // An offloaded program must be loaded for the NIC; the kernel refuses to bind one to a veth.
    expect(() =>
      ns.run(() =>
        Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, XDP_PASS).exit().build(), name: 'offl', ifindex }),
      ),
    ).toThrow(
      /BPF_PROG_LOAD failed: EINVAL.*hint: a program loaded with ifindex is offloaded or device-bound: only a driver that registered for BPF offload/,
    );
    for (const via of ['netlink', 'link'] as const) {
      const e = refusal(() => ns.run(() => attachXdp(progA, ns.b, { mode: 'offload', via })));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(/veth-b has no XDP offload: .*Netronome.*nfp.*ifindex/);
    }
    expect(ipXdp(ns, ns.b)).toBeUndefined();
  });

  it('names the missing device, rejects a bad mode and a program of the wrong type', () => {
    expect(() => ns.run(() => attachXdp(progA, 'nosuchdev0'))).toThrow(/no device named "nosuchdev0"/);
    expect(() => ns.run(() => queryXdp('nosuchdev0'))).toThrow(/no device named "nosuchdev0"/);
    expect(() => ns.run(() => detachXdp(424242))).toThrow(/no device with ifindex 424242/);
    // @ts-expect-error: a mode the type does not allow, as from untyped callers
    expect(() => ns.run(() => attachXdp(progA, ns.b, { mode: 'driver' }))).toThrow(
      /bad XDP mode "driver": use 'generic', 'native' or 'offload'/,
    );
    // @ts-expect-error: same for detach
    expect(() => detachXdp(ns.b, 'skb')).toThrow(LinkError);
    using sock = Program.load({ type: 'SOCKET_FILTER', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(), name: 'sf' });
    expect(() => ns.run(() => attachXdp(sock, ns.b))).toThrow(/not XDP/);
  });
});
