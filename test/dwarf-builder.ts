// Test-only: assembles small DWARF sections byte by byte, so every form and header variant can be
// exercised with known answers.

export class ByteWriter {
  readonly bytes: number[] = [];

  constructor(readonly littleEndian = true) {}

  get length(): number {
    return this.bytes.length;
  }

  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }

  uint(v: number | bigint, size: number): this {
    let x = BigInt(v);
    const out: number[] = [];
    for (let i = 0; i < size; i++) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
    }
    this.bytes.push(...(this.littleEndian ? out : out.reverse()));
    return this;
  }

  u16(v: number): this {
    return this.uint(v, 2);
  }

  u32(v: number): this {
    return this.uint(v, 4);
  }

  u64(v: number | bigint): this {
    return this.uint(v, 8);
  }

  uleb(v: number | bigint): this {
    let x = BigInt(v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.bytes.push(b);
    } while (x !== 0n);
    return this;
  }

  sleb(v: number | bigint): this {
    let x = BigInt(v);
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0);
      this.bytes.push(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  cstr(s: string): this {
    this.bytes.push(...Buffer.from(s, 'utf8'), 0);
    return this;
  }

  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]);
    return this;
  }

  patchU32(at: number, v: number): void {
    const tmp = new ByteWriter(this.littleEndian).u32(v).bytes;
    for (let i = 0; i < 4; i++) this.bytes[at + i] = tmp[i];
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A string section that hands out offsets for the strings put into it. */
export class StringTable {
  readonly w = new ByteWriter();
  private readonly offsets = new Map<string, number>();

  constructor() {
    this.w.u8(0);
  }

  add(s: string): number {
    let o = this.offsets.get(s);
    if (o === undefined) {
      o = this.w.length;
      this.w.cstr(s);
      this.offsets.set(s, o);
    }
    return o;
  }
}

export type AbbrevSpec = { code: number; tag: number; children: boolean; attrs: [number, number, bigint?][] };

export function writeAbbrevs(specs: AbbrevSpec[], w = new ByteWriter()): ByteWriter {
  for (const s of specs) {
    w.uleb(s.code)
      .uleb(s.tag)
      .u8(s.children ? 1 : 0);
    for (const [at, form, implicit] of s.attrs) {
      w.uleb(at).uleb(form);
      if (implicit !== undefined) w.sleb(implicit);
    }
    w.uleb(0).uleb(0);
  }
  return w.u8(0);
}
