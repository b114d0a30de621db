import type { BinaryImage } from './binary-image.js';
import { GoBinaryError } from './errors.js';
import type { Pclntab } from './pclntab.js';

/** The address Go 1.18+ function entry offsets are relative to, and which evidence gave it (0 for absolute entries). */
export interface TextStart {
  address: number;
  source: 'absolute entries' | 'header' | '.text section' | 'entry point';
}

/**
 * The address Go 1.18+ function entry offsets are relative to (runtime.text).
 *
 * The header's textStart is not reliable on its own: it is a relocated word, so an internally
 * linked PIE leaves it unrelocated in the file, and some release binaries carry 0 there (esbuild,
 * Go 1.26). The `.text` section address is what Go's own tools use. It differs from runtime.text
 * only under external linking, where the C start-up code comes first in .text; then the linker
 * did relocate the header, so a header value that lies inside .text is taken as is.
 */
export function resolveTextStart(pclntab: Pclntab, image: BinaryImage): TextStart {
  if (!pclntab.entriesAreRelative) return { address: 0, source: 'absolute entries' };
  const header = pclntab.headerTextStart ?? 0;
  const text = image.section('.text');
  if (text && text.addr !== 0) {
    const inside = header >= text.addr && header < text.addr + Math.max(text.data.length, 1);
    return inside ? { address: header, source: 'header' } : { address: text.addr, source: '.text section' };
  }
  // No section headers: the ELF entry point is the runtime's _rt0 function; its offset in the
  // table pins the text start even for PIE.
  const entry = image.entry;
  if (entry !== undefined && entry !== 0) {
    const rt0 = `_rt0_${image.machine}_linux`;
    for (let i = 0; i < pclntab.functionCount; i++) {
      const raw = pclntab.rawEntries[i];
      if (raw !== undefined && pclntab.nameOf(i) === rt0) return { address: entry - raw, source: 'entry point' };
    }
  }
  if (header !== 0) return { address: header, source: 'header' };
  throw new GoBinaryError('cannot tell where the text starts: no .text section, no usable entry point, header textStart is 0', 'pclntab');
}
