// Attachments that hang off a perf event: kprobes, uprobes, tracepoints, perf counters.
import { readFileSync, existsSync } from 'node:fs';
import {
  closeFd,
  ioctl,
  linkCreate,
  OwnedFd,
  perfEventOpen,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_SET_BPF,
  SyscallError,
  type PerfEventAttr,
} from '../syscall/index.js';
import { AttachType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { Link, LinkError } from './link.js';
import { NotSupportedError } from '../errors/index.js';
import { linkInfoFromFd, type LinkInfo } from './link-info.js';

/**
 * A program attached to a perf event. Prefers a kernel bpf_link (kernel 5.15+: detached when the
 * process dies, carries a cookie); falls back to PERF_EVENT_IOC_SET_BPF on older kernels.
 */
export class PerfEventLink extends Link {
  readonly #perf: OwnedFd;
  readonly #link: OwnedFd | undefined;

  /** Takes ownership of `perfFd` and of `linkFd` (-1 when attached with PERF_EVENT_IOC_SET_BPF); `target` names it in messages. */
  constructor(perfFd: number, linkFd: number, target: string) {
    super(target);
    this.#perf = new OwnedFd(perfFd, `perf event of ${target}`, this);
    this.#link = linkFd >= 0 ? new OwnedFd(linkFd, `link ${target}`, this) : undefined;
  }

  /**
   * Hands `inner`'s fds to a new link that wraps the same attachment (a tracefs kprobe adds its
   * own cleanup); `inner` owns nothing afterwards and must not be used.
   */
  protected static takeFds(inner: PerfEventLink): [perfFd: number, linkFd: number] {
    return [inner.#perf.disown(), inner.#link?.disown() ?? -1];
  }

  /** The perf event fd; throws once the link is closed. */
  get perfFd(): number {
    if (this.closed) throw new LinkError('closed', `${this.target}: the link is closed`);
    return this.#perf.raw;
  }

  /** The bpf_link fd, or -1 when attached through the ioctl; throws once the link is closed. */
  get linkFd(): number {
    if (this.closed) throw new LinkError('closed', `${this.target}: the link is closed`);
    return this.#link?.raw ?? -1;
  }

  /** Whether the kernel owns the attachment as a bpf_link. */
  get isBpfLink(): boolean {
    return this.#link !== undefined;
  }

  /** The kernel's view of the bpf_link (uprobe path and offset, tracepoint name...); only for isBpfLink. */
  info(): LinkInfo {
    if (this.closed) throw new LinkError('closed', `${this.target}: the link is closed`);
    if (this.linkFd < 0)
      throw new LinkError('info', `${this.target}: attached through PERF_EVENT_IOC_SET_BPF, which is no bpf_link and has no link info`);
    return linkInfoFromFd(this.linkFd);
  }

  protected release(): void {
    this.#link?.close();
    this.#perf.close();
  }
}

/** Attaches `program` to an open perf event, taking ownership of `perfFd` (closed on failure). */
export function attachPerfEvent(program: Program, perfFd: number, target: string, cookie?: bigint): PerfEventLink {
  try {
    try {
      const linkFd = linkCreate({ progFd: program.fd, targetFd: perfFd, attachType: AttachType.PERF_EVENT, bpfCookie: cookie });
      return new PerfEventLink(perfFd, linkFd, target);
    } catch (e) {
      // Kernels before 5.15 have no perf-event links: fall back to the ioctl (no cookie then).
      if (!(e instanceof SyscallError) || !['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP'].includes(e.code) || cookie !== undefined) throw e;
      ioctl(perfFd, PERF_EVENT_IOC_SET_BPF, program.fd, 'ioctl(PERF_EVENT_IOC_SET_BPF)');
      ioctl(perfFd, PERF_EVENT_IOC_ENABLE, 0, 'ioctl(PERF_EVENT_IOC_ENABLE)');
      return new PerfEventLink(perfFd, -1, target);
    }
  } catch (e) {
    closeFd(perfFd);
    if (e instanceof SyscallError)
      throw new LinkError('attach', `attaching program "${program.name}" to ${target} failed: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A dynamic PMU (kprobe, uprobe): its type number and the config bit for return probes. */
export function dynamicPmu(name: 'kprobe' | 'uprobe'): { type: number; retprobeBit: number } {
  const dir = `/sys/bus/event_source/devices/${name}`;
  if (!existsSync(dir)) {
    const why =
      name === 'kprobe'
        ? 'this kernel has no kprobes (built without CONFIG_KPROBES, or without the kprobe PMU of kernel 4.17+)'
        : 'this kernel has no uprobes (built without CONFIG_UPROBE_EVENTS, or without the uprobe PMU of kernel 4.17+)';
    throw new LinkError('attach', `${why}: ${dir} does not exist`, {
      cause: new NotSupportedError(`${name} PMU`, '4.17', `${dir} does not exist`),
    });
  }
  const type = Number(readFileSync(`${dir}/type`, 'utf8').trim());
  const format = readFileSync(`${dir}/format/retprobe`, 'utf8').trim(); // "config:0"
  const m = /^config:(\d+)$/.exec(format);
  if (!m) throw new LinkError('attach', `cannot parse ${dir}/format/retprobe: "${format}"`);
  return { type, retprobeBit: Number(m[1]) };
}

/** Opens a perf event, naming the target in the error when the kernel refuses. */
export function openPerfEvent(attr: PerfEventAttr, pid: number, cpu: number, target: string): number {
  try {
    return perfEventOpen(attr, pid, cpu);
  } catch (e) {
    if (e instanceof SyscallError) throw new LinkError('attach', `cannot open a perf event for ${target}: ${e.message}`, { cause: e });
    throw e;
  }
}
