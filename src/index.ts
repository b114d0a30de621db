// ebpf: a pure-TypeScript eBPF toolchain for Node.js. The public API.

// Assembler: instruction model, builder, encoder/decoder, text assembler and disassembler.
export * from './asm/index.js';

// Kernel constants (map, program and attach types; flags).
export {
  AttachType, BpfCommand, MapFlags, MapType, ObjectFlags, ProgramAttachFlags, ProgramFlags,
  ProgramType, TestRunFlags, UpdateFlags,
} from './uapi/bpf.js';

// Fixed-layout codecs for map keys and values.
export * from './codec/index.js';

// Maps, programs, links.
export { BpfMap, createStorageMap, MapError, mapTypeOf, onlineCpus, openTypedMap, possibleCpus, storageMapBtf } from './maps/index.js';
export type { MapCodecs, MapInfo, MapSpec, MapTypeName, RawInput, StorageMapOptions, StorageMapTypeName } from './maps/index.js';
export { Program, ProgramError, VerifierError, linkInstructions, programTypeOf } from './programs/index.js';
export type { LoadOptions, MapFdSource, ProgramInfo, ProgramSpec, ProgramTypeName, TestRunOptions, TestRunResult } from './programs/index.js';
export {
  attachCgroup, attachKprobe, attachPerfCounter, attachPerfEvent, attachSocketFilter, attachTcFilter, attachTcx,
  attachTracepoint, attachTracing, attachUprobe, attachUprobeAtOffset, attachUprobeMulti, attachXdp, BpfLink,
  CgroupAttachment, createClsact, deleteClsact, detachTcFilter, detachXdp, Link, LinkError, listTcFilters,
  PerfEventLink, queryXdp, resolveBinaryPath, SocketFilterAttachment, TcFilterLink, TcxLink, tracepointId,
  tracingTarget, XdpLink, XdpNetlinkAttachment,
} from './links/index.js';
export type {
  CgroupOptions, KprobeOptions, LinkInfo, PerfCounterOptions, TcDirection, TcFilter, TcFilterOptions, TcxOptions,
  TracingKind, TracingTarget, UprobeMultiOptions, UprobeOptions, UprobeTarget, XdpAttachOptions, XdpMode, XdpState, XdpVia,
} from './links/index.js';
export { AttributeEncodeError, DeviceError, NetlinkError, NetlinkParseError } from './netlink/index.js';

// Binary inspection: ELF, BTF, DWARF, Go executables, symbol resolution.
export { ElfError, ElfFile } from './elf/index.js';
export { Btf, BtfError, formatTypeDeclaration, formatVmlinuxHeader, marshalBtf, parseBtf, parseBtfExt } from './btf/index.js';
export type { BtfType } from './btf/index.js';
export { kernelBtf, KernelBtfError, loadKernelBtf, moduleBtf } from './kernel/btf.js';
export { DwarfError, DwarfReader, structMemberOffset, structMembers, typeSize } from './dwarf/index.js';
export { goBinaryInfo, GoBinaryError } from './go/index.js';
// Go binary inspection shaped like Go's elf.Open(path) / elf.NewFile(reader).
export { newGoBinary } from './go/index.js';
export { openGoBinary } from './symbols/index.js';
export type { GoBinaryInfo } from './go/index.js';
export { elfBinaryImage, resolveFunction, resolveFunctions, SymbolNotFoundError } from './symbols/index.js';
export type { ResolvedFunction } from './symbols/index.js';

// Readers of ring buffers and perf event arrays.
export { PerfEventArrayReader, ReaderError, RingBufferReader } from './readers/index.js';
export type { PerfReaderOptions, RecordBatch, RingBufferMap, RingBufferReaderOptions } from './readers/index.js';

// Go programs: binary inspection and the goroutine state tracer.
export {
  casgstatusProbe, G_SCAN, GoroutineState, GoroutineTracer, GoroutineTracerError, inspectGoBinary, stateName,
} from './goroutines/index.js';
export type { GoroutineStateName, GoroutineTracerOptions, GoroutineTransition } from './goroutines/index.js';
// Goroutine tracer: attribution of births, final stats, waits.
export { GoroutineAttribution } from './goroutines/index.js';
export type { GoroutineTracerStats, WaitOptions } from './goroutines/index.js';

// The error model: one base class with a stable code and a cause, kernel refusals by errno, and
// helpers that walk the cause chain. Running code inside another network namespace.
export {
  causeChain, EbpfError, Errno, errnoMessage, errnoName, errnoOf, findCause, isNotSupported, NotSupportedError, SyscallError,
} from './errors/index.js';
export type { EbpfErrorOptions, ErrnoName } from './errors/index.js';
export { inNetns } from './syscall/netns.js';

// BPF object loader: clang objects into collection specs (pure) and live collections; CO-RE.
export { btfFeatures, KNOWN_SECTION_PREFIXES, linuxKernelVersion, loadCollection, loadCollectionSpec, LoaderError, programKindOf, VariableSpec } from './loader/index.js';
export type {
  BtfTargetKind, Collection, CollectionOptions, CollectionSpec, CollectionSpecOptions, CollectionVariables, KconfigExtern,
  LoaderErrorDetails, MapContents, MapPinning, MapSpecEntry, ProgramCoreRelocation, ProgramFuncInfo, ProgramKind, ProgramLineInfo,
  ProgramSpecEntry, VariableValue,
} from './loader/index.js';
export { applyCoreRelocations, CoreKind, essentialName, POISON_HELPER, typesMatch } from './core/index.js';
export type { CoreContext, CoreOutcome, CoreRelocationInput } from './core/index.js';
// Loader (issue 13): __ksym externs in collection specs.
export type { KsymExtern } from './loader/index.js';
export { btfCodec, type BtfCodecOptions } from './codec/btf.js';

