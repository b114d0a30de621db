export { BpfLink, Link, LinkError, type LinkErrorKind, type LinkInfo } from './link.js';
export { PerfEventLink, attachPerfEvent } from './perf-event.js';
export {
  attachKprobe,
  attachPerfCounter,
  attachTracepoint,
  attachUprobeAtOffset,
  type KprobeOptions,
  type PerfCounterOptions,
  type UprobeTarget,
} from './probes.js';
export { tracefsRoot, tracepointId } from './tracefs.js';
export { attachCgroup, CgroupAttachment, type CgroupOptions } from './cgroup.js';
export { attachSocketFilter, SocketFilterAttachment } from './socket-filter.js';
export { attachUprobe, attachUprobeMulti, openElf, resolveBinaryPath, type UprobeMultiOptions, type UprobeOptions } from './uprobe.js';
export { attachTracing, tracingTarget, type TracingKind, type TracingTarget } from './tracing.js';
export {
  attachXdp,
  detachXdp,
  queryXdp,
  XdpLink,
  XdpNetlinkAttachment,
  type XdpAttachOptions,
  type XdpMode,
  type XdpVia,
  type XdpState,
} from './xdp.js';
export {
  attachTcFilter,
  attachTcx,
  createClsact,
  deleteClsact,
  detachTcFilter,
  listTcFilters,
  TcFilterLink,
  TcxLink,
  type TcDirection,
  type TcFilter,
  type TcFilterOptions,
  type TcxOptions,
} from './tc.js';
// Networking: socket maps, sk_reuseport, network namespace hooks, netfilter, netkit.
export {
  attachReuseport,
  attachSockMap,
  ReuseportAttachment,
  SockMapAttachment,
  SockMapLink,
  type SockMapAttachOptions,
  type SockMapProgramKind,
} from './sockmap.js';
export { attachNetns, NetnsLink, type NetnsHook } from './netns.js';
export {
  attachNetfilter,
  NetfilterFamily,
  NetfilterHook,
  NetfilterLink,
  type NetfilterFamilyName,
  type NetfilterHookName,
  type NetfilterLinkInfo,
  type NetfilterOptions,
} from './netfilter.js';
export { attachNetkit, netkitSupported, NetkitLink, NetkitUnsupportedError } from './netkit.js';
export {
  attachIter,
  CgroupIterOrder,
  IteratorReader,
  iteratorKinds,
  iteratorTarget,
  iterLinkInfo,
  IterLink,
  ITER_LINK_INFO_SIZE,
  type IteratorKind,
  type IterLinkInfo,
  type IterOptions,
} from './iter.js';
export { attachUsdt, listUsdtProbes, UsdtLink, usdtMaps, type UsdtMaps, type UsdtOptions, type UsdtSite } from './usdt.js';
export {
  attachKprobeAuto,
  attachKprobeMulti,
  attachKsyscall,
  globToRegExp,
  kernelFunctionsMatching,
  kprobeEventLine,
  LinkNotSupportedError,
  matchKernelFunctions,
  syscallFunctionName,
  TracefsKprobeLink,
  type KprobeAttachOptions,
  type KprobeMultiOptions,
  type KsyscallOptions,
} from './kprobes.js';
export { attachFreplace, btfById, freplaceTarget, programFunctionBtfId } from './freplace.js';
export {
  StructOpsMap,
  structOpsLayout,
  structOpsProgramTarget,
  updateStructOpsLink,
  type StructOpsLayout,
  type StructOpsMember,
  type StructOpsValue,
} from './struct-ops.js';
// Link info per link type, the names of link and attach types.
export {
  attachTypeName,
  LinkInfoUnion,
  LinkType,
  linkTypeName,
  PerfEventLinkType,
  type LinkDetails,
  type LinkTypeName,
} from './link-info.js';
// Uprobe targets: functions of an executable or library to file offsets (ELF symbols, Go pclntab).
export { resolveFunction, resolveFunctions, SymbolNotFoundError, type ResolvedFunction } from '../symbols/index.js';
// Running attach code inside another network namespace.
export { inNetns } from '../syscall/netns.js';
