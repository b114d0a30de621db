// Thousands of load / attach / read / close cycles: the process's fds must come back to where
// they started, and bpftool must list none of the programs, maps and links the cycles made.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AttachType, BpfMap, createCpuMap, createDevMap, loadCollection, Program, XskMap } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R3, R4, R10, Size } from '../src/asm/index.js';
import {
  attachIter,
  attachNetfilter,
  attachNetns,
  attachSockMap,
  attachUsdt,
  attachXdp,
  iteratorTarget,
  Link,
  usdtMaps,
} from '../src/links/index.js';
import { RingBufferReader } from '../src/ringbuf.js';
import { loadXskRedirectProgram, PacketSocket, XdpSocket } from '../src/xsk/index.js';
import { createTestNetns } from './support/netns.js';
import { isRoot, need } from './support/env.js';
import { heldElsewhere } from './support/global-leaks.js';

const fdCount = (): number => readdirSync('/proc/self/fd').length;

type Listed = { id: number; name?: string; prog_id?: number; map_ids?: number[] };

function bpftoolList(kind: 'prog' | 'map' | 'link'): Listed[] {
  return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as Listed[];
}

describe.runIf(need(isRoot, 'the soak test needs root'))('soak', () => {
  it('3,000 cycles of map + program + link + ring buffer reader leave nothing behind', async () => {
    const fdsBefore = fdCount();
    let records = 0;
    for (let i = 0; i < 3000; i++) {
      // Everything of the previous cycle has been disposed by now.
      if (i % 500 === 0) {
        await new Promise((r) => setImmediate(r));
        expect(fdCount()).toBe(fdsBefore);
      }
      using ring = BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'soak_ring' });
      // Emits one 8-byte record per run: the run number's low bits from the stack.
      const insns = new ProgramBuilder()
        .st(Size.DW, R10, -8, i)
        .ldMapFd(R1, 'ring')
        .mov64Reg(R2, R10)
        .add64Imm(R2, -8)
        .mov64Imm(R3, 8)
        .mov64Imm(R4, 0)
        .call('ringbuf_output')
        .mov64Imm(R0, 2)
        .exit()
        .build();
      using prog = Program.load({ type: 'XDP', instructions: insns, maps: { ring }, name: 'soak' });
      using reader = new RingBufferReader(ring);
      prog.testRun({ data: Buffer.alloc(14) });
      reader.poll((r) => {
        if (r.readUInt32LE(0) === i) records++;
      });
      if (i % 3 === 0) {
        using raw = Program.load({
          type: 'RAW_TRACEPOINT',
          instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
          name: 'soak_tp',
        });
        using link = Link.rawTracepoint(raw, 'sys_enter');
        expect(link.closed).toBe(false);
      }
    }
    expect(records).toBe(3000);
    expect(fdCount()).toBe(fdsBefore);
    // Objects are freed by the kernel after their last fd closes, after an RCU grace period.
    // Other test files run alongside, so only this test's objects (all named soak*) count.
    const deadline = Date.now() + 10_000;
    // Objects another live process holds (another run of this test) are that process's.
    const extra = (): string[] => {
      const lists = { prog: bpftoolList('prog'), map: bpftoolList('map'), link: bpftoolList('link') };
      const others = heldElsewhere(lists);
      const progs = lists.prog.filter((o) => o.name?.startsWith('soak') && !others.prog.has(o.id));
      const ours = new Set(progs.map((o) => o.id));
      return [
        ...progs.map((o) => `prog ${o.id} ${o.name}`),
        ...lists.map.filter((o) => o.name?.startsWith('soak') && !others.map.has(o.id)).map((o) => `map ${o.id} ${o.name}`),
        ...lists.link.filter((o) => o.prog_id !== undefined && ours.has(o.prog_id)).map((o) => `link ${o.id}`),
      ];
    };
    while (extra().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(extra()).toEqual([]);
  }, 120_000);

  it('300 cycles of the networking objects (AF_XDP socket, XSKMAP/DEVMAP/CPUMAP, socket map, netns and netfilter links) leave nothing behind', async () => {
    const ns = createTestNetns();
    try {
      const fdsBefore = fdCount();
      const macB = Buffer.from(
        (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.b)) as { address: string }[])[0].address.split(':').map((h) => parseInt(h, 16)),
      );
      const frame = Buffer.alloc(60);
      macB.copy(frame, 0);
      frame.writeUInt16BE(0x88b5, 12);
      const count = (type: 'FLOW_DISSECTOR' | 'NETFILTER', verdict: number): Program =>
        Program.load({
          type,
          name: type === 'NETFILTER' ? 'soak_nf' : 'soak_fd',
          expectedAttachType: type === 'NETFILTER' ? AttachType.NETFILTER : AttachType.FLOW_DISSECTOR,
          instructions: new ProgramBuilder().mov64Imm(R0, verdict).exit().build(),
        });
      for (let i = 0; i < 300; i++) {
        if (i % 50 === 0) {
          await new Promise((r) => setImmediate(r));
          expect(fdCount()).toBe(fdsBefore);
        }
        ns.run(() => {
          using xsks = new XskMap({ maxEntries: 1, name: 'soak_xsks' });
          using sock = new XdpSocket({ device: ns.b, frameCount: 64 });
          xsks.set(0, sock);
          using redirect = loadXskRedirectProgram(xsks, 'soak_xsk');
          using link = attachXdp(redirect, ns.b, { mode: i % 2 ? 'native' : 'generic' });
          using peer = new PacketSocket(ns.a);
          peer.send(frame);
          void link;
          if (i % 10 === 0) {
            using devmap = createDevMap({ maxEntries: 2, name: 'soak_dev' });
            using cpumap = createCpuMap({ maxEntries: 1, name: 'soak_cpu' });
            devmap.update(0, { ifindex: sock.ifindex });
            cpumap.update(0, { qsize: 64 });
            using sockmap = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 4, maxEntries: 1, name: 'soak_sockmap' });
            using msg = Program.load({
              type: 'SK_MSG',
              name: 'soak_msg',
              instructions: new ProgramBuilder().mov64Imm(R0, 1).exit().build(),
            });
            using l1 = attachSockMap(msg, sockmap, 'sk_msg');
            using nf = count('NETFILTER', 1);
            using l2 = attachNetfilter(nf, { family: 'ipv4', hook: 'input', priority: 10 });
            using fd = count('FLOW_DISSECTOR', 0);
            using l3 = attachNetns(fd, ns.path);
            void l1;
            void l2;
            void l3;
          }
        });
      }
      expect(fdCount()).toBe(fdsBefore);
      // No AF_XDP or packet socket is left in the namespace: the kernel's per-namespace count of
      // sockets per protocol (/proc/net/protocols, read inside the namespace) is back to 0.
      const deadline = Date.now() + 10_000;
      const sockets = (): string =>
        ns.exec('sh', '-c', 'awk \'$1 == "XDP" || $1 == "PACKET" { print $1, $3 }\' /proc/net/protocols').trim();
      while (sockets() !== 'PACKET 0\nXDP 0' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(sockets()).toBe('PACKET 0\nXDP 0');
      const left = (): string[] => {
        const lists = { prog: bpftoolList('prog'), map: bpftoolList('map'), link: bpftoolList('link') };
        const others = heldElsewhere(lists);
        return [
          ...lists.prog.filter((o) => o.name?.startsWith('soak_') && !others.prog.has(o.id)).map((o) => `prog ${o.id} ${o.name}`),
          ...lists.map.filter((o) => o.name?.startsWith('soak_') && !others.map.has(o.id)).map((o) => `map ${o.id} ${o.name}`),
        ];
      };
      while (left().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(left()).toEqual([]);
    } finally {
      ns.remove();
    }
  }, 180_000);

  it('iterator links and USDT links: 300 cycles of attach, read every way, close leave no fd, spec id or ip entry behind', async () => {
    const fdsBefore = fdCount();
    const usdt = loadCollection(join(import.meta.dirname, '../bpf/usdt.o'), { programs: ['record_args'] });
    try {
      const maps = usdtMaps(usdt);
      for (let i = 0; i < 300; i++) {
        using prog = Program.load({
          ...iteratorTarget('bpf_map'),
          instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
          name: 'soak_iter',
        });
        using link = attachIter(prog);
        expect(link.read().length).toBe(0);
        if (i % 3 === 0) for await (const chunk of link.open()) expect(chunk.length).toBeGreaterThan(0);
        if (i % 3 === 1) for await (const chunk of link.stream()) expect((chunk as Buffer).length).toBeGreaterThan(0);
        // python3.11's probes, limited to this (non-Python) process: attached, never fired.
        using probe = attachUsdt(usdt.programs.record_args, maps, '/usr/bin/python3.11', 'python', 'function__return', {
          pid: process.pid,
          cookie: BigInt(i),
        });
        expect(probe.sites[0].specId).toBe(0); // the previous cycle's id came back
      }
      expect(maps.ipToSpecId!.nextKey()).toBeUndefined();
    } finally {
      usdt.close();
    }
    await new Promise((r) => setImmediate(r));
    expect(fdCount()).toBe(fdsBefore);
    const deadline = Date.now() + 10_000;
    const extra = (): string[] =>
      bpftoolList('prog')
        .filter((o) => o.name === 'soak_iter' && !heldElsewhere({ prog: bpftoolList('prog'), map: [], link: [] }).prog.has(o.id))
        .map((o) => `prog ${o.id} ${o.name}`);
    while (extra().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(extra()).toEqual([]);
  }, 180_000);
});
