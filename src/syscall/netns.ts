// Network namespaces: run code with this thread inside another namespace, then come back.
import { libc } from './libc.js';
import { check } from './errors.js';
import { placeString, scratch } from './memory.js';

const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;

/** Opens `path` read-only with O_CLOEXEC (add O_DIRECTORY etc. through `flags`). */
export function openPath(path: string, flags = 0): number {
  const mem = scratch(Buffer.byteLength(path) + 1);
  return check('open', libc.open(placeString(mem, 0, path), O_RDONLY | O_CLOEXEC | flags, 0), path);
}

/**
 * Runs `fn` with the calling thread in the network namespace at `path` (for example
 * /var/run/netns/NAME or /proc/PID/ns/net), then returns to the original one, also on error.
 * Sockets (netlink included) opened inside stay in that namespace. Only the calling thread moves:
 * keep `fn` synchronous.
 */
export function inNetns<T>(path: string, fn: () => T): T {
  const home = openPath('/proc/thread-self/ns/net');
  try {
    const target = openPath(path);
    try {
      check('setns', libc.setns(target, CLONE_NEWNET), path);
    } finally {
      libc.close(target);
    }
    try {
      return fn();
    } finally {
      check('setns', libc.setns(home, CLONE_NEWNET), 'back to the original network namespace');
    }
  } finally {
    libc.close(home);
  }
}
