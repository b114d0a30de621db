// Kernel objects a test opens are closed after it, whatever happens.
import { afterEach } from 'vitest';

const open: { close(): void }[] = [];

afterEach(() => {
  closeTracked();
});

/** Registers `x` to be closed after the current test; returns it. */
export function track<T extends { close(): void }>(x: T): T {
  open.push(x);
  return x;
}

/** Closes everything tracked so far, newest first. */
export function closeTracked(): void {
  while (open.length) open.pop()!.close();
}
