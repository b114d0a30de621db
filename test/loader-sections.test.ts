// Section names: libbpf 1.7's whole list. libbpf itself (libbpf_prog_type_by_name of the system's
// libbpf-dev) is the oracle for every name it knows; names newer than it are checked against the
// table libbpf 1.7 documents (program type, expected attach type, sleepable flag).
import { describe, expect, it } from 'vitest';
import { programKindOf } from '../src/loader/index.js';
import { AttachType as A, ProgramFlags, ProgramType as T } from '../src/uapi/bpf.js';
import { need } from './support/env.js';
import { libbpfAvailable, libbpfSectionKinds } from './support/libbpf.js';

/** One example name per libbpf section definition. */
const NAMES = [
  'socket',
  'sk_reuseport/migrate',
  'sk_reuseport',
  'kprobe/f',
  'uprobe/p:f',
  'uprobe.s/p:f',
  'kretprobe/f',
  'uretprobe/p:f',
  'uretprobe.s/p:f',
  'kprobe.multi/f*',
  'kretprobe.multi/f*',
  'kprobe.session/f*',
  'uprobe.multi/p:f*',
  'uretprobe.multi/p:f*',
  'uprobe.session/p:f*',
  'uprobe.multi.s/p:f*',
  'uretprobe.multi.s/p:f*',
  'uprobe.session.s/p:f*',
  'ksyscall/bpf',
  'kretsyscall/bpf',
  'usdt/p:a:b',
  'usdt.s/p:a:b',
  'tc/ingress',
  'tc/egress',
  'tcx/ingress',
  'tcx/egress',
  'netkit/primary',
  'netkit/peer',
  'tc',
  'classifier',
  'action',
  'tracepoint/a/b',
  'tp/a/b',
  'tracepoint.s/a/b',
  'tp.s/a/b',
  'raw_tracepoint/a',
  'raw_tp/a',
  'raw_tracepoint.s/a',
  'raw_tp.s/a',
  'raw_tracepoint.w/a',
  'raw_tp.w/a',
  'tp_btf/a',
  'tp_btf.s/a',
  'fentry/f',
  'fmod_ret/f',
  'fexit/f',
  'fentry.s/f',
  'fmod_ret.s/f',
  'fexit.s/f',
  'fsession/f',
  'fsession.s/f',
  'freplace/f',
  'lsm/f',
  'lsm.s/f',
  'lsm_cgroup/f',
  'iter/task',
  'iter.s/task',
  'syscall',
  'xdp.frags/devmap',
  'xdp/devmap',
  'xdp.frags/cpumap',
  'xdp/cpumap',
  'xdp.frags',
  'xdp',
  'perf_event',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'lwt_seg6local',
  'sockops',
  'sk_skb/stream_parser',
  'sk_skb/stream_verdict',
  'sk_skb/verdict',
  'sk_skb',
  'sk_msg',
  'lirc_mode2',
  'flow_dissector',
  'cgroup_skb/ingress',
  'cgroup_skb/egress',
  'cgroup/skb',
  'cgroup/sock_create',
  'cgroup/sock_release',
  'cgroup/sock',
  'cgroup/post_bind4',
  'cgroup/post_bind6',
  'cgroup/bind4',
  'cgroup/bind6',
  'cgroup/connect4',
  'cgroup/connect6',
  'cgroup/connect_unix',
  'cgroup/sendmsg4',
  'cgroup/sendmsg6',
  'cgroup/sendmsg_unix',
  'cgroup/recvmsg4',
  'cgroup/recvmsg6',
  'cgroup/recvmsg_unix',
  'cgroup/getpeername4',
  'cgroup/getpeername6',
  'cgroup/getpeername_unix',
  'cgroup/getsockname4',
  'cgroup/getsockname6',
  'cgroup/getsockname_unix',
  'cgroup/sysctl',
  'cgroup/getsockopt',
  'cgroup/setsockopt',
  'cgroup/dev',
  'struct_ops/f',
  'struct_ops.s/f',
  'sk_lookup',
  'netfilter',
];

