// The upstream kernel each program type, map type and helper came in (from the kernel's history of
// include/uapi/linux/bpf.h). Documentation and a test oracle, never a probe's answer.
import { type MapType, type ProgramType } from '../uapi/bpf.js';

type ProgramTypeName = keyof typeof ProgramType;
type MapTypeName = keyof typeof MapType;

export const PROGRAM_TYPE_SINCE: Partial<Record<ProgramTypeName, string>> = {
  SOCKET_FILTER: '3.19', KPROBE: '4.1', SCHED_CLS: '4.1', SCHED_ACT: '4.1', TRACEPOINT: '4.7', XDP: '4.8',
  PERF_EVENT: '4.9', CGROUP_SKB: '4.10', CGROUP_SOCK: '4.10', LWT_IN: '4.10', LWT_OUT: '4.10', LWT_XMIT: '4.10',
  SOCK_OPS: '4.13', SK_SKB: '4.14', CGROUP_DEVICE: '4.15', SK_MSG: '4.17', RAW_TRACEPOINT: '4.17',
  CGROUP_SOCK_ADDR: '4.17', LWT_SEG6LOCAL: '4.18', LIRC_MODE2: '4.18', SK_REUSEPORT: '4.19', FLOW_DISSECTOR: '4.20',
  CGROUP_SYSCTL: '5.2', RAW_TRACEPOINT_WRITABLE: '5.2', CGROUP_SOCKOPT: '5.3', TRACING: '5.5', STRUCT_OPS: '5.6',
  EXT: '5.6', LSM: '5.7', SK_LOOKUP: '5.9', SYSCALL: '5.14', NETFILTER: '6.4',
};

export const MAP_TYPE_SINCE: Partial<Record<MapTypeName, string>> = {
  HASH: '3.19', ARRAY: '3.19', PROG_ARRAY: '4.2', PERF_EVENT_ARRAY: '4.3', PERCPU_HASH: '4.6', PERCPU_ARRAY: '4.6',
  STACK_TRACE: '4.6', CGROUP_ARRAY: '4.8', LRU_HASH: '4.10', LRU_PERCPU_HASH: '4.10', LPM_TRIE: '4.11',
  ARRAY_OF_MAPS: '4.12', HASH_OF_MAPS: '4.12', DEVMAP: '4.14', SOCKMAP: '4.14', CPUMAP: '4.15', XSKMAP: '4.18',
  SOCKHASH: '4.18', CGROUP_STORAGE: '4.19', REUSEPORT_SOCKARRAY: '4.19', PERCPU_CGROUP_STORAGE: '4.20', QUEUE: '4.20',
  STACK: '4.20', SK_STORAGE: '5.2', DEVMAP_HASH: '5.4', STRUCT_OPS: '5.6', RINGBUF: '5.8', INODE_STORAGE: '5.10',
  TASK_STORAGE: '5.11', BLOOM_FILTER: '5.16', USER_RINGBUF: '6.1', CGRP_STORAGE: '6.2', ARENA: '6.9',
};

/**
 * Helper ids are appended to enum bpf_func_id release by release, so each kernel is the last id it
 * added: [highest id, kernel].
 */
const HELPER_ID_SINCE: readonly [number, string][] = [
  [3, '3.19'], [11, '4.1'], [16, '4.2'], [22, '4.3'], [25, '4.4'], [26, '4.5'], [30, '4.6'], [36, '4.8'],
  [41, '4.9'], [44, '4.10'], [45, '4.11'], [47, '4.12'], [50, '4.13'], [53, '4.14'], [57, '4.15'], [59, '4.16'],
  [64, '4.17'], [80, '4.18'], [83, '4.19'], [90, '4.20'], [92, '5.0'], [98, '5.1'], [108, '5.2'], [110, '5.3'],
  [118, '5.5'], [121, '5.6'], [124, '5.7'], [135, '5.8'], [141, '5.9'], [155, '5.10'], [162, '5.11'], [163, '5.12'],
  [165, '5.13'], [168, '5.14'], [175, '5.15'], [179, '5.16'], [185, '5.17'], [193, '5.18'], [203, '5.19'],
  [207, '6.0'], [209, '6.1'], [211, '6.2'],
];

export function helperSince(id: number): string | undefined {
  for (const [last, version] of HELPER_ID_SINCE) if (id <= last) return version;
  return undefined;
}
