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

/**
 * One type's record into its object form. The helpers below take their context as arguments:
 * closures made on every call (once per type) would cost more than the decoding itself.
 */
export function decodeType(src: TypeSource, id: TypeId, offset: number): BtfType {
  const name = str(src, id, offset);
  const info = u32(src, offset + 4);
  const kind = infoKind(info);
  const vlen = infoVlen(info);
  const kindFlag = infoKindFlag(info);
  const sizeOrType = offset + 8;
  const extra = offset + 12;

  switch (kind) {
    case KIND.INT: {
      const enc = u32(src, extra);
      const encoding = (enc >>> 24) & 0x0f;
      const bitOffset = (enc >>> 16) & 0xff;
      const bits = enc & 0xff;
      const size = u32(src, sizeOrType);
      if (bits > 128 || bits === 0 || bitOffset + bits > size * 8) {
        throw fail(id, offset, `int of ${size} bytes has ${bits} bits at bit offset ${bitOffset}`, extra);
      }
      return {
        kind: 'int',
        id,
        name,
        size,
        bitOffset,
        bits,
        signed: (encoding & INT_SIGNED) !== 0,
        char: (encoding & INT_CHAR) !== 0,
        bool: (encoding & INT_BOOL) !== 0,
      };
    }
    case KIND.PTR:
      return { kind: 'ptr', id, name, type: ref(src, id, sizeOrType) };
    case KIND.ARRAY:
      return { kind: 'array', id, name, type: ref(src, id, extra), indexType: ref(src, id, extra + 4), length: u32(src, extra + 8) };
    case KIND.STRUCT:
    case KIND.UNION: {
      const members: Member[] = new Array(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12) {
        const raw = u32(src, at + 8);
        members[i] = {
          name: str(src, id, at),
          type: ref(src, id, at + 4),
          bitOffset: kindFlag ? raw & 0xffffff : raw,
          bitfieldSize: kindFlag ? raw >>> 24 : 0,
        };
      }
      return { kind: kind === KIND.STRUCT ? 'struct' : 'union', id, name, size: u32(src, sizeOrType), members };
    }
    case KIND.ENUM: {
      const values = new Array<{ name: string; value: number }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 8) {
        values[i] = { name: str(src, id, at), value: kindFlag ? s32(src, at + 4) : u32(src, at + 4) };
      }
      return { kind: 'enum', id, name, size: u32(src, sizeOrType), signed: kindFlag, values };
    }
    case KIND.ENUM64: {
      const values = new Array<{ name: string; value: bigint }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12) {
        const raw = (BigInt(u32(src, at + 8)) << 32n) | BigInt(u32(src, at + 4));
        values[i] = { name: str(src, id, at), value: kindFlag ? BigInt.asIntN(64, raw) : raw };
      }
      return { kind: 'enum64', id, name, size: u32(src, sizeOrType), signed: kindFlag, values };
    }
    case KIND.FWD:
      return { kind: 'fwd', id, name, fwdKind: kindFlag ? 'union' : 'struct' };
    case KIND.TYPEDEF:
      return { kind: 'typedef', id, name, type: ref(src, id, sizeOrType) };
    case KIND.VOLATILE:
      return { kind: 'volatile', id, name, type: ref(src, id, sizeOrType) };
    case KIND.CONST:
      return { kind: 'const', id, name, type: ref(src, id, sizeOrType) };
    case KIND.RESTRICT:
      return { kind: 'restrict', id, name, type: ref(src, id, sizeOrType) };
    case KIND.FUNC:
      return { kind: 'func', id, name, type: ref(src, id, sizeOrType), linkage: linkage(id, vlen, offset + 4) };
    case KIND.FUNC_PROTO: {
      const params = new Array<{ name: string; type: TypeId }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 8) params[i] = { name: str(src, id, at), type: ref(src, id, at + 4) };
      return { kind: 'func_proto', id, name, returnType: ref(src, id, sizeOrType), params };
    }
    case KIND.VAR:
      return { kind: 'var', id, name, type: ref(src, id, sizeOrType), linkage: linkage(id, u32(src, extra), extra) };
    case KIND.DATASEC: {
      const vars = new Array<{ type: TypeId; offset: number; size: number }>(vlen);
      for (let i = 0, at = extra; i < vlen; i++, at += 12)
        vars[i] = { type: ref(src, id, at), offset: u32(src, at + 4), size: u32(src, at + 8) };
      return { kind: 'datasec', id, name, size: u32(src, sizeOrType), vars };
    }
    case KIND.FLOAT:
      return { kind: 'float', id, name, size: u32(src, sizeOrType) };
    case KIND.DECL_TAG: {
      const componentIndex = s32(src, extra);
      if (componentIndex < -1) throw fail(id, offset, `decl tag component index ${componentIndex} is below -1`, extra);
      return { kind: 'decl_tag', id, name, type: ref(src, id, sizeOrType), componentIndex, attribute: kindFlag };
    }
    case KIND.TYPE_TAG:
      return { kind: 'type_tag', id, name, type: ref(src, id, sizeOrType), attribute: kindFlag };
    default:
      throw fail(id, offset, `unknown BTF kind ${kind}`, offset + 4);
  }
}

function u32(src: TypeSource, at: number): number {
  return src.view.getUint32(at, src.littleEndian);
}

function s32(src: TypeSource, at: number): number {
  return src.view.getInt32(at, src.littleEndian);
}

/** `at` names the field at fault; without it the error points at the record. */
function fail(id: TypeId, offset: number, message: string, at = offset): BtfError {
  return new BtfError(message, { offset: at, typeId: id });
}

function ref(src: TypeSource, id: TypeId, at: number): TypeId {
  const target = u32(src, at);
  if (target > src.lastId) throw fail(id, at, `refers to type id ${target}, beyond the last id ${src.lastId}`);
  return target;
}

function str(src: TypeSource, id: TypeId, at: number): string {
  return src.strings.get(u32(src, at), id);
}

function linkage(id: TypeId, value: number, at: number): Linkage {
  const l = LINKAGES[value];
  if (l === undefined) throw fail(id, at, `unknown linkage ${value}`);
  return l;
}
