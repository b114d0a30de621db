// One error model for the whole library. Every error it throws is an EbpfError with a stable
// `code` (as Node's own errors have) and, where one error caused another, a `cause`: callers test
// `code` or the class, never the message, and the helpers below walk the cause chain the way Go's
// errors.Is/As do, so a wrapped kernel refusal is still found. Pure: no native code is reached.

/** Options every EbpfError accepts. */
export interface EbpfErrorOptions {
  /** The error that led to this one (a kernel refusal, a parse error deeper down). */
  readonly cause?: unknown;
}

/** The base class of every error the library throws. */
export class EbpfError extends Error {
  /**
   * A stable, machine-readable code: `ERR_<AREA>` for the library's own errors (`ERR_ELF`,
   * `ERR_LOADER`, `ERR_NOT_SUPPORTED`, ...), the errno name for a refusal by the kernel (`ENOENT`).
   */
  readonly code: string;

  /** Creates an error with stable `code` (such as "ERR_MAP"); `options.cause` is the underlying error. */
  constructor(code: string, message: string, options?: EbpfErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The running kernel (or its configuration, or the device) lacks what was asked for. `feature`
 * names it the way the feature probes do ("map_type/arena", "netkit"); `minimumKernel` is the
 * first upstream release that has it, when one does; `what` says what was being done.
 */
export class NotSupportedError extends EbpfError {
  readonly feature: string;
  readonly minimumKernel: string | undefined;

  /** Creates the error for `feature`, which came in Linux `minimumKernel` (if known); `what` is the operation that needed it. */
  constructor(feature: string, minimumKernel: string | undefined, what?: string, options?: EbpfErrorOptions) {
    super(
      'ERR_NOT_SUPPORTED',
      `${what ? `${what}: ` : ''}${feature} is not supported by this kernel${minimumKernel ? ` (it came in Linux ${minimumKernel})` : ''}`,
      options,
    );
    this.feature = feature;
    this.minimumKernel = minimumKernel;
  }
}

/** The errors in `e`'s cause chain, `e` first. Stops at cycles and after 32 links. */
export function* causeChain(e: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let cur: unknown = e, n = 0; cur !== undefined && cur !== null && !seen.has(cur) && n < 32; n++) {
    yield cur;
    seen.add(cur);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
}

/** The first error in `e`'s cause chain that is an instance of `type`, like Go's errors.As. */
export function findCause<T extends Error>(e: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (const c of causeChain(e)) if (c instanceof type) return c;
  return undefined;
}

interface WithErrno {
  readonly errno: number;
  readonly code: string;
}

function hasErrno(e: unknown): e is WithErrno {
  return e instanceof Error && typeof (e as Partial<WithErrno>).errno === 'number' && typeof (e as Partial<WithErrno>).code === 'string';
}

/**
 * The errno name of the first kernel refusal in `e`'s cause chain ("ENOENT", "EPERM"), or
 * undefined when no system call failed. Works for this library's SyscallError and Node's own
 * system errors alike.
 */
export function errnoOf(e: unknown): string | undefined {
  for (const c of causeChain(e)) if (hasErrno(c)) return c.code;
  return undefined;
}

const NOT_SUPPORTED_ERRNOS = new Set(['EOPNOTSUPP', 'ENOTSUPP', 'ENOSYS']);

/** Whether `e`, or anything that caused it, says the kernel lacks the feature. */
export function isNotSupported(e: unknown): boolean {
  for (const c of causeChain(e)) {
    if (c instanceof NotSupportedError) return true;
    if (hasErrno(c) && NOT_SUPPORTED_ERRNOS.has(c.code)) return true;
  }
  return false;
}
