// Packets per second received in Node: AF_XDP (XdpSocket) against a raw AF_PACKET socket (one
// recvfrom per frame) and against the same AF_XDP receive loop in C on libxdp's xsk API
// (bench/anchors/libxdp/xsk-rx.c, built with cc at bench time), with xdp-tools' own xdp-bench
// tried in the same run as the kernel-side ceiling. Everything happens in a network namespace with
// a veth pair that this script makes and removes (also on Ctrl-C and on error); nothing touches
// the machine's own devices.
//
//   npx tsx bench/afxdp.ts [--frames N] [--rounds R] [--warmup W] [--json]
//
// Needs (installs nothing): iproute2, util-linux (nsenter), gcc, libxdp-dev and libbpf-dev for the
// C anchor (apt-get install -y libxdp-dev libbpf-dev gcc), xdp-tools for xdp-bench.
//
// Traffic: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs a generator program that
// redirects N copies of a 64-byte UDP frame into veth-a; they arrive on veth-b's receive path,
// where the receiver under test sits. Each round injects N frames, then times the receiver
// draining them (the two are sequential: with 2 shared CPUs, running them at once would measure
// the scheduler). Per frame, both Node receivers read a u32 of the frame into a checksum.
//
// The C anchor gets the same frames the same way: it inherits the XSKMAP of the same redirect
// program, and Node injects each round before telling it to drain; it times its own drain.
//
// Prints a results.md-style row (ours = AF_XDP; anchors: libxdp in C, AF_PACKET in Node, xdp-bench drop).
import { execFileSync, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2 } from '../src/asm/registers.js';
import { attachXdp } from '../src/links/xdp.js';
import { XskMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { inNetns, setsockoptInt } from '../src/syscall/index.js';
import { libc } from '../src/syscall/libc.js';

const getpidCall = (): number => libc.getpid();
import { TestRunFlags } from '../src/uapi/bpf.js';
import { loadXskRedirectProgram, PacketSocket, XdpSocket } from '../src/xsk/index.js';
import { buildXskAnchor, XskAnchor, type XskAnchorStats } from './anchors/xsk-anchor.js';

const { values: opts } = parseArgs({
  options: {
    frames: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const FRAMES = Number(opts.frames);
const ROUNDS = Number(opts.rounds);
// Rounds run first and not counted, for every receiver: V8 needs some thousands of frames through
// the receive loop before it is optimized (one warm-up round of 2000 left ours at half speed).
const WARMUP = Number(opts.warmup);
if (
  !Number.isInteger(FRAMES) ||
  FRAMES < 1 ||
  FRAMES > 2048 ||
  !Number.isInteger(ROUNDS) ||
  ROUNDS < 1 ||
  !Number.isInteger(WARMUP) ||
  WARMUP < 0
) {
  console.error('usage: bench/afxdp.ts [--frames 1..2048] [--rounds N] [--warmup N] [--json]');
  process.exit(2);
}

// The C anchor first: a missing package is said before anything is set up.
const anchorBuild = buildXskAnchor();
if (!anchorBuild.binary) {
  console.error(`bench/afxdp.ts: cannot build the libxdp anchor: ${anchorBuild.error}`);
  process.exit(1);
}
const anchorBinary = anchorBuild.binary;

const NS = `ebpf-bench-afxdp-${process.pid}`;
const NS_PATH = `/var/run/netns/${NS}`;
const ip = (...a: string[]): string => execFileSync('ip', ['-n', NS, ...a], { encoding: 'utf8' });
const removeLab = (): void => {
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    /* gone */
  }
};
process.on('exit', removeLab);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    removeLab();
    process.exit(130);
  });

execFileSync('ip', ['netns', 'add', NS]);
execFileSync('ip', [
  'netns',
  'exec',
  NS,
  'sh',
  '-c',
  'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
]);
ip('link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b');
for (const d of ['lo', 'veth-a', 'veth-b']) ip('link', 'set', d, 'up');
const show = (d: string): { ifindex: number; address: string } =>
  (JSON.parse(ip('-j', 'link', 'show', 'dev', d)) as { ifindex: number; address: string }[])[0];
const devA = show('veth-a');
const devB = show('veth-b');
const run = <T>(fn: () => T): T => inNetns(NS_PATH, fn);

// A 64-byte IPv4/UDP frame for veth-b.
const frame = Buffer.alloc(64);
Buffer.from(devB.address.split(':').map((h) => parseInt(h, 16))).copy(frame, 0);
Buffer.from(devA.address.split(':').map((h) => parseInt(h, 16))).copy(frame, 6);
frame.writeUInt16BE(0x0800, 12);
frame[14] = 0x45;
frame.writeUInt16BE(50, 16);
frame[22] = 64;
frame[23] = 17;
Buffer.from([10, 99, 0, 1, 10, 99, 0, 2]).copy(frame, 26);
frame.writeUInt16BE(40000, 34);
frame.writeUInt16BE(9, 36);
frame.writeUInt16BE(30, 38);
frame.writeUInt32LE(0x01020304, 42); // what the receivers add up

const generator = Program.load({
  type: 'XDP',
  name: 'gen',
  instructions: new ProgramBuilder().mov64Imm(R1, devA.ifindex).mov64Imm(R2, 0).call('redirect').exit().build(),
});
const inject = (n: number): void => {
  run(() => generator.testRun({ data: frame, dataOutSize: 0, repeat: n, flags: TestRunFlags.XDP_LIVE_FRAMES, batchSize: 64 }));
};

interface Round {
  received: number;
  drainNs: number;
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const now = (): bigint => process.hrtime.bigint();

/** Injects FRAMES frames, then drains with `drain` (returns frames read in one pass, 0 when none) until all arrived or 50 ms idle. */
function rounds(drain: () => number, checksum: () => number): { pps: number; received: number; sent: number; ok: boolean } {
  const results: Round[] = [];
  let all = 0;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    inject(FRAMES);
    let got = 0;
    let last = now();
    const t0 = last;
    while (got < FRAMES) {
      const n = drain();
      if (n > 0) {
        got += n;
        last = now();
      } else if (now() - last > 50_000_000n) break;
    }
    all += got;
    if (r >= WARMUP) results.push({ received: got, drainNs: Number(last - t0) });
  }
  const received = results.reduce((s, x) => s + x.received, 0);
  const pps = median(results.map((x) => x.received / (x.drainNs / 1e9)));
  // Every frame carried 0x01020304 at byte 42: the checksum (over warm-up rounds too) proves each was read.
  const ok = checksum() === (all * 0x01020304) % 2 ** 32;
  return { pps, received, sent: FRAMES * ROUNDS, ok };
}

// ---- AF_XDP in Node ----------------------------------------------------------------------------
let xskSum = 0;
const afxdp = (() => {
  const map = new XskMap({ maxEntries: 1, name: 'xsks' });
  const sock = run(() => new XdpSocket({ device: 'veth-b', frameCount: 4096 }));
  const prog = loadXskRedirectProgram(map);
  map.set(0, sock);
  const link = run(() => attachXdp(prog, 'veth-b', { mode: 'native' }));
  try {
    const onFrame = (umem: Buffer, offset: number): void => {
      xskSum = (xskSum + umem.readUInt32LE(offset + 42)) >>> 0;
    };
    const r = rounds(
      () => sock.receive(onFrame, 256),
      () => xskSum,
    );
    return { ...r, mode: sock.mode, wakeups: sock.wakeups, stats: sock.statistics() };
  } finally {
    link.close();
    prog.close();
    map.close();
    sock.close();
  }
})();

// ---- AF_PACKET in Node -------------------------------------------------------------------------
let pktSum = 0;
const afpacket = (() => {
  const pass = Program.load({ type: 'XDP', name: 'pass', instructions: new ProgramBuilder().mov64Imm(R0, 2).exit().build() });
  // veth hands frames redirected into veth-a to veth-b's stack only when veth-b runs native XDP.
  const link = run(() => attachXdp(pass, 'veth-b', { mode: 'native' }));
  const sock = run(() => new PacketSocket('veth-b'));
  setsockoptInt(sock.fd, 1, 33 /* SO_RCVBUFFORCE */, 64 << 20);
  try {
    const buf = sock.lastFrame;
    const r = rounds(
      () => {
        let n = 0;
        while (n < 256 && sock.receiveInto() >= 0) {
          pktSum = (pktSum + buf.readUInt32LE(42)) >>> 0;
          n++;
        }
        return n;
      },
      () => pktSum,
    );
    return r;
  } finally {
    sock.close();
    link.close();
    pass.close();
  }
})();

// ---- libxdp in C: the same AF_XDP receive loop, same program, same traffic -----------------------
const libxdp = await (async () => {
  const map = new XskMap({ maxEntries: 1, name: 'xsks' });
  const prog = loadXskRedirectProgram(map);
  let anchor: XskAnchor | undefined;
  let link: { close(): void } | undefined;
  try {
    anchor = await XskAnchor.start({ binary: anchorBinary, netnsPath: NS_PATH, device: 'veth-b', queue: 0, xskMapFd: map.fd });
    link = run(() => attachXdp(prog, 'veth-b', { mode: 'native' }));
    const results: Round[] = [];
    let ok = true;
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      inject(FRAMES);
      const x = await anchor.drain(FRAMES);
      // The anchor sums the u32 at byte 42 per round, as the Node receivers do.
      if (x.checksum !== (x.received * 0x01020304) % 2 ** 32) ok = false;
      if (r >= WARMUP) results.push({ received: x.received, drainNs: x.drainNs });
    }
    const mode = anchor.mode;
    const stats: XskAnchorStats = await anchor.stop();
    anchor = undefined;
    const received = results.reduce((s, x) => s + x.received, 0);
    const pps = median(results.map((x) => x.received / (x.drainNs / 1e9)));
    return { pps, received, sent: FRAMES * ROUNDS, ok, mode, stats };
  } finally {
    anchor?.kill();
    link?.close();
    prog.close();
    map.close();
  }
})();

