// The native address of a caller's byte array, so that the kernel reads a key from it or writes a
// value into it directly, with no copy through a slot of our own. Remembered for the last array
// seen: a hot loop that hands the same key or output buffer to every call asks koffi once.
//
// Why the address holds: an ArrayBuffer's memory never moves while it is attached (a small typed
// array whose bytes V8 keeps inside the object is given an ArrayBuffer of its own the first time
// `.buffer` is read, here, and keeps it); detaching (a transfer to another thread) leaves the
// array with length 0 and shrinking a resizable buffer shortens it, and every caller checks the
// array's length against the map's key or value size on every call before using the address.
// The memo holds the last array, so it is not collected while its address is remembered.
import { addressOf } from './libc.js';

const TWO32 = 0x1_0000_0000;

/** The native address of the byte array handed over last (see the file's comment for why it holds). */
export class ByteAddress {
  #array: Uint8Array | undefined;
  // The array seen last, not yet worth an address: asking koffi costs more than copying a few
  // bytes, so an address is taken only for an array handed over twice in a row (a loop's reused
  // buffer); a loop over many arrays keeps copying and never asks.
  #candidate: Uint8Array | undefined;
  /** The address's low and high 32 bits, as the kernel's u64 attr fields take them. */
  lo = 0;
  hi = 0;

  /**
   * Points lo/hi at `bytes`' first byte and returns true, when `bytes` is the array of the last
   * call or of the two before; false otherwise, and for an array over shared memory (a
   * SharedArrayBuffer: another thread may change it under the kernel): the caller copies.
   */
  of(bytes: Uint8Array): boolean {
    if (bytes === this.#array) return true;
    if (bytes !== this.#candidate) {
      this.#candidate = bytes;
      return false;
    }
    const ab = bytes.buffer;
    if (!(ab instanceof ArrayBuffer)) return false;
    const address = addressOf(ab) + bytes.byteOffset;
    this.lo = address % TWO32;
    this.hi = Math.floor(address / TWO32);
    this.#array = bytes;
    return true;
  }
}
