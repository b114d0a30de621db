// examples/xdp-modes.ts run as a child process, its JSON checked against the kernel's known answers
// and against iproute2: the `ip -d -j link show` output the example recorded while each mode was
// attached is parsed here, independently of the library's own netlink parser. Afterwards nothing the
// example made may be left: no namespace, no change to the root namespace's devices.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, isRoot, need } from './support/env.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'examples/xdp-modes.ts');

interface Answer {
  ok: boolean;
  code?: string;
  errno?: number;
  extack?: string;
  hint?: string;
}
interface Counters {
  verdicts: Record<string, number>;
  l3: Record<string, number>;
  l4: Record<string, number>;
  seen: number;
}
interface ModeResult {
  mode: string;
  device: string;
  supported: boolean;
  kernelReported?: { attached: string; programId?: number };
  ipJson?: string;
  xdpLoader?: { line?: string; mode?: string; programId?: number; error?: string };
  traffic?: { liveFrames: Record<string, number>; udp: number; sent: number };
  counters?: Counters;
  detached?: boolean;
  refused?: { step: string; answer: Answer }[];
}
interface AfXdp {
  mode: string;
  socketMode: string;
  frames: number;
  rounds: number;
  nsPerPacket: number;
  nodeNsPerPacket: number;
  received: number;
  identical: number;
}
interface Report {
  machine: { kernel: string };
  afxdp: AfXdp[];
  afxdpWhere: string;
  device: string;
  lab: { namespace: string };
  modes: ModeResult[];
  rules: { id: string; holds: boolean; inPost: boolean; steps: { answer: Answer; note?: string }[] }[];
  bench: { mode: string; verdict: string; frames: number; rounds: number; nsPerPacket: number; counted: number }[];
  measuredWith: string;
  table: {
    mode: string;
    supportedHere: boolean;
    packetsSeen: number | null;
    nsPerPacketDrop: number | null;
    ipReports: string | null;
    xdpLoaderReports: string | null;
    afxdpReceived: number | null;
  }[];
}

/** The root namespace's devices as iproute2 sees them, with any XDP program, by name. */
function rootLinks(): Map<string, string> {
  const links = JSON.parse(execFileSync('ip', ['-d', '-j', 'link', 'show'], { encoding: 'utf8' })) as {
    ifindex: number;
    ifname: string;
    xdp?: unknown;
  }[];
  return new Map(links.map((l) => [l.ifname, `${l.ifindex} xdp=${JSON.stringify(l.xdp ?? null)}`]));
}

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);

