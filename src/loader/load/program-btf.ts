// The collection's BTF as the kernel gets it: marshalled with kinds the kernel lacks rewritten,
// the strings line_info records name added to its string table, loaded with BTF_LOAD. Plus the
// func_info and line_info record bytes of each program, which refer to that blob.
import { marshalBtf, StringTableBuilder, type Btf } from '../../btf/index.js';
import { btfLoadRaw, NativeMemory, SyscallError } from '../../syscall/index.js';
import type { ProgramSpecEntry } from '../spec/types.js';
import { btfFeatures } from './btf-features.js';

const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;

export interface LoadedBtf {
  readonly fd: number;
  funcInfo(program: ProgramSpecEntry): { recSize: number; bytes: Uint8Array } | undefined;
  lineInfo(program: ProgramSpecEntry): { recSize: number; bytes: Uint8Array } | undefined;
}

/** Builds and loads the blob; throws SyscallError (with the kernel's BTF log) when it is refused. */
export function loadProgramBtf(btf: Btf, programs: readonly ProgramSpecEntry[]): LoadedBtf {
  const strings = new StringTableBuilder();
  for (const p of programs) {
    for (const l of p.lineInfos) {
      strings.add(l.fileName);
      strings.add(l.line);
    }
  }
  const blob = marshalBtf(btf, strings, { features: btfFeatures() });
  const fd = loadBlob(blob);
  return {
    fd,
    funcInfo(p) {
      if (p.funcInfos.length === 0) return undefined;
      const bytes = Buffer.alloc(p.funcInfos.length * FUNC_INFO_SIZE);
      p.funcInfos.forEach((f, i) => {
        bytes.writeUInt32LE(f.insnOffset, i * FUNC_INFO_SIZE);
        bytes.writeUInt32LE(f.typeId, i * FUNC_INFO_SIZE + 4);
      });
      return { recSize: FUNC_INFO_SIZE, bytes };
    },
    lineInfo(p) {
      if (p.lineInfos.length === 0 || p.funcInfos.length === 0) return undefined;
      const bytes = Buffer.alloc(p.lineInfos.length * LINE_INFO_SIZE);
      p.lineInfos.forEach((l, i) => {
        const at = i * LINE_INFO_SIZE;
        bytes.writeUInt32LE(l.insnOffset, at);
        bytes.writeUInt32LE(strings.add(l.fileName), at + 4);
        bytes.writeUInt32LE(strings.add(l.line), at + 8);
        bytes.writeUInt32LE(((l.lineNumber << 10) | (l.column & 0x3ff)) >>> 0, at + 12);
      });
      return { recSize: LINE_INFO_SIZE, bytes };
    },
  };
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
