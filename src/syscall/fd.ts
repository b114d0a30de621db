import { libc } from './libc.js';
import { check } from './errors.js';
import { scratch } from './memory.js';

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

/** setsockopt with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number, what = 'setsockopt'): void {
  const mem = scratch(4);
  mem.buffer.writeInt32LE(value, 0);
  check(what, libc.setsockopt(fd, level, name, mem.address, 4), `fd ${fd}`);
}
