// The one error type the object loader throws for a bad or unsupported object: it names where in
// the object the problem is (file, section, symbol, offset) and, where one helps, what to do.
import { EbpfError } from './ebpf-error.js';

/** Where in an object file a loader error happened. */
export interface LoaderErrorDetails {
  /** The object's name (its path, or the `name` option). */
  file?: string;
  section?: string;
  symbol?: string;
  /** Byte offset inside `section` (for instructions: the instruction's byte offset). */
  offset?: number;
  hint?: string;
}

export class LoaderError extends EbpfError {
  override name = 'LoaderError';
  readonly file: string | undefined;
  readonly section: string | undefined;
  readonly symbol: string | undefined;
  readonly offset: number | undefined;
  readonly hint: string | undefined;

  /** Creates the error; `details` (file, section, symbol, offset, ...) say where in the object it happened. */
  constructor(message: string, details: LoaderErrorDetails = {}, options?: { cause?: unknown }) {
    const where: string[] = [];
    if (details.file !== undefined) where.push(details.file);
    if (details.section !== undefined) where.push(`section ${JSON.stringify(details.section)}`);
    if (details.symbol !== undefined) where.push(`symbol ${JSON.stringify(details.symbol)}`);
    if (details.offset !== undefined) where.push(`offset 0x${details.offset.toString(16)}`);
    let text = where.length > 0 ? `${message} (${where.join(', ')})` : message;
    if (details.hint !== undefined) text += `; ${details.hint}`;
    super('ERR_LOADER', text, options);
    this.file = details.file;
    this.section = details.section;
    this.symbol = details.symbol;
    this.offset = details.offset;
    this.hint = details.hint;
  }
}

/** Where an error is raised: the object's name plus whatever the caller knows. */
export type ErrorContext = (message: string, details?: Omit<LoaderErrorDetails, 'file'>, cause?: unknown) => LoaderError;

/** An ErrorContext whose LoaderErrors all name `file`. */
export function errorContext(file: string): ErrorContext {
  return (message, details = {}, cause) => new LoaderError(message, { ...details, file }, cause === undefined ? undefined : { cause });
}
