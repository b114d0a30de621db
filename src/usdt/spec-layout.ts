// The values usdt.bpf.h (libbpf) reads: struct __bpf_usdt_spec in the __bpf_usdt_specs array map,
// found by spec id (the attach cookie, or the __bpf_usdt_ip_to_spec_id map keyed by address).
// The layout is read from the object's BTF when it has one, so objects built against other
// libbpf versions (which grew SIB addressing as bitfields) get their own layout; without BTF
// the layout of libbpf 1.1 is assumed.
import type { Btf } from '../btf/index.js';
import type { UsdtArg } from './arg-spec.js';
import { UsdtError } from './errors.js';

/** A field as a bit range. */
export interface BitField {
  readonly bitOffset: number;
  readonly bits: number;
}

/** Byte layout of libbpf's struct __bpf_usdt_spec and struct __bpf_usdt_arg_spec, which usdt.bpf.h reads. */
export interface UsdtSpecLayout {
  /** sizeof(struct __bpf_usdt_spec). */
  readonly size: number;
  readonly argsOffset: number;
  readonly argStride: number;
  readonly maxArgs: number;
  readonly cookieOffset: number;
  readonly argCountOffset: number;
  readonly argCountSize: number;
  /** Fields of struct __bpf_usdt_arg_spec, relative to it. */
  readonly arg: {
    readonly valOff: BitField;
    readonly argType: BitField;
    readonly regOff: BitField;
    readonly argSigned: BitField;
    readonly argBitshift: BitField;
    /** Only in libbpf versions with SIB addressing (1.5+). */
    readonly idxRegOff?: BitField;
    readonly scaleBitshift?: BitField;
  };
  /** enum __bpf_usdt_arg_type. */
  readonly types: { readonly CONST: number; readonly REG: number; readonly REG_DEREF: number; readonly SIB?: number };
}

const f = (byte: number, bytes: number): BitField => ({ bitOffset: byte * 8, bits: bytes * 8 });

/** The layout of libbpf 1.1's usdt.bpf.h (Debian 12's libbpf-dev). */
export const LIBBPF_1_1_USDT_SPEC_LAYOUT: UsdtSpecLayout = {
  size: 208,
  argsOffset: 0,
  argStride: 16,
  maxArgs: 12,
  cookieOffset: 192,
  argCountOffset: 200,
  argCountSize: 2,
  arg: { valOff: f(0, 8), argType: f(8, 4), regOff: f(12, 2), argSigned: f(14, 1), argBitshift: f(15, 1) },
  types: { CONST: 0, REG: 1, REG_DEREF: 2 },
};

/** The layout as the object's BTF describes struct __bpf_usdt_spec. */
export function usdtSpecLayoutFromBtf(btf: Btf): UsdtSpecLayout {
  const spec = btf.findType('__bpf_usdt_spec', 'struct');
  const argSpec = btf.findType('__bpf_usdt_arg_spec', 'struct');
  const types = btf.findType('__bpf_usdt_arg_type', 'enum');
  if (!spec || !argSpec || !types) {
    throw new UsdtError(
      "the object's BTF has no struct __bpf_usdt_spec, struct __bpf_usdt_arg_spec and enum __bpf_usdt_arg_type: was it compiled with libbpf's usdt.bpf.h?",
    );
  }
  const member = (structId: number, name: string, required = true): BitField | undefined => {
    const m = btf.findMember(structId, name);
    if (!m) {
      if (required) throw new UsdtError(`struct ${btf.nameOf(structId)} in the object's BTF has no member ${name}`);
      return undefined;
    }
    const bits = m.member.bitfieldSize || btf.sizeOf(m.member.type) * 8;
    return { bitOffset: m.bitOffset, bits };
  };
  const args = btf.findMember(spec.id, 'args');
  if (!args) throw new UsdtError("struct __bpf_usdt_spec in the object's BTF has no member args");
  const argsType = btf.resolve(args.member.type);
  if (argsType.kind !== 'array') throw new UsdtError("__bpf_usdt_spec.args in the object's BTF is not an array");
  const value = (n: string): number | undefined => types.values.find((v) => v.name === n)?.value;
  const [CONST, REG, REG_DEREF, SIB] = ['BPF_USDT_ARG_CONST', 'BPF_USDT_ARG_REG', 'BPF_USDT_ARG_REG_DEREF', 'BPF_USDT_ARG_SIB'].map(value);
  if (CONST === undefined || REG === undefined || REG_DEREF === undefined)
    throw new UsdtError("enum __bpf_usdt_arg_type in the object's BTF lacks CONST, REG or REG_DEREF");
  const cnt = member(spec.id, 'arg_cnt')!;
  return {
    size: spec.size,
    argsOffset: args.bitOffset / 8,
    argStride: argSpec.size,
    maxArgs: argsType.length,
    cookieOffset: member(spec.id, 'usdt_cookie')!.bitOffset / 8,
    argCountOffset: cnt.bitOffset / 8,
    argCountSize: cnt.bits / 8,
    arg: {
      valOff: member(argSpec.id, 'val_off')!,
      argType: member(argSpec.id, 'arg_type')!,
      regOff: member(argSpec.id, 'reg_off')!,
      argSigned: member(argSpec.id, 'arg_signed')!,
      argBitshift: member(argSpec.id, 'arg_bitshift')!,
      idxRegOff: member(argSpec.id, 'idx_reg_off', false),
      scaleBitshift: member(argSpec.id, 'scale_bitshift', false),
    },
    types: { CONST, REG, REG_DEREF, ...(SIB !== undefined ? { SIB } : {}) },
  };
}

