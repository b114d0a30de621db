// Network namespace hooks (sk_lookup, flow_dissector), netfilter links and netkit, each tried in a
// namespace the test makes. Oracles: whether a connection is accepted or refused by the kernel,
// the device's own packet counters (ip -s link), and bpftool's view of the links.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R6, R7, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { attachNetfilter, attachNetkit, attachNetns, LinkError, NetkitUnsupportedError, netkitSupported } from '../src/links/index.js';
import { findCause } from '../src/errors/index.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import {
  bindSockaddr,
  closeFd,
  connectSockaddr,
  listenSocket,
  openSocket,
  setsockoptInt,
  sockaddrIn,
  type SyscallError,
} from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { PacketSocket } from '../src/xsk/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const AF_INET = 2;
const SOCK_STREAM = 1;

/** A program that adds 1 to slot 0 of `map` and returns `verdict`. */
function counting(type: 'FLOW_DISSECTOR' | 'NETFILTER', map: BpfMap, verdict: number, name: string): Program {
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
  return Program.load({
    type,
    instructions: insns,
    maps: { counter: map },
    name,
    expectedAttachType: type === 'NETFILTER' ? AttachType.NETFILTER : AttachType.FLOW_DISSECTOR,
  });
}
const count = (map: BpfMap): number => Number(map.lookup(0)!.readBigUInt64LE(0));

function txPackets(ns: TestNetns, dev: string): number {
  return (JSON.parse(ns.ip('-s', '-j', 'link', 'show', 'dev', dev)) as { stats64: { tx: { packets: number } } }[])[0].stats64.tx.packets;
}

function tryConnect(ns: TestNetns, port: number): string {
  return ns.run(() => {
    const fd = openSocket(AF_INET, SOCK_STREAM, 0);
    try {
      connectSockaddr(fd, sockaddrIn('127.0.0.1', port));
      return 'connected';
    } catch (e) {
      return (e as SyscallError).code;
    } finally {
      closeFd(fd);
    }
  });
}

