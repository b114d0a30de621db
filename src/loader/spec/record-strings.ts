// The .BTF string offsets of the strings an object's .BTF.ext records name, kept beside the
// object's BTF: a load that sends that BTF as it is writes line records with these offsets, and
// looking each record's strings up here (the very string objects the parse made) replaces a
// search of the whole string table per load. Keyed by the Btf object: a spec whose btf was
// replaced, or a Btf made elsewhere, has none, and the loader searches as before.
import type { Btf } from '../../btf/index.js';

const offsets = new WeakMap<Btf, ReadonlyMap<string, number>>();

/** Records that `btf`'s string table holds each text of `known` at its offset (the BTF's own strings are never moved). */
export function rememberRecordStrings(btf: Btf, known: ReadonlyMap<string, number>): void {
  offsets.set(btf, known);
}

/** Offsets in `btf`'s string table of the strings its object's .BTF.ext records named, if known. */
export function recordStringOffsets(btf: Btf): ReadonlyMap<string, number> | undefined {
  return offsets.get(btf);
}
