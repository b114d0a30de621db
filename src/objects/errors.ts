import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/**
 * A kernel object (program, map, link, BTF) could not be found, opened or queried as asked. `code`
 * is the kernel's errno name where it refused, or 'BAD_TARGET' for bad input.
 */
export class KernelObjectError extends EbpfError {
  /** Creates the error with `message` and `code` (an errno name, or BAD_TARGET). */
  constructor(message: string, code: string, options?: EbpfErrorOptions) {
    super(code, message, options);
  }
}
