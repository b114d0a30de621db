// Program section names, following libbpf's conventions (Documentation/bpf/libbpf/program_types.rst):
// the section a function sits in says which program type it is, which attach type the kernel should
// expect, and often what it attaches to ("kprobe/do_unlinkat" → do_unlinkat).
import { AttachType, ProgramFlags, ProgramType } from '../../uapi/bpf.js';

/** How the text after "prefix/" is used. */
type TargetRule =
  | 'none' //      the section name is exactly the prefix
  | 'optional' //  "prefix" or "prefix/target"
  | 'required'; // "prefix/target"

interface SectionRule {
  readonly prefix: string;
  readonly type: ProgramType;
  readonly attach?: AttachType;
  readonly target: TargetRule;
  readonly flags?: number;
  /** The target names something in the kernel's BTF, resolved to attachBtfId at load. */
  readonly btf?: BtfTargetKind;
}

/** Targets found in the kernel's BTF at load time. */
export type BtfTargetKind = 'fentry' | 'fexit' | 'fmod_ret' | 'fsession' | 'tp_btf' | 'lsm' | 'iter';

/** What a program's ELF section name says about it: program type, expected attach type, attach target, load flags, and the kind of BTF target. */
export interface ProgramKind {
  readonly type: ProgramType;
  readonly expectedAttachType: AttachType | undefined;
  /** What the name says to attach to, e.g. "syscalls/sys_enter_openat" or "vfs_read". */
  readonly attachTo: string | undefined;
  readonly flags: number;
  readonly btfTarget: BtfTargetKind | undefined;
}

const SLEEPABLE = ProgramFlags.SLEEPABLE;
const FRAGS = ProgramFlags.XDP_HAS_FRAGS;
const T = ProgramType;
const A = AttachType;

function rule(
  prefix: string,
  type: ProgramType,
  target: TargetRule,
  attach?: AttachType,
  extra: { flags?: number; btf?: BtfTargetKind } = {},
): SectionRule {
  return { prefix, type, target, ...(attach !== undefined ? { attach } : {}), ...extra };
}

const SOCK_ADDR: [string, AttachType][] = [
  ['bind4', A.CGROUP_INET4_BIND],
  ['bind6', A.CGROUP_INET6_BIND],
  ['connect4', A.CGROUP_INET4_CONNECT],
  ['connect6', A.CGROUP_INET6_CONNECT],
  ['connect_unix', A.CGROUP_UNIX_CONNECT],
  ['sendmsg4', A.CGROUP_UDP4_SENDMSG],
  ['sendmsg6', A.CGROUP_UDP6_SENDMSG],
  ['sendmsg_unix', A.CGROUP_UNIX_SENDMSG],
  ['recvmsg4', A.CGROUP_UDP4_RECVMSG],
  ['recvmsg6', A.CGROUP_UDP6_RECVMSG],
  ['recvmsg_unix', A.CGROUP_UNIX_RECVMSG],
  ['getpeername4', A.CGROUP_INET4_GETPEERNAME],
  ['getpeername6', A.CGROUP_INET6_GETPEERNAME],
  ['getpeername_unix', A.CGROUP_UNIX_GETPEERNAME],
  ['getsockname4', A.CGROUP_INET4_GETSOCKNAME],
  ['getsockname6', A.CGROUP_INET6_GETSOCKNAME],
  ['getsockname_unix', A.CGROUP_UNIX_GETSOCKNAME],
];

