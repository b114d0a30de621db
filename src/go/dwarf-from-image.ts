import { DwarfReader, inflateZdebug, type DwarfSections } from '../dwarf/index.js';
import type { BinaryImage } from './binary-image.js';

/** One DWARF section: `.debug_x` as given (already decompressed), else GNU `.zdebug_x` inflated here. */
function debugSection(image: BinaryImage, name: string): Uint8Array | undefined {
  const plain = image.section(`.debug_${name}`);
  if (plain) return plain.data;
  const z = image.section(`.zdebug_${name}`);
  return z ? inflateZdebug(z.data, `.zdebug_${name}`) : undefined;
}

/** A DWARF reader over the image's debug sections; undefined when the binary has no DWARF. */
export function dwarfFromImage(image: BinaryImage): DwarfReader | undefined {
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
