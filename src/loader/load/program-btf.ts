// The collection's BTF as the kernel gets it: the object's blob as it is when the kernel knows
// every kind in it, else marshalled with kinds the kernel lacks rewritten and the strings
// line_info records name added to its string table; loaded with BTF_LOAD. Plus the
// func_info and line_info record bytes of each program, which refer to that blob.
import { downgradeType, marshalBtf, StringTableBuilder, type Btf, type BtfFeatures } from '../../btf/index.js';
import { btfLoadRaw, NativeMemory, SyscallError } from '../../syscall/index.js';
import type { ProgramSpecEntry } from '../spec/types.js';
import { recordStringOffsets } from '../spec/record-strings.js';
import { btfFeatures } from './btf-features.js';
import { HOST_LITTLE_ENDIAN } from '../../host.js';

const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;

export interface LoadedBtf {
  readonly fd: number;
  funcInfo(program: ProgramSpecEntry): { recSize: number; bytes: Uint8Array } | undefined;
  lineInfo(program: ProgramSpecEntry): { recSize: number; bytes: Uint8Array } | undefined;
}

/** Builds and loads the blob; throws SyscallError (with the kernel's BTF log) when it is refused. */
export function loadProgramBtf(btf: Btf, programs: readonly ProgramSpecEntry[]): LoadedBtf {
  const features = btfFeatures();
  // The object's own blob goes to the kernel as it is when the kernel knows every kind in it and
  // the line records' strings are all in it (they are, unless someone edited them): no decoding
  // and encoding again of every type, as libbpf loads its in-place-fixed blob.
  const own = loadableAsIs(btf, features) ? stringOffsets(btf, programs) : undefined;
  const strings = own === undefined ? new StringTableBuilder() : undefined;
  if (strings !== undefined) {
    for (const p of programs) {
      for (const l of p.lineInfos) {
        strings.add(l.fileName);
        strings.add(l.line);
      }
    }
  }
  const offsetOf = (text: string): number => own?.get(text) ?? strings!.add(text);
  const blob = strings === undefined ? btf.bytes : marshalBtf(btf, strings, { features });
  const fd = loadBlob(blob);
  return {
    fd,
    funcInfo(p) {
      if (p.funcInfos.length === 0) return undefined;
      // Host order, as the kernel reads them; words written through one typed view.
      const words = new Uint32Array(p.funcInfos.length * 2);
      let at = 0;
      for (const f of p.funcInfos) {
        words[at++] = f.insnOffset;
        words[at++] = f.typeId;
      }
      return { recSize: FUNC_INFO_SIZE, bytes: new Uint8Array(words.buffer) };
    },
    lineInfo(p) {
      if (p.lineInfos.length === 0 || p.funcInfos.length === 0) return undefined;
      const words = new Uint32Array(p.lineInfos.length * 4);
      let at = 0;
      for (const l of p.lineInfos) {
        words[at++] = l.insnOffset;
        words[at++] = offsetOf(l.fileName);
        words[at++] = offsetOf(l.line);
        words[at++] = (l.lineNumber << 10) | (l.column & 0x3ff);
      }
      return { recSize: LINE_INFO_SIZE, bytes: new Uint8Array(words.buffer) };
    },
  };
}

/** Whether the kernel takes this blob unchanged: host byte order and no kind it would need rewritten. */
function loadableAsIs(btf: Btf, features: BtfFeatures): boolean {
  if (btf.littleEndian !== HOST_LITTLE_ENDIAN || btf.base !== undefined) return false;
  for (let id = btf.firstTypeId; id <= btf.lastTypeId; id++) {
    switch (btf.kindOf(id)) {
      case 'enum':
      case 'enum64':
      case 'decl_tag':
      case 'type_tag':
      case 'float':
      case 'func':
      case 'var':
      case 'datasec':
        if (downgradeType(btf.typeById(id), features) !== btf.typeById(id)) return false;
    }
  }
  return true;
}

/** Offsets of the strings line records name, in the object's own string table; undefined if one is missing. */
function stringOffsets(btf: Btf, programs: readonly ProgramSpecEntry[]): ReadonlyMap<string, number> | undefined {
  // Those the parse saw, when every record's strings are among them (records not edited since).
  const known = recordStringOffsets(btf);
  if (known !== undefined && programs.every((p) => p.lineInfos.every((l) => known.has(l.fileName) && known.has(l.line)))) return known;
  // Only table entries as long (in UTF-8 bytes) as a wanted string are decoded: the table holds
  // every type and member name too, and decoding them all cost more than the rest of this file.
  // The distinct strings first: records repeat them (every record names its file), and a
  // Buffer.byteLength call per record cost more than the scan of the table.
  const wanted = new Set<string>();
  for (const p of programs) {
    for (const l of p.lineInfos) {
      wanted.add(l.fileName);
      wanted.add(l.line);
    }
  }
  const lengths = new Set<number>();
  for (const text of wanted) lengths.add(Buffer.byteLength(text));
  const table = btf.strings.ownBytes;
  const bytes = Buffer.from(table.buffer, table.byteOffset, table.length);
  const offsets = new Map<string, number>();
  for (let at = 0; at < bytes.length;) {
    let end = bytes.indexOf(0, at);
    if (end < 0) end = bytes.length;
    if (lengths.has(end - at)) {
      const text = bytes.toString('utf8', at, end);
      if (!offsets.has(text)) offsets.set(text, at);
    }
    at = end + 1;
  }
  for (const text of wanted) if (!offsets.has(text)) return undefined;
  return offsets;
}

function loadBlob(blob: Uint8Array): number {
  const first = btfLoadRaw(blob);
  if (first.ret >= 0) return first.ret;
  const log = new NativeMemory(1 << 20);
  try {
    const again = btfLoadRaw(blob, log, 1);
    if (again.ret >= 0) return again.ret;
    const tail = again.log.trimEnd().split('\n').slice(-6).join('\n  ');
    throw new SyscallError('BPF_BTF_LOAD', -again.ret, `the object's BTF was refused${tail ? `:\n  ${tail}` : ''}`);
  } finally {
    log.free();
  }
}
