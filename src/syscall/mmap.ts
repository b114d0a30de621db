import { libc, bufferAt } from './libc.js';
import { check } from './errors.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;

/** A shared mapping of a file descriptor (ring buffers, perf rings, mmapable arrays). */
export class MappedRegion {
  readonly address: number;
  readonly length: number;
  readonly buffer: Buffer;
  #unmapped = false;

  constructor(fd: number, length: number, prot: number, offset = 0, flags = MAP_SHARED) {
    this.length = length;
    this.address = check('mmap', libc.mmap(0, length, prot, flags, fd, offset), `fd ${fd}, ${length} bytes at offset ${offset}`);
    this.buffer = bufferAt(this.address, length);
  }

  get unmapped(): boolean {
    return this.#unmapped;
  }

  unmap(): void {
    if (this.#unmapped) return;
    this.#unmapped = true;
    check('munmap', libc.munmap(this.address, this.length));
  }

  [Symbol.dispose](): void {
    this.unmap();
  }
}

/**
 * Maps a file read-only and privately, and unmaps it only once the bytes are unreachable: every
 * view of them (subarray, DataView, typed array) holds their ArrayBuffer, so when that is
 * collected nothing can read the memory any more. For data parsed lazily and kept by whoever
 * holds it, such as kernel BTF.
 */
export function mapFileForReading(fd: number, length: number): Buffer {
  const address = check('mmap', libc.mmap(0, length, PROT_READ, MAP_PRIVATE, fd, 0), `fd ${fd}, ${length} bytes`);
  const bytes = bufferAt(address, length);
  unmapWhenCollected.register(bytes.buffer, { address, length });
  return bytes;
}

const unmapWhenCollected = new FinalizationRegistry<{ address: number; length: number }>(({ address, length }) => {
  libc.munmap(address, length);
});
