/** A kernel object (program, map, link, BTF) could not be found, opened or queried as asked. */
export class KernelObjectError extends Error {
  override name = 'KernelObjectError';
  /** Stable code: 'ENOENT' style errno names from the kernel, or 'BAD_TARGET' for bad input. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
