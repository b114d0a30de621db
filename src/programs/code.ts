// A loaded program's code as the kernel holds it: the translated (xlated) instructions after the
// verifier's rewrites, and the JIT's machine code. Two BPF_OBJ_GET_INFO_BY_FD calls each: one for
// the length, one with a buffer of that length.
import { ProgInfoLayout as L } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import { decodeInstructions, formatProgram, type Instruction } from '../asm/index.js';

function codeBytes(fd: number, lengthField: number, pointerField: number): Buffer {
  const { info } = objGetInfo(fd, L.size);
  const length = info.readUInt32LE(lengthField);
  if (length === 0) return Buffer.alloc(0);
  const { info: again, extra } = objGetInfo(fd, L.size, length, (i, address) => {
    i.writeUInt32LE(length, lengthField);
    i.writeBigUInt64LE(BigInt(address), pointerField);
  });
  // The kernel reports the length it has; a program cannot change, so it is the one we offered.
  return extra.subarray(0, Math.min(length, again.readUInt32LE(lengthField)));
}

/**
 * The translated instructions' bytes: the program after the verifier rewrote it (context accesses,
 * helper calls inlined, map fds replaced by map ids). Empty when the kernel hides them
 * (kernel.kptr_restrict or bpf_dump_raw_ok() refusing: not root).
 */
export function translatedBytes(fd: number): Buffer {
  return codeBytes(fd, L.xlated_prog_len, L.xlated_prog_insns);
}

/** The JIT's machine code for the whole program (all subprograms, in order); empty without a JIT. */
export function jitedBytes(fd: number): Buffer {
  return codeBytes(fd, L.jited_prog_len, L.jited_prog_insns);
}

export function translatedInstructions(fd: number): Instruction[] {
  return decodeInstructions(translatedBytes(fd));
}

/** The translated program as text, one instruction a line, in this library's assembler syntax. */
export function disassembleTranslated(fd: number): string {
  return formatProgram(translatedInstructions(fd));
}
