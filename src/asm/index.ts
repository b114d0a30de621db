// Public surface of the assembler: pure functions from bytes/text to instructions and back.
export { AsmError, type AsmErrorLocation } from './errors.js';
export * from './opcodes.js';
export { type Instruction, type ByteOrder, instructionSlots, slotOffsets, isLddw, lddwValue } from './instruction.js';
export { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, MAX_REGISTER, type Register, isRegister } from './registers.js';
export { Size } from './size.js';
export { encodeInstructions } from './encode.js';
export { decodeInstructions } from './decode.js';
export { ProgramBuilder } from './builder.js';
export { type Target } from './forms.js';
export { ALU_BINARY, JUMP_CONDITIONS, ATOMIC_RMW, type AluBinaryOp, type JumpCondition, type AtomicOp } from './operations.js';
export { Helper, type HelperId, type HelperName, helperByName, helperName } from './helpers.js';
export { resolveLabels } from './resolve.js';
export { mapReferences, bindMapReferences, type MapReference } from './map-references.js';
export { prelinkInstructions, bindPrelinked, type PrelinkedInstructions, type PrelinkSite } from './prelink.js';
export { disassemble, formatInstruction, formatProgram, type DisassembleOptions } from './disassemble.js';
export { assemble, assembleInstructions } from './assemble.js';