// ---- xdp-tools: xdp-bench drop on veth-b, fed by the same generator ---------------------------
const xdpBench = await (async (): Promise<{ pps?: number; error?: string; version?: string }> => {
  let version: string | undefined;
  try {
    version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'xdp-tools'], { encoding: 'utf8' });
  } catch {
    /* not from a package */
  }
  // nsenter --net, not `ip netns exec`: the latter mounts a fresh sysfs over /sys, which hides the
  // bpffs at /sys/fs/bpf that libxdp wants.
  const child = spawn('nsenter', [`--net=${NS_PATH}`, 'xdp-bench', 'drop', 'veth-b', '-i', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  let spawnFailed = false;
  const exited = new Promise<number | null>((r) => {
    child.on('exit', r);
    child.on('error', (e) => {
      spawnFailed = true;
      out += `Error: ${e.message}\n`;
      r(null);
    }); // no nsenter
  });
  const end = Date.now() + 3000;
  await new Promise((r) => setTimeout(r, 800));
  while (!spawnFailed && child.exitCode === null && Date.now() < end) {
    inject(FRAMES);
    await new Promise((r) => setImmediate(r));
  }
  if (!spawnFailed && child.exitCode === null) child.kill('SIGINT');
  await exited;
  const rates = [...out.matchAll(/([\d,]+)\s+rx\/s/g)].map((m) => Number(m[1].replace(/,/g, '')));
  if (rates.length) return { pps: Math.max(...rates), version };
  const lines = out.split('\n').map((l) => l.trim());
  // xdp-tools 1.3 hooks the xdp:xdp_redirect_map{,_err} tracepoints, which Linux 6.16 removed
  // (upstream xdp-tools dropped those hooks in June 2025); its libbpf then refuses the whole object.
  const btf = lines.find((l) => /kernel BTF type ID of 'xdp_redirect_map(_err)?'/.test(l));
  if (btf)
    return {
      error: `${btf} (its xdp_basic object hooks the xdp:xdp_redirect_map_err tracepoint, which Linux 6.16 removed; xdp-tools dropped that hook after ${version ?? 'this version'})`,
      version,
    };
  const why = lines.filter((l) => /failed|Error|No such|bpffs/i.test(l));
  return { error: why.slice(-3).join(' / ') || 'no rate in its output', version };
})();

