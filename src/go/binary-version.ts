import type { BinaryImage } from './binary-image.js';
import { readBuildInfo } from './buildinfo.js';
import { GoBinaryError } from './errors.js';
import { parseGoVersion, parseGoVersionOrThrow, type GoVersion } from './go-version.js';
import { describeRange, minorFitsFormat, type PclntabFormatInfo } from './pclntab-format.js';
import { scanVersionStrings } from './version-scan.js';

/** The Go version that built a binary, where it was read from, the module info when build info had it, and warnings about a weaker source. */
export interface BinaryVersion {
  version: GoVersion;
  source: 'buildinfo' | 'symbol' | 'rodata scan';
  modinfo: string | undefined;
  warnings: string[];
}

/**
 * The Go version that built the binary. Build info is authoritative; without it, the newest
 * `go1.N` string in the read-only data that the pclntab format allows.
 *
 * Build info contradicting the pclntab magic is an error, not a warning: one of them is lying,
 * and the goid offset and calling convention chosen from a wrong version would read garbage.
 */
export function binaryGoVersion(image: BinaryImage, format: PclntabFormatInfo): BinaryVersion {
  const info = readBuildInfo(image);
  if (info) {
    const version = parseGoVersionOrThrow(info.version, info.where);
    if (!minorFitsFormat(version.major, version.minor, format)) {
      throw new GoBinaryError(
        `build info says ${info.version} but the pclntab magic 0x${format.magic.toString(16)} is written by ${describeRange(format)}`,
        info.where,
      );
    }
    return { version, source: 'buildinfo', modinfo: info.modinfo, warnings: [] };
  }
  const fromSymbol = buildVersionSymbol(image);
  if (fromSymbol && minorFitsFormat(fromSymbol.major, fromSymbol.minor, format)) {
    return {
      version: fromSymbol,
      source: 'symbol',
      modinfo: undefined,
      warnings: [`no build info: Go version ${fromSymbol.raw} read from runtime.buildVersion`],
    };
  }
  let candidates = scanVersionStrings(image);
  let fitting = candidates.filter((v) => minorFitsFormat(v.major, v.minor, format));
  if (fitting.length === 0) {
    // Strings packed right after other text: only when no free-standing one fits.
    const packed = scanVersionStrings(image, { packed: true });
    candidates = [...candidates, ...packed];
    fitting = packed.filter((v) => minorFitsFormat(v.major, v.minor, format));
  }
  const [version] = fitting;
  if (version === undefined) {
    const seen = candidates.length ? ` (found ${candidates.map((c) => c.raw).join(', ')}, none fits)` : '';
    throw new GoBinaryError(`no build info and no version string for ${describeRange(format)} in the read-only data${seen}`);
  }
  const warnings = [`no build info: Go version ${version.raw} taken from a string in the read-only data`];
  return { version, source: 'rodata scan', modinfo: undefined, warnings };
}

/** runtime.buildVersion, a Go string {ptr, len} the .symtab names (unstripped binaries). */
function buildVersionSymbol(image: BinaryImage): GoVersion | undefined {
  const sym = image.symbol?.('runtime.buildVersion');
  if (!sym) return undefined;
  const ptrSize = image.ptrSize;
  const header = image.readVirtual(sym.addr, 2 * ptrSize);
  if (!header) return undefined;
  const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const le = image.byteOrder === 'little';
  const word = (o: number): number => (ptrSize === 8 ? Number(v.getBigUint64(o, le)) : v.getUint32(o, le));
  const len = word(ptrSize);
  if (len === 0 || len > 64) return undefined;
  const bytes = image.readVirtual(word(0), len);
  return bytes ? parseGoVersion(Buffer.from(bytes).toString('latin1')) : undefined;
}
