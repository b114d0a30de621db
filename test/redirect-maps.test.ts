// bpf_redirect_map through DEVMAP and CPUMAP with typed values (ifindex + program; qsize +
// program), on a veth pair in a throwaway namespace. XSKMAP is exercised in afxdp.test.ts. Oracles:
// a raw AF_PACKET socket on the far end (the frames arrive byte for byte), the second-level
// programs' own counters, and bpftool's dump of the map values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { attachXdp } from '../src/links/xdp.js';
import { BpfMap, createCpuMap, createDevMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { PacketSocket } from '../src/xsk/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const XDP_PASS = 2;

function redirectTo(map: BpfMap<number, unknown>, key: number): Program {
  return Program.load({
    type: 'XDP',
    name: 'redirect',
    maps: { target: map },
    instructions: new ProgramBuilder().ldMapFd(R1, 'target').mov64Imm(R2, key).mov64Imm(R3, 0).call('redirect_map').exit().build(),
  });
}

/** Counts in slot 0 of `counter` and returns XDP_PASS; loaded for a DEVMAP or CPUMAP entry. */
function secondLevel(counter: BpfMap, attachType: number, name: string): Program {
  return Program.load({
    type: 'XDP',
    name,
    expectedAttachType: attachType,
    maps: { counter },
    instructions: new ProgramBuilder()
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
      .build(),
  });
}

const passProgram = (): Program =>
  Program.load({ type: 'XDP', name: 'pass', instructions: new ProgramBuilder().mov64Imm(R0, XDP_PASS).exit().build() });
const count = (m: BpfMap): number => Number(m.lookup(0)!.readBigUInt64LE(0));

function macOf(ns: TestNetns, dev: string): Buffer {
  return Buffer.from(
    (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', dev)) as { address: string }[])[0].address.split(':').map((h) => parseInt(h, 16)),
  );
}

function frame(dst: Buffer, seq: number): Buffer {
  const f = Buffer.alloc(80);
  dst.copy(f, 0);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(seq, 14);
  for (let i = 18; i < f.length; i++) f[i] = (seq + i) & 0xff;
  return f;
}

function bpftoolValue(map: BpfMap<number, unknown>, key: number): number[] {
  const out = JSON.parse(
    execFileSync('bpftool', ['-j', 'map', 'lookup', 'id', String(map.info().id), 'key', ...[key, 0, 0, 0].map(String)], {
      encoding: 'utf8',
    }),
  ) as { value: string[] };
  return out.value.map((h) => parseInt(h, 16));
}

describe.runIf(need(isRoot && hasCommand('ip') && hasCommand('bpftool'), 'redirect map tests need root, iproute2 and bpftool'))(
  'DEVMAP and CPUMAP',
  () => {
    let ns: TestNetns;
    beforeAll(() => {
      ns = createTestNetns();
    });
    afterAll(() => ns?.remove());

    it('DEVMAP: frames arriving on veth-b go back out of veth-b through the map, its entry program counting them', async () => {
      const ifB = Number((JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.b)) as { ifindex: number }[])[0].ifindex);
      using counter = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
      using devProg = secondLevel(counter, AttachType.XDP_DEVMAP, 'on_devmap');
      using map = createDevMap({ maxEntries: 4, name: 'ports' });
      // The kernel resolves the ifindex in the network namespace of the thread that updates the map:
      // outside the test's namespace, ifindex 2 would be a device of the machine.
      ns.run(() => map.update(2, { ifindex: ifB, program: devProg }));
      const v = map.lookup(2)!;
      expect(v).toEqual({ ifindex: ifB, programId: devProg.info().id });
      // bpftool reads the same struct bpf_devmap_val: ifindex, then the program id.
      const raw = bpftoolValue(map, 2);
      expect(Buffer.from(raw).readUInt32LE(0)).toBe(ifB);
      expect(Buffer.from(raw).readUInt32LE(4)).toBe(devProg.info().id);

      using redirect = redirectTo(map, 2);
      using pass = passProgram();
      const macA = macOf(ns, ns.a);
      const { links, peer } = ns.run(() => ({
        // veth delivers frames redirected into veth-b to veth-a only when veth-a runs native XDP.
        links: [attachXdp(redirect, ns.b, { mode: 'native' }), attachXdp(pass, ns.a, { mode: 'native' })],
        peer: new PacketSocket(ns.a, { ignoreOutgoing: false }),
      }));
      // A raw socket does not see its own frames go out: send from a second one.
      const sender = ns.run(() => new PacketSocket(ns.a));
      try {
        const sent = Array.from({ length: 30 }, (_, i) => frame(macA, i));
        // Sent from veth-a to veth-b, bounced back by the DEVMAP redirect out of veth-b into veth-a.
        for (const f of sent) sender.send(f);
        const back: Buffer[] = [];
        const end = Date.now() + 3000;
        while (back.length < 2 * sent.length && Date.now() < end) {
          const f = peer.receive();
          if (!f) {
            await sleep(2);
            continue;
          }
          if (f.readUInt16BE(12) === 0x88b5) back.push(f);
        }
        // Each frame is seen twice on veth-a: once going out, once coming back.
        expect(back.length).toBe(2 * sent.length);
        for (const f of sent) expect(back.filter((g) => g.equals(f)).length).toBe(2);
        expect(count(counter)).toBe(sent.length);
      } finally {
        for (const l of links) l.close();
        peer.close();
        sender.close();
      }
    });

    it('CPUMAP: frames redirected to CPU 0 with a queue size and a program there', async () => {
      using counter = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
      using cpuProg = secondLevel(counter, AttachType.XDP_CPUMAP, 'on_cpumap');
      using map = createCpuMap({ maxEntries: 2, name: 'cpus' });
      map.update(0, { qsize: 192, program: cpuProg });
      expect(map.lookup(0)).toEqual({ qsize: 192, programId: cpuProg.info().id });
      expect(Buffer.from(bpftoolValue(map, 0)).readUInt32LE(0)).toBe(192);
      expect(() => map.update(1, { qsize: -1 })).toThrow(/qsize/);

      using redirect = redirectTo(map, 0);
      const macB = macOf(ns, ns.b);
      const { link, peer } = ns.run(() => ({ link: attachXdp(redirect, ns.b, { mode: 'native' }), peer: new PacketSocket(ns.a) }));
      try {
        for (let i = 0; i < 40; i++) peer.send(frame(macB, i));
        const end = Date.now() + 3000;
        while (count(counter) < 40 && Date.now() < end) await sleep(10);
        expect(count(counter)).toBe(40);
        // Without the entry the redirect fails (XDP_ABORTED): the CPU's program sees nothing more.
        map.delete(0);
        for (let i = 0; i < 10; i++) peer.send(frame(macB, i));
        await sleep(100);
        expect(count(counter)).toBe(40);
      } finally {
        link.close();
        peer.close();
      }
    });
  },
);
