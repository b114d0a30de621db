// Turns the bytes of one type record into its object form. Called lazily, one type at a time.
import { BtfError } from './errors.js';
import { INT_BOOL, INT_CHAR, INT_SIGNED, KIND, infoKind, infoKindFlag, infoVlen } from './kinds.js';
import type { StringTable } from './strings.js';
import { LINKAGES, type BtfType, type Linkage, type Member, type TypeId } from './types.js';

export interface TypeSource {
  readonly view: DataView;
  readonly littleEndian: boolean;
  readonly strings: StringTable;
  /** Highest valid type id; references above it are rejected. */
  readonly lastId: TypeId;
}

export function decodeType(src: TypeSource, id: TypeId, offset: number): BtfType {
  const { view, littleEndian: le, strings } = src;
  const u32 = (at: number): number => view.getUint32(at, le);
  const s32 = (at: number): number => view.getInt32(at, le);
  const fail = (message: string, at = offset): BtfError => new BtfError(message, { offset: at, typeId: id });
  const ref = (at: number): TypeId => {
    const target = u32(at);
    if (target > src.lastId) throw fail(`refers to type id ${target}, beyond the last id ${src.lastId}`, at);
    return target;
  };
  const str = (at: number): string => strings.get(u32(at), id);
  const linkage = (value: number, at: number): Linkage => {
    const l = LINKAGES[value];
    if (l === undefined) throw fail(`unknown linkage ${value}`, at);
    return l;
  };

  const name = str(offset);
  const info = u32(offset + 4);
  const kind = infoKind(info);
  const vlen = infoVlen(info);
  const kindFlag = infoKindFlag(info);
  const sizeOrType = offset + 8;
  const extra = offset + 12;

  switch (kind) {
    case KIND.INT: {
      const enc = u32(extra);
      const encoding = (enc >>> 24) & 0x0f;
      const bitOffset = (enc >>> 16) & 0xff;
      const bits = enc & 0xff;
      const size = u32(sizeOrType);
      if (bits > 128 || bits === 0 || bitOffset + bits > size * 8) {
        throw fail(`int of ${size} bytes has ${bits} bits at bit offset ${bitOffset}`, extra);
      }
      return {
        kind: 'int', id, name, size, bitOffset, bits,
        signed: (encoding & INT_SIGNED) !== 0,
        char: (encoding & INT_CHAR) !== 0,
        bool: (encoding & INT_BOOL) !== 0,
      };
    }
    case KIND.PTR:
      return { kind: 'ptr', id, name, type: ref(sizeOrType) };
    case KIND.ARRAY:
      return { kind: 'array', id, name, type: ref(extra), indexType: ref(extra + 4), length: u32(extra + 8) };
    case KIND.STRUCT:
    case KIND.UNION: {
      const members: Member[] = new Array(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12) {
        const raw = u32(at + 8);
        members[i] = {
          name: str(at),
          type: ref(at + 4),
          bitOffset: kindFlag ? raw & 0xffffff : raw,
          bitfieldSize: kindFlag ? raw >>> 24 : 0,
        };
      }
      return { kind: kind === KIND.STRUCT ? 'struct' : 'union', id, name, size: u32(sizeOrType), members };
    }
    case KIND.ENUM: {
      const values = new Array<{ name: string; value: number }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 8) {
        values[i] = { name: str(at), value: kindFlag ? s32(at + 4) : u32(at + 4) };
      }
      return { kind: 'enum', id, name, size: u32(sizeOrType), signed: kindFlag, values };
    }
    case KIND.ENUM64: {
      const values = new Array<{ name: string; value: bigint }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12) {
        const raw = (BigInt(u32(at + 8)) << 32n) | BigInt(u32(at + 4));
        values[i] = { name: str(at), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
      }
      return { kind: 'enum64', id, name, size: u32(sizeOrType), signed: kindFlag, values };
    }
    case KIND.FWD:
      return { kind: 'fwd', id, name, fwdKind: kindFlag ? 'union' : 'struct' };
    case KIND.TYPEDEF:
      return { kind: 'typedef', id, name, type: ref(sizeOrType) };
    case KIND.VOLATILE:
      return { kind: 'volatile', id, name, type: ref(sizeOrType) };
    case KIND.CONST:
      return { kind: 'const', id, name, type: ref(sizeOrType) };
    case KIND.RESTRICT:
      return { kind: 'restrict', id, name, type: ref(sizeOrType) };
    case KIND.FUNC:
      return { kind: 'func', id, name, type: ref(sizeOrType), linkage: linkage(vlen, offset + 4) };
    case KIND.FUNC_PROTO: {
      const params = new Array<{ name: string; type: TypeId }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 8) params[i] = { name: str(at), type: ref(at + 4) };
      return { kind: 'func_proto', id, name, returnType: ref(sizeOrType), params };
    }
    case KIND.VAR:
      return { kind: 'var', id, name, type: ref(sizeOrType), linkage: linkage(u32(extra), extra) };
    case KIND.DATASEC: {
      const vars = new Array<{ type: TypeId; offset: number; size: number }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12) vars[i] = { type: ref(at), offset: u32(at + 4), size: u32(at + 8) };
      return { kind: 'datasec', id, name, size: u32(sizeOrType), vars };
    }
    case KIND.FLOAT:
      return { kind: 'float', id, name, size: u32(sizeOrType) };
    case KIND.DECL_TAG: {
      const componentIndex = s32(extra);
      if (componentIndex < -1) throw fail(`decl tag component index ${componentIndex} is below -1`, extra);
      return { kind: 'decl_tag', id, name, type: ref(sizeOrType), componentIndex, attribute: kindFlag };
    }
    case KIND.TYPE_TAG:
      return { kind: 'type_tag', id, name, type: ref(sizeOrType), attribute: kindFlag };
    default:
      throw fail(`unknown BTF kind ${kind}`, offset + 4);
  }
}
