// Global variables of a collection spec. A variable is a window into its section's map value, so
// setting it before load changes what the map starts with (how a `volatile const` is set per
// target); after load the same offsets are read from and written to the live map.
import type { Btf } from '../../btf/index.js';
import { LoaderError } from '../../errors/index.js';
import { btfCodec } from '../../codec/btf.js';
import type { MapSpecEntry } from './types.js';

/** A value for a global variable: raw bytes of its size, or a value its BTF type encodes. */
export type VariableValue = Uint8Array | number | bigint | boolean | string | object;

/** A global variable of a collection spec: a window into its section's initial map value. */
export class VariableSpec {
  /** A variable of `size` bytes at `offset` in the data of map `map`; loadCollectionSpec makes these. */
  constructor(
    readonly name: string,
    /** The map holding it: its section's name (".rodata", ".data.custom", ...). */
    readonly section: string,
    readonly offset: number,
    readonly size: number,
    /** The VAR's type in the collection's BTF; 0 when the object has no BTF. */
    readonly typeId: number,
    private readonly map: MapSpecEntry,
    private readonly btf: Btf | undefined,
  ) {}

  /** The variable's current initial bytes. */
  bytes(): Uint8Array {
    const data = this.#data();
    return data.slice(this.offset, this.offset + this.size);
  }

  /** The initial value, decoded through BTF when there is a type, raw bytes otherwise. */
  get(): unknown {
    const bytes = Buffer.from(this.bytes());
    if (this.btf === undefined || this.typeId === 0) return bytes;
    return btfCodec(this.btf, this.typeId).decode(bytes, 0);
  }

  /** Sets the initial value: raw bytes of the variable's size, or a value its BTF type encodes. */
  set(value: VariableValue): void {
    this.#data().set(encodeVariable(this, value, this.btf), this.offset);
  }

  #data(): Uint8Array {
    const contents = this.map.contents;
    if (contents?.kind !== 'data') throw new LoaderError(`variable ${this.name}: its map ${this.section} holds no data`);
    return contents.bytes;
  }
}

/** Encodes a value for a variable (or its live map slot) through its BTF type. */
export function encodeVariable(v: { name: string; size: number; typeId: number }, value: VariableValue, btf: Btf | undefined): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== v.size) throw new LoaderError(`variable ${v.name} is ${v.size} bytes; ${value.length} given`);
    return value;
  }
  if (btf === undefined || v.typeId === 0) {
    throw new LoaderError(`variable ${v.name} has no BTF type: set it with a Uint8Array of ${v.size} bytes`);
  }
  const codec = btfCodec(btf, v.typeId);
  const out = Buffer.alloc(v.size);
  try {
    codec.encode(value, out, 0);
  } catch (e) {
    throw new LoaderError(`variable ${v.name}: ${(e as Error).message}`, {}, { cause: e });
  }
  return out;
}
