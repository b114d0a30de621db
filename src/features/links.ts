// Attach types and link types. An attach type the kernel validates at load (cgroup hooks,
// sk_lookup, sk_reuseport, netfilter, the BTF-based tracing hooks) is probed by a load with it as
// the expected attach type. The others are only checked when attaching, so they are probed by
// BPF_LINK_CREATE aimed at a target that cannot exist: a kernel with the link type fails on the
// target (EBADF, ENODEV, EOPNOTSUPP), one without it fails on the attach type (EINVAL). Nothing is
// ever attached.
import { closeFd, linkCreate, progLoadRaw, rawTracepointOpen, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import { answer, FeatureProbeError, type FeatureAnswer, type ProbeOutcome } from './feature.js';
import { exit0, firstLine, privileged, program, tryLoad } from './probe-load.js';

export type AttachTypeName = keyof typeof AttachType;

const P = ProgramType;
const A = AttachType;
const NOT_A_FUNCTION = 'attach_btf_id 1 is not a function';

/** Attach types validated at load: the program type that takes each, and the kernel it came in. */
const AT_LOAD: Partial<Record<AttachTypeName, [number, string]>> = {
  CGROUP_INET_INGRESS: [P.CGROUP_SKB, '4.10'],
  CGROUP_INET_EGRESS: [P.CGROUP_SKB, '4.10'],
  CGROUP_INET_SOCK_CREATE: [P.CGROUP_SOCK, '4.10'],
  CGROUP_INET_SOCK_RELEASE: [P.CGROUP_SOCK, '5.9'],
  CGROUP_INET4_POST_BIND: [P.CGROUP_SOCK, '4.17'],
  CGROUP_INET6_POST_BIND: [P.CGROUP_SOCK, '4.17'],
  CGROUP_INET4_BIND: [P.CGROUP_SOCK_ADDR, '4.17'],
  CGROUP_INET6_BIND: [P.CGROUP_SOCK_ADDR, '4.17'],
  CGROUP_INET4_CONNECT: [P.CGROUP_SOCK_ADDR, '4.17'],
  CGROUP_INET6_CONNECT: [P.CGROUP_SOCK_ADDR, '4.17'],
  CGROUP_UDP4_SENDMSG: [P.CGROUP_SOCK_ADDR, '4.18'],
  CGROUP_UDP6_SENDMSG: [P.CGROUP_SOCK_ADDR, '4.18'],
  CGROUP_UDP4_RECVMSG: [P.CGROUP_SOCK_ADDR, '5.2'],
  CGROUP_UDP6_RECVMSG: [P.CGROUP_SOCK_ADDR, '5.2'],
  CGROUP_INET4_GETPEERNAME: [P.CGROUP_SOCK_ADDR, '5.8'],
  CGROUP_INET6_GETPEERNAME: [P.CGROUP_SOCK_ADDR, '5.8'],
  CGROUP_INET4_GETSOCKNAME: [P.CGROUP_SOCK_ADDR, '5.8'],
  CGROUP_INET6_GETSOCKNAME: [P.CGROUP_SOCK_ADDR, '5.8'],
  CGROUP_UNIX_CONNECT: [P.CGROUP_SOCK_ADDR, '6.7'],
  CGROUP_UNIX_SENDMSG: [P.CGROUP_SOCK_ADDR, '6.7'],
  CGROUP_UNIX_RECVMSG: [P.CGROUP_SOCK_ADDR, '6.7'],
  CGROUP_UNIX_GETPEERNAME: [P.CGROUP_SOCK_ADDR, '6.7'],
  CGROUP_UNIX_GETSOCKNAME: [P.CGROUP_SOCK_ADDR, '6.7'],
  CGROUP_GETSOCKOPT: [P.CGROUP_SOCKOPT, '5.3'],
  CGROUP_SETSOCKOPT: [P.CGROUP_SOCKOPT, '5.3'],
  SK_LOOKUP: [P.SK_LOOKUP, '5.9'],
  SK_REUSEPORT_SELECT: [P.SK_REUSEPORT, '5.14'],
  SK_REUSEPORT_SELECT_OR_MIGRATE: [P.SK_REUSEPORT, '5.14'],
  NETFILTER: [P.NETFILTER, '6.4'],
  // BTF-based hooks: BTF id 1 is never a function, and a kernel with the hook says exactly that.
  TRACE_RAW_TP: [P.TRACING, '5.5'],
  TRACE_FENTRY: [P.TRACING, '5.5'],
  TRACE_FEXIT: [P.TRACING, '5.5'],
  MODIFY_RETURN: [P.TRACING, '5.7'],
  TRACE_ITER: [P.TRACING, '5.8'],
  LSM_MAC: [P.LSM, '5.7'],
  LSM_CGROUP: [P.LSM, '6.0'],
};

const BTF_HOOKS = new Set<number>([P.TRACING, P.LSM]);

function probeAtLoad(name: string, attachType: number, progType: number): ProbeOutcome {
  const btf = BTF_HOOKS.has(progType);
  const r = tryLoad(name, progType, program(...exit0()), {
    expectedAttachType: attachType,
    attachBtfId: btf ? 1 : undefined,
    withLog: true,
  });
  if (r.ok) return { supported: true, detail: 'loaded' };
  // An unknown attach type is refused before the verifier runs (no log). A verifier log means the
  // kernel took the attach type and then disliked the program (some hooks need r0 = 1).
  // A raw tracepoint's BTF target is the btf_trace_* typedef, not a function.
  const expected = attachType === A.TRACE_RAW_TP ? 'attach_btf_id 1 is not a typedef' : NOT_A_FUNCTION;
  if (btf) return { supported: r.log.includes(expected), detail: `${r.errnoName}: ${firstLine(r.log)}` };
  return { supported: r.log.trim().length > 0, detail: `${r.errnoName}${r.log ? `: ${firstLine(r.log)}` : ''}` };
}

/** A bpf_link type the link probes know. */
export type LinkTypeFeatureName =
  'raw_tracepoint' | 'cgroup' | 'netns' | 'xdp' | 'perf_event' | 'tcx' | 'uprobe_multi' | 'netkit' | 'netfilter';

const BAD_FD = 0x7fff_fff0;
const NO_SUCH_IFINDEX = 0x7fff_fff0;
const LOOPBACK_IFINDEX = 1;
const XDP_FLAGS_HW_MODE = 8;

/** Loads a minimal program, runs `attempt` with its fd, and reads the errno. */
function linkProbe(
  name: string,
  progType: number,
  expectedAttachType: number | undefined,
  supportedErrnos: string[],
  attempt: (progFd: number) => void,
): ProbeOutcome {
  const r = progLoadRaw({ type: progType, insns: program(...exit0()), license: 'GPL', expectedAttachType });
  if (r.ret < 0) {
    if (-r.ret === 1 && !privileged()) throw new FeatureProbeError(name, new SyscallError('BPF_PROG_LOAD', 1));
    return { supported: false, detail: `the program type does not load (errno ${-r.ret})` };
  }
  try {
    attempt(r.ret);
    return { supported: true, detail: 'attached (unexpectedly) and closed' };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (e.code === 'EPERM' && !privileged()) throw new FeatureProbeError(name, e);
    return { supported: supportedErrnos.includes(e.code), detail: e.code };
  } finally {
    closeFd(r.ret);
  }
}

function create(progFd: number, req: Omit<Parameters<typeof linkCreate>[0], 'progFd'>): void {
  closeFd(linkCreate({ progFd, ...req }));
}

const LINKS: Record<LinkTypeFeatureName, { since: string; probe: (name: string) => ProbeOutcome }> = {
  raw_tracepoint: {
    since: '5.8',
    probe: (n) => linkProbe(n, P.RAW_TRACEPOINT, undefined, ['ENOENT'], (fd) => closeFd(rawTracepointOpen('ebpf_no_such_tracepoint', fd))),
  },
  cgroup: {
    since: '5.7',
    probe: (n) =>
      linkProbe(n, P.CGROUP_SKB, A.CGROUP_INET_INGRESS, ['EBADF'], (fd) =>
        create(fd, { targetFd: BAD_FD, attachType: A.CGROUP_INET_INGRESS }),
      ),
  },
  netns: {
    since: '5.8',
    probe: (n) =>
      linkProbe(n, P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, ['EBADF'], (fd) => create(fd, { targetFd: BAD_FD, attachType: A.FLOW_DISSECTOR })),
  },
  // Offload mode on the loopback device: a kernel with XDP links refuses the mode (no driver
  // support), one without refuses the attach type.
  xdp: {
    since: '5.9',
    probe: (n) =>
      linkProbe(n, P.XDP, A.XDP, ['EOPNOTSUPP', 'ENOTSUPP'], (fd) =>
        create(fd, { targetIfindex: LOOPBACK_IFINDEX, attachType: A.XDP, flags: XDP_FLAGS_HW_MODE }),
      ),
  },
  perf_event: {
    since: '5.15',
    probe: (n) => linkProbe(n, P.KPROBE, undefined, ['EBADF'], (fd) => create(fd, { targetFd: BAD_FD, attachType: A.PERF_EVENT })),
  },
  tcx: {
    since: '6.6',
    probe: (n) =>
      linkProbe(n, P.SCHED_CLS, undefined, ['ENODEV'], (fd) => create(fd, { targetIfindex: NO_SUCH_IFINDEX, attachType: A.TCX_INGRESS })),
  },
  netkit: {
    since: '6.7',
    probe: (n) =>
      linkProbe(n, P.SCHED_CLS, undefined, ['ENODEV'], (fd) =>
        create(fd, { targetIfindex: NO_SUCH_IFINDEX, attachType: A.NETKIT_PRIMARY }),
      ),
  },
  // Protocol family 0 is none the netfilter hooks serve: a kernel with netfilter links says so.
  netfilter: {
    since: '6.4',
    probe: (n) =>
      linkProbe(n, P.NETFILTER, A.NETFILTER, ['EAFNOSUPPORT', 'EPROTONOSUPPORT'], (fd) => create(fd, { attachType: A.NETFILTER })),
  },
  // A directory is no file to probe: a kernel with uprobe_multi links says EBADF.
  uprobe_multi: {
    since: '6.6',
    probe: (n) =>
      linkProbe(n, P.KPROBE, A.TRACE_UPROBE_MULTI, ['EBADF'], (fd) =>
        create(fd, {
          attachType: A.TRACE_UPROBE_MULTI,
          uprobeMulti: { path: '/', offsets: new BigUint64Array([0n]) },
        }),
      ),
  },
};

/** Every LinkTypeFeatureName. */
export const LINK_TYPE_FEATURES = Object.keys(LINKS) as LinkTypeFeatureName[];

/** Whether the kernel has bpf_links of this kind. */
export function linkType(kind: LinkTypeFeatureName): FeatureAnswer {
  const l = LINKS[kind];
  const name = `link_type/${kind}`;
  return answer(name, l.since, () => l.probe(name));
}

/** The answer of linkType for every LINK_TYPE_FEATURES entry. */
export function linkTypes(): FeatureAnswer[] {
  return LINK_TYPE_FEATURES.map(linkType);
}

/** Link types that carry each attach type only checked at attach time. */
const BY_LINK: Partial<Record<AttachTypeName, LinkTypeFeatureName>> = {
  XDP: 'xdp',
  TCX_INGRESS: 'tcx',
  TCX_EGRESS: 'tcx',
  NETKIT_PRIMARY: 'netkit',
  NETKIT_PEER: 'netkit',
  PERF_EVENT: 'perf_event',
  TRACE_UPROBE_MULTI: 'uprobe_multi',
  FLOW_DISSECTOR: 'netns',
};

/** The attach types that can be probed without a real target. */
export const ATTACH_TYPE_FEATURES = [...Object.keys(AT_LOAD), ...Object.keys(BY_LINK)] as AttachTypeName[];

/**
 * Whether the kernel knows an attach type. Those the kernel checks only when attaching through a
 * link are answered by that link type's probe. The rest (sk_skb, sk_msg, lirc, struct_ops...)
 * cannot be probed without a real target: FeatureProbeError.
 */
export function attachType(type: AttachTypeName | number): FeatureAnswer {
  const key = typeof type === 'number' ? (Object.keys(A) as AttachTypeName[]).find((k) => A[k] === type) : type;
  if (key === undefined) throw new FeatureProbeError(`attach_type/${type}`, new Error(`attach type ${type} is unknown to this library`));
  const name = `attach_type/${key.toLowerCase()}`;
  const atLoad = AT_LOAD[key];
  if (atLoad) return answer(name, atLoad[1], () => probeAtLoad(name, A[key], atLoad[0]));
  const byLink = BY_LINK[key];
  if (byLink) {
    const l = linkType(byLink);
    return answer(name, l.minimumKernel, () => ({ supported: l.supported, detail: `${l.name}: ${l.detail}` }));
  }
  throw new FeatureProbeError(
    name,
    new Error(`the kernel checks attach type ${key} only against a real target, so it is not probed; attach and read the error`),
  );
}

/** The answer of attachType for every ATTACH_TYPE_FEATURES entry. */
export function attachTypes(): FeatureAnswer[] {
  return ATTACH_TYPE_FEATURES.map((t) => attachType(t));
}
