// Builds a BTF blob (for BPF_BTF_LOAD, or to write out) from type objects. Kinds the running
// kernel does not know are rewritten into ones it does, keeping every type id in place so that
// references and .BTF.ext records stay valid.
import { BtfError } from './errors.js';
import {
  BTF_HEADER_SIZE,
  BTF_MAGIC,
  BTF_MAX_VLEN,
  BTF_VERSION,
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  KIND,
  makeInfo,
  trailingBytes,
} from './kinds.js';
import { StringTableBuilder } from './strings.js';
import { LINKAGES, type BtfType } from './types.js';
import { HOST_LITTLE_ENDIAN } from '../host.js';

/** What the target kernel supports; a false entry makes the marshaller rewrite those kinds. */
export interface BtfFeatures {
  /** BTF_KIND_ENUM64 and signed enums (kernel 6.0). Without: an empty union of the same size. */
  readonly enum64: boolean;
  /** BTF_KIND_DECL_TAG (5.16). Without: a one-byte int. */
  readonly declTag: boolean;
  /** BTF_KIND_TYPE_TAG (5.17). Without: const of the same target. */
  readonly typeTag: boolean;
  /** BTF_KIND_FLOAT (5.13). Without: an empty struct of the same size. */
  readonly float: boolean;
  /** Global and extern linkage on FUNC (5.6). Without: static. */
  readonly funcLinkage: boolean;
  /** BTF_KIND_VAR and BTF_KIND_DATASEC (5.2). Without: one-byte ints and empty structs. */
  readonly datasec: boolean;
}

/** Every BTF feature present: marshal without rewriting any kind. */
export const ALL_BTF_FEATURES: BtfFeatures = Object.freeze({
  enum64: true,
  declTag: true,
  typeTag: true,
  float: true,
  funcLinkage: true,
  datasec: true,
});

/** Options of BTF marshalling. */
export interface MarshalOptions {
  readonly features?: Partial<BtfFeatures>;
  /** Byte order of the blob; the host's by default. */
  readonly littleEndian?: boolean;
}

/** Replaces a kind the kernel lacks with a stand-in occupying the same id. */
export function downgradeType(t: BtfType, features: BtfFeatures): BtfType {
  const { id, name } = t;
  switch (t.kind) {
    case 'enum64':
      if (!features.enum64) return { kind: 'union', id, name, size: t.size, members: [] };
      return t;
    case 'enum':
      if (!features.enum64 && t.signed) return { ...t, signed: false };
      return t;
    case 'decl_tag':
      if (!features.declTag) return oneByteInt(id, name);
      return t;
    case 'type_tag':
      if (!features.typeTag) return { kind: 'const', id, name: '', type: t.type };
      return t;
    case 'float':
      if (!features.float) return { kind: 'struct', id, name, size: t.size, members: [] };
      return t;
    case 'func':
      if (!features.funcLinkage && t.linkage !== 'static') return { ...t, linkage: 'static' };
      return t;
    case 'var':
      if (!features.datasec) return oneByteInt(id, name);
      return t;
    case 'datasec':
      // Section names like ".data" are not C identifiers, which struct names must be.
      if (!features.datasec) return { kind: 'struct', id, name: name.replace(/[^A-Za-z0-9_]/g, '_'), size: t.size, members: [] };
      return t;
    default:
      return t;
  }
}

function oneByteInt(id: number, name: string): BtfType {
  return { kind: 'int', id, name, size: 1, bitOffset: 0, bits: 8, signed: false, char: false, bool: false };
}

const KIND_NUMBER: Record<Exclude<BtfType['kind'], 'void'>, number> = {
  int: KIND.INT,
  ptr: KIND.PTR,
  array: KIND.ARRAY,
  struct: KIND.STRUCT,
  union: KIND.UNION,
  enum: KIND.ENUM,
  fwd: KIND.FWD,
  typedef: KIND.TYPEDEF,
  volatile: KIND.VOLATILE,
  const: KIND.CONST,
  restrict: KIND.RESTRICT,
  func: KIND.FUNC,
  func_proto: KIND.FUNC_PROTO,
  var: KIND.VAR,
  datasec: KIND.DATASEC,
  float: KIND.FLOAT,
  decl_tag: KIND.DECL_TAG,
  type_tag: KIND.TYPE_TAG,
  enum64: KIND.ENUM64,
};

function vlenOf(t: BtfType): number {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.members.length;
    case 'enum':
    case 'enum64':
      return t.values.length;
    case 'func_proto':
      return t.params.length;
    case 'datasec':
      return t.vars.length;
    case 'func':
      return LINKAGES.indexOf(t.linkage);
    default:
      return 0;
  }
}

