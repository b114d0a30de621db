// Instructions encoded before the maps they name exist: a loader that creates its maps while it
// prepares its programs encodes each program once, with every map reference's fd left 0, and
// writes the fds into a copy of the bytes when the maps are there.
import { encodeInstructions } from './encode.js';
import { type Instruction } from './instruction.js';
import { bindMapReferences, mapReferences } from './map-references.js';
import * as op from './opcodes.js';

/** One map reference of prelinked bytes: the map's name, and where its fd goes. */
export interface PrelinkSite {
  /** Index in the instruction list (not the slot), as in MapReference. */
  index: number;
  name: string;
  /** Byte offset of the reference's low immediate (the fd, or an fd-array index) in the bytes. */
  offset: number;
}

/** A program encoded before its maps exist: the bytes, and where each map fd goes. */
export interface PrelinkedInstructions {
  /** The encoded program (little-endian), each map reference's low immediate 0. */
  readonly bytes: Uint8Array;
  readonly sites: readonly PrelinkSite[];
}

/** Encodes `insns` with their map references unbound; bindPrelinked fills them in. */
export function prelinkInstructions(insns: readonly Instruction[]): PrelinkedInstructions {
  const refs = mapReferences(insns);
  const sites: PrelinkSite[] = [];
  let slot = 0;
  let next = 0;
  insns.forEach((insn, i) => {
    const ref = refs[next];
    if (ref !== undefined && i === ref.index) {
      sites.push({ index: i, name: ref.name, offset: slot * 8 + 4 });
      next++;
    }
    slot += insn.opcode === op.BPF_LDDW ? 2 : 1;
  });
  return { bytes: encodeInstructions(bindMapReferences(insns, () => 0)), sites };
}

/**
 * A copy of prelinked bytes with each map reference's immediate set to `lookup(name)`; the map
 * value offsets in the high halves stay as they were encoded.
 */
export function bindPrelinked(prelinked: PrelinkedInstructions, lookup: (name: string) => number): Uint8Array {
  const bytes = prelinked.bytes.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const site of prelinked.sites) view.setInt32(site.offset, lookup(site.name), true);
  return bytes;
}
