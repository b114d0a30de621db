// struct_ops: a TCP congestion control made of STRUCT_OPS programs, laid out from kernel BTF,
// registered (by map update, and by a struct_ops link with update), and used by a TCP connection
// inside a network namespace the test creates; the kernel calls our cong_avoid, which counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { u32, u64 } from '../src/codec/index.js';
import { kernelBtf } from '../src/kernel/btf.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { LinkError, StructOpsMap, structOpsLayout, structOpsProgramTarget, updateStructOpsLink } from '../src/links/index.js';
import { closeFd, getFdById } from '../src/syscall/index.js';
import { BpfCommand } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';
import './support/leaks.js';

const canRun = need(isRoot && hasCommand('ip') && hasCommand('python3'), 'struct_ops tests need root, iproute2 and python3');
const CC = `ebpf_cc${process.pid % 100000}`;

function alive(progId: number): boolean {
  try {
    closeFd(getFdById(BpfCommand.PROG_GET_FD_BY_ID, progId));
    return true;
  } catch {
    return false;
  }
}

function available(): string[] {
  return execFileSync('cat', ['/proc/sys/net/ipv4/tcp_available_congestion_control'], { encoding: 'utf8' }).trim().split(/\s+/);
}

describe('struct_ops layout from kernel BTF', () => {
  it('places tcp_congestion_ops inside bpf_struct_ops_tcp_congestion_ops, members in declaration order', () => {
    const l = structOpsLayout('tcp_congestion_ops');
    const btf = kernelBtf();
    const wrapper = btf.findType('bpf_struct_ops_tcp_congestion_ops', 'struct')!;
    const ops = btf.findType('tcp_congestion_ops', 'struct')!;
    expect(l.valueSize).toBe(wrapper.size);
    expect(l.valueTypeId).toBe(wrapper.id);
    const data = btf.findMember(wrapper.id, 'data')!.bitOffset / 8;
    expect(l.members.map((m) => m.name)).toEqual(ops.members.map((m) => m.name));
    const ssthresh = l.members.find((m) => m.name === 'ssthresh')!;
    expect(ssthresh).toMatchObject({
      index: ops.members.findIndex((m) => m.name === 'ssthresh'),
      valueOffset: data + btf.findMember(ops.id, 'ssthresh')!.bitOffset / 8,
      isFunction: true,
      size: 8,
    });
    expect(l.members.find((m) => m.name === 'name')).toMatchObject({ isFunction: false, size: 16 });
    expect(structOpsProgramTarget('tcp_congestion_ops', 'cong_avoid')).toMatchObject({
      attachBtfId: ops.id,
      expectedAttachType: ops.members.findIndex((m) => m.name === 'cong_avoid'),
    });
    expect(() => structOpsLayout('no_such_ops')).toThrow(/no struct_ops type no_such_ops/);
    expect(() => structOpsProgramTarget('tcp_congestion_ops', 'name')).toThrow(/not a function pointer/);
    expect(() => structOpsProgramTarget('tcp_congestion_ops', 'nope')).toThrow(/has no member nope; it has ssthresh/);
  });
});

