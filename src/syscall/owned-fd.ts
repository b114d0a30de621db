// A file descriptor owned by one object. If the object is garbage-collected without close(), the fd
// is closed for it and a warning says so (once per process), so a forgotten map or program does
// not pin kernel memory for the life of the process.
import { libc } from './libc.js';
import { check } from './errors.js';
import { EbpfError } from '../errors/index.js';

let leaked = 0;

const registry = new FinalizationRegistry<{ fd: number; what: string }>(({ fd, what }) => {
  libc.close(fd);
  leaked++;
  if (leaked === 1) {
    process.emitWarning(
      `${what} was garbage-collected without close(); its fd ${fd} was closed for it. Close BPF objects (or use \`using\`) to free kernel resources when you mean to.`,
      { code: 'EBPF_UNCLOSED' },
    );
  }
});

/** How many objects were cleaned up by the garbage collector instead of close(). */
export function unclosedObjectCount(): number {
  return leaked;
}

export class OwnedFd {
  readonly #fd: number;
  readonly #what: string;
  #closed = false;

  /** Takes ownership of `fd` for `owner`, which is what the garbage collector watches. */
  constructor(fd: number, what: string, owner: object) {
    this.#fd = fd;
    this.#what = what;
    registry.register(owner, { fd, what }, this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The fd; throws once closed, so a use after close names the object instead of hitting a reused fd. */
  get value(): number {
    if (this.#closed) throw new EbpfError('ERR_CLOSED', `${this.#what} is closed`);
    return this.#fd;
  }

  /** The number, even after close (for messages and identity). */
  get raw(): number {
    return this.#fd;
  }

  /**
   * Gives the fd up without closing it, for a new owner to take (an object that wraps this one):
   * this OwnedFd is closed from then on and the garbage collector no longer watches its owner.
   */
  disown(): number {
    if (this.#closed) throw new EbpfError('ERR_CLOSED', `${this.#what} is closed`);
    this.#closed = true;
    registry.unregister(this);
    return this.#fd;
  }

  /** Closes the fd (once; later calls do nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    registry.unregister(this);
    check('close', libc.close(this.#fd), this.#what);
  }
}
