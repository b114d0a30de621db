import { DwarfReader, inflateZdebug, type DwarfSections } from '../dwarf/index.js';
import type { BinaryImage } from './binary-image.js';

const ZLIB = [0x5a, 0x4c, 0x49, 0x42]; // "ZLIB"

/**
 * One DWARF section: `.debug_x` as given, else GNU `.zdebug_x`. An image may hand over a .zdebug
 * section already inflated (the ELF reader does): only bytes still starting with "ZLIB" and its
 * size header are inflated here, so nothing is decompressed twice.
 */
function debugSection(image: BinaryImage, name: string): Uint8Array | undefined {
  const plain = image.section(`.debug_${name}`);
  if (plain) return plain.data;
  const z = image.section(`.zdebug_${name}`);
  if (!z) return undefined;
  const compressed = z.data.length >= 12 && ZLIB.every((b, i) => z.data[i] === b);
  return compressed ? inflateZdebug(z.data, `.zdebug_${name}`) : z.data;
}

// One reader per image: the goid offset, the goroutine fields and anything else read from one
// binary's DWARF share its sections (inflated once) and its name index (built once).
const readers = new WeakMap<BinaryImage, DwarfReader | undefined>();

/** A DWARF reader over the image's debug sections, made once per image; undefined when the binary has no DWARF. */
export function dwarfFromImage(image: BinaryImage): DwarfReader | undefined {
  if (readers.has(image)) return readers.get(image);
  const reader = newDwarfReader(image);
  readers.set(image, reader);
  return reader;
}

function newDwarfReader(image: BinaryImage): DwarfReader | undefined {
  const info = debugSection(image, 'info');
  const abbrev = debugSection(image, 'abbrev');
  if (!info || !abbrev) return undefined;
  const sections: DwarfSections = {
    info,
    abbrev,
    str: debugSection(image, 'str'),
    lineStr: debugSection(image, 'line_str'),
    strOffsets: debugSection(image, 'str_offsets'),
    addr: debugSection(image, 'addr'),
    littleEndian: image.byteOrder === 'little',
  };
  return new DwarfReader(sections);
}
