// The `.ksyms` DATASEC as the kernel accepts it. Clang lists kfunc declarations (FUNCs) and
// typeless externs (VARs of type void) in it, which BTF_LOAD refuses, as it refuses FUNC_PROTO
// parameters without names. As libbpf does: every VAR of .ksyms becomes a 4-byte int at its own
// offset, every FUNC entry points at one added dummy int VAR, and unnamed parameters of the
// kfuncs' prototypes get that VAR's name. Type ids and string offsets stay as they were (types and
// strings are only appended), so .BTF.ext and map type ids remain valid.
import { parseBtf, type Btf } from '../../btf/index.js';

const HEADER_TYPE_LEN = 12;
const HEADER_STR_OFF = 16;
const HEADER_STR_LEN = 20;
const KIND_INT = 1;
const KIND_VAR = 14;
const VAR_GLOBAL_ALLOCATED = 1;
const DUMMY = 'dummy_ksym';

export function fixKsymsBtf(btf: Btf): Btf {
  const datasec = btf.findType('.ksyms', 'datasec');
  if (!datasec || btf.base !== undefined) return btf;
  const le = btf.littleEndian;
  const h = btf.header;

  // Appended: maybe an int, then the dummy VAR; their names go at the end of the strings.
  let intId = 0;
  for (let id = btf.firstTypeId; id <= btf.lastTypeId && intId === 0; id++) {
    const t = btf.kindOf(id) === 'int' ? btf.typeById(id) : undefined;
    if (t?.kind === 'int' && t.size === 4 && t.bits === 32) intId = id;
  }
  const newStrings: string[] = [];
  const addString = (s: string): number => {
    const at = h.stringLength + newStrings.reduce((n, x) => n + Buffer.byteLength(x) + 1, 0);
    newStrings.push(s);
    return at;
  };
  const extraTypes: number[] = [];
  let nextId = btf.lastTypeId + 1;
  if (intId === 0) {
    intId = nextId++;
    extraTypes.push(addString('int'), (KIND_INT << 24) >>> 0, 4, (1 << 24) | 32 /* signed, 32 bits */);
  }
  const dummyName = addString(DUMMY);
  const dummyId = nextId++;
  extraTypes.push(dummyName, (KIND_VAR << 24) >>> 0, intId, VAR_GLOBAL_ALLOCATED);

  const typeEnd = h.typeStart + h.typeLength;
  const stringBytes = Buffer.from(newStrings.map((s) => `${s}\0`).join(''), 'utf8');
  const out = new Uint8Array(typeEnd + extraTypes.length * 4 + h.stringLength + stringBytes.length);
  out.set(btf.bytes.subarray(0, typeEnd));
  const view = new DataView(out.buffer);
  extraTypes.forEach((w, i) => view.setUint32(typeEnd + i * 4, w >>> 0, le));
  const stringStart = typeEnd + extraTypes.length * 4;
  out.set(btf.bytes.subarray(h.stringStart, h.stringStart + h.stringLength), stringStart);
  out.set(stringBytes, stringStart + h.stringLength);
  view.setUint32(HEADER_TYPE_LEN, h.typeLength + extraTypes.length * 4, le);
  view.setUint32(HEADER_STR_OFF, stringStart - h.headerLength, le);
  view.setUint32(HEADER_STR_LEN, h.stringLength + stringBytes.length, le);

  const at = btf.recordOffset(datasec.id);
  datasec.vars.forEach((v, i) => {
    const t = btf.typeById(v.type);
    const entry = at + 12 + i * 12;
    if (t.kind === 'func') {
      view.setUint32(entry, dummyId, le);
      const proto = btf.typeById(t.type);
      if (proto.kind === 'func_proto') {
        const p = btf.recordOffset(proto.id);
        proto.params.forEach((param, j) => {
          if (param.name === '' && param.type !== 0) view.setUint32(p + 12 + j * 8, dummyName, le);
        });
      }
    } else if (t.kind === 'var') {
      const r = btf.recordOffset(t.id);
      view.setUint32(r + 8, intId, le);
      view.setUint32(r + 12, VAR_GLOBAL_ALLOCATED, le);
    }
    view.setUint32(entry + 4, i * 4, le);
    view.setUint32(entry + 8, 4, le);
  });
  view.setUint32(at + 8, datasec.vars.length * 4, le);
  return parseBtf(out);
}
