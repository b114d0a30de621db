// Feature probing: what the running kernel supports, each answer probed once, cached, named, with
// the kernel version it came in. (Exposed as the `ebpf/features` entry point.)
export {
  answer,
  clearFeatureCache,
  compareKernelVersions,
  FeatureProbeError,
  isNotSupported,
  NotSupportedError,
  requireFeature,
  type FeatureAnswer,
  type ProbeOutcome,
} from './feature.js';
export { programType, programTypes, programTypeName, type ProgramTypeName } from './program-types.js';
export { mapType, mapTypes, mapTypeName, type MapTypeName } from './map-types.js';
export { helper, helpers } from './helpers.js';
export {
  attachType,
  attachTypes,
  linkType,
  linkTypes,
  ATTACH_TYPE_FEATURES,
  LINK_TYPE_FEATURES,
  type LinkTypeFeatureName,
} from './links.js';
export { btfKind, btfKinds, BTF_KIND_FEATURES, type BtfKindFeatureName } from './btf-kinds.js';
export { misc, miscFeatures, MISC_FEATURES, type MiscFeatureName } from './misc.js';
export { runningKernelRelease } from './kernel-version.js';
export { probeAll, type FeatureReport } from './report.js';
// The running kernel's own BTF (vmlinux and modules), from /sys/kernel/btf.
export { kernelBtf, KernelBtfError, loadKernelBtf, moduleBtf } from '../kernel/btf.js';
