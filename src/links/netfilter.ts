// Netfilter hooks without nftables or iptables: a NETFILTER program attached with a bpf_link
// (BPF_LINK_TYPE_NETFILTER, Linux 6.4+) to one hook of one protocol family, at a priority among
// the hook's other functions, in the calling thread's network namespace. It returns NF_DROP (0) or
// NF_ACCEPT (1) for each packet.
import { linkCreate, objGetInfo, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError, attaching } from './link.js';

/** Protocol families a netfilter program can hook (NFPROTO_IPV4, NFPROTO_IPV6). */
export const NetfilterFamily = { ipv4: 2, ipv6: 10 } as const;
/** Netfilter hooks (enum nf_inet_hooks). */
export const NetfilterHook = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
/** Name of a netfilter protocol family: "ipv4" or "ipv6". */
export type NetfilterFamilyName = keyof typeof NetfilterFamily;
/** Name of a netfilter hook: "prerouting", "input", "forward", "output" or "postrouting". */
export type NetfilterHookName = keyof typeof NetfilterHook;

/** Options of attachNetfilter: where in netfilter the program runs. */
export interface NetfilterOptions {
  family: NetfilterFamilyName;
  hook: NetfilterHookName;
  /** Lower runs first. Not INT_MIN or INT_MAX (reserved); with defrag, above -400 (after defragmentation). */
  priority: number;
  /** Have the kernel reassemble fragments before the program sees them (BPF_F_NETFILTER_IP_DEFRAG, 6.6+). */
  defrag?: boolean;
}

/** What the kernel reports for a netfilter link (struct bpf_link_info.netfilter). */
export interface NetfilterLinkInfo {
  family: number;
  hook: number;
  priority: number;
  flags: number;
}

/** A program attached to a netfilter hook (bpf_link type netfilter, kernel 6.4+). */
export class NetfilterLink extends BpfLink {
  readonly options: Readonly<NetfilterOptions>;
  /** Takes ownership of netfilter link `fd`, attached as `options` says; attachNetfilter makes these. */
  constructor(fd: number, options: NetfilterOptions) {
    super(fd, `netfilter/${options.family}/${options.hook} priority ${options.priority}`);
    this.options = { ...options };
  }

  /** The family, hook, priority and flags as the kernel holds them. */
  netfilterInfo(): NetfilterLinkInfo {
    if (this.closed) throw new LinkError('closed', `link ${this.target} is closed`);
    const { info } = objGetInfo(this.fd, 32);
    return { family: info.readUInt32LE(16), hook: info.readUInt32LE(20), priority: info.readInt32LE(24), flags: info.readUInt32LE(28) };
  }
}

/** Attaches a NETFILTER program (loaded with expectedAttachType NETFILTER) to a hook. */
export function attachNetfilter(program: Program, options: NetfilterOptions): NetfilterLink {
  return attaching(`attaching "${program.name}" to netfilter`, () => {
    const pf = NetfilterFamily[options.family];
    const hooknum = NetfilterHook[options.hook];
    if (pf === undefined)
      throw new LinkError(
        'options',
        `bad netfilter family ${JSON.stringify(options.family)}: use ${Object.keys(NetfilterFamily).join(' or ')}`,
      );
    if (hooknum === undefined)
      throw new LinkError('options', `bad netfilter hook ${JSON.stringify(options.hook)}: use ${Object.keys(NetfilterHook).join(', ')}`);
    const p = options.priority;
    if (!Number.isInteger(p) || p <= -0x8000_0000 || p >= 0x7fff_ffff) {
      throw new LinkError(
        'options',
        `netfilter priority ${p} is out of range: an integer strictly between INT_MIN and INT_MAX (those two are reserved)`,
      );
    }
    if (options.defrag && p <= -400) {
      throw new LinkError(
        'options',
        `netfilter priority ${p} with defrag must be above -400 (NF_IP_PRI_CONNTRACK_DEFRAG), so the program runs after reassembly`,
      );
    }
    if (program.type !== ProgramType.NETFILTER) {
      throw new LinkError(
        'program',
        `program "${program.name}" has type ${program.type}; netfilter hooks take NETFILTER (${ProgramType.NETFILTER}) programs`,
      );
    }
    try {
      const fd = linkCreate({
        progFd: program.fd,
        targetFd: 0,
        attachType: AttachType.NETFILTER,
        netfilter: { pf, hooknum, priority: p, flags: options.defrag ? 1 : 0 },
      });
      return new NetfilterLink(fd, options);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const hint =
        e.code === 'EINVAL'
          ? 'the program must be loaded with expectedAttachType NETFILTER (45); priorities INT_MIN/INT_MAX are reserved; netfilter links need Linux 6.4+'
          : e.code === 'EBUSY'
            ? `another BPF netfilter program already has priority ${p} on this hook`
            : undefined;
      throw new SyscallError(
        `BPF_LINK_CREATE (attach netfilter program "${program.name}" to ${options.family} ${options.hook} at priority ${p})`,
        e.errno,
        undefined,
        hint,
      );
    }
  });
}