generator.close();
removeLab();

// What one native call costs in this run: AF_PACKET pays it per frame, AF_XDP per batch at most.
const callNs = (() => {
  for (let i = 0; i < 2000; i++) getpidCall();
  const t0 = now();
  for (let i = 0; i < 10000; i++) getpidCall();
  return Number(now() - t0) / 10000;
})();

const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : Math.round(x).toString());
const ratio = afxdp.pps / libxdp.pps;
const overPacket = afxdp.pps / afpacket.pps;
const notes = [
  `veth pair in a private netns; ${FRAMES} x 64 B UDP frames injected per round with BPF_PROG_TEST_RUN live frames into veth-a, then drained on veth-b; median of ${ROUNDS} rounds after ${WARMUP} warm-up rounds, for each receiver`,
  `ours: XdpSocket (${afxdp.mode} mode, native XDP, XSKMAP redirect), receive() batches of 256, ${afxdp.received}/${afxdp.sent} received, checksum ${afxdp.ok ? 'ok' : 'WRONG'}, ${afxdp.wakeups} wakeup calls`,
  `a native call (getpid through src/syscall) cost ${(callNs / 1000).toFixed(1)} µs in this run`,
  `libbpf column: the same receive loop in C on libxdp's xsk API (bench/anchors/libxdp/xsk-rx.c, libxdp-dev ${anchorBuild.versions.libxdp}, INHIBIT_PROG_LOAD, socket put in the same XSKMAP of the same redirect program; ${libxdp.mode} mode, 4096 x 4096 B frames, rings of 2048, needs-wakeup, batches of 256, u32 at byte 42 summed), ${libxdp.received}/${libxdp.sent} received, checksum ${libxdp.ok ? 'ok' : 'WRONG'}, ${libxdp.stats.wakeups} wakeup calls`,
  `anchor AF_PACKET: raw socket in Node, one recvfrom per frame (SO_RCVBUFFORCE 64 MiB, native XDP_PASS on veth-b), ${fmt(afpacket.pps)} pkt/s, ${afpacket.received}/${afpacket.sent} received, checksum ${afpacket.ok ? 'ok' : 'WRONG'}; ours ${overPacket.toFixed(1)}× AF_PACKET`,
  xdpBench.pps !== undefined
    ? `anchor xdp-bench drop (xdp-tools ${xdpBench.version ?? '?'}, kernel-only ceiling: frames never reach user space): ${fmt(xdpBench.pps)} pkt/s`
    : `anchor xdp-bench drop (xdp-tools ${xdpBench.version ?? '?'}, run with nsenter --net so the bpffs stays visible) could not run here: ${xdpBench.error}; Debian's xdp-tools ships no AF_XDP tool (no xdpsock), hence the C anchor`,
].join('; ');
const row = `| AF_XDP receive in Node, 64 B frames (pkt/s) | ${fmt(afxdp.pps)} | ${fmt(libxdp.pps)} | n/a | ${ratio.toFixed(2)}× libxdp | ≥ 1.0× | ${ratio >= 1 && afxdp.ok ? 'met' : 'missed'} | ${notes} |`;
if (opts.json) {
  console.log(
    JSON.stringify(
      {
        metric: 'afxdp receive pkt/s',
        notes,
        oursPps: afxdp.pps,
        libxdpPps: libxdp.pps,
        afpacketPps: afpacket.pps,
        xdpBench,
        ratio,
        overPacket,
        callNs,
        afxdp,
        libxdp,
        afpacket,
      },
      (_, v) => (typeof v === 'bigint' ? Number(v) : v),
    ),
  );
} else {
  console.log('| metric | ebpf (ours) | libbpf | cilium/ebpf | ours / best anchor | target | status | notes |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(row);
}
