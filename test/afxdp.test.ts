// AF_XDP on a veth pair inside a throwaway namespace: frames put on the wire by a raw AF_PACKET
// socket on veth-a arrive in an XdpSocket on veth-b byte for byte (redirected by an XSKMAP
// program), and frames the XdpSocket transmits arrive at the AF_PACKET socket on veth-a. The raw
// socket is the independent oracle: the kernel's ordinary packet path, not the code under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { attachXdp, type XdpMode } from '../src/links/xdp.js';
import { XskMap } from '../src/maps/index.js';
import { loadXskRedirectProgram, PacketSocket, XdpSocket, XdpSocketError } from '../src/xsk/index.js';
import type { Program } from '../src/programs/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, openSockets, type TestNetns } from './support/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function macOf(ns: TestNetns, dev: string): Buffer {
  const text = (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', dev)) as { address: string }[])[0].address;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** A frame of local experimental ethertype 0x88b5 whose payload is `seq` and a pattern derived from it. */
function frame(dst: Buffer, src: Buffer, seq: number, length: number, ethertype = 0x88b5): Buffer {
  const f = Buffer.alloc(length);
  dst.copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(ethertype, 12);
  f.writeUInt32BE(seq, 14);
  for (let i = 18; i < length; i++) f[i] = (seq * 7 + i) & 0xff;
  return f;
}

async function collect(sock: XdpSocket, want: number, ms = 5000): Promise<Buffer[]> {
  const got: Buffer[] = [];
  const deadline = Date.now() + ms;
  while (got.length < want && Date.now() < deadline) {
    const batch = sock.receiveCopies(64);
    got.push(...batch);
    if (batch.length === 0) await sleep(5);
  }
  return got;
}

interface Rig {
  sock: XdpSocket;
  map: XskMap;
  prog: Program;
  link: { close(): void };
  peer: PacketSocket;
  close(): void;
}

/** Socket, XSKMAP, redirect program attached to veth-b, and a raw socket on veth-a; close() undoes all, in order. */
function rig(ns: TestNetns, xdpMode: XdpMode, frameCount: number): Rig {
  return ns.run(() => {
    const made: { close(): void }[] = [];
    try {
      const map = new XskMap({ maxEntries: 4, name: 'xsks' });
      made.push(map);
      const sock = new XdpSocket({ device: ns.b, queue: 0, frameCount });
      made.push(sock);
      map.set(0, sock);
      const prog: Program = loadXskRedirectProgram(map);
      made.push(prog);
      const link = attachXdp(prog, ns.b, { mode: xdpMode });
      made.push(link);
      const peer = new PacketSocket(ns.a);
      made.push(peer);
      return {
        sock,
        map,
        prog,
        link,
        peer,
        close: () => {
          for (const m of made.reverse()) m.close();
        },
      };
    } catch (e) {
      for (const m of made.reverse()) m.close();
      throw e;
    }
  });
}

describe.runIf(need(isRoot && hasCommand('ip'), 'AF_XDP tests need root and iproute2'))('AF_XDP socket', () => {
  let ns: TestNetns;
  let macA: Buffer;
  let macB: Buffer;
  let socketsBefore: string[];

  beforeAll(() => {
    socketsBefore = openSockets();
    ns = createTestNetns();
    macA = macOf(ns, ns.a);
    macB = macOf(ns, ns.b);
  });

  afterAll(() => {
    ns?.remove();
    expect(openSockets(), 'sockets left open').toEqual(socketsBefore);
  });

  for (const xdpMode of ['native', 'generic'] as XdpMode[]) {
    it(`receives frames from the peer with the right bytes and transmits to it (XDP ${xdpMode}, copy mode)`, async () => {
      const r = rig(ns, xdpMode, 256);
      const { sock, peer } = r;
      try {
        expect(sock.mode).toBe('copy'); // veth has no zero-copy AF_XDP
        const sent = Array.from({ length: 300 }, (_, i) => frame(macB, macA, i, 60 + (i % 200)));
        // In bursts of 64: the fill ring holds 128 frames, and a burst larger than what the reader
        // has handed back is dropped by the kernel (counted in rxFillRingEmpty), not queued.
        const got: Buffer[] = [];
        for (let i = 0; i < sent.length; i += 64) {
          for (const f of sent.slice(i, i + 64)) peer.send(f);
          got.push(...(await collect(sock, Math.min(64, sent.length - i))));
        }
        const ours = got.filter((f) => f.readUInt16BE(12) === 0x88b5);
        expect(ours.length).toBe(sent.length);
        // More frames than the fill ring held at the start (128): receive() recycled them.
        for (let i = 0; i < sent.length; i++) expect(ours[i].equals(sent[i]), `frame ${i}`).toBe(true);

        // Transmit: 100 frames in one call arrive at the peer, in order, byte for byte.
        const out = Array.from({ length: 100 }, (_, i) => frame(macA, macB, 1000 + i, 64 + i, 0x88b6));
        const wakeupsBefore = sock.wakeups;
        let queued = 0;
        while (queued < out.length) {
          const n = sock.transmit(out.slice(queued));
          queued += n;
          if (n === 0) await sleep(1);
        }
        const arrived: Buffer[] = [];
        const deadline = Date.now() + 5000;
        while (arrived.length < out.length && Date.now() < deadline) {
          const f = peer.receive();
          if (!f) {
            await sleep(2);
            continue;
          }
          if (f.readUInt16BE(12) === 0x88b6) arrived.push(f);
        }
        expect(arrived.length).toBe(out.length);
        // Batches, not a system call per frame: copy mode sends up to 32 frames per wakeup call.
        expect(sock.wakeups - wakeupsBefore).toBeLessThanOrEqual(Math.ceil(out.length / 32) + 4);
        for (let i = 0; i < out.length; i++) expect(arrived[i].equals(out[i]), `tx frame ${i}`).toBe(true);
        // The kernel completed every transmit frame; they are back in the pool.
        const t0 = Date.now();
        while (sock.transmitPending > 0 && Date.now() - t0 < 2000) {
          sock.reclaim();
          await sleep(2);
        }
        expect(sock.transmitPending).toBe(0);
        const stats = sock.statistics();
        expect(stats.rxInvalidDescriptors).toBe(0n);
        expect(stats.txInvalidDescriptors).toBe(0n);
        // bpftool agrees the socket's program is attached in the right mode.
        const ipInfo = JSON.parse(ns.ip('-d', '-j', 'link', 'show', 'dev', ns.b)) as { xdp?: { mode: number; prog?: { id: number } } }[];
        expect(ipInfo[0].xdp?.mode).toBe(xdpMode === 'native' ? 1 : 2);
      } finally {
        r.close();
      }
    });
  }

  it('a socket dropped without close() is cleaned up by the garbage collector: fd closed, rings unmapped, one warning', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/forget-xdp-socket.ts'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      before: { maps: number; fds: number };
      during: { maps: number; fds: number };
      after: { maps: number; fds: number };
      warnings: string[];
    };
    expect(r.during.maps - r.before.maps).toBe(4); // fill, completion, RX, TX
    expect(r.during.fds - r.before.fds).toBe(1);
    expect(r.after).toEqual(r.before); // five sockets came and went on one queue: each one's fd was closed
    expect(r.warnings.filter((w) => w.startsWith('EBPF_UNCLOSED: AF_XDP socket'))).toHaveLength(1);
  });

  it('works with needs-wakeup off, making no wakeup calls at all', async () => {
    const r = ns.run(() => {
      const map = new XskMap({ maxEntries: 1, name: 'xsks' });
      try {
        const sock = new XdpSocket({ device: ns.b, frameCount: 64, needWakeup: false });
        map.set(0, sock);
        return { map, sock };
      } catch (e) {
        map.close();
        throw e;
      }
    });
    const prog = loadXskRedirectProgram(r.map);
    const link = ns.run(() => attachXdp(prog, ns.b, { mode: 'native' }));
    const peer = ns.run(() => new PacketSocket(ns.a));
    try {
      expect(r.sock.needWakeup).toBe(false);
      const sent = Array.from({ length: 20 }, (_, i) => frame(macB, macA, 500 + i, 100));
      for (const f of sent) peer.send(f);
      const got = (await collect(r.sock, 20)).filter((f) => f.readUInt16BE(12) === 0x88b5);
      expect(got.map((f) => f.toString('hex'))).toEqual(sent.map((f) => f.toString('hex')));
      expect(r.sock.wakeups).toBe(0);
    } finally {
      link.close();
      prog.close();
      r.map.close();
      r.sock.close();
      peer.close();
    }
  });

  it('waits for frames off the main thread (epoll) and wakes when they come', async () => {
    const r = rig(ns, 'native', 64);
    const { sock, peer } = r;
    try {
      expect(await sock.wait(50)).toBe(false);
      const waiting = sock.wait(5000);
      setTimeout(() => peer.send(frame(macB, macA, 7, 60)), 50);
      expect(await waiting).toBe(true);
      const got = await collect(sock, 1);
      expect(got.some((f) => f.equals(frame(macB, macA, 7, 60)))).toBe(true);
    } finally {
      r.close();
    }
  });

  it('refuses what the device cannot do with typed errors, and leaks nothing', () => {
    ns.run(() => {
      // veth has one queue (0).
      const e1 = (() => {
        try {
          new XdpSocket({ device: ns.b, queue: 5, frameCount: 64 });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(e1).toBeInstanceOf(XdpSocketError);
      expect((e1 as XdpSocketError).code).toBe('ERR_XSK_BIND_EINVAL');
      expect((e1 as Error).message).toMatch(/queue 5/);
      // veth's driver has no zero-copy AF_XDP.
      const e2 = (() => {
        try {
          new XdpSocket({ device: ns.b, mode: 'zerocopy', frameCount: 64 });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(e2).toBeInstanceOf(XdpSocketError);
      expect((e2 as Error).message).toMatch(/zero-copy/);
      expect(() => new XdpSocket({ device: ns.b, frameCount: 100 })).toThrow(/power of two/);
      expect(() => new XdpSocket({ device: ns.b, frameSize: 1000 })).toThrow(/2048 or 4096/);
      // One socket per queue.
      const a = new XdpSocket({ device: ns.b, frameCount: 64 });
      try {
        expect(() => new XdpSocket({ device: ns.b, frameCount: 64 })).toThrow(/already has an AF_XDP socket/);
      } finally {
        a.close();
      }
      expect(() => a.receive(() => undefined)).toThrow(/closed/);
      a.close();
    });
    // The kernel counts no AF_XDP socket in the namespace once they are closed (per-namespace
    // sockets per protocol in /proc/net/protocols, read inside the namespace).
    const xdpSockets = (): number => Number(ns.exec('sh', '-c', 'awk \'$1 == "XDP" { print $3 }\' /proc/net/protocols').trim());
    const end = Date.now() + 5000;
    while (xdpSockets() !== 0 && Date.now() < end) execFileSync('sleep', ['0.05']);
    expect(xdpSockets()).toBe(0);
  });
});