describe.runIf(need(isRoot && hasCommand('ip') && hasCommand('bpftool'), 'netns hook tests need root, iproute2 and bpftool'))(
  'network namespace hooks, netfilter, netkit',
  () => {
    let ns: TestNetns;
    beforeAll(() => {
      ns = createTestNetns();
    });
    afterAll(() => ns?.remove());

    it('sk_lookup steers connections for one port to a socket held in a SOCKMAP', async () => {
      const server = net.createServer();
      let accepted = 0;
      server.on('connection', (s) => {
        accepted++;
        s.destroy();
      });
      const lfd = ns.run(() => {
        const fd = openSocket(AF_INET, SOCK_STREAM, 0);
        setsockoptInt(fd, 1, 2, 1); // SO_REUSEADDR
        bindSockaddr(fd, sockaddrIn('127.0.0.1', 9000));
        listenSocket(fd);
        return fd;
      });
      server.listen({ fd: lfd });
      using map = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 8, maxEntries: 1, name: 'steer_to' });
      // if (ctx->local_port == 9999) { sk = lookup(map, 0); if (sk) { bpf_sk_assign(ctx, sk, 0); bpf_sk_release(sk); } } return SK_PASS;
      using prog = Program.load({
        type: 'SK_LOOKUP',
        expectedAttachType: AttachType.SK_LOOKUP,
        name: 'steer',
        maps: { steer_to: map },
        instructions: new ProgramBuilder()
          .mov64Reg(R6, R1)
          .ldx(Size.W, R1, R6, 60)
          .jneImm(R1, 9999, 'out') // struct bpf_sk_lookup.local_port
          .st(Size.W, R10, -4, 0)
          .mov64Reg(R2, R10)
          .add64Imm(R2, -4)
          .ldMapFd(R1, 'steer_to')
          .call('map_lookup_elem')
          .jeqImm(R0, 0, 'out')
          .mov64Reg(R7, R0)
          .mov64Reg(R1, R6)
          .mov64Reg(R2, R7)
          .mov64Imm(R3, 0)
          .call('sk_assign')
          .mov64Reg(R1, R7)
          .call('sk_release')
          .label('out')
          .mov64Imm(R0, 1)
          .exit()
          .build(),
      });
      try {
        map.update(0, lfd);
        expect(tryConnect(ns, 9999)).toBe('ECONNREFUSED'); // nobody listens there
        {
          using link = attachNetns(prog, ns.path);
          expect(link.info().type).toBe(5); // BPF_LINK_TYPE_NETNS
          const shown = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(link.info().id)], { encoding: 'utf8' })) as {
            type: string;
            attach_type: string;
          };
          expect(shown.type).toBe('netns');
          expect(shown.attach_type).toBe('sk_lookup');
          expect(tryConnect(ns, 9999)).toBe('connected');
          expect(tryConnect(ns, 8888)).toBe('ECONNREFUSED'); // other ports: the kernel's own lookup
          await sleep(50);
          expect(accepted).toBe(1);
        }
        // The link is closed: the namespace's lookup is the kernel's alone again.
        expect(tryConnect(ns, 9999)).toBe('ECONNREFUSED');
        // Another namespace (the test's own) was never affected.
        const f = openSocket(AF_INET, SOCK_STREAM, 0);
        closeFd(f);
      } finally {
        server.close();
      }
    });

    it('refuses programs of other types for a namespace, and a namespace path that does not exist', () => {
      using map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
      using nf = counting('NETFILTER', map, 1, 'nf_count');
      using fd = counting('FLOW_DISSECTOR', map, 0, 'dissect');
      expect(() => attachNetns(nf, ns.path)).toThrow(LinkError);
      expect(() => attachNetns(fd, '/nonexistent/netns')).toThrow(/ENOENT/);
    });

    it("flow_dissector runs for the namespace's packets once attached (RPS hashing asks for it)", async () => {
      using map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
      using prog = counting('FLOW_DISSECTOR', map, 0 /* BPF_OK */, 'dissect');
      // Receive packet steering on veth-b: every received frame is hashed, which dissects it.
      // Raw frames from an AF_PACKET socket carry no socket hash (a connected UDP socket's would), so
      // the receive side has to compute one.
      ns.exec('sh', '-c', `echo 3 > /sys/class/net/${ns.b}/queues/rx-0/rps_cpus`);
      const peer = ns.run(() => new PacketSocket(ns.a));
      const macB = Buffer.from(
        (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', ns.b)) as { address: string }[])[0].address.split(':').map((h) => parseInt(h, 16)),
      );
      const frames = (n: number): void => {
        for (let i = 0; i < n; i++) {
          const f = Buffer.alloc(60);
          macB.copy(f, 0);
          f.writeUInt16BE(0x0800, 12);
          f[14] = 0x45;
          f.writeUInt16BE(46, 16);
          f[22] = 64;
          f[23] = 17;
          Buffer.from([10, 9, 0, 1, 10, 9, 0, 2]).copy(f, 26);
          f.writeUInt16BE(1000 + i, 34);
          f.writeUInt16BE(9, 36);
          f.writeUInt16BE(26, 38);
          peer.send(f);
        }
      };
      onTestFinished(() => peer.close());
      frames(20);
      expect(count(map)).toBe(0);
      {
        using link = attachNetns(prog, ns.path);
        const shown = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(link.info().id)], { encoding: 'utf8' })) as {
          attach_type: string;
        };
        expect(shown.attach_type).toBe('flow_dissector');
        frames(20);
        await sleep(50);
        expect(count(map)).toBeGreaterThanOrEqual(20);
        // One dissector per namespace.
        using second = counting('FLOW_DISSECTOR', map, 0, 'dissect2');
        expect(() => attachNetns(second, ns.path)).toThrow(LinkError);
      }
      const after = count(map);
      frames(20);
      await sleep(50);
      expect(count(map)).toBe(after);
    });

    it('netfilter: a program at ipv4 output sees every datagram, and NF_DROP stops them before the device', async () => {
      using map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
      using accept = counting('NETFILTER', map, 1 /* NF_ACCEPT */, 'nf_accept');
      using drop = counting('NETFILTER', map, 0 /* NF_DROP */, 'nf_drop');
      const send = (n: number): void => {
        ns.exec('bash', '-c', `for i in $(seq ${n}); do echo "nf $i" > /dev/udp/${ns.addressB}/9 2>/dev/null; done; true`);
      };
      {
        using link = ns.run(() => attachNetfilter(accept, { family: 'ipv4', hook: 'output', priority: -100 }));
        expect(link.netfilterInfo()).toEqual({ family: 2, hook: 3, priority: -100, flags: 0 });
        const shown = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(link.info().id)], { encoding: 'utf8' })) as {
          type: string | number;
        };
        expect([10, 'netfilter']).toContain(shown.type);
        const tx0 = txPackets(ns, ns.a);
        send(25);
        expect(count(map)).toBe(25);
        expect(txPackets(ns, ns.a) - tx0).toBe(25);
      }
      {
        using link = ns.run(() => attachNetfilter(drop, { family: 'ipv4', hook: 'output', priority: -100, defrag: true }));
        expect(link.netfilterInfo().flags).toBe(1);
        const before = count(map);
        const tx0 = txPackets(ns, ns.a);
        send(25);
        expect(count(map) - before).toBe(25);
        expect(txPackets(ns, ns.a) - tx0).toBe(0); // dropped before the device
      }
      // The root namespace's output hook never saw them: the link was made inside the test namespace.
      const before = count(map);
      send(5);
      expect(count(map)).toBe(before);
      expect(() => attachNetfilter(accept, { family: 'ipv4', hook: 'output', priority: 0x7fffffff })).toThrow(/reserved/);
      expect(() => attachNetfilter(accept, { family: 'ipx' as 'ipv4', hook: 'output', priority: 0 })).toThrow(/bad netfilter family/);
      expect(() => attachNetfilter(accept, { family: 'ipv4', hook: 'input', priority: -500, defrag: true })).toThrow(/above -400/);
    });

    it('netkit: refused with the reason on a kernel without it', () => {
      // The kernel's own answer: it cannot make a netkit device.
      let made = true;
      try {
        execFileSync('ip', ['-n', ns.name, 'link', 'add', 'nk0', 'type', 'netkit'], { stdio: 'ignore' });
      } catch {
        made = false;
      }
      expect(made).toBe(netkitSupported());
      using prog = Program.load({ type: 'SCHED_CLS', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(), name: 'nk' });
      if (!netkitSupported()) {
        const thrown = (() => {
          try {
            ns.run(() => attachNetkit(prog, ns.a));
          } catch (x) {
            return x;
          }
          return undefined;
        })();
        expect(thrown).toBeInstanceOf(LinkError);
        expect(thrown).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
        const e = findCause(thrown, NetkitUnsupportedError);
        expect(e).toBeInstanceOf(NetkitUnsupportedError);
        expect(e!.code).toBe('ERR_NOT_SUPPORTED');
        expect(e!.message).toMatch(/CONFIG_NETKIT/);
      } else {
        expect(() => ns.run(() => attachNetkit(prog, ns.a))).toThrow(/not a netkit device/);
      }
    });
  },
);
