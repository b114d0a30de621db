// ebpf: a pure-TypeScript eBPF toolchain for Node.js. The root entry point is the object model, as
// cilium/ebpf keeps its root package: maps, programs, collections loaded from objects, pinning and
// the errors. Everything else has an entry point of its own (CONTRIBUTING.md, "Entry points"):
// ebpf/asm, ebpf/codec, ebpf/link, ebpf/ringbuf, ebpf/perf, ebpf/features, ebpf/loader, … A name
// added here is a deliberate choice: test/entry-points.test.ts pins the list.

// Kernel constants of the object model: map, program and attach types; map, program, object (pin)
// and update flags; the bpf(2) command numbers that SyscallError names.
export {
  AttachType,
  BpfCommand,
  MapFlags,
  MapType,
  ObjectFlags,
  ProgramAttachFlags,
  ProgramFlags,
  ProgramType,
  TestRunFlags,
  UpdateFlags,
} from './uapi/bpf.js';

// Maps: BpfMap (create, open by id or pin, pin, typed through codecs), typed maps (BTF-typed,
// local storage, DEVMAP, CPUMAP, XSKMAP), the CPU counts that per-CPU values follow.
export { BpfMap, createStorageMap, MapError, mapTypeOf, onlineCpus, openTypedMap, possibleCpus, storageMapBtf } from './maps/index.js';
export type {
  MapCodecs,
  MapErrorKind,
  MapInfo,
  MapSpec,
  MapTypeName,
  RawInput,
  StorageMapOptions,
  StorageMapTypeName,
} from './maps/index.js';
export { cpuMapValue, createCpuMap, createDevMap, devMapValue, XskMap } from './maps/index.js';
export type { CpuMapValue, DevMapValue, RedirectMapOptions } from './maps/index.js';

// Programs: load (with the verifier's log on rejection), open by id or pin, pin, test runs.
export { Program, ProgramError, VerifierError, linkInstructions, programTypeOf } from './programs/index.js';
export type {
  LoadOptions,
  MapFdSource,
  ProgramErrorKind,
  ProgramInfo,
  ProgramSpec,
  ProgramTypeName,
  TestRunOptions,
  TestRunResult,
} from './programs/index.js';

// BPF tokens: delegated map creation and program loading in a user namespace (tokenFd).
export { BpfToken, TokenError } from './token/index.js';

// Collections: objects compiled by clang, read into specs and loaded with their maps, programs and
// variables (the rest of the loader is ebpf/loader).
export { loadCollection, loadCollectionAsync, loadCollectionSpec, LoaderError, VariableSpec } from './loader/index.js';
export type {
  AsyncCollectionOptions,
  Collection,
  CollectionOptions,
  CollectionSpec,
  CollectionSpecOptions,
  CollectionVariables,
  LoaderErrorDetails,
  MapContents,
  MapPinning,
  MapSpecEntry,
  ProgramSpecEntry,
  VariableValue,
} from './loader/index.js';

// The error model: one base class with a stable code and a cause, kernel refusals by errno, and
// helpers that walk the cause chain (all of ebpf/errors but its internals).
export {
  causeChain,
  EbpfError,
  Errno,
  errnoMessage,
  errnoName,
  errnoOf,
  findCause,
  isNotSupported,
  NotSupportedError,
  SyscallError,
} from './errors/index.js';
export type { EbpfErrorOptions, ErrnoName } from './errors/index.js';
