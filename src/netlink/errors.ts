// Errors of the netlink layer: the kernel refusing a request, and bytes that do not parse.
import { errnoName, SyscallError } from '../errors/index.js';
import { EbpfError } from '../errors/index.js';

/**
 * Reply bytes that do not hold what their headers claim (truncated, lengths out of range, an
 * attribute of the wrong size). Parsing throws this, never a TypeError or RangeError.
 */
export class NetlinkParseError extends EbpfError {
  override name = 'NetlinkParseError';
  /** Byte offset of the problem within the buffer being parsed. */
  readonly offset: number;

  /** Creates the error; `what` was malformed at byte `offset`. */
  constructor(what: string, offset: number) {
    super('ERR_NETLINK_PARSE', `malformed netlink data: ${what} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** What the kernel said when it refused a request: errno plus its extended-ack details. */
export interface KernelRefusal {
  errno: number;
  /** errno by name, for example "EOPNOTSUPP". */
  code: string;
  /** The kernel's human-readable reason (NLMSGERR_ATTR_MSG), when it gave one. */
  extack: string | undefined;
  /** Offset in our request of the attribute the kernel blamed (NLMSGERR_ATTR_OFFS). */
  extackOffset: number | undefined;
}

/**
 * The kernel refused a netlink request. The message names the operation (with device and mode
 * where there is one), the errno, the kernel's own text, and a hint where one helps.
 */
export class NetlinkError extends SyscallError {
  override name = 'NetlinkError';
  /** What we asked for, for example `attach XDP program "count" to veth0 (native, netlink)`. */
  readonly operation: string;
  readonly extack: string | undefined;
  readonly extackOffset: number | undefined;

  /** Creates the error for netlink `operation`, refused with `errno`; `extack` is the kernel's own message and `extackOffset` the offending attribute's offset. */
  constructor(operation: string, errno: number, extack?: string, hint?: string, extackOffset?: number) {
    // An empty hint suppresses SyscallError's bpf-flavoured defaults, which would mislead here.
    super(operation, errno, extack ? `kernel says: "${extack}"` : undefined, hint ?? '');
    this.operation = operation;
    this.extack = extack;
    this.extackOffset = extackOffset;
  }

  /** The refusal without the message, for hint functions and callers that branch on it. */
  get refusal(): KernelRefusal {
    return { errno: this.errno, code: this.code, extack: this.extack, extackOffset: this.extackOffset };
  }
}

/** A KernelRefusal for `errno`, with its name and the kernel's extended ack message and offset, if any. */
export function refusal(errno: number, extack?: string, extackOffset?: number): KernelRefusal {
  return { errno, code: errnoName(errno), extack, extackOffset };
}
