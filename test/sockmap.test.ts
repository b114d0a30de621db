// Socket maps in a throwaway namespace: TCP connections over the namespace's loopback whose sockets
// sit in a SOCKMAP/SOCKHASH, with sk_msg and sk_skb programs attached to the map through bpf_links;
// and an sk_reuseport program choosing the socket of a SO_REUSEPORT group. The oracles are the
// sockets themselves (which one receives what) and bpftool's view of the links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R6, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { attachReuseport, attachSockMap } from '../src/links/sockmap.js';
import { LinkError } from '../src/links/link.js';
import { errnoOf } from '../src/errors/index.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import {
  bindSockaddr,
  closeFd,
  connectSockaddr,
  listenSocket,
  NativeMemory,
  openSocket,
  progQuery,
  recvAt,
  setsockoptInt,
  sockaddrIn,
  SyscallError,
} from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const BPF_F_INGRESS = 1;
const SK_PASS = 1;

const fdOf = (s: net.Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd;

interface Pair {
  client: net.Socket;
  server: net.Socket;
  received: { client: string; server: string };
  close(): void;
}

/**
 * A TCP connection over the namespace's loopback. The sockets are made with raw calls while this
 * thread is in the namespace (Node would make them later, in the root namespace) and then handed
 * to Node, which does the reading and writing.
 */
async function tcpPair(ns: TestNetns, port: number): Promise<Pair> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const cfd = ns.run(() => {
    const lfd = openSocket(AF_INET, SOCK_STREAM, 0);
    setsockoptInt(lfd, SOL_SOCKET, SO_REUSEADDR, 1);
    bindSockaddr(lfd, sockaddrIn('127.0.0.1', port));
    listenSocket(lfd);
    server.listen({ fd: lfd });
    const fd = openSocket(AF_INET, SOCK_STREAM, 0);
    connectSockaddr(fd, sockaddrIn('127.0.0.1', port)); // the kernel completes the handshake on loopback
    return fd;
  });
  const client = new net.Socket({ fd: cfd, readable: true, writable: true });
  const serverSide = await accepted;
  const received = { client: '', server: '' };
  client.on('data', (d) => {
    received.client += d.toString();
  });
  serverSide.on('data', (d) => {
    received.server += d.toString();
  });
  return {
    client,
    server: serverSide,
    received,
    close: () => {
      client.destroy();
      serverSide.destroy();
      server.close();
    },
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

function bpftoolLink(id: number): { type: string | number; prog_id: number } {
  return JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
    type: string | number;
    prog_id: number;
  };
}

/** sk_msg: every sendmsg's data goes to the ingress of the socket at `key` (as if it had received it). */
function msgRedirect(map: BpfMap, key: number): Program {
  const insns = new ProgramBuilder()
    .ldMapFd(R2, 'sock_map')
    .mov64Imm(R3, key)
    .mov64Imm(R4, BPF_F_INGRESS)
    .call('msg_redirect_map')
    .exit()
    .build();
  return Program.load({ type: 'SK_MSG', instructions: insns, maps: { sock_map: map }, name: 'msg_redirect' });
}

/** sk_skb verdict: data received on a socket is sent back out of the socket at `key` (an echo in the kernel). */
function skbEcho(map: BpfMap, key: number, hash: boolean): Program {
  const b = new ProgramBuilder();
  if (hash) {
    b.st(Size.W, R10, -4, key).ldMapFd(R2, 'sock_map').mov64Reg(R3, R10).add64Imm(R3, -4).mov64Imm(R4, 0).call('sk_redirect_hash');
  } else {
    b.ldMapFd(R2, 'sock_map').mov64Imm(R3, key).mov64Imm(R4, 0).call('sk_redirect_map');
  }
  return Program.load({ type: 'SK_SKB', instructions: b.exit().build(), maps: { sock_map: map }, name: 'skb_echo' });
}

/** Stream parser: each received skb is one message (returns skb->len). */
function wholeSkbParser(): Program {
  const insns = new ProgramBuilder().ldx(Size.W, R0, R1, 0).exit().build();
  return Program.load({ type: 'SK_SKB', instructions: insns, name: 'skb_parser' });
}

describe.runIf(need(isRoot && hasCommand('ip') && hasCommand('bpftool'), 'socket map tests need root, iproute2 and bpftool'))(
  'socket maps',
  () => {
    let ns: TestNetns;
    beforeAll(() => {
      ns = createTestNetns();
    });
    afterAll(() => ns?.remove());

    it("sk_msg redirects what one connection sends into another connection's receive queue (SOCKMAP)", async () => {
      const p1 = await tcpPair(ns, 7001);
      const p2 = await tcpPair(ns, 7002);
      using map = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 4, maxEntries: 2, name: 'sock_map' });
      using prog = msgRedirect(map, 1);
      try {
        using link = attachSockMap(prog, map, 'sk_msg');
        map.update(0, fdOf(p1.client));
        map.update(1, fdOf(p2.server));
        const info = link.info();
        expect(info.type).toBe(14); // BPF_LINK_TYPE_SOCKMAP
        // bpftool 7.1 predates the sockmap link type's name and prints its number.
        expect([14, 'sockmap']).toContain(bpftoolLink(info.id).type);
        expect(bpftoolLink(info.id).prog_id).toBe(prog.info().id);
        p1.client.write('redirected through sk_msg');
        await until(() => p2.received.server.length >= 25);
        expect(p2.received.server).toBe('redirected through sk_msg');
        expect(p1.received.server).toBe('');
        // Out of the map, the socket sends normally again: the redirect was the program's doing.
        map.delete(0);
        p1.client.write('plain');
        await until(() => p1.received.server.length >= 5);
        expect(p1.received.server).toBe('plain');
        expect(p2.received.server).toBe('redirected through sk_msg');
      } finally {
        p1.close();
        p2.close();
      }
    });

    it('sk_skb stream parser + stream verdict echo received data back in the kernel (SOCKMAP)', async () => {
      const p = await tcpPair(ns, 7003);
      using map = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 4, maxEntries: 1, name: 'sock_map' });
      using parser = wholeSkbParser();
      using verdict = skbEcho(map, 0, false);
      try {
        using l1 = attachSockMap(parser, map, 'stream_parser');
        using l2 = attachSockMap(verdict, map, 'stream_verdict');
        map.update(0, fdOf(p.server));
        p.client.write('echo me');
        await until(() => p.received.client.length >= 7);
        expect(p.received.client).toBe('echo me');
        expect(p.received.server).toBe(''); // the application on the server never saw it
        void l1;
        void l2;
      } finally {
        p.close();
      }
    });

    it('sk_skb verdict without a parser (SOCKHASH), and one verdict program per map', async () => {
      const p = await tcpPair(ns, 7004);
      using map = BpfMap.create({ type: 'SOCKHASH', keySize: 4, valueSize: 4, maxEntries: 4, name: 'sock_map' });
      using verdict = skbEcho(map, 42, true);
      using other = skbEcho(map, 42, true);
      try {
        using link = attachSockMap(verdict, map, 'skb_verdict');
        map.update(42, fdOf(p.server));
        p.client.write('hash echo');
        await until(() => p.received.client.length >= 9);
        expect(p.received.client).toBe('hash echo');
        const busy = (() => {
          try {
            attachSockMap(other, map, 'stream_verdict');
          } catch (e) {
            return e as LinkError;
          }
          return undefined;
        })();
        expect(busy).toBeInstanceOf(LinkError);
        expect(busy!.kind).toBe('attach');
        expect(busy!.cause).toBeInstanceOf(SyscallError);
        expect(errnoOf(busy)).toBe('EBUSY');
        expect(busy!.message).toMatch(/exclude each other/);
        void link;
      } finally {
        p.close();
      }
    });

    it('examples/sockmap-redirect.ts moves the same bytes through the redirect as over loopback, and removes its namespace', () => {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', 'examples/sockmap-redirect.ts', '--mb', '4', '--rounds', '1', '--json'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      const r = JSON.parse(out.trim().split('\n').pop()!) as {
        namespace: string;
        allIntact: boolean;
        results: { way: string; mbPerS: number; intact: boolean }[];
      };
      expect(r.results.map((x) => x.way).sort()).toEqual(['loopback', 'sockmap']);
      expect(r.allIntact).toBe(true); // SHA-256 of what arrived equals what was sent, both ways
      for (const x of r.results) expect(x.mbPerS).toBeGreaterThan(0);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(r.namespace);
    });

    it('BPF_PROG_ATTACH for kernels before 6.10: the map lists the program (BPF_PROG_QUERY) until close() detaches it', async () => {
      const p = await tcpPair(ns, 7005);
      using map = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 4, maxEntries: 1, name: 'sock_map' });
      using verdict = skbEcho(map, 0, false);
      const attached = (): number[] => progQuery(map.fd, AttachType.SK_SKB_VERDICT).ids;
      try {
        {
          using a = attachSockMap(verdict, map, 'skb_verdict', { via: 'attach' });
          expect(attached()).toEqual([verdict.info().id]);
          map.update(0, fdOf(p.server));
          p.client.write('attached the old way');
          await until(() => p.received.client.length >= 20);
          expect(p.received.client).toBe('attached the old way');
          void a;
        }
        expect(attached()).toEqual([]);
      } finally {
        p.close();
      }
    });

    it('refuses the wrong program or map type with a LinkError', () => {
      using sockmap = BpfMap.create({ type: 'SOCKMAP', keySize: 4, valueSize: 4, maxEntries: 1, name: 'sock_map' });
      using array = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'arr' });
      using parser = wholeSkbParser();
      expect(() => attachSockMap(parser, array, 'stream_parser')).toThrow(/SOCKMAP/);
      expect(() => attachSockMap(parser, sockmap, 'sk_msg')).toThrow(LinkError);
      expect(() => attachSockMap(parser, sockmap, 'nope' as 'sk_msg')).toThrow(/bad socket map program kind/);
      expect(() => attachSockMap(parser, sockmap, 'stream_parser', { via: 'ioctl' as 'link' })).toThrow(/bad socket map attach method/);
    });

    it('sk_reuseport picks the socket of a SO_REUSEPORT group from a REUSEPORT_SOCKARRAY', async () => {
      const port = 7100;
      const fds = ns.run(() =>
        [0, 1].map(() => {
          const fd = openSocket(AF_INET, SOCK_DGRAM, 0);
          setsockoptInt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
          bindSockaddr(fd, sockaddrIn('127.0.0.1', port));
          return fd;
        }),
      );
      const buf = new NativeMemory(2048);
      const drain = (fd: number): number => {
        let n = 0;
        while (recvAt(fd, buf.address, 2048, 0x40 /* MSG_DONTWAIT */) >= 0) n++;
        return n;
      };
      using map = BpfMap.create({ type: 'REUSEPORT_SOCKARRAY', keySize: 4, valueSize: 4, maxEntries: 2, name: 'reuse' });
      const pick = (key: number): Program =>
        Program.load({
          type: 'SK_REUSEPORT',
          name: `pick_${key}`,
          maps: { reuse: map },
          instructions: new ProgramBuilder()
            .mov64Reg(R6, R1)
            .st(Size.W, R10, -4, key)
            .mov64Reg(R1, R6)
            .ldMapFd(R2, 'reuse')
            .mov64Reg(R3, R10)
            .add64Imm(R3, -4)
            .mov64Imm(R4, 0)
            .call('sk_select_reuseport')
            .mov64Imm(R0, SK_PASS)
            .exit()
            .build(),
        });
      using pick0 = pick(0);
      using pick1 = pick(1);
      try {
        map.update(0, fds[0]);
        map.update(1, fds[1]);
        const send = (n: number): void => {
          ns.exec('bash', '-c', `for i in $(seq ${n}); do echo "d $i" > /dev/udp/127.0.0.1/${port}; done`);
        };
        {
          using a = attachReuseport(pick1, fds[0]);
          send(20);
          await sleep(50);
          expect([drain(fds[0]), drain(fds[1])]).toEqual([0, 20]);
          void a;
        }
        {
          using b = attachReuseport(pick0, fds[1]);
          send(20);
          await sleep(50);
          expect([drain(fds[0]), drain(fds[1])]).toEqual([20, 0]);
          void b;
        }
        using wrong = wholeSkbParser();
        expect(() => attachReuseport(wrong, fds[0])).toThrow(/SK_REUSEPORT/);
      } finally {
        for (const fd of fds) closeFd(fd);
        buf.free();
      }
    });
  },
);
