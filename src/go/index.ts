// Public surface of the Go binary inspection: a BinaryImage in, what a goroutine tracer needs out.
export { GoBinaryError } from './errors.js';
export { PF_W, PF_X, type BinaryImage, type ImageSection, type ImageSegment } from './binary-image.js';
export { goBinaryInfo, newGoBinary, type GoBinaryInfo } from './go-binary-info.js';
export { parseGoVersion, compareMinor, type GoVersion } from './go-version.js';
export { parsePclntab, detectPclntabByteOrder, type Pclntab } from './pclntab.js';
export { PCLNTAB_FORMATS, formatForMagic, type PclntabFormat, type PclntabFormatInfo } from './pclntab-format.js';
export { locatePclntab, type LocatedPclntab } from './locate-pclntab.js';
export { resolveTextStart, type TextStart } from './text-start.js';
export { FunctionTable, type GoFunction, type GoFunctions } from './function-table.js';
export { readBuildInfo, type BuildInfo } from './buildinfo.js';
export { scanVersionStrings } from './version-scan.js';
export { binaryGoVersion, type BinaryVersion } from './binary-version.js';
export { GOID_OFFSETS, goidOffsetFromTable, type TableGoidOffset } from './goid-offset-table.js';
export { goidOffset, type GoidOffset } from './goid-offset.js';
export { dwarfFromImage } from './dwarf-from-image.js';
export { casgstatusAbi, type CasgstatusAbi, type RegisterSlot } from './calling-convention.js';
export { X86_64_PT_REGS, ARM64_USER_PT_REGS, arm64RegisterOffset, type X86_64Register } from './pt-regs.js';