/** Names newer than Debian's libbpf 1.1: what libbpf 1.7 maps them to. */
const NEWER: Record<string, [number, number | undefined, boolean]> = {
  'kprobe.session/f*': [T.KPROBE, A.TRACE_KPROBE_SESSION, false],
  'uprobe.session/p:f*': [T.KPROBE, A.TRACE_UPROBE_SESSION, false],
  'uprobe.session.s/p:f*': [T.KPROBE, A.TRACE_UPROBE_SESSION, true],
  'tracepoint.s/a/b': [T.TRACEPOINT, undefined, true],
  'tp.s/a/b': [T.TRACEPOINT, undefined, true],
  'raw_tracepoint.s/a': [T.RAW_TRACEPOINT, undefined, true],
  'raw_tp.s/a': [T.RAW_TRACEPOINT, undefined, true],
  'tp_btf.s/a': [T.TRACING, A.TRACE_RAW_TP, true],
  'fsession/f': [T.TRACING, A.TRACE_FSESSION, false],
  'fsession.s/f': [T.TRACING, A.TRACE_FSESSION, true],
  'uprobe.multi/p:f*': [T.KPROBE, A.TRACE_UPROBE_MULTI, false],
  'uretprobe.multi/p:f*': [T.KPROBE, A.TRACE_UPROBE_MULTI, false],
  'uprobe.multi.s/p:f*': [T.KPROBE, A.TRACE_UPROBE_MULTI, true],
  'uretprobe.multi.s/p:f*': [T.KPROBE, A.TRACE_UPROBE_MULTI, true],
  'tcx/ingress': [T.SCHED_CLS, A.TCX_INGRESS, false],
  'tcx/egress': [T.SCHED_CLS, A.TCX_EGRESS, false],
  'tc/ingress': [T.SCHED_CLS, A.TCX_INGRESS, false],
  'tc/egress': [T.SCHED_CLS, A.TCX_EGRESS, false],
  'netkit/primary': [T.SCHED_CLS, A.NETKIT_PRIMARY, false],
  'netkit/peer': [T.SCHED_CLS, A.NETKIT_PEER, false],
  'cgroup/connect_unix': [T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT, false],
  'cgroup/sendmsg_unix': [T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG, false],
  'cgroup/recvmsg_unix': [T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, false],
  'cgroup/getpeername_unix': [T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME, false],
  'cgroup/getsockname_unix': [T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME, false],
  netfilter: [T.NETFILTER, A.NETFILTER, false],
};

describe('section names against libbpf', () => {
  it('maps every name libbpf knows to the program and expected attach type libbpf gives', () => {
    if (!need(libbpfAvailable(), 'gcc and libbpf-dev build the libbpf oracle')) return;
    const theirs = libbpfSectionKinds(NAMES);
    let compared = 0;
    for (const name of NAMES) {
      const ours = programKindOf(name);
      expect(ours, name).toBeDefined();
      const t = theirs.get(name);
      if (t === undefined || name in NEWER) continue;
      compared++;
      expect({ name, type: ours!.type, attach: ours!.expectedAttachType ?? 0 }).toEqual({ name, type: t.type, attach: t.attach });
    }
    expect(compared).toBeGreaterThan(70);
  });

  it('maps the names newer than the system libbpf as libbpf 1.7 does, sleepable flags included', () => {
    for (const [name, [type, attach, sleepable]] of Object.entries(NEWER)) {
      const ours = programKindOf(name);
      expect({
        name,
        type: ours?.type,
        attach: ours?.expectedAttachType,
        sleepable: ((ours?.flags ?? 0) & ProgramFlags.SLEEPABLE) !== 0,
      }).toEqual({ name, type, attach, sleepable });
    }
  });
});
