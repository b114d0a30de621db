// The libxdp AF_XDP receiver (bench/anchors/libxdp/xsk-rx.c): built with the C compiler at bench
// time into a cache directory keyed by the source and the toolchain (nothing built is committed),
// and driven over its stdin/stdout line protocol. bench/afxdp.ts runs it beside XdpSocket on the
// same veth pair and traffic; test/afxdp-anchor.test.ts runs it briefly so it cannot rot unseen.
//
//   cc -O2 -Wall xsk-rx.c -o xsk-rx -lxdp -lbpf      (Debian: libxdp-dev, libbpf-dev)
//
// Nothing is installed here: a missing package is reported by name.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'libxdp', 'xsk-rx.c');
const CACHE_ROOT = process.env.EBPF_BENCH_ANCHOR_CACHE ?? join(tmpdir(), 'ebpf-bench-anchors');

export interface XskAnchorBuild {
  binary?: string;
  /** Why it could not be built: names the missing package, or gives the compiler's output. */
  error?: string;
  versions: { cc: string; libxdp: string; libbpf: string };
}

const dpkgVersion = (pkg: string): string => {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout : 'not installed';
};

/** Compiles xsk-rx.c unless a build of this source with this toolchain is cached. */
export function buildXskAnchor(): XskAnchorBuild {
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  const versions = {
    cc: cc.status === 0 ? cc.stdout.split('\n')[0] : 'not installed',
    libxdp: dpkgVersion('libxdp-dev'),
    libbpf: dpkgVersion('libbpf-dev'),
  };
  if (versions.cc === 'not installed') return { versions, error: 'no C compiler (cc): apt-get install -y gcc libc6-dev' };
  if (!existsSync('/usr/include/xdp/xsk.h'))
    return {
      versions,
      error: 'libxdp-dev is not installed (apt-get install -y libxdp-dev): the AF_XDP anchor is built against its xdp/xsk.h',
    };
  if (!existsSync('/usr/include/bpf/bpf.h')) return { versions, error: 'libbpf-dev is not installed (apt-get install -y libbpf-dev)' };
  const key = createHash('sha256').update(JSON.stringify(versions)).update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const dir = join(CACHE_ROOT, `xsk-${key}`);
  const binary = join(dir, 'xsk-rx');
  if (existsSync(binary)) return { versions, binary };
  mkdirSync(dir, { recursive: true });
  const work = `${binary}.tmp-${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', work, SOURCE, '-lxdp', '-lbpf'], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(work, { force: true });
    return { versions, error: `cc xsk-rx.c: ${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || r.error?.message}` };
  }
  renameSync(work, binary); // atomic: a concurrent build of the same key writes the same file
  return { versions, binary };
}

export interface XskAnchorRound {
  received: number;
  /** From the command being read to the last batch that had frames. */
  drainNs: number;
  /** Sum of the u32 at byte 42 of every frame of the round, mod 2^32. */
  checksum: number;
}

export interface XskAnchorStats {
  wakeups: number;
  rxDropped: number;
  rxRingFull: number;
  fillRingEmpty: number;
}

export interface XskAnchorOptions {
  binary: string;
  /** /var/run/netns/NAME: the receiver runs there (nsenter --net, which keeps /sys and its bpffs). */
  netnsPath: string;
  device: string;
  queue?: number;
  /** An XSKMAP fd of this process: the child inherits it as fd 3 and puts its socket at key `queue`. */
  xskMapFd: number;
  /** How long one answer may take (default 10 s). */
  timeoutMs?: number;
}

/** A running xsk-rx: start(), then drain() per round, then stop(). */
export class XskAnchor {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #timeoutMs: number;
  #stderr = '';
  #mode = '?';

  private constructor(child: ChildProcessWithoutNullStreams, timeoutMs: number) {
    this.#child = child;
    this.#timeoutMs = timeoutMs;
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
    child.on('error', (e) => {
      this.#stderr += `${e.message}\n`;
    }); // nsenter missing: the answer wait reports it
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** 'copy' or 'zerocopy': what the kernel bound the socket in (XDP_OPTIONS). */
  get mode(): string {
    return this.#mode;
  }

  static async start(options: XskAnchorOptions): Promise<XskAnchor> {
    const child = spawn('nsenter', [`--net=${options.netnsPath}`, options.binary, options.device, String(options.queue ?? 0), '3'], {
      stdio: ['pipe', 'pipe', 'pipe', options.xskMapFd],
    }) as unknown as ChildProcessWithoutNullStreams;
    const anchor = new XskAnchor(child, options.timeoutMs ?? 10_000);
    try {
      anchor.#mode = /mode=(\S+)/.exec(await anchor.#answer('ready'))?.[1] ?? '?';
    } catch (e) {
      anchor.kill();
      throw e;
    }
    return anchor;
  }

  async #answer(prefix: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`xsk-rx gave no "${prefix}" line in ${this.#timeoutMs} ms${this.#stderr.trim() ? `: ${this.#stderr.trim()}` : ''}`),
          ),
        this.#timeoutMs,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done || !next.value.startsWith(prefix)) {
        // Let the exit status and stderr arrive before saying why.
        if (this.#child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
        throw new Error(
          `xsk-rx ${next.done ? `exited (status ${this.#child.exitCode})` : `said "${next.value}"`} instead of "${prefix} ...": ${this.#stderr.trim() || 'no message'}`,
        );
      }
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Receives until `frames` came or none came for 50 ms. */
  async drain(frames: number): Promise<XskAnchorRound> {
    this.#child.stdin.write(`drain ${frames}\n`);
    const [, received, ns, sum] = (await this.#answer('round')).split(' ');
    return { received: Number(received), drainNs: Number(ns), checksum: Number(sum) };
  }

  /** Ends the receiver (it closes its socket, which leaves the XSKMAP with it) and returns its counters. */
  async stop(): Promise<XskAnchorStats> {
    const exited = new Promise<void>((r) => (this.#child.exitCode !== null ? r() : this.#child.once('exit', () => r())));
    this.#child.stdin.end('quit\n');
    const line = await this.#answer('stats');
    await exited;
    const field = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(line)?.[1] ?? NaN);
    return {
      wakeups: field('wakeups'),
      rxDropped: field('rx_dropped'),
      rxRingFull: field('rx_ring_full'),
      fillRingEmpty: field('fill_ring_empty'),
    };
  }

  /** Ends the process without asking (after an error). */
  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}