/** Writes `value` into a little-endian bit range. */
function writeBits(buf: Uint8Array, base: number, field: BitField, value: bigint): void {
  let v = BigInt.asUintN(field.bits, value);
  let bit = base * 8 + field.bitOffset;
  let left = field.bits;
  while (left > 0) {
    const byte = bit >> 3;
    const shift = bit & 7;
    const take = Math.min(8 - shift, left);
    const mask = ((1 << take) - 1) << shift;
    const old = buf[byte];
    if (old === undefined) throw new UsdtError(`a field at bit ${bit} runs past the ${buf.length}-byte __bpf_usdt_spec of the layout`);
    buf[byte] = (old & ~mask) | ((Number(v & BigInt((1 << take) - 1)) << shift) & mask);
    v >>= BigInt(take);
    bit += take;
    left -= take;
  }
}

/** struct __bpf_usdt_spec for one probe site's arguments and the user's cookie. */
export function encodeUsdtSpec(args: readonly UsdtArg[], cookie: bigint, layout: UsdtSpecLayout = LIBBPF_1_1_USDT_SPEC_LAYOUT): Uint8Array {
  if (args.length > layout.maxArgs) throw new UsdtError(`${args.length} arguments, but usdt.bpf.h holds at most ${layout.maxArgs}`);
  const out = new Uint8Array(layout.size);
  const a = layout.arg;
  args.forEach((arg, i) => {
    const base = layout.argsOffset + i * layout.argStride;
    const loc = arg.location;
    let type: number;
    let valOff = 0n;
    let regOff = 0;
    switch (loc.kind) {
      case 'const':
        type = layout.types.CONST;
        valOff = loc.value;
        break;
      case 'reg':
        type = layout.types.REG;
        regOff = loc.regOffset;
        break;
      case 'deref':
        type = layout.types.REG_DEREF;
        regOff = loc.regOffset;
        valOff = loc.offset;
        break;
      case 'sib': {
        if (layout.types.SIB === undefined || !a.idxRegOff || !a.scaleBitshift) {
          throw new UsdtError(
            `argument ${i} ("${arg.text}") uses base+index*scale addressing, which this object's usdt.bpf.h cannot read (libbpf 1.5+ can)`,
          );
        }
        type = layout.types.SIB;
        regOff = loc.regOffset;
        valOff = loc.offset;
        writeBits(out, base, a.idxRegOff, BigInt(loc.indexOffset));
        writeBits(out, base, a.scaleBitshift, BigInt(Math.log2(loc.scale)));
        break;
      }
    }
    writeBits(out, base, a.valOff, valOff);
    writeBits(out, base, a.argType, BigInt(type));
    writeBits(out, base, a.regOff, BigInt(regOff));
    writeBits(out, base, a.argSigned, arg.signed ? 1n : 0n);
    // Clears the bits above the argument's size (and sign-extends when signed) in the program.
    writeBits(out, base, a.argBitshift, BigInt(64 - arg.size * 8));
  });
  writeBits(out, layout.cookieOffset, { bitOffset: 0, bits: 64 }, cookie);
  writeBits(out, layout.argCountOffset, { bitOffset: 0, bits: layout.argCountSize * 8 }, BigInt(args.length));
  return out;
}
