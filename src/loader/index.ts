// BPF object loader: clang-compiled objects into collection specs (pure), and specs into live
// programs and maps (the kernel).
export { LoaderError, type LoaderErrorDetails } from './errors.js';
export { loadCollectionSpec, type CollectionSpecOptions } from './spec/load-spec.js';
export { programKindOf, KNOWN_SECTION_PREFIXES, type ProgramKind, type BtfTargetKind } from './spec/section-names.js';
export { VariableSpec, type VariableValue } from './spec/variables.js';
export type {
  CollectionSpec,
  KconfigExtern,
  KsymExtern,
  MapContents,
  MapPinning,
  MapSpecEntry,
  ProgramCoreRelocation,
  ProgramFuncInfo,
  ProgramLineInfo,
  ProgramSpecEntry,
} from './spec/types.js';
export { loadCollection, type Collection, type CollectionOptions, type CollectionVariables } from './load/collection.js';
// Programs verified concurrently on libuv's pool, off the event loop.
export { loadCollectionAsync, type AsyncCollectionOptions } from './load/collection.js';
export { btfFeatures } from './load/btf-features.js';
export { linuxKernelVersion } from './load/kconfig-values.js';
// struct_ops variables (.struct_ops, .struct_ops.link): registered after loading.
export { attachStructOps } from './struct-ops.js';
export type { LoadedStructOps } from './load/struct-ops.js';
