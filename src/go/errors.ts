import { EbpfError } from '../errors/index.js';
/** Thrown when a binary is not a Go binary, is malformed, or has a layout this library refuses. */
export class GoBinaryError extends EbpfError {
  override readonly name = 'GoBinaryError';
  /** Creates the error; `where` names the section or structure the problem was found in. */
  constructor(
    message: string,
    /** Section or structure the problem was found in, e.g. `.gopclntab`. */
    readonly where?: string,
    /** Byte offset inside `where`. */
    readonly offset?: number,
  ) {
    super(
      'ERR_GO_BINARY',
      where === undefined ? message : `${where}${offset === undefined ? '' : `+0x${offset.toString(16)}`}: ${message}`,
    );
  }
}
