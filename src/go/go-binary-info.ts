import type { BinaryImage } from './binary-image.js';
import { binaryGoVersion } from './binary-version.js';
import { casgstatusAbi, type CasgstatusAbi } from './calling-convention.js';
import { GoBinaryError } from './errors.js';
import type { GoFunctions } from './function-table.js';
import type { GoVersion } from './go-version.js';
import { goidOffset } from './goid-offset.js';
import { goroutineFieldOffsets, type GoroutineFieldOffsets } from './goroutine-fields.js';
import { waitReasonNames } from './wait-reasons.js';
import { locatePclntab } from './locate-pclntab.js';
import type { PclntabFormat } from './pclntab-format.js';
import { resolveTextStart, type TextStart } from './text-start.js';

/** What a goroutine tracer needs to know about a Go executable: its Go version, the goid offset in runtime.g, the casgstatus ABI and function addresses. */
export interface GoBinaryInfo {
  version: GoVersion;
  versionSource: 'buildinfo' | 'symbol' | 'rodata scan';
  /** Module information from build info (main module path, deps, build settings), if present. */
  modinfo: string | undefined;
  /** Byte offset of `goid` (int64) in runtime.g. */
  goidOffset: number;
  goidOffsetSource: 'dwarf' | 'table';
  /** Things that were guessed or disagreed; empty when every fact came from the binary itself. */
  warnings: string[];
  /** Where runtime.casgstatus finds its arguments at entry. */
  abi: CasgstatusAbi;
  functions: GoFunctions;
  /** What could not be read without affecting goroutine tracing itself (no richer fields). */
  notes: string[];
  /** Offsets of g.waitreason, g.startpc, g.gopc; undefined when unknown (a warning says why). */
  goroutineFields: GoroutineFieldOffsets | undefined;
  /** runtime.waitReason names by value, from the binary or a checked table; undefined when unknown. */
  waitReasons: readonly string[] | undefined;
  pclntab: { format: PclntabFormat; magic: number; where: string; addr: number; textStart: TextStart };
}

/**
 * Everything a goroutine tracer needs to know about a Go executable, from a BinaryImage (Go's
 * elf.NewFile); openGoBinary(path) (Go's elf.Open) reads a file.
 */
export function newGoBinary(image: BinaryImage): GoBinaryInfo {
  if (typeof image !== 'object' || image === null || typeof (image as Partial<BinaryImage>).section !== 'function') {
    const got = typeof image === 'string' ? `the string "${image}"` : String(image);
    throw new GoBinaryError(`newGoBinary/goBinaryInfo takes a BinaryImage, not ${got}; for a file path use openGoBinary(path)`);
  }
  const located = locatePclntab(image);
  const { pclntab } = located;
  if (pclntab.ptrSize !== image.ptrSize) {
    throw new GoBinaryError(`pclntab pointer size ${pclntab.ptrSize} differs from the image's ${image.ptrSize}`, located.where, 7);
  }
  if (pclntab.littleEndian !== (image.byteOrder === 'little')) {
    throw new GoBinaryError(`pclntab byte order differs from the image's (${image.byteOrder})`, located.where, 0);
  }
  const textStart = resolveTextStart(pclntab, image);
  const functions = pclntab.functions(textStart.address);
  const v = binaryGoVersion(image, pclntab.format);
  const goid = goidOffset(image, v.version);
  const fields = goroutineFieldOffsets(image, v.version);
  const reasons = waitReasonNames(image, v.version);
  return {
    version: v.version,
    versionSource: v.source,
    modinfo: v.modinfo,
    goidOffset: goid.offset,
    goidOffsetSource: goid.source,
    warnings: [...v.warnings, ...goid.warnings],
    notes: fields.warning ? [fields.warning] : [],
    goroutineFields: fields.offsets,
    waitReasons: reasons.names,
    abi: casgstatusAbi(v.version, image.machine),
    functions,
    pclntab: { format: pclntab.format.format, magic: pclntab.format.magic, where: located.where, addr: located.addr, textStart },
  };
}

/** The same as newGoBinary(image); kept under its first name. */
export const goBinaryInfo: (image: BinaryImage) => GoBinaryInfo = newGoBinary;
