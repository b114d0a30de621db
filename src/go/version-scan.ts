import { PF_W, PF_X, type BinaryImage } from './binary-image.js';
import { parseGoVersion, type GoVersion } from './go-version.js';

const VERSION_TEXT = /go1\.\d{1,3}(?:\.\d{1,3})?(?:(?:rc|beta)\d{1,3})?/g;
// Enough for the read-only data of very large binaries; a scan is a last resort anyway.
const MAX_SCAN_BYTES = 256 << 20;

function regionsToScan(image: BinaryImage): Uint8Array[] {
  const rodata = image.section('.rodata');
  if (rodata) return [rodata.data];
  // No sections: read-only, non-executable segments hold the string data.
  const out: Uint8Array[] = [];
  for (const seg of image.segments) {
    if (seg.flags & (PF_X | PF_W)) continue;
    const bytes = image.readVirtual(seg.vaddr, Math.min(seg.filesz, MAX_SCAN_BYTES));
    if (bytes) out.push(bytes);
  }
  return out;
}

/**
 * Every distinct `go1.N[.P]` string in the read-only data (runtime.buildVersion is one of
 * them), newest first. Candidates are filtered by the caller against what the pclntab allows.
 * By default a match right after a letter or digit is skipped ("ago1.2" is no version); with
 * `packed`, only those: Go's linker packs strings back to back, so runtime.buildVersion may
 * follow other text directly ("...functiongo1.12.9...").
 */
export function scanVersionStrings(image: BinaryImage, options: { packed?: boolean } = {}): GoVersion[] {
  const packed = options.packed ?? false;
  const seen = new Map<string, GoVersion>();
  for (const bytes of regionsToScan(image)) {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    for (const m of text.matchAll(VERSION_TEXT)) {
      // Part of a longer identifier (e.g. "ago1.2") is not a version string.
      const before = m.index > 0 ? text.charCodeAt(m.index - 1) : 0;
      const glued = (before >= 0x30 && before <= 0x39) || (before >= 0x41 && before <= 0x5a) || (before >= 0x61 && before <= 0x7a);
      if (glued !== packed) continue;
      const v = parseGoVersion(m[0]);
      if (v && !seen.has(m[0])) seen.set(m[0], v);
    }
  }
  return [...seen.values()].sort((a, b) => b.major - a.major || b.minor - a.minor || b.patch - a.patch);
}