/**
 * Encodes `types` so that types[i] gets id i + 1 (void entries are skipped); references inside
 * them are written as they are, so they must already use those ids.
 */
export function marshalBtf(
  types: Iterable<BtfType>,
  strings: StringTableBuilder = new StringTableBuilder(),
  options: MarshalOptions = {},
): Uint8Array {
  const features: BtfFeatures = { ...ALL_BTF_FEATURES, ...options.features };
  const le = options.littleEndian ?? HOST_LITTLE_ENDIAN;
  const list: BtfType[] = [];
  let typeLength = 0;
  for (const original of types) {
    if (original.kind === 'void') continue;
    const t = downgradeType(original, features);
    if (t.kind === 'void') continue;
    const vlen = vlenOf(t);
    if (vlen > BTF_MAX_VLEN) throw new BtfError(`${t.kind} has ${vlen} entries, more than BTF allows`, { typeId: t.id });
    list.push(t);
    typeLength += 12 + trailingBytes(KIND_NUMBER[t.kind], vlen);
  }

  const typeBytes = new Uint8Array(typeLength);
  const view = new DataView(typeBytes.buffer);
  let at = 0;
  const u32 = (v: number): void => {
    view.setUint32(at, v >>> 0, le);
    at += 4;
  };
  const str = (s: string): void => u32(strings.add(s));
  for (const t of list) {
    if (t.kind === 'void') continue;
    const kind = KIND_NUMBER[t.kind];
    const vlen = vlenOf(t);
    str(t.name);
    let kindFlag = false;
    if (t.kind === 'struct' || t.kind === 'union') kindFlag = t.members.some((m) => m.bitfieldSize > 0);
    else if (t.kind === 'enum' || t.kind === 'enum64') kindFlag = t.signed;
    else if (t.kind === 'fwd') kindFlag = t.fwdKind === 'union';
    else if (t.kind === 'decl_tag' || t.kind === 'type_tag') kindFlag = t.attribute;
    u32(makeInfo(kind, vlen, kindFlag));
    switch (t.kind) {
      case 'int': {
        u32(t.size);
        const enc = (t.signed ? INT_SIGNED : 0) | (t.char ? INT_CHAR : 0) | (t.bool ? INT_BOOL : 0);
        u32((enc << 24) | (t.bitOffset << 16) | t.bits);
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'func':
        u32(t.type);
        break;
      case 'fwd':
        u32(0);
        break;
      case 'array':
        u32(0);
        u32(t.type);
        u32(t.indexType);
        u32(t.length);
        break;
      case 'struct':
      case 'union':
        u32(t.size);
        for (const m of t.members) {
          str(m.name);
          u32(m.type);
          if (kindFlag) {
            if (m.bitOffset > 0xffffff || m.bitfieldSize > 0xff) {
              throw new BtfError(`member ${m.name} offset ${m.bitOffset} or bitfield size does not fit`, { typeId: t.id });
            }
            u32((m.bitfieldSize << 24) | m.bitOffset);
          } else {
            u32(m.bitOffset);
          }
        }
        break;
      case 'enum':
        u32(t.size);
        for (const v of t.values) {
          str(v.name);
          u32(v.value);
        }
        break;
      case 'enum64':
        u32(t.size);
        for (const v of t.values) {
          str(v.name);
          const raw = BigInt.asUintN(64, v.value);
          u32(Number(raw & 0xffffffffn));
          u32(Number(raw >> 32n));
        }
        break;
      case 'func_proto':
        u32(t.returnType);
        for (const p of t.params) {
          str(p.name);
          u32(p.type);
        }
        break;
      case 'var':
        u32(t.type);
        u32(LINKAGES.indexOf(t.linkage));
        break;
      case 'datasec':
        u32(t.size);
        for (const v of t.vars) {
          u32(v.type);
          u32(v.offset);
          u32(v.size);
        }
        break;
      case 'float':
        u32(t.size);
        break;
      case 'decl_tag':
        u32(t.type);
        view.setInt32(at, t.componentIndex, le);
        at += 4;
        break;
    }
  }

  const stringBytes = strings.bytes();
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLength + stringBytes.length);
  const header = new DataView(out.buffer);
  header.setUint16(0, BTF_MAGIC, le);
  header.setUint8(2, BTF_VERSION);
  header.setUint8(3, 0);
  header.setUint32(4, BTF_HEADER_SIZE, le);
  header.setUint32(8, 0, le);
  header.setUint32(12, typeLength, le);
  header.setUint32(16, typeLength, le);
  header.setUint32(20, stringBytes.length, le);
  out.set(typeBytes, BTF_HEADER_SIZE);
  out.set(stringBytes, BTF_HEADER_SIZE + typeLength);
  return out;
}
