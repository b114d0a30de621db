import { libc } from './libc.js';
import { check } from './errors.js';

/** Closes a file descriptor; closing an already closed one is an error worth knowing about. */
export function closeFd(fd: number): void {
  check('close', libc.close(fd), `fd ${fd}`);
}

/** Duplicates `fd` with FD_CLOEXEC set. */
export function dupFd(fd: number): number {
  const F_DUPFD_CLOEXEC = 1030;
  return check('fcntl(F_DUPFD_CLOEXEC)', libc.fcntl(fd, F_DUPFD_CLOEXEC, 0), `fd ${fd}`);
}

export function ioctl(fd: number, request: number, arg: number, what = 'ioctl'): number {
  return check(what, libc.ioctl(fd, request, arg), `fd ${fd}`);
}
