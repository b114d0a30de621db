import { EbpfError } from '../errors/index.js';
/** Thrown for malformed or unsupported DWARF; `section` and `offset` say where. */
export class DwarfError extends EbpfError {
  override readonly name = 'DwarfError';
  /** Creates the error; `section` and `offset` say where the problem is. */
  constructor(
    message: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super(
      'ERR_DWARF',
      section === undefined ? message : `${section}${offset === undefined ? '' : `+0x${offset.toString(16)}`}: ${message}`,
    );
  }
}
