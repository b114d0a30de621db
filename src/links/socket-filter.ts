// Socket filters: SO_ATTACH_BPF on a socket the caller owns.
import { setsockoptInt, SyscallError } from '../syscall/index.js';
import type { Program } from '../programs/index.js';
import { Link, LinkError } from './link.js';

const SOL_SOCKET = 1;
const SO_DETACH_BPF = 27;
const SO_ATTACH_BPF = 50;

/** A socket filter program attached to a socket with SO_ATTACH_BPF. */
export class SocketFilterAttachment extends Link {
  readonly #socketFd: number;

  /** Wraps a filter attached to `socketFd` (the socket stays the caller's); attachSocketFilter makes these. */
  constructor(socketFd: number, target: string) {
    super(target);
    this.#socketFd = socketFd;
  }

  protected release(): void {
    try {
      setsockoptInt(this.#socketFd, SOL_SOCKET, SO_DETACH_BPF, 0, 'setsockopt(SO_DETACH_BPF)');
    } catch (e) {
      // A socket closed first has already dropped its filter.
      if (!(e instanceof SyscallError) || (e.code !== 'EBADF' && e.code !== 'ENOENT')) throw e;
    }
  }
}

/** Attaches a SOCKET_FILTER program to socket `fd` (the socket keeps it until detached or closed). */
export function attachSocketFilter(program: Program, socketFd: number): SocketFilterAttachment {
  const progFd = program.fd; // a closed Program throws its own ProgramError (kind 'closed')
  try {
    setsockoptInt(socketFd, SOL_SOCKET, SO_ATTACH_BPF, progFd, 'setsockopt(SO_ATTACH_BPF)');
  } catch (e) {
    throw new LinkError('attach', `attaching socket filter "${program.name}" to fd ${socketFd} failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return new SocketFilterAttachment(socketFd, `socket fd ${socketFd}`);
}
