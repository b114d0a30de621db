// `ebpf xdp-modes`: XDP's three attach modes (generic/SKB, native/driver, offloaded/HW), shown on
// this machine with real traffic, the kernel's own answers, a measured generic-vs-native cost per
// packet, and the same frames delivered to Node through an AF_XDP socket.
//
//   ebpf xdp-modes                             # builds a private lab: a network namespace + veth pair
//   ebpf xdp-modes --json                      # the same, as one JSON object on one line
//   ebpf xdp-modes --dev eth1                  # the mode tour on an existing device (its real traffic)
//   npx tsx examples/xdp-modes.ts [options]    # the example script, which calls run() below
//
// Options: --repeat N (frames per timed run, default 300000), --rounds N (interleaved rounds, default
// 3), --seconds S (with --dev: how long to count the device's own traffic per mode, default 2).
//
// What happens:
//  1. One XDP program, written with the assembler, counts every frame per verdict and per protocol
//     (IPv4/IPv6/ARP/other by ethertype, TCP/UDP/ICMP/other by IP protocol) in a per-CPU array.
//     It returns the verdict held in a one-slot config map: XDP_PASS unless the benchmark says DROP.
//  2. For each mode it attaches (bpf_link), asks the kernel which mode is active (RTM_GETLINK) and
//     what iproute2 says, drives traffic through the device and reads the counters, then detaches.
//     Traffic: frames of each protocol injected with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES
//     (a generator program redirects them into veth-a, so they arrive on veth-b's receive path),
//     and UDP datagrams sent from inside the namespace with bash's /dev/udp.
//  3. Rules, each tried for real: what the kernel refuses and the text it gives.
//  4. Generic vs native side by side: the same injected frames, timed by the kernel, in both modes.
//  5. AF_XDP: the same frames, redirected by an XSKMAP program to an XdpSocket in this process,
//     counted and timed in Node, in generic and native mode.
//  6. The post's table, filled with what was measured; per mode it also shows what iproute2 and
//     xdp-tools' `xdp-loader status` said while the program was attached (two independent oracles).
//
// The rules and the benchmark always run in the lab (they need a device nobody else uses, and lo);
// --dev changes only which device the mode tour of step 2 uses, and never touches that device's
// settings. In the lab, veth-b has GRO on, so that frames redirected into veth-a reach it also when
// it runs no native XDP program (generic mode).
//
// The lab namespace (and with it every program attached inside it) is removed at exit, on Ctrl-C,
// SIGTERM and on error. On a --dev device the tour attaches through bpf_links, which the kernel
// detaches when this process ends, however it ends.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, hostname, release } from 'node:os';
import { ProgramBuilder, R0, R1, R2 } from '../asm/index.js';
import { SyscallError } from '../errors/index.js';
import { attachXdp, detachXdp, queryXdp, type XdpMode, type XdpState } from '../links/index.js';
import { BpfMap, XskMap } from '../maps/index.js';
import { NetlinkError } from '../netlink/index.js';
import { Program } from '../programs/index.js';
import { TestRunFlags } from '../uapi/bpf.js';
import { loadXskRedirectProgram, XdpSocket } from '../xsk/index.js';
// Not (yet) in the public API: entering a network namespace, and a generic netlink socket for
// ethtool's GRO switch (veth delivers redirected frames to a device without native XDP only with GRO on).
import { inNetns, NetlinkSocket } from '../syscall/index.js';
import { findCause } from '../errors/index.js';
import { Attributes, AttributeWriter, NetlinkClient } from '../netlink/index.js';
import { parseArgs as parseCliArgs } from 'node:util';
import { countingProgram, L3, L4, SLOTS, VERDICTS, XDP_DROP, XDP_PASS } from './xdp-counter-program.js';
import { UsageError } from './command.js';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  dev?: string;
  json: boolean;
  repeat: number;
  rounds: number;
  seconds: number;
}

const USAGE =
  'usage: ebpf xdp-modes [--dev IFACE] [--json] [--repeat N] [--rounds N] [--seconds S]\n' +
  '  no --dev: a private network namespace with a veth pair is built and removed at exit\n' +
  '  --repeat N   frames per timed run (default 300000)\n' +
  '  --rounds N   interleaved rounds of the benchmark (default 3)\n' +
  "  --seconds S  with --dev: how long to count the device's own traffic per mode (default 2)\n" +
  '  --json       one JSON object on one line instead of the report';

