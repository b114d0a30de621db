// ebpf: a pure-TypeScript eBPF toolchain for Node.js. The public API.

// Assembler: instruction model, builder, encoder/decoder, text assembler and disassembler.
export * from './asm/index.js';

// Kernel constants (map, program and attach types; flags).
export {
  AttachType, BpfCommand, MapFlags, MapType, ObjectFlags, ProgramAttachFlags, ProgramFlags,
  ProgramType, TestRunFlags, UpdateFlags,
} from './uapi/bpf.js';

// Fixed-layout codecs for map keys and values.
export * from './codec/index.js';

// Maps, programs, links.
export { BpfMap, MapError, mapTypeOf, onlineCpus, possibleCpus } from './maps/index.js';
export type { MapCodecs, MapInfo, MapSpec, MapTypeName, RawInput } from './maps/index.js';
export { Program, ProgramError, VerifierError, linkInstructions, programTypeOf } from './programs/index.js';
export type { LoadOptions, MapFdSource, ProgramInfo, ProgramSpec, ProgramTypeName, TestRunOptions, TestRunResult } from './programs/index.js';
export { BpfLink, Link, LinkError } from './links/index.js';
export type { LinkInfo } from './links/index.js';

// Readers of ring buffers and perf event arrays.
export { PerfEventArrayReader, ReaderError, RingBufferReader } from './readers/index.js';
export type { PerfReaderOptions, RingBufferMap } from './readers/index.js';

// Errors from the kernel.
export { SyscallError, errnoName } from './syscall/errors.js';
