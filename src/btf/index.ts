// Public surface of the BTF layer: parse, query, print as C, marshal, and .BTF.ext.
export { BtfError, type BtfErrorDetails } from './errors.js';
export { Btf, parseBtf, type ParseBtfOptions } from './spec.js';
export type { BtfHeader } from './header.js';
export * from './types.js';
export { MAX_REFERENCE_DEPTH, type MemberLocation } from './layout.js';
export { formatTypeDeclaration, BTF_NAMING, type CNaming } from './c-declaration.js';
export { formatVmlinuxHeader, type VmlinuxHeaderOptions } from './vmlinux-header.js';
export { marshalBtf, downgradeType, ALL_BTF_FEATURES, type BtfFeatures, type MarshalOptions } from './marshal.js';
export { StringTableBuilder } from './strings.js';
export { parseBtfExt, CORE_RELO_KIND, type BtfExt, type FuncInfo, type LineInfo, type CoreRelocation, type StringSource } from './ext.js';
export { KIND as BTF_KIND } from './kinds.js';
