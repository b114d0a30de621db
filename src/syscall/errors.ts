// The syscall layer's error checking. SyscallError itself lives with the shared error model (pure).
import { SyscallError } from '../errors/syscall-error.js';

export { errnoName } from '../errors/errno.js';
export { SyscallError };

/** Throws a SyscallError when `ret` is a negative errno, else returns it. */
export function check(command: string, ret: number, detail?: string): number {
  if (ret < 0) throw new SyscallError(command, -ret, detail);
  return ret;
}
