import { EbpfError } from '../errors/index.js';
/** Where in the input an assembler error was found. Text positions are 1-based. */
export interface AsmErrorLocation {
  /** 1-based line in assembly text. */
  line?: number;
  /** 1-based column in assembly text. */
  column?: number;
  /** Index into the instruction list (lddw counts once). */
  instruction?: number;
  /** Byte offset into encoded bytecode. */
  byteOffset?: number;
}

/**
 * The single error type thrown by the assembler, disassembler, encoder, decoder and builder.
 * The message already includes the location, so `String(err)` is enough for a user.
 */
export class AsmError extends EbpfError {
  readonly line?: number;
  readonly column?: number;
  readonly instruction?: number;
  readonly byteOffset?: number;
  /** The message without the location prefix. */
  readonly detail: string;

  /** Creates the error; `detail` is the problem, `location` where it is (prefixed to the message). */
  constructor(detail: string, location: AsmErrorLocation = {}) {
    super('ERR_ASM', prefix(location) + detail);
    this.name = 'AsmError';
    this.detail = detail;
    this.line = location.line;
    this.column = location.column;
    this.instruction = location.instruction;
    this.byteOffset = location.byteOffset;
  }
}

function prefix(loc: AsmErrorLocation): string {
  const parts: string[] = [];
  if (loc.line !== undefined) parts.push(loc.column !== undefined ? `${loc.line}:${loc.column}` : `line ${loc.line}`);
  if (loc.instruction !== undefined) parts.push(`instruction ${loc.instruction}`);
  if (loc.byteOffset !== undefined) parts.push(`byte offset ${loc.byteOffset}`);
  return parts.length > 0 ? parts.join(', ') + ': ' : '';
}