function parseOptions(argv: string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseCliArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        dev: { type: 'string' },
        json: { type: 'boolean', default: false },
        repeat: { type: 'string' },
        rounds: { type: 'string' },
        seconds: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const num = (text: string | undefined, what: string, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${what} needs a positive number, got ${JSON.stringify(text)}`);
    return n;
  };
  if (v.dev !== undefined && v.dev === '') throw new UsageError('--dev needs a device name');
  return {
    dev: v.dev,
    json: v.json ?? false,
    repeat: Math.floor(num(v.repeat, 'repeat', 300_000)),
    rounds: Math.floor(num(v.rounds, 'rounds', 3)),
    seconds: num(v.seconds, 'seconds', 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything this run changes is undone once, at the end, on a signal or on error.

const cleanups: { what: string; fn: () => void }[] = [];

function onCleanup(what: string, fn: () => void): () => void {
  const entry = { what, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

function cleanup(): void {
  while (cleanups.length) {
    const { what, fn } = cleanups.pop()!;
    try {
      fn();
    } catch (e) {
      console.error(`cleanup: ${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** Lets pending signal handlers run between steps (the steps themselves are synchronous). */
const breathe = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The kernel's answer to one attempt

interface Answer {
  ok: boolean;
  /** errno by name, for example "EEXIST". */
  code?: string;
  errno?: number;
  /** The kernel's own text (netlink extended ack); bpf(2) has none. */
  extack?: string;
  /** The library's advice built from errno, mode and what is attached. */
  hint?: string;
  message?: string;
}

/** Runs `fn`; a kernel refusal becomes an Answer, anything else is a bug and propagates. */
function attempt(fn: () => void): Answer {
  try {
    fn();
    return { ok: true };
  } catch (thrown) {
    // Attach functions wrap the kernel's refusal in a LinkError: the answer is the refusal.
    const e = findCause(thrown, SyscallError);
    if (!e) throw thrown;
    return {
      ok: false,
      code: e.code,
      errno: e.errno,
      extack: e instanceof NetlinkError ? e.extack : undefined,
      hint: e.hint || undefined,
      message: e.message,
    };
  }
}

function say(a: Answer): string {
  if (a.ok) return 'accepted';
  return `${a.code}${a.extack ? ` "${a.extack}"` : ' (no text from the kernel)'}`;
}

// ---------------------------------------------------------------------------------------------
// The lab: a namespace with veth-a ↔ veth-b. Programs attach to veth-b; traffic enters through veth-a.

class Lab {
  readonly name = `xdp-modes-${process.pid}`;
  readonly path = `/var/run/netns/${this.name}`;
  readonly a = 'veth-a';
  readonly b = 'veth-b';
  readonly addressA = '10.77.0.1';
  readonly addressB = '10.77.0.2';
  macA: Buffer = Buffer.alloc(6);
  macB: Buffer = Buffer.alloc(6);
  ifindexA = 0;
  ifindexB = 0;

  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  exec(command: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8' });
  }

  run<T>(fn: () => T): T {
    return inNetns(this.path, fn);
  }

  create(): void {
    execFileSync('ip', ['netns', 'add', this.name]);
    onCleanup(`remove network namespace ${this.name}`, () => this.remove());
    // No IPv6 in the lab: its autoconfiguration chatter would move the counters.
    this.exec('sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6');
    this.ip('link', 'add', this.a, 'type', 'veth', 'peer', 'name', this.b);
    for (const d of ['lo', this.a, this.b]) this.ip('link', 'set', d, 'up');
    this.ip('addr', 'add', `${this.addressA}/24`, 'dev', this.a);
    const show = (d: string): { ifindex: number; address: string } =>
      (JSON.parse(this.ip('-j', 'link', 'show', 'dev', d)) as { ifindex: number; address: string }[])[0];
    const [sa, sb] = [show(this.a), show(this.b)];
    this.ifindexA = sa.ifindex;
    this.ifindexB = sb.ifindex;
    this.macA = mac(sa.address);
    this.macB = mac(sb.address);
    // Datagrams for addressB leave veth-a at once, addressed to veth-b's MAC: no ARP.
    this.ip('neigh', 'add', this.addressB, 'lladdr', sb.address, 'dev', this.a, 'nud', 'permanent');
    // veth hands frames redirected into veth-a to veth-b's NAPI poll only when veth-b has native XDP
    // or GRO on; GRO lets the generic-mode runs receive the same injected frames as the native ones.
    this.run(() => setGro(this.b, true));
  }

  sendUdp(count: number): void {
    this.exec('bash', '-c', `for i in $(seq ${count}); do echo "xdp-modes $i" > /dev/udp/${this.addressB}/9; done`);
  }

  remove(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}

function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** ethtool's FEATURES_SET over generic netlink: turn rx-gro on or off (what `ethtool -K DEV gro on` does). */
function setGro(dev: string, on: boolean): void {
  const NETLINK_GENERIC = 16;
  const GENL_ID_CTRL = 16;
  const CTRL_CMD_GETFAMILY = 3;
  const CTRL_ATTR_FAMILY_ID = 1;
  const CTRL_ATTR_FAMILY_NAME = 2;
  const ETHTOOL_MSG_FEATURES_SET = 12;
  const ETHTOOL_A_FEATURES_HEADER = 1;
  const ETHTOOL_A_FEATURES_WANTED = 3;
  const ETHTOOL_A_HEADER_DEV_NAME = 2;
  const ETHTOOL_A_BITSET_BITS = 3;
  const ETHTOOL_A_BITSET_BITS_BIT = 1;
  const ETHTOOL_A_BITSET_BIT_NAME = 2;
  const ETHTOOL_A_BITSET_BIT_VALUE = 3;
  const genl = (cmd: number, attrs: AttributeWriter): Uint8Array => {
    const body = attrs.finish();
    const out = new Uint8Array(4 + body.length);
    out[0] = cmd;
    out[1] = 1; // version
    out.set(body, 4);
    return out;
  };
  const socket = new NetlinkSocket(NETLINK_GENERIC);
  try {
    const client = new NetlinkClient(socket);
    const r = client.request(GENL_ID_CTRL, 0, genl(CTRL_CMD_GETFAMILY, new AttributeWriter().string(CTRL_ATTR_FAMILY_NAME, 'ethtool')), {
      operation: 'resolve the generic netlink family "ethtool"',
    });
    const family = Attributes.parse(r.replies[0].payload.subarray(4)).u16(CTRL_ATTR_FAMILY_ID);
    if (family === undefined) throw new Error('the kernel did not name the ethtool netlink family');
    client.request(
      family,
      0,
      genl(
        ETHTOOL_MSG_FEATURES_SET,
        new AttributeWriter()
          .nested(ETHTOOL_A_FEATURES_HEADER, (h) => h.string(ETHTOOL_A_HEADER_DEV_NAME, dev))
          .nested(ETHTOOL_A_FEATURES_WANTED, (w) =>
            w.nested(ETHTOOL_A_BITSET_BITS, (bits) =>
              bits.nested(ETHTOOL_A_BITSET_BITS_BIT, (bit) => {
                bit.string(ETHTOOL_A_BITSET_BIT_NAME, 'rx-gro');
                if (on) bit.bytes(ETHTOOL_A_BITSET_BIT_VALUE, new Uint8Array(0));
              }),
            ),
          ),
      ),
      { operation: `turn GRO ${on ? 'on' : 'off'} on ${dev} (ethtool netlink)` },
    );
  } finally {
    socket.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The counting program, written with the assembler

/** A program for BPF_PROG_TEST_RUN live frames: every frame is redirected out of `ifindex`. */
function generatorProgram(ifindex: number): ProgramBuilder {
  return new ProgramBuilder()
    .mov64Imm(R1, ifindex)
    .mov64Imm(R2, 0)
    .call('redirect') //                              returns XDP_REDIRECT
    .exit();
}

interface Counters {
  verdicts: Record<(typeof VERDICTS)[number], number>;
  l3: Record<keyof typeof L3, number>;
  l4: Record<keyof typeof L4, number>;
  /** Frames the program saw (the sum of its verdicts). */
  seen: number;
}

function readSlots(map: BpfMap): number[] {
  const out: number[] = [];
  for (let k = 0; k < SLOTS; k++) {
    const perCpu = map.lookupPerCpu(k) ?? [];
    out.push(perCpu.reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0));
  }
  return out;
}

function counters(now: number[], before: number[]): Counters {
  const d = (k: number): number => now[k] - before[k];
  const verdicts = Object.fromEntries(VERDICTS.map((v, i) => [v, d(i)])) as Counters['verdicts'];
  return {
    verdicts,
    l3: Object.fromEntries(Object.entries(L3).map(([k, v]) => [k, d(v)])) as Counters['l3'],
    l4: Object.fromEntries(Object.entries(L4).map(([k, v]) => [k, d(v)])) as Counters['l4'],
    seen: VERDICTS.reduce((s, _, i) => s + d(i), 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Frames to inject: one of each protocol the program tells apart

type FrameKind = 'ipv4-udp' | 'ipv4-tcp' | 'ipv4-icmp' | 'ipv6-udp' | 'ipv6-icmpv6' | 'arp' | 'other';
const FRAME_KINDS: FrameKind[] = ['ipv4-udp', 'ipv4-tcp', 'ipv4-icmp', 'ipv6-udp', 'ipv6-icmpv6', 'arp', 'other'];

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function buildFrame(kind: FrameKind, src: Buffer, dst: Buffer): Buffer {
  const f = Buffer.alloc(kind.startsWith('ipv6') ? 78 : 64);
  dst.copy(f, 0);
  src.copy(f, 6);
  const l4 = (at: number, proto: 'udp' | 'tcp' | 'icmp' | 'icmpv6'): void => {
    if (proto === 'udp') {
      f.writeUInt16BE(40000, at);
      f.writeUInt16BE(9, at + 2);
      f.writeUInt16BE(f.length - at, at + 4);
    } else if (proto === 'tcp') {
      f.writeUInt16BE(40000, at);
      f.writeUInt16BE(9, at + 2);
      f[at + 12] = 5 << 4;
      f[at + 13] = 0x02;
      /* SYN: never merged by GRO */ f.writeUInt16BE(1024, at + 14);
    } else f[at] = proto === 'icmp' ? 8 : 128; // echo request
  };
  if (kind.startsWith('ipv4')) {
    f.writeUInt16BE(0x0800, 12);
    const proto = kind === 'ipv4-udp' ? 17 : kind === 'ipv4-tcp' ? 6 : 1;
    f[14] = 0x45;
    f.writeUInt16BE(f.length - 14, 16);
    f[22] = 64;
    f[23] = proto;
    Buffer.from([10, 77, 0, 1, 10, 77, 0, 2]).copy(f, 26);
    f.writeUInt16BE(ipv4Checksum(f.subarray(14, 34)), 24);
    l4(34, kind === 'ipv4-udp' ? 'udp' : kind === 'ipv4-tcp' ? 'tcp' : 'icmp');
  } else if (kind.startsWith('ipv6')) {
    f.writeUInt16BE(0x86dd, 12);
    f[14] = 0x60;
    f.writeUInt16BE(f.length - 54, 18);
    f[20] = kind === 'ipv6-udp' ? 17 : 58;
    f[21] = 64;
    f[22] = 0xfd;
    f[37] = 1;
    f[38] = 0xfd;
    f[53] = 2; // fd00::1 → fd00::2
    l4(54, kind === 'ipv6-udp' ? 'udp' : 'icmpv6');
  } else if (kind === 'arp') {
    f.writeUInt16BE(0x0806, 12);
    f.writeUInt16BE(1, 14);
    f.writeUInt16BE(0x0800, 16);
    f[18] = 6;
    f[19] = 4;
    f.writeUInt16BE(1, 20);
    src.copy(f, 22);
    Buffer.from([10, 77, 0, 1]).copy(f, 28);
    Buffer.from([10, 77, 0, 3]).copy(f, 38);
  } else {
    f.writeUInt16BE(0x88b5, 12); // IEEE local experimental ethertype
  }
  return f;
}

/** Live frames: `repeat` copies of `frame` run through the generator, whose XDP_REDIRECT takes effect. */
function inject(generator: Program, frame: Buffer, repeat: number): { kernelNs: number; wallNs: number } {
  const t0 = process.hrtime.bigint();
  const r = generator.testRun({ data: frame, dataOutSize: 0, repeat, flags: TestRunFlags.XDP_LIVE_FRAMES, batchSize: 64 });
  return { kernelNs: r.duration, wallNs: Number(process.hrtime.bigint() - t0) / repeat };
}

/** Waits until the program has seen `atLeast` more frames than at `before`, up to `ms`. */
async function settle(map: BpfMap, before: number[], atLeast: number, ms = 1000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = readSlots(map);
    if (counters(now, before).seen >= atLeast || Date.now() > deadline) return now;
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Where things stand: the kernel (RTM_GETLINK) and iproute2, independently

interface IpXdp {
  mode?: number;
  prog?: { id: number };
  attached?: { mode: number; prog?: { id: number } }[];
}
const IP_MODES: Record<number, string> = { 0: 'none', 1: 'native', 2: 'generic', 3: 'offload', 4: 'multi' };

interface Where {
  /** Runs `fn` where the device is (inside the lab namespace, or here). */
  run<T>(fn: () => T): T;
  /** `ip -d -j link show dev DEV` there, raw. */
  ipShow(dev: string): string;
  /** `xdp-loader status DEV` there, raw (xdp-tools). */
  xdpLoader(dev: string): string;
}

/**
 * xdp-tools' view of a device: its row of `xdp-loader status DEV`. The columns are Interface, Prio,
 * Program name, Mode, ID, Tag; Prio is empty for a program attached without libxdp's dispatcher.
 */
function xdpLoaderView(where: Where, dev: string): { line?: string; mode?: string; programId?: number; error?: string } {
  let out: string;
  try {
    out = where.xdpLoader(dev);
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    return {
      error:
        err.code === 'ENOENT'
          ? 'xdp-loader is not installed (Debian package xdp-tools)'
          : (err.stderr || err.message).trim().split('\n')[0],
    };
  }
  const line = out.split('\n').find((l) => l.startsWith(`${dev} `));
  if (!line) return { error: `no row for ${dev} in xdp-loader status` };
  const m = /^\S+\s+(?:\d+\s+)?\S+\s+(native|skb|hw|multi)\s+(\d+)/.exec(line);
  if (m) return { line: line.trim().replace(/\s+/g, ' '), mode: m[1], programId: Number(m[2]) };
  if (/No XDP program loaded/.test(line)) return { line: line.trim().replace(/\s+/g, ' '), mode: 'none' };
  return { line: line.trim().replace(/\s+/g, ' ') };
}

function ipXdp(raw: string): IpXdp | undefined {
  return (JSON.parse(raw) as { xdp?: IpXdp }[])[0]?.xdp;
}

function stateText(s: XdpState): string {
  return s.attached === 'none' ? 'nothing attached' : `${s.attached}, program id ${s.programId ?? '?'}`;
}

// ---------------------------------------------------------------------------------------------
// 1. The mode tour

interface ModeResult {
  mode: XdpMode;
  device: string;
  supported: boolean;
  via?: 'bpf_link';
  /** What RTM_GETLINK said while attached. */
  kernelReported?: XdpState;
  /** `ip -d -j link show dev DEV` while attached, raw, and the mode it names. */
  ipJson?: string;
  ipMode?: string;
  /** `xdp-loader status DEV` while attached: its row, the mode it names (native, skb) and the program id. */
  xdpLoader?: { line?: string; mode?: string; programId?: number; error?: string };
  traffic?: { liveFrames: Partial<Record<FrameKind, number>>; udp: number; passiveSeconds?: number; sent: number; how: string };
  counters?: Counters;
  /** True when the device showed nothing attached after the detach. */
  detached?: boolean;
  /** Why fewer frames were counted than were sent, when that happened. */
  note?: string;
  /** Why the mode is not available here: the kernel's answers, step by step. */
  refused?: { step: string; answer: Answer; why?: string }[];
}

interface TourContext {
  where: Where;
  device: string;
  program: Program;
  map: BpfMap;
  /** A generator that delivers frames to `device`'s receive path, when there is one. */
  generator?: Program;
  lab?: Lab;
  frames: Buffer[];
  framesPerKind: number;
  udp: number;
  seconds: number;
  ifindex: number;
}

async function tourMode(mode: XdpMode, c: TourContext): Promise<ModeResult> {
  const result: ModeResult = { mode, device: c.device, supported: false };
  if (mode === 'offload') {
    // An offloaded program is translated for the NIC when it is loaded: it must name the device.
    result.refused = [];
    let offloaded: Program | undefined;
    // prog_ifindex names a device of the caller's network namespace: load from there.
    const load = attempt(() => {
      offloaded = c.where.run(() =>
        Program.load({
          type: 'XDP',
          instructions: new ProgramBuilder().mov64Imm(R0, XDP_PASS).exit().build(),
          name: 'xdp_offload',
          ifindex: c.ifindex,
        }),
      );
    });
    result.refused.push({
      step: `load a program for ${c.device} (prog_ifindex ${c.ifindex})`,
      answer: load,
      why: load.ok
        ? undefined
        : 'only a device whose driver registered for BPF offload (nfp; netdevsim emulates one, CONFIG_NETDEVSIM) accepts a program ' +
          'loaded with prog_ifindex: the driver translates it for the NIC at load time. Any other device gets EINVAL',
    });
    const attach = attempt(() =>
      c.where.run(() => attachXdp(offloaded ?? c.program, c.device, { mode: 'offload', via: 'netlink' })).close(),
    );
    offloaded?.close();
    result.refused.push({ step: `attach in offload mode (XDP_FLAGS_HW_MODE, netlink)`, answer: attach });
    result.supported = attach.ok;
    if (attach.ok) result.refused = undefined; // an offloading NIC: counting in NIC maps is beyond this example
    return result;
  }

  let link: { close(): void } | undefined;
  const linkAnswer = attempt(() => {
    link = c.where.run(() => attachXdp(c.program, c.device, { mode, via: 'link' }));
  });
  if (!linkAnswer.ok || !link) {
    result.refused = [{ step: `attach in ${mode} mode (bpf_link)`, answer: linkAnswer }];
    return result;
  }
  const forget = onCleanup(`detach ${mode} XDP from ${c.device}`, () => link!.close());
  try {
    result.supported = true;
    result.via = 'bpf_link';
    result.kernelReported = c.where.run(() => queryXdp(c.device));
    result.ipJson = c.where.ipShow(c.device);
    result.ipMode = IP_MODES[ipXdp(result.ipJson)?.mode ?? 0];
    result.xdpLoader = xdpLoaderView(c.where, c.device);
    await breathe();

    const before = readSlots(c.map);
    const traffic: NonNullable<ModeResult['traffic']> = { liveFrames: {}, udp: 0, sent: 0, how: '' };
    const how: string[] = [];
    if (c.generator) {
      for (let i = 0; i < FRAME_KINDS.length; i++) {
        c.where.run(() => inject(c.generator!, c.frames[i], c.framesPerKind));
        traffic.liveFrames[FRAME_KINDS[i]] = c.framesPerKind;
        traffic.sent += c.framesPerKind;
      }
      how.push(
        `${traffic.sent} frames (${c.framesPerKind} of each of ${FRAME_KINDS.length} kinds) injected with BPF_PROG_TEST_RUN live frames, redirected into ${c.lab ? c.lab.a : `${c.device}'s veth peer`}`,
      );
    }
    if (c.lab) {
      c.lab.sendUdp(c.udp);
      traffic.udp = c.udp;
      traffic.sent += c.udp;
      how.push(`${c.udp} UDP datagrams sent from veth-a with bash /dev/udp`);
    }
    if (!c.lab) {
      traffic.passiveSeconds = c.seconds;
      how.push(`the device's own traffic for ${c.seconds} s`);
      await sleep(c.seconds * 1000);
    }
    traffic.how = how.join(' + ');
    result.traffic = traffic;
    result.counters = counters(await settle(c.map, before, traffic.sent), before);
    if (result.counters.seen < traffic.sent) {
      result.note =
        c.lab || mode === 'native'
          ? `${traffic.sent - result.counters.seen} of ${traffic.sent} frames did not reach the program`
          : `frames redirected into a veth reach a peer without native XDP only when that peer has GRO on (ethtool -K ${c.device} gro on); ` +
            'this example does not change your device';
    }
  } finally {
    link.close();
    forget();
  }
  result.detached = c.where.run(() => queryXdp(c.device)).attached === 'none';
  return result;
}

// ---------------------------------------------------------------------------------------------
// 2. The rules

interface RuleResult {
  id: string;
  rule: string;
  /** The post states this rule; the others are what it leaves out. */
  inPost: boolean;
  steps: { tried: string; expected: 'refused' | 'accepted'; answer: Answer; note?: string }[];
  /** Every step went as the rule says. */
  holds: boolean;
}

function rule(id: string, text: string, inPost: boolean, steps: RuleResult['steps']): RuleResult {
  return { id, rule: text, inPost, steps, holds: steps.every((s) => s.answer.ok === (s.expected === 'accepted')) };
}

/** Attaches and closes at once: for attempts that are expected to fail, so nothing stays behind. */
function tryAttach(program: Program, dev: string, options: Parameters<typeof attachXdp>[2]): Answer {
  return attempt(() => attachXdp(program, dev, options).close());
}

function rules(lab: Lab, progA: Program, progB: Program): RuleResult[] {
  const b = lab.b;
  const out: RuleResult[] = [];
  const idOf = (p: Program): number => p.info().id;

  // Native needs driver support; generic works on any device, and is what the kernel picks without a flag.
  out.push(
    lab.run(() => {
      const native = tryAttach(progA, 'lo', { mode: 'native', via: 'netlink' });
      let state: XdpState = { attached: 'none' };
      let ipMode = '';
      const chosen = attempt(() => {
        using att = attachXdp(progA, 'lo', { via: 'netlink' });
        state = queryXdp('lo');
        ipMode = IP_MODES[ipXdp(lab.ip('-d', '-j', 'link', 'show', 'dev', 'lo'))?.mode ?? 0];
        void att;
      });
      return rule(
        'native-needs-driver',
        'native mode needs a driver that implements XDP; generic works on every device (lo has no native XDP)',
        true,
        [
          { tried: 'attach to lo in native mode', expected: 'refused', answer: native },
          {
            tried: 'attach to lo with no mode flag',
            expected: 'accepted',
            answer: { ...chosen, ok: chosen.ok && state.attached === 'generic' },
            note: `the kernel chose ${state.attached}: queryXdp says ${stateText(state)}; ip -d link says ${ipMode}`,
          },
        ],
      );
    }),
  );

  // Without a flag the kernel picks native when the driver has it.
  out.push(
    lab.run(() => {
      let state: XdpState = { attached: 'none' };
      const a = attempt(() => {
        using att = attachXdp(progA, b, { via: 'netlink' });
        state = queryXdp(b);
        void att;
      });
      return rule(
        'default-prefers-native',
        'with no mode flag the kernel picks native when the driver supports it (veth does), generic otherwise',
        false,
        [
          {
            tried: `attach to ${b} with no mode flag`,
            expected: 'accepted',
            answer: { ...a, ok: a.ok && state.attached === 'native' },
            note: `queryXdp says ${stateText(state)}`,
          },
        ],
      );
    }),
  );

  // Offload needs a programmable NIC.
  out.push(
    lab.run(() =>
      rule('offload-needs-nic', 'offloaded mode needs a NIC that runs BPF itself (Netronome nfp); a veth cannot', true, [
        {
          tried: `load a program bound to ${b} for offload (prog_ifindex)`,
          expected: 'refused',
          answer: attempt(() =>
            Program.load({
              type: 'XDP',
              instructions: new ProgramBuilder().mov64Imm(R0, XDP_PASS).exit().build(),
              name: 'xdp_offload',
              ifindex: lab.ifindexB,
            }).close(),
          ),
        },
        { tried: `attach to ${b} in offload mode`, expected: 'refused', answer: tryAttach(progA, b, { mode: 'offload', via: 'netlink' }) },
      ]),
    ),
  );

  // Native and generic are exclusive, in both directions.
  out.push(
    lab.run(() => {
      let nativeOverGeneric: Answer;
      {
        using g = attachXdp(progA, b, { mode: 'generic', via: 'netlink' });
        nativeOverGeneric = tryAttach(progB, b, { mode: 'native', via: 'netlink' });
        void g;
      }
      let genericOverNative: Answer;
      {
        using n = attachXdp(progA, b, { mode: 'native', via: 'netlink' });
        genericOverNative = tryAttach(progB, b, { mode: 'generic', via: 'netlink' });
        void n;
      }
      return rule('native-generic-exclusive', 'native and generic cannot be active on one device at the same time', false, [
        { tried: `attach native to ${b} while a generic program is attached`, expected: 'refused', answer: nativeOverGeneric },
        { tried: `attach generic to ${b} while a native program is attached`, expected: 'refused', answer: genericOverNative },
      ]);
    }),
  );

  // Replace only the program you expect (XDP_FLAGS_REPLACE with IFLA_XDP_EXPECTED_FD).
  out.push(
    lab.run(() => {
      using first = attachXdp(progA, b, { mode: 'native', via: 'netlink' });
      const wrong = tryAttach(progB, b, { mode: 'native', via: 'netlink', replace: progB });
      let now: XdpState = { attached: 'none' };
      const right = attempt(() => {
        using swapped = attachXdp(progB, b, { mode: 'native', via: 'netlink', replace: progA });
        now = queryXdp(b);
        void swapped;
      });
      void first;
      return rule('replace-expected', 'replace swaps programs only if the one attached is the one expected', false, [
        { tried: `replace on ${b} expecting program ${idOf(progB)} while ${idOf(progA)} is attached`, expected: 'refused', answer: wrong },
        {
          tried: `replace on ${b} expecting program ${idOf(progA)}`,
          expected: 'accepted',
          answer: { ...right, ok: right.ok && now.programId === idOf(progB) },
          note: `queryXdp then says ${stateText(now)}`,
        },
      ]);
    }),
  );

  // Update-if-no-exist.
  out.push(
    lab.run(() => {
      let busy: Answer;
      {
        using first = attachXdp(progA, b, { mode: 'generic', via: 'netlink' });
        busy = tryAttach(progB, b, { mode: 'generic', via: 'netlink', updateIfNoExist: true });
        void first;
      }
      const free = tryAttach(progB, b, { mode: 'generic', via: 'netlink', updateIfNoExist: true });
      return rule('update-if-no-exist', 'XDP_FLAGS_UPDATE_IF_NOEXIST attaches only where nothing is attached', false, [
        { tried: `attach generic to ${b} with update-if-no-exist while a program is attached`, expected: 'refused', answer: busy },
        { tried: `the same on an empty ${b}`, expected: 'accepted', answer: free },
      ]);
    }),
  );

  // A bpf_link owns its attachment: netlink can neither replace nor detach it.
  out.push(
    lab.run(() => {
      using link = attachXdp(progA, b, { mode: 'generic', via: 'link' });
      const replace = tryAttach(progB, b, { mode: 'generic', via: 'netlink' });
      const detach = attempt(() => {
        detachXdp(b, 'generic');
      });
      void link;
      return rule('link-owns-attachment', 'a program attached through a bpf_link cannot be replaced or detached through netlink', false, [
        { tried: `attach over ${b}'s bpf_link through netlink`, expected: 'refused', answer: replace },
        { tried: `detach ${b}'s bpf_link program through netlink`, expected: 'refused', answer: detach },
      ]);
    }),
  );

  out.push(lifetimeRule(lab));
  return out;
}

/**
 * A child process attaches one program through netlink (generic, on lo) and one through a bpf_link
 * (native, on veth-b), then exits without detaching. Afterwards the netlink one is still there.
 */
function lifetimeRule(lab: Lab): RuleResult {
  // The child loads this module by its URL (the command may run from the dispatcher or the example).
  const code = `const m = await import(${JSON.stringify(import.meta.url)}); m.runChild(${JSON.stringify(lab.path)}, ${JSON.stringify(lab.b)}, 'lo');`;
  const args = [...process.execArgv, '--input-type=module', '-e', code];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  const steps: RuleResult['steps'] = [];
  let report: { pid: number; programId: number; linkId: number } | undefined;
  try {
    report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as typeof report;
  } catch {
    report = undefined;
  }
  if (child.status !== 0 || !report) {
    const why = (child.stderr || child.error?.message || `exit status ${child.status}`).trim().split('\n').slice(-3).join(' ');
    steps.push({ tried: 'a child attaches one program of each kind and exits', expected: 'accepted', answer: { ok: false, message: why } });
    return rule(
      'netlink-outlives-process',
      'a netlink attachment outlives the process that made it; a bpf_link attachment does not',
      false,
      steps,
    );
  }
  // The kernel closes the child's fds at exit; give the link's release a moment.
  let veth: XdpState = { attached: 'none' };
  let lo: XdpState = { attached: 'none' };
  for (let i = 0; i < 50; i++) {
    [veth, lo] = lab.run(() => [queryXdp(lab.b), queryXdp('lo')]);
    if (veth.attached === 'none') break;
    execFileSync('sleep', ['0.02']);
  }
  steps.push({
    tried: `child ${report.pid} attached program ${report.programId} to lo via netlink (generic) and exited`,
    expected: 'accepted',
    answer: { ok: lo.attached === 'generic' && lo.programId === report.programId },
    note: `after its exit lo has ${stateText(lo)}`,
  });
  steps.push({
    tried: `child ${report.pid} attached it to ${lab.b} via bpf_link ${report.linkId} (native) and exited`,
    expected: 'accepted',
    answer: { ok: veth.attached === 'none' },
    note: `after its exit ${lab.b} has ${stateText(veth)}`,
  });
  const detached = lab.run(() => detachXdp('lo'));
  steps.push({
    tried: 'clean up with detachXdp(lo), from this process',
    expected: 'accepted',
    answer: { ok: detached.includes('generic') && lab.run(() => queryXdp('lo')).attached === 'none' },
    note: `detached: ${detached.join(', ') || 'nothing'}`,
  });
  return rule(
    'netlink-outlives-process',
    'a netlink attachment outlives the process that made it; a bpf_link attachment does not',
    false,
    steps,
  );
}

/** In a child process: attach and exit without detaching (the kernel closes our fds). */
export function runChild(nsPath: string, linkDev: string, netlinkDev: string): never {
  const prog = Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, XDP_PASS).exit().build(), name: 'xdp_child' });
  const link = inNetns(nsPath, () => attachXdp(prog, linkDev, { mode: 'native', via: 'link' }));
  inNetns(nsPath, () => attachXdp(prog, netlinkDev, { mode: 'generic', via: 'netlink' }));
  console.log(JSON.stringify({ pid: process.pid, programId: prog.info().id, linkId: link.info().id }));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// 4. Generic vs native, side by side

interface BenchResult {
  mode: 'generic' | 'native';
  verdict: 'drop' | 'pass';
  /** Frames per timed run and runs. */
  frames: number;
  rounds: number;
  /** Median over the rounds of the kernel's mean ns per frame (BPF_PROG_TEST_RUN duration). */
  nsPerPacket: number;
  /** Median wall-clock ns per frame around the syscall, from here. */
  wallNsPerPacket: number;
  /** Million packets per second from nsPerPacket, on one CPU. */
  mpps: number;
  /** Frames the attached program counted over all rounds, and whether that is every frame sent. */
  counted: number;
  allCounted: boolean;
}

async function benchmark(
  lab: Lab,
  program: Program,
  map: BpfMap,
  setVerdict: (v: number) => void,
  generator: Program,
  repeat: number,
  rounds: number,
): Promise<BenchResult[]> {
  const frame = buildFrame('ipv4-udp', lab.macA, lab.macB);
  const samples = new Map<string, { kernel: number[]; wall: number[]; counted: number }>();
  // Warm-up: page pools, caches, the JIT'ed code.
  {
    using link = lab.run(() => attachXdp(program, lab.b, { mode: 'native', via: 'link' }));
    lab.run(() => inject(generator, frame, Math.min(repeat, 50_000)));
    void link;
  }
  for (let round = 0; round < rounds; round++) {
    // Alternate which mode goes first, so neither always runs on a warmer machine.
    const order = round % 2 === 0 ? (['generic', 'native'] as const) : (['native', 'generic'] as const);
    for (const mode of order) {
      using link = lab.run(() => attachXdp(program, lab.b, { mode, via: 'link' }));
      for (const verdict of ['drop', 'pass'] as const) {
        setVerdict(verdict === 'drop' ? XDP_DROP : XDP_PASS);
        const before = readSlots(map);
        const t = lab.run(() => inject(generator, frame, repeat));
        const counted = counters(await settle(map, before, repeat, 500), before).seen;
        const key = `${mode}/${verdict}`;
        const s = samples.get(key) ?? { kernel: [], wall: [], counted: 0 };
        s.kernel.push(t.kernelNs);
        s.wall.push(t.wallNs);
        s.counted += counted;
        samples.set(key, s);
        await breathe();
      }
      void link;
    }
  }
  setVerdict(XDP_PASS);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const out: BenchResult[] = [];
  for (const mode of ['generic', 'native'] as const) {
    for (const verdict of ['drop', 'pass'] as const) {
      const s = samples.get(`${mode}/${verdict}`)!;
      const ns = median(s.kernel);
      out.push({
        mode,
        verdict,
        frames: repeat,
        rounds,
        nsPerPacket: ns,
        wallNsPerPacket: Math.round(median(s.wall)),
        mpps: Math.round((1e3 / ns) * 100) / 100,
        counted: s.counted,
        allCounted: s.counted >= repeat * rounds,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5. AF_XDP: the same frames delivered to this process

interface AfXdpResult {
  mode: 'generic' | 'native';
  /** Copy or zero-copy, as the kernel bound the socket (veth: copy). */
  socketMode: string;
  frames: number;
  rounds: number;
  /** Median of the kernel's mean ns per frame: XDP, the redirect, and the copy into the UMEM. */
  nsPerPacket: number;
  /** Median ns per frame this process spent taking frames off the RX ring (and refilling the fill ring). */
  nodeNsPerPacket: number;
  /** Median wall-clock ns per frame, injection plus receiving in Node. */
  wallNsPerPacket: number;
  /** Frames received in Node over all rounds, and how many of them equal the injected frame byte for byte. */
  received: number;
  identical: number;
  allReceived: boolean;
  wakeups: number;
}

/** Frames per injection: fewer than the fill ring holds (8192), so none is dropped while Node waits for the injection to return. */
const AFXDP_CHUNK = 6144;

async function benchmarkAfXdp(lab: Lab, generator: Program, repeat: number, rounds: number): Promise<AfXdpResult[]> {
  const frame = buildFrame('ipv4-udp', lab.macA, lab.macB);
  const frames = Math.min(repeat, 100_000);
  const out: AfXdpResult[] = [];
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['generic', 'native'] as const) {
    using map = new XskMap({ maxEntries: 1, name: 'xsks' });
    using socket = lab.run(() => new XdpSocket({ device: lab.b, frameCount: 16384, frameSize: 2048 }));
    map.set(0, socket);
    using redirect = loadXskRedirectProgram(map, 'xdp_to_xsk');
    using link = lab.run(() => attachXdp(redirect, lab.b, { mode, via: 'link' }));
    void link;
    let received = 0;
    let identical = 0;
    const onFrame = (umem: Buffer, offset: number, length: number): void => {
      received++;
      if (length === frame.length && umem.compare(frame, 0, frame.length, offset, offset + length) === 0) identical++;
    };
    const kernel: number[] = [];
    const node: number[] = [];
    const wall: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let kernelNs = 0;
      let nodeNs = 0;
      const t0 = process.hrtime.bigint();
      for (let sent = 0; sent < frames; sent += AFXDP_CHUNK) {
        const n = Math.min(AFXDP_CHUNK, frames - sent);
        kernelNs += lab.run(() => inject(generator, frame, n)).kernelNs * n;
        const before = received;
        const d0 = process.hrtime.bigint();
        let last = d0;
        while (received - before < n) {
          if (socket.receive(onFrame, 256) > 0) last = process.hrtime.bigint();
          else if (process.hrtime.bigint() - last > 20_000_000n) break; // 20 ms without a frame: the rest is lost
        }
        nodeNs += Number(last - d0);
      }
      wall.push(Number(process.hrtime.bigint() - t0) / frames);
      kernel.push(kernelNs / frames);
      node.push(nodeNs / frames);
      await breathe();
    }
    out.push({
      mode,
      socketMode: socket.mode,
      frames,
      rounds,
      nsPerPacket: Math.round(median(kernel)),
      nodeNsPerPacket: Math.round(median(node)),
      wallNsPerPacket: Math.round(median(wall)),
      received,
      identical,
      allReceived: received >= frames * rounds,
      wakeups: socket.wakeups,
    });
  }
  return out;
}

const AFXDP_WHERE =
  'AF_XDP frames leave the kernel at the XDP hook: the program returns bpf_redirect_map(XSKMAP, queue); ' +
  'in native mode the driver (veth_xdp_rcv) hands the frame to xsk_rcv, which copies it into a free UMEM frame taken from the fill ' +
  'ring (zero-copy drivers DMA straight into the UMEM instead) and posts its address and length on the RX ring; in generic mode the ' +
  'skb is built first and xsk_generic_rcv copies from it. No skb reaches the stack for these frames: this process reads the RX ring ' +
  'in shared memory (acquire load of the producer index, release store of the consumer index) and gives the frame back through the ' +
  'fill ring, with no system call per frame.';

// ---------------------------------------------------------------------------------------------
// Output

const RUNS_WHERE: Record<XdpMode, string> = {
  generic: 'core network code (netif_receive_skb → do_xdp_generic), after the skb is built',
  native: "the driver's receive path (NAPI poll; veth: veth_xdp_rcv), before any skb",
  offload: 'on the NIC itself (needs a BPF-offloading NIC such as Netronome nfp); no host CPU',
};

interface TableRow {
  mode: XdpMode;
  supportedHere: boolean;
  runsWhere: string;
  /** The attached mode as iproute2 and as xdp-loader reported it, while attached. */
  ipReports: string | null;
  xdpLoaderReports: string | null;
  /** AF_XDP in this mode: kernel ns per frame, and frames received in Node. */
  nsPerPacketAfXdp: number | null;
  afxdpReceived: number | null;
  packetsSeen: number | null;
  nsPerPacketDrop: number | null;
  nsPerPacketPass: number | null;
  mppsDrop: number | null;
}

function table(modes: ModeResult[], bench: BenchResult[], afxdp: AfXdpResult[]): TableRow[] {
  return modes.map((m) => {
    const b = (v: 'drop' | 'pass'): BenchResult | undefined => bench.find((r) => r.mode === m.mode && r.verdict === v);
    const x = afxdp.find((r) => r.mode === m.mode);
    return {
      mode: m.mode,
      supportedHere: m.supported,
      runsWhere: RUNS_WHERE[m.mode],
      ipReports: m.ipMode ?? null,
      xdpLoaderReports: m.xdpLoader ? (m.xdpLoader.mode ?? m.xdpLoader.error ?? null) : null,
      nsPerPacketAfXdp: x?.nsPerPacket ?? null,
      afxdpReceived: x ? x.received : null,
      packetsSeen: m.counters?.seen ?? null,
      nsPerPacketDrop: b('drop')?.nsPerPacket ?? null,
      nsPerPacketPass: b('pass')?.nsPerPacket ?? null,
      mppsDrop: b('drop')?.mpps ?? null,
    };
  });
}

function printHuman(r: Report): void {
  const p = console.log;
  p(`XDP attach modes on ${r.machine.kernel} (${r.machine.arch}, ${r.machine.cpus} CPUs, ${r.machine.cpuModel})`);
  const labText = `network namespace ${r.lab.namespace}, ${r.lab.sender} (${r.lab.senderAddress}) ↔ ${r.lab.receiver}, removed at exit`;
  p(
    r.device === r.lab.receiver
      ? `lab: ${labText}; programs attach to ${r.lab.receiver}`
      : `device: ${r.device}; lab for the rules and the benchmark: ${labText}`,
  );
  p(`program: ${r.program.name}, ${r.program.instructions} instructions from ProgramBuilder; counters in a ${r.program.map}`);
  p(`\n1. The three modes on ${r.device}`);
  for (const m of r.modes) {
    const tag = m.mode.padEnd(8);
    if (!m.supported) {
      p(`  ${tag}not available here`);
      for (const s of m.refused ?? []) {
        p(`          ${s.step}: ${say(s.answer)}`);
        const why = s.why ?? s.answer.hint;
        if (why) p(`            why: ${why}`);
      }
      continue;
    }
    const c = m.counters!;
    p(
      `  ${tag}attached (${m.via}); kernel (RTM_GETLINK): ${stateText(m.kernelReported!)}; ip -d link: ${m.ipMode}; ` +
        `xdp-loader status: ${m.xdpLoader?.mode ? `${m.xdpLoader.mode}${m.xdpLoader.programId ? `, id ${m.xdpLoader.programId}` : ''}` : (m.xdpLoader?.error ?? '?')}`,
    );
    p(`          traffic: ${m.traffic!.how}`);
    p(
      `          counted ${c.seen}: ${Object.entries(c.l3)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} | ${Object.entries(c.l4)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} | ${
        Object.entries(c.verdicts)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'no verdicts'
      }`,
    );
    if (m.note) p(`          note: ${m.note}`);
    p(`          detached: ${m.detached ? 'yes, nothing attached afterwards' : 'NO'}`);
  }
  p("\n2. Rules (tried for real; the kernel's answer after the arrow)");
  for (const rr of r.rules) {
    p(`  ${rr.holds ? 'ok' : '!!'} ${rr.rule}${rr.inPost ? ' [in the post]' : ''}`);
    for (const s of rr.steps) p(`       ${s.tried} → ${say(s.answer)}${s.note ? `; ${s.note}` : ''}`);
  }
  p('\n3. Generic vs native, side by side');
  if (!r.bench.length) p('  not measured');
  else {
    p(`  ${r.measuredWith}`);
    p('  mode      verdict  ns/packet  Mpps   wall ns/packet  frames counted');
    for (const b of r.bench) {
      p(
        `  ${b.mode.padEnd(9)} ${b.verdict.padEnd(8)} ${String(b.nsPerPacket).padStart(9)}  ${b.mpps.toFixed(2).padStart(5)}  ${String(b.wallNsPerPacket).padStart(14)}  ${b.counted}/${b.frames * b.rounds}${b.allCounted ? '' : ' (some lost)'}`,
      );
    }
    const g = r.bench.find((b) => b.mode === 'generic' && b.verdict === 'drop');
    const n = r.bench.find((b) => b.mode === 'native' && b.verdict === 'drop');
    if (g && n)
      p(
        `  dropping, native is ${(g.nsPerPacket / n.nsPerPacket).toFixed(2)}× as fast as generic here: native drops the frame before any skb exists.`,
      );
    const gp = r.bench.find((b) => b.mode === 'generic' && b.verdict === 'pass');
    const np = r.bench.find((b) => b.mode === 'native' && b.verdict === 'pass');
    if (gp && np)
      p(`  passing, the two cost about the same (${gp.nsPerPacket} vs ${np.nsPerPacket} ns): a passed frame gets its skb either way.`);
  }
  p('\n4. AF_XDP: the same frames, redirected to an AF_XDP socket in this process');
  if (!r.afxdp.length) p('  not measured');
  else {
    p('  mode      socket  kernel ns/pkt  Node ns/pkt  wall ns/pkt  received in Node');
    for (const x of r.afxdp) {
      p(
        `  ${x.mode.padEnd(9)} ${x.socketMode.padEnd(7)} ${String(x.nsPerPacket).padStart(13)}  ${String(x.nodeNsPerPacket).padStart(11)}  ${String(x.wallNsPerPacket).padStart(11)}  ` +
          `${x.received}/${x.frames * x.rounds}, ${x.identical} byte-identical${x.allReceived ? '' : ' (some lost)'}`,
      );
    }
    p(
      "  kernel ns/pkt: BPF_PROG_TEST_RUN's mean per frame (XDP, redirect, copy into the UMEM); Node ns/pkt: taking the frames off the RX ring and",
    );
    p(`  refilling the fill ring in this process; wall: both, plus each injection's own setup (${AFXDP_CHUNK} frames per injection).`);
    p(`  ${r.afxdpWhere}`);
  }
  p("\n5. The post's table, measured here");
  const rows = [
    [
      'mode',
      'supported here',
      'runs where',
      'ip -d link',
      'xdp-loader',
      'packets seen',
      'ns/pkt drop',
      'ns/pkt pass',
      'Mpps drop',
      'ns/pkt AF_XDP',
      'to Node',
    ],
    ...r.table.map((t) =>
      [
        t.mode,
        t.supportedHere ? 'yes' : 'no',
        t.runsWhere,
        t.ipReports ?? '-',
        t.xdpLoaderReports ?? '-',
        t.packetsSeen ?? '-',
        t.nsPerPacketDrop ?? '-',
        t.nsPerPacketPass ?? '-',
        t.mppsDrop ?? '-',
        t.nsPerPacketAfXdp ?? '-',
        t.afxdpReceived ?? '-',
      ].map(String),
    ),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const [i, row] of rows.entries()) {
    p(`  | ${row.map((cell, j) => cell.padEnd(widths[j])).join(' | ')} |`);
    if (i === 0) p(`  | ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
}

interface Report {
  machine: { kernel: string; arch: string; cpus: number; cpuModel: string; node: string; hostname: string };
  device: string;
  lab: { namespace: string; sender: string; receiver: string; senderAddress: string };
  program: { name: string; instructions: number; map: string };
  modes: ModeResult[];
  rules: RuleResult[];
  bench: BenchResult[];
  measuredWith: string;
  afxdp: AfXdpResult[];
  afxdpWhere: string;
  table: TableRow[];
}

// ---------------------------------------------------------------------------------------------

/** The xdp-modes command: returns the exit status (0 done, 1 failed, 2 bad arguments). */
export async function run(argv: string[]): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`xdp-modes: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('xdp-modes: this command attaches XDP programs and builds a network namespace: run it as root');
    return 1;
  }
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const h = (): void => {
      console.error(`\n${sig}: undoing what this run changed`);
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  process.on('exit', cleanup);
  try {
    await tourAll(o);
    return 0;
  } catch (e) {
    console.error(`xdp-modes: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    cleanup();
    for (const [sig, h] of handlers) process.off(sig, h);
    process.off('exit', cleanup);
  }
}

async function tourAll(o: Options): Promise<void> {
  // The lab is always built: the rules and the benchmark need a device nobody else uses.
  // A named device must exist before anything is built (the library's error names it).
  if (o.dev) queryXdp(o.dev);
  const lab = new Lab();
  lab.create();
  await breathe();

  using map = BpfMap.create({ type: 'PERCPU_ARRAY', keySize: 4, valueSize: 8, maxEntries: SLOTS, name: 'counters' });
  using config = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'config' });
  const setVerdict = (v: number): void => config.update(0, Buffer.from(Uint32Array.of(v).buffer));
  setVerdict(XDP_PASS); // an array slot starts at 0, which is XDP_ABORTED
  const insns = countingProgram().build();
  using program = Program.load({ type: 'XDP', instructions: insns, maps: { counters: map, config }, name: 'xdp_modes' });
  using programB = Program.load({ type: 'XDP', instructions: insns, maps: { counters: map, config }, name: 'xdp_modes_b' });
  using labGenerator = Program.load({ type: 'XDP', instructions: generatorProgram(lab.ifindexA).build(), name: 'xdp_gen' });

  // The device the modes are shown on: veth-b in the lab, or the one named.
  const labWhere: Where = {
    run: (fn) => lab.run(fn),
    ipShow: (d) => lab.ip('-d', '-j', 'link', 'show', 'dev', d),
    xdpLoader: (d) =>
      execFileSync('ip', ['netns', 'exec', lab.name, 'xdp-loader', 'status', d], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  };
  let where = labWhere;
  let device = lab.b;
  let ifindex = lab.ifindexB;
  let generator: Program | undefined = labGenerator;
  let devGenerator: Program | undefined;
  if (o.dev) {
    device = o.dev;
    where = {
      run: (fn) => fn(),
      ipShow: (d) => execFileSync('ip', ['-d', '-j', 'link', 'show', 'dev', d], { encoding: 'utf8' }),
      xdpLoader: (d) => execFileSync('xdp-loader', ['status', d], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
    const info = (JSON.parse(where.ipShow(device)) as { ifindex: number; link?: string; linkinfo?: { info_kind?: string } }[])[0];
    ifindex = info.ifindex;
    generator = undefined;
    // A veth whose peer is here too can be fed by redirecting frames into the peer.
    if (info.linkinfo?.info_kind === 'veth' && info.link) {
      const peer = (JSON.parse(where.ipShow(info.link)) as { ifindex: number }[])[0];
      devGenerator = Program.load({ type: 'XDP', instructions: generatorProgram(peer.ifindex).build(), name: 'xdp_gen_dev' });
      generator = devGenerator;
    }
  }

  const macs = o.dev
    ? { src: Buffer.from([2, 0, 0, 0, 0, 1]), dst: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }
    : { src: lab.macA, dst: lab.macB };
  const tour: TourContext = {
    where,
    device,
    program,
    map,
    generator,
    lab: o.dev ? undefined : lab,
    ifindex,
    frames: FRAME_KINDS.map((k) => buildFrame(k, macs.src, macs.dst)),
    framesPerKind: 50,
    udp: 20,
    seconds: o.seconds,
  };
  const modes: ModeResult[] = [];
  try {
    for (const mode of ['generic', 'native', 'offload'] as const) {
      modes.push(await tourMode(mode, tour));
      await breathe();
    }
  } finally {
    devGenerator?.close();
  }

  const ruleResults = rules(lab, program, programB);
  await breathe();

  const bench = await benchmark(lab, program, map, setVerdict, labGenerator, o.repeat, o.rounds);
  await breathe();
  const afxdp = await benchmarkAfXdp(lab, labGenerator, o.repeat, o.rounds);
  const measuredWith =
    `BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the lab: a generator program redirects ${o.repeat} copies of a 64-byte ` +
    `IPv4/UDP frame into veth-a (batches of 64); veth delivers them to veth-b's NAPI poll, where the attached program runs ` +
    '(native: on the frame, before any skb; generic: after veth builds an skb and hands it to the core stack, GRO on). ' +
    "ns/packet is the kernel's mean duration of the run per frame, which includes veth-b's receive softirq (run at each batch's bh-enable); " +
    `median of ${o.rounds} interleaved rounds per mode; the program's own counters confirm the frames reached it. ` +
    'Verdict drop: the program returns XDP_DROP; pass: XDP_PASS, so the frame continues into the stack.';

  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const report: Report = {
    machine: {
      kernel: `Linux ${release()}`,
      arch: process.arch,
      cpus: cpus().length,
      cpuModel,
      node: process.version,
      hostname: hostname(),
    },
    device,
    lab: { namespace: lab.name, sender: lab.a, receiver: lab.b, senderAddress: lab.addressA },
    program: {
      name: program.name,
      instructions: insns.length,
      map: `PERCPU_ARRAY of ${SLOTS} u64 (verdicts 0-4, ethertype 5-8, IP protocol 9-12)`,
    },
    modes,
    rules: ruleResults,
    bench,
    measuredWith,
    afxdp,
    afxdpWhere: AFXDP_WHERE,
    table: table(modes, bench, afxdp),
  };
  if (o.json) console.log(JSON.stringify(report));
  else printHuman(report);
}
