// USDT parsing errors: the probes come from an ELF note, so the error is an ElfError that also
// names the probe and, for argument specs, the text and the argument that did not parse.
import { ElfError, type ElfErrorDetails } from '../elf/index.js';

/** Where a UsdtError was found: the ELF location plus the probe and its argument text. */
export interface UsdtErrorDetails extends ElfErrorDetails {
  /** "provider:name" of the probe, when known. */
  probe?: string;
  /** The argument spec text, when the problem is in it. */
  args?: string;
}

export class UsdtError extends ElfError {
  readonly probe: string | undefined;
  readonly args: string | undefined;

  /** Creates the error; the probe and argument text in `details` are appended to the message. */
  constructor(message: string, details: UsdtErrorDetails = {}, options?: { cause?: unknown }) {
    const what = [
      details.probe !== undefined ? `probe ${details.probe}` : '',
      details.args !== undefined ? `arguments "${details.args}"` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(what ? `${message} [${what}]` : message, details, options);
    this.name = 'UsdtError';
    this.probe = details.probe;
    this.args = details.args;
  }
}
