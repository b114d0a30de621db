// Structure-aware-enough mutations: what breaks parsers is a lying length, offset or count, so most
// mutations overwrite aligned 16/32-bit fields with boundary values; the rest flip bits, cut,
// splice and, rarely, replace everything with random bytes.

const INTERESTING_32 = [
  0, 1, 2, 3, 4, 7, 8, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

export function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rand() * n);
  if (rand() < 0.02) {
    const out = new Uint8Array(int(512));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  }
  let out = new Uint8Array(seed);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const k = rand();
    if (k < 0.45) {
      // A boundary value, or the input's own length nearby, in an aligned 32-bit field.
      const at = int(Math.max(1, out.length >> 2)) << 2;
      if (at + 4 > out.length) continue;
      const v = rand() < 0.8 ? INTERESTING_32[int(INTERESTING_32.length)] : (out.length + int(16) - 8) >>> 0;
      new DataView(out.buffer, out.byteOffset).setUint32(at, v, rand() < 0.5);
    } else if (k < 0.6) {
      const at = int(Math.max(1, out.length >> 1)) << 1;
      if (at + 2 > out.length) continue;
      new DataView(out.buffer, out.byteOffset).setUint16(at, INTERESTING_32[int(INTERESTING_32.length)] & 0xffff, rand() < 0.5);
    } else if (k < 0.8) {
      const at = int(out.length);
      out[at] ^= 1 << int(8);
    } else if (k < 0.88) {
      out = out.subarray(0, int(out.length));
    } else if (k < 0.96) {
      // Splice: copy a chunk of the input over another place.
      const len = 1 + int(Math.min(64, out.length));
      const from = int(Math.max(1, out.length - len));
      const to = int(Math.max(1, out.length - len));
      out.copyWithin(to, from, from + len);
    } else {
      out[int(out.length)] = int(256);
    }
  }
  return out;
}
