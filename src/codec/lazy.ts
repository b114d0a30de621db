// A codec made the first time it is used. The loader gives each map of an object a codec for the
// BTF types of its key and value; building them all cost a load of many.bpf.o about 24 µs a map
// (244 µs for its 10, instrumented, 2026-12-07), and most maps' values never go through one (ring
// buffers, program arrays, maps only programs read).
import { type Codec, CodecError } from './index.js';

/**
 * A codec of `size` bytes that `build` makes when it is first used. When `build` fails (or makes
 * a codec of another size), it is a codec of raw bytes, as a map without codecs has: decode gives
 * a Buffer, and encode takes exactly `size` bytes, and says why the typed codec could not be made.
 */
export function lazyCodec(size: number, build: () => Codec<unknown>): Codec<unknown> {
  let made: Codec<unknown> | undefined;
  const codec = (): Codec<unknown> => (made ??= buildOrRaw(size, build));
  return {
    size,
    get align(): number {
      return codec().align;
    },
    encode: (value, target, offset) => codec().encode(value, target, offset),
    decode: (source, offset) => codec().decode(source, offset),
  };
}

function buildOrRaw(size: number, build: () => Codec<unknown>): Codec<unknown> {
  let why: unknown;
  try {
    const c = build();
    if (c.size === size) return c;
    why = new CodecError(`the typed codec is ${c.size} bytes, not ${size}`);
  } catch (e) {
    why = e;
  }
  return {
    size,
    align: 1,
    encode(value, target, offset) {
      if (!(value instanceof Uint8Array) || value.length !== size) {
        throw new CodecError(`no typed codec here (${(why as Error).message}): pass the ${size} bytes themselves`, { cause: why });
      }
      target.set(value, offset);
    },
    decode: (source, offset) => Buffer.from(source.subarray(offset, offset + size)),
  };
}
