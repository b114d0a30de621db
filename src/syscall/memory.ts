// Native memory for everything the kernel reads through a pointer: attribute structs, keys, values,
// instructions, logs. JS Buffers may move or live on the V8 heap, so their addresses cannot be handed
// to the kernel; anonymous mmap regions have fixed addresses and a Buffer view over them costs nothing.
import { addressOf, libc, bufferAt } from './libc.js';
import { check } from './errors.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_PRIVATE = 2;
const MAP_ANONYMOUS = 0x20;
export const PAGE_SIZE = 4096;

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** A region of native memory with a fixed address and a Buffer view. Free it with `free()`. */
export class NativeMemory {
  readonly address: number;
  readonly length: number;
  readonly buffer: Buffer;
  #freed = false;

  constructor(length: number) {
    this.length = roundUp(Math.max(length, 1), PAGE_SIZE);
    this.address = check('mmap', libc.mmap(0, this.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    this.buffer = bufferAt(this.address, this.length);
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    libc.munmap(this.address, this.length);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/**
 * Memory the garbage collector owns (one ArrayBuffer, whose backing store V8 never moves) and whose
 * address the kernel may be given: the kernel writes straight into memory JavaScript reads, with no
 * copy, and nothing to free by hand (views over it keep it alive). Only for calls made
 * synchronously while the region is referenced; a detached buffer (transferred to another thread)
 * has length 0, which `live` reports.
 */
export class HeapRegion {
  /** The region's address: the first byte of `buffer`. */
  readonly address: number;
  /** A view over the whole region. */
  readonly buffer: Buffer;

  constructor(length: number) {
    const ab = new ArrayBuffer(Math.max(length, 8));
    this.buffer = Buffer.from(ab);
    this.address = addressOf(ab);
  }

  /** Whether the memory is still there (its ArrayBuffer was not transferred away). */
  get live(): boolean {
    return this.buffer.length !== 0;
  }
}

// Mapped by the first call that needs it, not at import.
let arena: NativeMemory | undefined;

/**
 * The shared scratch region, grown to at least `size` bytes. Only synchronous code on this thread
 * uses it, one call at a time: fill it, make the call, read the results out before the next call.
 */
export function scratch(size: number): NativeMemory {
  if (arena === undefined || size > arena.length) {
    arena?.free();
    arena = new NativeMemory(roundUp(size, 64 * 1024));
  }
  return arena;
}

/** Write a NUL-terminated string into `mem` at `offset` and return its address. */
export function placeString(mem: NativeMemory, offset: number, text: string): number {
  const n = mem.buffer.write(text, offset, 'utf8');
  mem.buffer[offset + n] = 0;
  return mem.address + offset;
}