describe.runIf(need(isRoot && hasCommand('ip'), 'the XDP modes example needs root and iproute2'))('examples/xdp-modes.ts', () => {
  it('shows generic and native counting real traffic, offload refused, the rules, and leaves nothing behind', () => {
    const linksBefore = rootLinks();
    const nsBefore = namespaces();
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, '--json', '--repeat', '100000', '--rounds', '3'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
      maxBuffer: 16 << 20,
    });
    expect(child.error).toBeUndefined();
    expect(child.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(child.status, child.stderr).toBe(0);
    const r = JSON.parse(child.stdout) as Report;

    expect(r.device).toBe('veth-b');
    const mode = (m: string): ModeResult => r.modes.find((x) => x.mode === m)!;
    // iproute2's numbering of the attached mode.
    const ipModes: Record<string, number> = { native: 1, generic: 2 };
    for (const m of ['generic', 'native']) {
      const res = mode(m);
      expect(res.supported).toBe(true);
      expect(res.kernelReported?.attached).toBe(m);
      // The oracle: what `ip -d -j link show` said while the program was attached.
      const ip = (JSON.parse(res.ipJson!) as { ifname: string; xdp?: { mode: number; prog?: { id: number } } }[])[0];
      expect(ip.ifname).toBe('veth-b');
      expect(ip.xdp?.mode).toBe(ipModes[m]);
      expect(ip.xdp?.prog?.id).toBe(res.kernelReported?.programId);
      // The second oracle: xdp-tools' xdp-loader, which calls generic mode "skb".
      expect(res.xdpLoader?.mode, res.xdpLoader?.error).toBe(m === 'generic' ? 'skb' : 'native');
      expect(res.xdpLoader?.programId).toBe(res.kernelReported?.programId);
      // Counted at least everything sent, per protocol as well.
      const t = res.traffic!;
      const c = res.counters!;
      expect(t.sent).toBe(Object.values(t.liveFrames).reduce((s, n) => s + n, 0) + t.udp);
      expect(t.udp).toBeGreaterThan(0);
      expect(c.seen).toBeGreaterThanOrEqual(t.sent);
      expect(c.verdicts.pass).toBeGreaterThanOrEqual(t.sent);
      const lf = t.liveFrames;
      expect(c.l3.ipv4).toBeGreaterThanOrEqual(lf['ipv4-udp'] + lf['ipv4-tcp'] + lf['ipv4-icmp'] + t.udp);
      expect(c.l3.ipv6).toBeGreaterThanOrEqual(lf['ipv6-udp'] + lf['ipv6-icmpv6']);
      expect(c.l3.arp).toBeGreaterThanOrEqual(lf.arp);
      expect(c.l3.other).toBeGreaterThanOrEqual(lf.other);
      expect(c.l4.tcp).toBeGreaterThanOrEqual(lf['ipv4-tcp']);
      expect(c.l4.udp).toBeGreaterThanOrEqual(lf['ipv4-udp'] + lf['ipv6-udp'] + t.udp);
      expect(c.l4.icmp).toBeGreaterThanOrEqual(lf['ipv4-icmp'] + lf['ipv6-icmpv6']);
      expect(res.detached).toBe(true);
    }

    // Offload: refused, with the kernel's errno and the library's reason.
    const off = mode('offload');
    expect(off.supported).toBe(false);
    const attach = off.refused!.find((s) => /attach in offload mode/.test(s.step))!.answer;
    expect(attach).toMatchObject({ ok: false, code: 'EINVAL', errno: 22 });
    expect(attach.hint).toMatch(/veth-b has no XDP offload: .*nfp/);
    expect(off.refused![0].answer).toMatchObject({ ok: false, code: 'EINVAL' }); // load bound to a veth

    // The rules, each with the kernel's answer.
    const rule = (id: string): Report['rules'][number] => {
      const found = r.rules.find((x) => x.id === id);
      expect(found, id).toBeDefined();
      expect(found!.holds, id).toBe(true);
      return found!;
    };
    const lo = rule('native-needs-driver');
    expect(lo.steps[0].answer).toMatchObject({ code: 'EOPNOTSUPP', extack: 'Underlying driver does not support XDP in native mode' });
    expect(lo.steps[1].note).toMatch(/queryXdp says generic.*ip -d link says generic/);
    expect(rule('default-prefers-native').steps[0].note).toMatch(/queryXdp says native/);
    expect(rule('offload-needs-nic').steps.map((s) => s.answer.code)).toEqual(['EINVAL', 'EINVAL']);
    for (const s of rule('native-generic-exclusive').steps) {
      expect(s.answer).toMatchObject({ code: 'EEXIST', extack: "Native and generic XDP can't be active at the same time" });
    }
    const replace = rule('replace-expected');
    expect(replace.steps[0].answer).toMatchObject({ code: 'EEXIST', extack: 'Active program does not match expected' });
    expect(replace.steps[1].answer.ok).toBe(true);
    const noexist = rule('update-if-no-exist');
    expect(noexist.steps[0].answer).toMatchObject({ code: 'EBUSY', extack: 'XDP program already attached' });
    expect(noexist.steps[1].answer.ok).toBe(true);
    for (const s of rule('link-owns-attachment').steps) {
      expect(s.answer).toMatchObject({ code: 'EBUSY', extack: "Can't replace active BPF XDP link" });
    }
    const lifetime = rule('netlink-outlives-process');
    expect(lifetime.steps[0].note).toMatch(/after its exit lo has generic, program id \d+/);
    expect(lifetime.steps[1].note).toMatch(/after its exit veth-b has nothing attached/);

    // Generic vs native measured in the same run, every frame (nearly) accounted for.
    expect(r.measuredWith).toMatch(/BPF_F_TEST_XDP_LIVE_FRAMES/);
    for (const m of ['generic', 'native']) {
      for (const v of ['drop', 'pass']) {
        const b = r.bench.find((x) => x.mode === m && x.verdict === v)!;
        expect(b.nsPerPacket).toBeGreaterThan(0);
        expect(b.counted).toBeGreaterThanOrEqual(0.95 * b.frames * b.rounds);
      }
    }
    // AF_XDP: every injected frame reached the example's process, byte for byte, in both modes.
    for (const m of ['generic', 'native']) {
      const x = r.afxdp.find((a) => a.mode === m)!;
      expect(x.socketMode).toBe('copy'); // veth has no zero-copy AF_XDP
      expect(x.received).toBe(x.frames * x.rounds);
      expect(x.identical).toBe(x.received);
      expect(x.nsPerPacket).toBeGreaterThan(0);
      expect(x.nodeNsPerPacket).toBeGreaterThan(0);
    }
    expect(r.afxdpWhere).toMatch(/XSKMAP.*fill ring.*RX ring/);
    expect(r.table.map((t) => [t.mode, t.supportedHere])).toEqual([
      ['generic', true],
      ['native', true],
      ['offload', false],
    ]);
    expect(r.table.map((t) => [t.ipReports, t.xdpLoaderReports])).toEqual([
      ['generic', 'skb'],
      ['native', 'native'],
      [null, null],
    ]);
    expect(r.table[0].packetsSeen).toBe(mode('generic').counters!.seen);

    // Nothing left: the lab namespace is gone, the root namespace's devices are as they were.
    expect(namespaces()).not.toContain(r.lab.namespace);
    expect(namespaces().filter((n) => n.startsWith('xdp-modes-'))).toEqual(nsBefore.filter((n) => n.startsWith('xdp-modes-')));
    // Other test files may add devices of their own meanwhile: compare the ones that were there, and
    // look for the example's names.
    const linksAfter = rootLinks();
    for (const [name, state] of linksBefore) expect(linksAfter.get(name), name).toBe(state);
    expect([...linksAfter.keys()].filter((n) => ['veth-a', 'veth-b'].includes(n))).toEqual([]);
  }, 180_000);

  it('follows the command contract: --help exits 0 with usage on stdout, a bad argument exits 2 with usage on stderr', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', script, '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: ebpf xdp-modes/);
    for (const bad of [['--bogus'], ['--repeat', 'x']]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...bad], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/usage: ebpf xdp-modes/);
    }
  }, 120_000);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('removes its namespace on %s (exit status %d)', async (signal, status) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const name = `xdp-modes-${child.pid}`;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!namespaces().includes(name) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(namespaces(), stderr).toContain(name);
    child.kill(signal);
    expect(await exited).toBe(status);
    expect(stderr).toMatch(new RegExp(`${signal}: undoing what this run changed`));
    expect(namespaces()).not.toContain(name);
  });
});
