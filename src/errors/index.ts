// The error model shared by every layer: the base class, not-supported, cause-chain helpers and
// the errno table. Pure: importing it loads no native code.
export { causeChain, EbpfError, errnoOf, findCause, isNotSupported, NotSupportedError } from './ebpf-error.js';
export type { EbpfErrorOptions } from './ebpf-error.js';
export { Errno, errnoMessage, errnoName } from './errno.js';
export type { ErrnoName } from './errno.js';
export { SyscallError } from './syscall-error.js';
export { errorContext, LoaderError } from './loader-error.js';
export type { ErrorContext, LoaderErrorDetails } from './loader-error.js';