// Networking (issue 17): socket maps and sk_reuseport, netns hooks, netfilter, netkit; DEVMAP,
// CPUMAP and XSKMAP with typed values; AF_XDP sockets and raw AF_PACKET sockets.
export {
  attachNetfilter, attachNetkit, attachNetns, attachReuseport, attachSockMap, NetfilterFamily, NetfilterHook, NetfilterLink,
  NetkitLink, netkitSupported, NetkitUnsupportedError, NetnsLink, ReuseportAttachment, SockMapAttachment, SockMapLink,
} from './links/index.js';
export type { NetfilterFamilyName, NetfilterHookName, NetfilterLinkInfo, NetfilterOptions, NetnsHook, SockMapAttachOptions, SockMapProgramKind } from './links/index.js';
export { cpuMapValue, createCpuMap, createDevMap, devMapValue, XskMap } from './maps/index.js';
export type { CpuMapValue, DevMapValue, RedirectMapOptions } from './maps/index.js';
export { loadXskRedirectProgram, PacketSocket, XdpSocket, XdpSocketError, xskRedirectInstructions } from './xsk/index.js';
export type { FrameCallback, XdpSocketMode, XdpSocketOptions, XdpSocketStatistics } from './xsk/index.js';

// Kernel objects: enumeration by id, BTF objects, link info per type, program queries, run-time
// statistics.
export {
  btfIds, BtfInfoLayout, BtfLoadError, BtfObject, enableStats, KernelObjectError, linkIds, listBtf, listLinks, listMaps,
  listPrograms, mapIds, objectIds, programIds, queryPrograms, StatsScope, StatsType,
} from './objects/index.js';
export type { AttachTypeName, BtfObjectInfo, KernelObjectKind, ProgramQuery, QueryOptions, QueryTarget, StatsTypeName } from './objects/index.js';
export { attachTypeName, LinkInfoUnion, LinkType, linkTypeName, PerfEventLinkType } from './links/link-info.js';
export type { LinkDetails, LinkTypeName } from './links/link-info.js';

// Feature probing (the `ebpf/features` entry point to be): probed, cached, named answers with the
// kernel version each came in.
export * as features from './features/index.js';
export { FeatureProbeError } from './features/index.js';
export type { FeatureAnswer } from './features/index.js';

// Readers: the user ring buffer producer (issue 16) and the readers' map interface.
export { UserRingBufferProducer } from './readers/index.js';
export type { ReaderMap, UserRingBufferProducerOptions } from './readers/index.js';

// Issue 16 (attach kinds): iterators, USDT (usdt.bpf.h compatible).
export {
  attachIter, attachUsdt, CgroupIterOrder, IteratorReader, iteratorKinds, iteratorTarget, IterLink, iterLinkInfo,
  listUsdtProbes, UsdtLink, usdtMaps,
} from './links/index.js';
export type { IteratorKind, IterLinkInfo, IterOptions, UsdtMaps, UsdtOptions, UsdtSite } from './links/index.js';
export {
  encodeUsdtSpec, LIBBPF_1_1_USDT_SPEC_LAYOUT, parseUsdtArgs, readUsdtProbes, UsdtError, usdtSpecLayoutFromBtf,
} from './usdt/index.js';
export type { UsdtArg, UsdtArgLocation, UsdtArch, UsdtProbe, UsdtSpecLayout } from './usdt/index.js';
export {
  attachFreplace, attachKprobeAuto, attachKprobeMulti, attachKsyscall, freplaceTarget, kernelFunctionsMatching, LinkNotSupportedError,
  StructOpsMap, structOpsLayout, structOpsProgramTarget, syscallFunctionName, updateStructOpsLink,
} from './links/index.js';
export type { KprobeAttachOptions, KprobeMultiOptions, KsyscallOptions, StructOpsLayout, StructOpsValue } from './links/index.js';
export { BpfToken, TokenError } from './token/index.js';
// Goroutine tracer (issue 14): pc → function, file:line (pclntab line tables), and the --top frame.
export type { SourcePosition } from './go/index.js';
export { renderTop } from './goroutines/index.js';
export type { LiveGoroutine, TopFrame } from './goroutines/index.js';

// struct_ops variables of objects (.struct_ops, .struct_ops.link): register a loaded one.
export { attachStructOps } from './loader/index.js';
export type { LoadedStructOps } from './loader/index.js';

// Object load (issue 12): programs verified concurrently on libuv's pool, off the event loop.
export { loadCollectionAsync, type AsyncCollectionOptions } from './loader/index.js';
// Error kinds (issue 15): what a MapError, ProgramError or LinkError says failed, for switch (e.kind).
export type { MapErrorKind } from './maps/index.js';
export type { ProgramErrorKind } from './programs/index.js';
export type { LinkErrorKind } from './links/index.js';
