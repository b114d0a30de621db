// BTF objects in the kernel: loading type information (the storage maps and anything declared with
// BTF key/value types need it), and opening the ones that exist by id.
import { marshalBtf, type BtfType } from '../btf/index.js';
import { btfLoadRaw, closeFd, getFdById, NativeMemory, objGetInfo, OwnedFd, SyscallError } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';
import { KernelObjectError } from './errors.js';

/** struct bpf_btf_info (checked against the kernel's BTF in test/objects.test.ts). */
export const BtfInfoLayout = {
  size: 32,
  btf: 0,
  btf_size: 8,
  id: 12,
  name: 16,
  name_len: 24,
  kernel_btf: 28,
} as const;

/** The kernel's view of a BTF object (struct bpf_btf_info). */
export interface BtfObjectInfo {
  id: number;
  /** "vmlinux", a module's name, or "" for BTF loaded by a program's loader. */
  name: string;
  /** Size of the raw BTF in bytes. */
  size: number;
  /** Whether the kernel itself provided it (vmlinux or a module). */
  kernel: boolean;
}

const NAME_ROOM = 64;

/** Reads the id, name, size and origin of the BTF object `fd` refers to (BPF_OBJ_GET_INFO_BY_FD). */
export function btfInfoFromFd(fd: number): BtfObjectInfo {
  const L = BtfInfoLayout;
  const { info, extra } = objGetInfo(fd, L.size, NAME_ROOM, (i, address) => {
    i.writeBigUInt64LE(BigInt(address), L.name);
    i.writeUInt32LE(NAME_ROOM, L.name_len);
  });
  const end = extra.indexOf(0);
  return {
    id: info.readUInt32LE(L.id),
    name: extra.toString('utf8', 0, end < 0 ? NAME_ROOM : end),
    size: info.readUInt32LE(L.btf_size),
    kernel: info.readUInt32LE(L.kernel_btf) !== 0,
  };
}

/** The kernel refused a BTF blob; `log` is what its BTF checker wrote. */
export class BtfLoadError extends KernelObjectError {
  override name = 'BtfLoadError';
  readonly log: string;

  /** Creates the error from the BPF_BTF_LOAD failure and the kernel's BTF log. */
  constructor(errno: SyscallError, log: string) {
    const last = log.trimEnd().split('\n').slice(-4).join('\n  ');
    super(`BPF_BTF_LOAD refused the type information: ${errno.code}${last ? `:\n  ${last}` : ''}`, errno.code, { cause: errno });
    this.log = log;
  }
}

/** A BTF object held by a file descriptor. */
export class BtfObject {
  readonly #owned: OwnedFd;

  private constructor(fd: number) {
    this.#owned = new OwnedFd(fd, 'BTF object', this);
  }

  /**
   * Loads type information into the kernel (BPF_BTF_LOAD): a raw blob, or types (ids from 1, in
   * order) that are marshalled first. On refusal the kernel's log is in the error.
   */
  static load(btf: Uint8Array | readonly BtfType[]): BtfObject {
    const blob = btf instanceof Uint8Array ? btf : marshalBtf([...btf]);
    const first = btfLoadRaw(blob);
    if (first.ret >= 0) return new BtfObject(first.ret);
    const log = new NativeMemory(64 * 1024);
    try {
      const again = btfLoadRaw(blob, log, 1);
      if (again.ret >= 0) return new BtfObject(again.ret);
      throw new BtfLoadError(new SyscallError('BPF_BTF_LOAD', -again.ret), again.log);
    } finally {
      log.free();
    }
  }

  /** Opens the BTF object with kernel id `id` (1 is vmlinux). */
  static fromId(id: number): BtfObject {
    const fd = getFdById(BpfCommand.BTF_GET_FD_BY_ID, id);
    try {
      return new BtfObject(fd);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** The kernel's view of the BTF object (BPF_OBJ_GET_INFO_BY_FD). */
  info(): BtfObjectInfo {
    return btfInfoFromFd(this.#live());
  }

  /** The raw BTF as the kernel holds it (a module's is split BTF over vmlinux). */
  bytes(): Buffer {
    const fd = this.#live();
    const L = BtfInfoLayout;
    const size = this.info().size;
    const { extra } = objGetInfo(fd, L.size, size, (i, address) => {
      i.writeBigUInt64LE(BigInt(address), L.btf);
      i.writeUInt32LE(size, L.btf_size);
    });
    return extra;
  }

  /** Closes the fd. Calling it again does nothing. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The BTF object's fd; throws once it is closed, so a stale number never reaches the kernel. */
  get fd(): number {
    return this.#live();
  }

  #live(): number {
    if (this.#owned.closed) throw new KernelObjectError('BTF object is closed', 'CLOSED');
    return this.#owned.raw;
  }
}