describe.runIf(canRun)('a congestion control of BPF programs', () => {
  let counts: BpfMap<number, bigint>;
  const progs: Record<string, Program> = {};
  let ns: TestNetns;

  beforeAll(() => {
    counts = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'cc_calls' }, { key: u32, value: u64 });
    // cong_avoid counts its calls; ssthresh and undo_cwnd keep a window of 10 segments.
    const constant = (v: number) => new ProgramBuilder().mov64Imm(R0, v).exit().build();
    const counter = new ProgramBuilder()
      .mov64Imm(R1, 0)
      .stx(Size.W, R10, -4, R1)
      .ldMapFd(R1, 'counts')
      .mov64Reg(R2, R10)
      .add64Imm(R2, -4)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'out')
      .mov64Imm(R1, 1)
      .atomicAdd(Size.DW, R0, 0, R1)
      .label('out')
      .mov64Imm(R0, 0)
      .exit()
      .build();
    progs.cong_avoid = Program.load({
      ...structOpsProgramTarget('tcp_congestion_ops', 'cong_avoid'),
      instructions: counter,
      maps: { counts },
      name: 'cc_cong_avoid',
    });
    progs.ssthresh = Program.load({
      ...structOpsProgramTarget('tcp_congestion_ops', 'ssthresh'),
      instructions: constant(10),
      name: 'cc_ssthresh',
    });
    progs.undo_cwnd = Program.load({
      ...structOpsProgramTarget('tcp_congestion_ops', 'undo_cwnd'),
      instructions: constant(10),
      name: 'cc_undo_cwnd',
    });
    ns = createTestNetns();
  });
  afterAll(async () => {
    ns?.remove();
    const ids = Object.values(progs).map((p) => p.info().id);
    for (const p of Object.values(progs)) p.close();
    counts?.close();
    // The kernel frees struct_ops programs only once the unregistered maps and the namespace's
    // sockets are gone (RCU tasks-trace grace periods, the netns cleanup worker): tens of seconds.
    // Wait for it, so the leak checks after this file see them gone.
    for (let i = 0; i < 120 && ids.some(alive); i++) await new Promise((r) => setTimeout(r, 500));
    expect(ids.filter(alive), 'struct_ops programs freed by the kernel within a minute').toEqual([]);
  }, 90_000);

  /** A TCP connection over loopback in the namespace using congestion control `cc`; returns what the socket reports. */
  function transfer(cc: string): string {
    return ns
      .exec(
        'python3',
        '-c',
        `
import socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def drain():
    c, _ = srv.accept()
    while c.recv(65536): pass
    c.close()
t = threading.Thread(target=drain); t.start()
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, ${JSON.stringify(cc)}.encode())
s.connect(srv.getsockname())
s.sendall(b"x" * (8 << 20))
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\\0").decode())
s.close(); t.join()
`,
      )
      .trim();
  }

  it('registers by map update, carries a TCP connection in a namespace, and unregisters on close', () => {
    const map = StructOpsMap.create('tcp_congestion_ops');
    try {
      map.set({ programs: progs, fields: { name: CC } });
      expect(map.registered).toBe(true);
      expect(available()).toContain(CC);
      const before = counts.lookup(0)!;
      expect(transfer(CC)).toBe(CC);
      expect(counts.lookup(0)!).toBeGreaterThan(before);
    } finally {
      map.close();
    }
    expect(available()).not.toContain(CC);
  });

  it('registers through a struct_ops link (BPF_F_LINK), which an update swaps to another map', () => {
    const first = StructOpsMap.create('tcp_congestion_ops', { link: true });
    const second = StructOpsMap.create('tcp_congestion_ops', { link: true });
    try {
      first.set({ programs: progs, fields: { name: CC } });
      expect(available()).not.toContain(CC); // written, not yet registered
      const link = first.attach();
      try {
        expect(link.info().type).toBe(9); // BPF_LINK_TYPE_STRUCT_OPS
        expect(available()).toContain(CC);
        second.set({ programs: progs, fields: { name: CC } });
        updateStructOpsLink(link, second);
        expect(transfer(CC)).toBe(CC);
      } finally {
        link.close();
      }
      expect(available()).not.toContain(CC);
    } finally {
      first.close();
      second.close();
    }
  });

  it('refuses bad values before the kernel sees them', () => {
    const map = StructOpsMap.create('tcp_congestion_ops');
    try {
      expect(() => map.encode({ fields: { name: 'x'.repeat(16) } })).toThrow(/does not fit tcp_congestion_ops\.name \(16 bytes/);
      expect(() => map.encode({ fields: { ssthresh: 1 } })).toThrow(/function slot: give it a program/);
      expect(() => map.encode({ programs: { name: progs.ssthresh } })).toThrow(/is data, not a function slot/);
      expect(() => map.encode({ programs: { nope: progs.ssthresh } })).toThrow(/has no member nope/);
      expect(() => map.attach()).toThrow(/without link: true/);
      const bytes = map.encode({ programs: { ssthresh: progs.ssthresh }, fields: { name: 'abc' } });
      const l = map.layout;
      expect(bytes.readUInt32LE(l.members.find((m) => m.name === 'ssthresh')!.valueOffset)).toBe(progs.ssthresh.fd);
      expect(
        bytes.toString(
          'latin1',
          l.members.find((m) => m.name === 'name')!.valueOffset,
          l.members.find((m) => m.name === 'name')!.valueOffset + 4,
        ),
      ).toBe('abc\0');
      // A congestion control without its required ssthresh/cong_avoid/undo_cwnd is refused by the kernel.
      expect(() => map.set({ fields: { name: CC } })).toThrow(LinkError);
      expect(map.registered).toBe(false);
    } finally {
      map.close();
    }
  });
});
