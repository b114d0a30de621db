// BPF tokens (Linux 6.9+): a bpffs instance mounted with delegate_cmds/maps/progs/attachs by a
// privileged process, but owned by a user namespace, lets that namespace create a token that
// carries the delegated permissions; map creation, program load and BTF load then take the token
// (BPF_F_TOKEN_FD) instead of needing CAP_BPF in the init namespace.
import { openSync, closeSync } from 'node:fs';
import { OwnedFd, SyscallError, syscall3Raw, SYS_BPF } from '../syscall/index.js';
import { scratch } from '../syscall/memory.js';

/** enum bpf_cmd BPF_TOKEN_CREATE (6.9; newer than the UAPI headers this project checks against). */
export const BPF_TOKEN_CREATE = 36;

export class TokenError extends SyscallError {
  override name = 'TokenError';
}

const WHY: Record<string, string> = {
  ENOENT:
    'the bpffs was mounted without delegation: mount it with -o delegate_cmds=...,delegate_maps=...,delegate_progs=...,delegate_attachs=... (any, or a list)',
  EOPNOTSUPP:
    'tokens are refused in the initial user namespace (there, CAP_BPF itself grants everything): create the token inside the user namespace that owns the bpffs instance',
  EPERM:
    'the token must be created in the user namespace that owns the bpffs instance (the one that called fsopen), by a process with CAP_BPF there',
  EINVAL: 'the fd is not the root directory of a bpffs instance, or the kernel is older than 6.9 (no BPF_TOKEN_CREATE)',
};

/** A BPF token: pass `token.fd` as tokenFd to map, program and BTF loads. */
export class BpfToken {
  readonly #owned: OwnedFd;

  private constructor(fd: number) {
    this.#owned = new OwnedFd(fd, 'BPF token', this);
  }

  /** The token's file descriptor; throws once the token is closed. */
  get fd(): number {
    return this.#owned.value;
  }

  /** BPF_TOKEN_CREATE from the root of a bpffs mounted with delegation options (a path or an open directory fd). */
  static create(bpffs: string | number): BpfToken {
    const dirFd = typeof bpffs === 'number' ? bpffs : openSync(bpffs, 'r');
    try {
      const mem = scratch(8);
      mem.buffer.writeUInt32LE(0, 0); // flags
      mem.buffer.writeUInt32LE(dirFd, 4); // bpffs_fd
      const ret = syscall3Raw(SYS_BPF, BPF_TOKEN_CREATE, mem.address, 8);
      if (ret < 0) {
        const probe = new SyscallError('BPF_TOKEN_CREATE', -ret);
        throw new TokenError('BPF_TOKEN_CREATE', -ret, `bpffs ${typeof bpffs === 'string' ? bpffs : `fd ${bpffs}`}`, WHY[probe.code]);
      }
      return new BpfToken(ret);
    } finally {
      if (typeof bpffs === 'string') closeSync(dirFd);
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** Closes the token's fd. Calling it again does nothing. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
