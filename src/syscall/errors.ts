// The syscall layer's error checking. SyscallError itself lives with the shared error model (pure);
// what only this layer can know (the process's capabilities) refines its hint here.
import { SyscallError } from '../errors/syscall-error.js';
import { Errno } from '../errors/errno.js';
import { mapPermissionHint } from './capabilities.js';

export { errnoName } from '../errors/errno.js';
export { SyscallError };

/** Throws a SyscallError when `ret` is a negative errno, else returns it. */
export function check(command: string, ret: number, detail?: string): number {
  if (ret < 0) {
    const hint = -ret === Errno.EPERM && command.startsWith('BPF_MAP') ? mapPermissionHint() : undefined;
    throw new SyscallError(command, -ret, detail, hint);
  }
  return ret;
}
