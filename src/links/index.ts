export { BpfLink, Link, LinkError, type LinkInfo } from './link.js';
export { PerfEventLink, attachPerfEvent } from './perf-event.js';
export {
  attachKprobe, attachPerfCounter, attachTracepoint, attachUprobeAtOffset,
  type KprobeOptions, type PerfCounterOptions, type UprobeTarget,
} from './probes.js';
export { tracefsRoot, tracepointId } from './tracefs.js';
export { attachCgroup, CgroupAttachment, type CgroupOptions } from './cgroup.js';
export { attachSocketFilter, SocketFilterAttachment } from './socket-filter.js';
export { attachUprobe, attachUprobeMulti, openElf, resolveBinaryPath, type UprobeMultiOptions, type UprobeOptions } from './uprobe.js';