const RULES: readonly SectionRule[] = [
  rule('socket', T.SOCKET_FILTER, 'none'),
  rule('sk_reuseport/migrate', T.SK_REUSEPORT, 'none', A.SK_REUSEPORT_SELECT_OR_MIGRATE),
  rule('sk_reuseport', T.SK_REUSEPORT, 'none', A.SK_REUSEPORT_SELECT),
  rule('kprobe', T.KPROBE, 'optional'),
  rule('kretprobe', T.KPROBE, 'optional'),
  rule('uprobe', T.KPROBE, 'optional'),
  rule('uretprobe', T.KPROBE, 'optional'),
  rule('uprobe.s', T.KPROBE, 'optional', undefined, { flags: SLEEPABLE }),
  rule('uretprobe.s', T.KPROBE, 'optional', undefined, { flags: SLEEPABLE }),
  rule('ksyscall', T.KPROBE, 'optional'),
  rule('kretsyscall', T.KPROBE, 'optional'),
  rule('usdt', T.KPROBE, 'optional'),
  rule('usdt.s', T.KPROBE, 'optional', undefined, { flags: SLEEPABLE }),
  rule('kprobe.multi', T.KPROBE, 'optional', A.TRACE_KPROBE_MULTI),
  rule('kretprobe.multi', T.KPROBE, 'optional', A.TRACE_KPROBE_MULTI),
  rule('kprobe.session', T.KPROBE, 'optional', A.TRACE_KPROBE_SESSION),
  rule('uprobe.multi', T.KPROBE, 'optional', A.TRACE_UPROBE_MULTI),
  rule('uretprobe.multi', T.KPROBE, 'optional', A.TRACE_UPROBE_MULTI),
  rule('uprobe.multi.s', T.KPROBE, 'optional', A.TRACE_UPROBE_MULTI, { flags: SLEEPABLE }),
  rule('uretprobe.multi.s', T.KPROBE, 'optional', A.TRACE_UPROBE_MULTI, { flags: SLEEPABLE }),
  rule('uprobe.session', T.KPROBE, 'optional', A.TRACE_UPROBE_SESSION),
  rule('uprobe.session.s', T.KPROBE, 'optional', A.TRACE_UPROBE_SESSION, { flags: SLEEPABLE }),
  rule('tc/ingress', T.SCHED_CLS, 'none', A.TCX_INGRESS),
  rule('tc/egress', T.SCHED_CLS, 'none', A.TCX_EGRESS),
  rule('tcx/ingress', T.SCHED_CLS, 'none', A.TCX_INGRESS),
  rule('tcx/egress', T.SCHED_CLS, 'none', A.TCX_EGRESS),
  rule('netkit/primary', T.SCHED_CLS, 'none', A.NETKIT_PRIMARY),
  rule('netkit/peer', T.SCHED_CLS, 'none', A.NETKIT_PEER),
  rule('tc', T.SCHED_CLS, 'optional'),
  rule('classifier', T.SCHED_CLS, 'optional'),
  rule('action', T.SCHED_ACT, 'optional'),
  rule('tracepoint', T.TRACEPOINT, 'optional'),
  rule('tp', T.TRACEPOINT, 'optional'),
  // Sleepable (faultable) tracepoints, libbpf 1.7.
  rule('tracepoint.s', T.TRACEPOINT, 'optional', undefined, { flags: SLEEPABLE }),
  rule('tp.s', T.TRACEPOINT, 'optional', undefined, { flags: SLEEPABLE }),
  rule('raw_tracepoint', T.RAW_TRACEPOINT, 'optional'),
  rule('raw_tp', T.RAW_TRACEPOINT, 'optional'),
  rule('raw_tracepoint.s', T.RAW_TRACEPOINT, 'optional', undefined, { flags: SLEEPABLE }),
  rule('raw_tp.s', T.RAW_TRACEPOINT, 'optional', undefined, { flags: SLEEPABLE }),
  rule('raw_tracepoint.w', T.RAW_TRACEPOINT_WRITABLE, 'optional'),
  rule('raw_tp.w', T.RAW_TRACEPOINT_WRITABLE, 'optional'),
  rule('tp_btf', T.TRACING, 'required', A.TRACE_RAW_TP, { btf: 'tp_btf' }),
  rule('tp_btf.s', T.TRACING, 'required', A.TRACE_RAW_TP, { btf: 'tp_btf', flags: SLEEPABLE }),
  rule('fentry', T.TRACING, 'required', A.TRACE_FENTRY, { btf: 'fentry' }),
  rule('fmod_ret', T.TRACING, 'required', A.MODIFY_RETURN, { btf: 'fmod_ret' }),
  rule('fexit', T.TRACING, 'required', A.TRACE_FEXIT, { btf: 'fexit' }),
  rule('fentry.s', T.TRACING, 'required', A.TRACE_FENTRY, { btf: 'fentry', flags: SLEEPABLE }),
  rule('fmod_ret.s', T.TRACING, 'required', A.MODIFY_RETURN, { btf: 'fmod_ret', flags: SLEEPABLE }),
  rule('fexit.s', T.TRACING, 'required', A.TRACE_FEXIT, { btf: 'fexit', flags: SLEEPABLE }),
  rule('fsession', T.TRACING, 'required', A.TRACE_FSESSION, { btf: 'fsession' }),
  rule('fsession.s', T.TRACING, 'required', A.TRACE_FSESSION, { btf: 'fsession', flags: SLEEPABLE }),
  rule('freplace', T.EXT, 'required'),
  rule('lsm', T.LSM, 'required', A.LSM_MAC, { btf: 'lsm' }),
  rule('lsm.s', T.LSM, 'required', A.LSM_MAC, { btf: 'lsm', flags: SLEEPABLE }),
  rule('lsm_cgroup', T.LSM, 'required', A.LSM_CGROUP, { btf: 'lsm' }),
  rule('iter', T.TRACING, 'required', A.TRACE_ITER, { btf: 'iter' }),
  rule('iter.s', T.TRACING, 'required', A.TRACE_ITER, { btf: 'iter', flags: SLEEPABLE }),
  rule('syscall', T.SYSCALL, 'none', undefined, { flags: SLEEPABLE }),
  rule('xdp.frags/devmap', T.XDP, 'none', A.XDP_DEVMAP, { flags: FRAGS }),
  rule('xdp/devmap', T.XDP, 'none', A.XDP_DEVMAP),
  rule('xdp.frags/cpumap', T.XDP, 'none', A.XDP_CPUMAP, { flags: FRAGS }),
  rule('xdp/cpumap', T.XDP, 'none', A.XDP_CPUMAP),
  rule('xdp.frags', T.XDP, 'none', A.XDP, { flags: FRAGS }),
  rule('xdp', T.XDP, 'optional', A.XDP),
  rule('perf_event', T.PERF_EVENT, 'none'),
  rule('lwt_in', T.LWT_IN, 'none'),
  rule('lwt_out', T.LWT_OUT, 'none'),
  rule('lwt_xmit', T.LWT_XMIT, 'none'),
  rule('lwt_seg6local', T.LWT_SEG6LOCAL, 'none'),
  rule('sockops', T.SOCK_OPS, 'none', A.CGROUP_SOCK_OPS),
  rule('sk_skb/stream_parser', T.SK_SKB, 'none', A.SK_SKB_STREAM_PARSER),
  rule('sk_skb/stream_verdict', T.SK_SKB, 'none', A.SK_SKB_STREAM_VERDICT),
  rule('sk_skb/verdict', T.SK_SKB, 'none', A.SK_SKB_VERDICT),
  rule('sk_skb', T.SK_SKB, 'none'),
  rule('sk_msg', T.SK_MSG, 'none', A.SK_MSG_VERDICT),
  rule('lirc_mode2', T.LIRC_MODE2, 'none', A.LIRC_MODE2),
  rule('flow_dissector', T.FLOW_DISSECTOR, 'none', A.FLOW_DISSECTOR),
  rule('cgroup_skb/ingress', T.CGROUP_SKB, 'none', A.CGROUP_INET_INGRESS),
  rule('cgroup_skb/egress', T.CGROUP_SKB, 'none', A.CGROUP_INET_EGRESS),
  rule('cgroup/skb', T.CGROUP_SKB, 'none'),
  rule('cgroup/sock_create', T.CGROUP_SOCK, 'none', A.CGROUP_INET_SOCK_CREATE),
  rule('cgroup/sock_release', T.CGROUP_SOCK, 'none', A.CGROUP_INET_SOCK_RELEASE),
  rule('cgroup/sock', T.CGROUP_SOCK, 'none', A.CGROUP_INET_SOCK_CREATE),
  rule('cgroup/post_bind4', T.CGROUP_SOCK, 'none', A.CGROUP_INET4_POST_BIND),
  rule('cgroup/post_bind6', T.CGROUP_SOCK, 'none', A.CGROUP_INET6_POST_BIND),
  ...SOCK_ADDR.map(([name, attach]) => rule(`cgroup/${name}`, T.CGROUP_SOCK_ADDR, 'none', attach)),
  rule('cgroup/sysctl', T.CGROUP_SYSCTL, 'none', A.CGROUP_SYSCTL),
  rule('cgroup/getsockopt', T.CGROUP_SOCKOPT, 'none', A.CGROUP_GETSOCKOPT),
  rule('cgroup/setsockopt', T.CGROUP_SOCKOPT, 'none', A.CGROUP_SETSOCKOPT),
  rule('cgroup/dev', T.CGROUP_DEVICE, 'none', A.CGROUP_DEVICE),
  rule('struct_ops', T.STRUCT_OPS, 'optional'),
  rule('struct_ops.s', T.STRUCT_OPS, 'optional', undefined, { flags: SLEEPABLE }),
  rule('sk_lookup', T.SK_LOOKUP, 'none', A.SK_LOOKUP),
  rule('netfilter', T.NETFILTER, 'none', A.NETFILTER),
];

/** Longest prefixes first, so "xdp.frags/devmap" wins over "xdp.frags" and "xdp". */
const BY_LENGTH = [...RULES].sort((a, b) => b.prefix.length - a.prefix.length).map((r) => ({ ...r, slashed: `${r.prefix}/` }));

/** The section name prefixes this loader knows, for error hints. */
export const KNOWN_SECTION_PREFIXES: readonly string[] = [...new Set(RULES.map((r) => r.prefix.replace(/\/.*/, '')))];

/** What a program section name means, or undefined when it follows no known convention. */
export function programKindOf(section: string): ProgramKind | undefined {
  for (const r of BY_LENGTH) {
    let target: string | undefined;
    if (section === r.prefix) {
      if (r.target === 'required') continue;
    } else if (section.startsWith(r.slashed)) {
      // (r.slashed built once: a template string per rule and call cost more than the matching.)
      if (r.target === 'none') continue;
      target = section.slice(r.prefix.length + 1);
      if (target === '') continue;
    } else {
      continue;
    }
    return { type: r.type, expectedAttachType: r.attach, attachTo: target, flags: r.flags ?? 0, btfTarget: r.btf };
  }
  return undefined;
}
