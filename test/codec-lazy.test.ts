// lazyCodec: the codecs the loader gives maps, made when first used. The oracle for what a built
// codec does is btfCodec itself on the same BTF, made directly.
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../src/btf/index.js';
import { btfCodec } from '../src/codec/btf.js';
import { type Codec, CodecError, u32 } from '../src/codec/index.js';
import { lazyCodec } from '../src/codec/lazy.js';
import { u64Btf } from './support/u64-btf.js';

describe('lazyCodec', () => {
  it('builds the codec at its first use, once, and then encodes and decodes as the codec itself', () => {
    const btf = parseBtf(u64Btf());
    let builds = 0;
    const lazy = lazyCodec(8, () => {
      builds++;
      return btfCodec(btf, 1);
    });
    expect(lazy.size).toBe(8);
    expect(builds).toBe(0);
    const direct = btfCodec(btf, 1);
    const a = Buffer.alloc(8);
    const b = Buffer.alloc(8);
    lazy.encode(0x0102030405060708n, a, 0);
    direct.encode(0x0102030405060708n, b, 0);
    expect(a).toEqual(b);
    expect(lazy.decode(a, 0)).toBe(direct.decode(b, 0));
    expect(lazy.align).toBe(direct.align);
    expect(builds).toBe(1);
  });

  it('a codec that cannot be made leaves raw bytes: Buffers out, exactly size bytes in, and says why otherwise', () => {
    const failing = lazyCodec(8, () => {
      throw new CodecError('BTF type 7 nests too deeply for a codec');
    });
    const wrongSize = lazyCodec(8, () => u32 as Codec<unknown>);
    for (const codec of [failing, wrongSize]) {
      const bytes = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
      const into = Buffer.alloc(12);
      codec.encode(bytes, into, 2);
      expect([...into]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
      const out = codec.decode(into, 2);
      expect(out).toEqual(bytes);
      // A copy, not a view of the source.
      into[2] = 99;
      expect((out as Buffer)[0]).toBe(1);
      expect(codec.align).toBe(1);
      expect(() => codec.encode(5n, into, 0)).toThrow(CodecError);
      expect(() => codec.encode(Buffer.alloc(4), into, 0)).toThrow(/pass the 8 bytes themselves/);
    }
    expect(() => failing.encode(5n, Buffer.alloc(8), 0)).toThrow(/nests too deeply/);
    expect(() => wrongSize.encode(5n, Buffer.alloc(8), 0)).toThrow(/typed codec is 4 bytes, not 8/);
  });
});
