// Note records (SHT_NOTE sections, PT_NOTE segments): namesz, descsz, type, then the padded name
// and descriptor.
import { type ByteReader } from './bytes.js';
import { ElfError } from './errors.js';

/** One note record from a SHT_NOTE section or PT_NOTE segment. */
export interface ElfNote {
  /** The owner, e.g. "GNU" or "Go", without its terminating NUL. */
  readonly name: string;
  /** Note type, meaningful per owner (NT_GNU_BUILD_ID, NT_GO_BUILD_ID, ...). */
  readonly type: number;
  /** The descriptor bytes (a view into the file, no copy). */
  readonly desc: Uint8Array;
  /** File offset of the note's header. */
  readonly offset: number;
  /** The SHT_NOTE section it came from, when it came from one. */
  readonly section?: string;
}

const NOTE_HEADER_SIZE = 12;
const latin1 = new TextDecoder('latin1');

/**
 * Reads the notes in [offset, offset+size). Records are padded to 4 bytes, or 8 when the
 * container is 8-aligned (GNU property notes); other alignments are treated as 4, as readers
 * in the wild do.
 */
export function readNotes(
  reader: ByteReader,
  offset: number,
  size: number,
  containerAlign: number,
  where: { section?: string; segment?: number },
): ElfNote[] {
  const what = where.section !== undefined ? 'note section' : `PT_NOTE segment ${where.segment ?? ''}`.trim();
  reader.require(offset, size, what, where.section);
  const align = containerAlign === 8 ? 8 : 4;
  const end = offset + size;
  const notes: ElfNote[] = [];
  let at = offset;
  while (at < end) {
    if (end - at < NOTE_HEADER_SIZE) {
      throw new ElfError(`${what}: ${end - at} trailing bytes are too few for a note header`, {
        offset: at,
        section: where.section,
      });
    }
    const nameSize = reader.u32(at);
    const descSize = reader.u32(at + 4);
    const type = reader.u32(at + 8);
    const nameStart = at + NOTE_HEADER_SIZE;
    const descStart = alignUp(nameStart + nameSize, align, offset);
    const next = alignUp(descStart + descSize, align, offset);
    if (descStart + descSize > end) {
      throw new ElfError(
        `${what}: note with name size ${nameSize} and descriptor size ${descSize} runs past the end (0x${end.toString(16)})`,
        { offset: at, section: where.section },
      );
    }
    let nameBytes = reader.bytes.subarray(nameStart, nameStart + nameSize);
    // namesz counts the terminating NUL; some producers add more padding NULs.
    let nameEnd = nameBytes.length;
    while (nameEnd > 0 && nameBytes[nameEnd - 1] === 0) nameEnd--;
    nameBytes = nameBytes.subarray(0, nameEnd);
    notes.push({
      name: latin1.decode(nameBytes),
      type,
      desc: reader.bytes.subarray(descStart, descStart + descSize),
      offset: at,
      ...(where.section !== undefined ? { section: where.section } : {}),
    });
    at = Math.min(next, end);
  }
  return notes;
}

/** Rounds up relative to the container's start (note layout is relative to it). */
function alignUp(position: number, align: number, base: number): number {
  const rel = position - base;
  return base + Math.ceil(rel / align) * align;
}
