import type { BinaryImage } from './binary-image.js';
import { PF_X } from './binary-image.js';
import { GoBinaryError } from './errors.js';
import { parsePclntab, type Pclntab } from './pclntab.js';
import { PCLNTAB_FORMATS } from './pclntab-format.js';

/** A pclntab found in a binary, with its address and where it was found. */
export interface LocatedPclntab {
  pclntab: Pclntab;
  /** Virtual address of the table's first byte. */
  addr: number;
  /** Where it was found: a section name or "scan of segment at 0x...". */
  where: string;
}

/** Internally linked PIE binaries put the table in a relro section of its own. */
const PCLNTAB_SECTIONS = ['.gopclntab', '.data.rel.ro.gopclntab'];

// A segment full of 0xff bytes would offer endless false candidates; real tables are found early.
const MAX_CANDIDATES_PER_SEGMENT = 4096;

function magicBytes(magic: number, littleEndian: boolean): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, magic, littleEndian);
  return b;
}

function trySegment(image: BinaryImage, vaddr: number, bytes: Uint8Array): LocatedPclntab | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = image.byteOrder === 'little';
  const where = `scan of segment at 0x${vaddr.toString(16)}`;
  const hits: number[] = [];
  for (const f of PCLNTAB_FORMATS) {
    const pattern = magicBytes(f.magic, littleEndian);
    for (let at = buf.indexOf(pattern); at >= 0 && hits.length < MAX_CANDIDATES_PER_SEGMENT; at = buf.indexOf(pattern, at + 1)) {
      hits.push(at);
    }
  }
  hits.sort((a, b) => a - b);
  for (const at of hits) {
    // Cheap header checks first: zero padding, a known quantum, the image's pointer size.
    if (bytes[at + 4] !== 0 || bytes[at + 5] !== 0 || bytes[at + 7] !== image.ptrSize) continue;
    const q = bytes[at + 6];
    if (q !== 1 && q !== 2 && q !== 4) continue;
    try {
      const pclntab = parsePclntab(bytes.subarray(at), where);
      if (pclntab.functionCount > 0) return { pclntab, addr: vaddr + at, where };
    } catch (e) {
      if (!(e instanceof GoBinaryError)) throw e;
    }
  }
  return undefined;
}

/**
 * Finds the pclntab: by section name when the file has section headers, otherwise by scanning
 * the loaded segments for a magic whose header and function table hold together.
 */
export function locatePclntab(image: BinaryImage): LocatedPclntab {
  for (const name of PCLNTAB_SECTIONS) {
    const s = image.section(name);
    if (s) return { pclntab: parsePclntab(s.data, name), addr: s.addr, where: name };
  }
  // The table is read-only data: look outside executable segments first.
  const ordered = [...image.segments].sort((a, b) => (a.flags & PF_X) - (b.flags & PF_X));
  for (const seg of ordered) {
    const bytes = image.readVirtual(seg.vaddr, seg.filesz);
    if (!bytes) continue;
    const found = trySegment(image, seg.vaddr, bytes);
    if (found) return found;
  }
  throw new GoBinaryError('not a Go binary: no pclntab section and no pclntab magic with a sane header in any segment');
}
