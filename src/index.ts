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
export { BpfMap, MapError, mapTypeOf, onlineCpus, openTypedMap, possibleCpus } from './maps/index.js';
export type { MapCodecs, MapInfo, MapSpec, MapTypeName, RawInput } from './maps/index.js';
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
export { NetlinkError, NetlinkParseError } from './netlink/index.js';

// Binary inspection: ELF, BTF, DWARF, Go executables, symbol resolution.
export { ElfError, ElfFile } from './elf/index.js';
export { Btf, BtfError, formatTypeDeclaration, formatVmlinuxHeader, marshalBtf, parseBtf, parseBtfExt } from './btf/index.js';
export type { BtfType } from './btf/index.js';
export { kernelBtf, loadKernelBtf, moduleBtf } from './kernel/btf.js';
export { DwarfError, DwarfReader, structMemberOffset, structMembers, typeSize } from './dwarf/index.js';
export { goBinaryInfo, GoBinaryError } from './go/index.js';
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

// Errors from the kernel; running code inside another network namespace.
export { SyscallError, errnoName } from './syscall/errors.js';
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
export { btfCodec, type BtfCodecOptions } from './codec/btf.js';

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
