// The C AF_XDP anchor of bench/afxdp.ts (bench/anchors/libxdp/xsk-rx.c on libxdp) built and run for
// a moment, so it cannot stop working unnoticed between benchmark runs: frames with distinct words
// at byte 42 are put on the wire by a raw AF_PACKET socket on veth-a, redirected on veth-b by our
// XSKMAP program into the anchor's socket, and the anchor must count every one and report the sum
// of exactly those words (computed here from the frames sent, not from anything the anchor says).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { buildXskAnchor, XskAnchor } from '../bench/anchors/xsk-anchor.js';
import { attachXdp } from '../src/links/xdp.js';
import { XskMap } from '../src/maps/index.js';
import { loadXskRedirectProgram, PacketSocket, XdpSocket } from '../src/xsk/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, openSockets, type TestNetns } from './support/netns.js';

const FRAMES = 200;

function macOf(ns: TestNetns, dev: string): Buffer {
  const text = (JSON.parse(ns.ip('-j', 'link', 'show', 'dev', dev)) as { address: string }[])[0].address;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

const runnable = need(
  isRoot && hasCommand('ip') && hasCommand('nsenter') && hasCommand('cc') && existsSync('/usr/include/xdp/xsk.h'),
  'the libxdp anchor test needs root, iproute2, nsenter, a C compiler and libxdp-dev',
);

describe.runIf(runnable)('libxdp AF_XDP anchor (bench/afxdp.ts)', () => {
  let ns: TestNetns;
  let socketsBefore: string[];

  beforeAll(() => {
    socketsBefore = openSockets();
    ns = createTestNetns();
  });

  afterAll(() => {
    ns?.remove();
    expect(openSockets(), 'sockets left open').toEqual(socketsBefore);
  });

  it('builds, receives every frame redirected to it and sums the right bytes', async () => {
    const build = buildXskAnchor();
    expect(build.error, build.error).toBeUndefined();
    const macA = macOf(ns, ns.a);
    const macB = macOf(ns, ns.b);
    const map = ns.run(() => new XskMap({ maxEntries: 1, name: 'xsks' }));
    const prog = loadXskRedirectProgram(map);
    let anchor: XskAnchor | undefined;
    let link: { close(): void } | undefined;
    const peer = ns.run(() => new PacketSocket(ns.a));
    try {
      anchor = await XskAnchor.start({ binary: build.binary!, netnsPath: ns.path, device: ns.b, queue: 0, xskMapFd: map.fd });
      expect(anchor.mode).toBe('copy'); // veth has no zero-copy
      link = ns.run(() => attachXdp(prog, ns.b, { mode: 'native' }));

      let expected = 0;
      for (let i = 0; i < FRAMES; i++) {
        const f = Buffer.alloc(64);
        macB.copy(f, 0);
        macA.copy(f, 6);
        f.writeUInt16BE(0x88b5, 12);
        const word = Math.imul(i + 1, 0x9e3779b1) >>> 0;
        f.writeUInt32LE(word, 42);
        expected = (expected + word) >>> 0;
        peer.send(f);
      }
      const round = await anchor.drain(FRAMES);
      expect(round.received).toBe(FRAMES);
      expect(round.checksum).toBe(expected);
      expect(round.drainNs).toBeGreaterThanOrEqual(0);

      // Nothing more is on the way: the next round times out empty after 50 ms idle.
      expect((await anchor.drain(1)).received).toBe(0);

      const stats = await anchor.stop();
      anchor = undefined;
      expect(stats.rxDropped).toBe(0);
      expect(stats.rxRingFull).toBe(0);
      expect(Number.isInteger(stats.wakeups)).toBe(true);
      // It closed its socket on the way out: the queue takes a new socket.
      ns.run(() => new XdpSocket({ device: ns.b, queue: 0, frameCount: 64 })).close();
    } finally {
      anchor?.kill();
      link?.close();
      peer.close();
      prog.close();
      map.close();
    }
  }, 60_000);

  it('says what failed when it cannot bind (no such device)', async () => {
    const build = buildXskAnchor();
    expect(build.error, build.error).toBeUndefined();
    const map = new XskMap({ maxEntries: 1, name: 'xsks' });
    try {
      await expect(
        XskAnchor.start({ binary: build.binary!, netnsPath: ns.path, device: 'no-such-dev0', xskMapFd: map.fd }),
      ).rejects.toThrow(/xsk_socket__create: No such device/);
    } finally {
      map.close();
    }
  }, 30_000);
});
