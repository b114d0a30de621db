// A raw AF_PACKET socket bound to one device: the ordinary way user space sends and receives whole
// Ethernet frames, one system call per frame. Here as the baseline AF_XDP is measured against, and
// to put exact frames on a wire in tests.
import {
  bindSockaddr,
  closeFd,
  NativeMemory,
  openSocket,
  OwnedFd,
  recvAt,
  sendAt,
  setsockoptBytes,
  SyscallError,
} from '../syscall/index.js';
import { resolveDevice, type DeviceRef } from '../netlink/index.js';
import { withRoute } from '../links/netlink-session.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL = 3)
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;

/** A raw AF_PACKET socket bound to one device: sends and receives whole Ethernet frames, one system call per frame. */
export class PacketSocket {
  readonly ifindex: number;
  readonly #owned: OwnedFd;
  readonly #buf: NativeMemory;

  /** Opens a raw socket on `device` (in the calling thread's network namespace) that sees every frame it receives. */
  constructor(device: DeviceRef, options: { ignoreOutgoing?: boolean } = {}) {
    const dev = withRoute((client) => resolveDevice(client, device));
    const fd = openSocket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE, 'socket(AF_PACKET)');
    try {
      const sll = Buffer.alloc(20); // struct sockaddr_ll
      sll.writeUInt16LE(AF_PACKET, 0);
      sll.writeUInt16LE(ETH_P_ALL_BE, 2);
      sll.writeInt32LE(dev.index, 4);
      bindSockaddr(fd, sll, 'bind(AF_PACKET)', dev.name);
      if (options.ignoreOutgoing ?? true) {
        const v = Buffer.alloc(4);
        v.writeInt32LE(1, 0);
        // Frames this host sends on the device would otherwise be seen too.
        setIgnoreOutgoing(fd, v);
      }
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    this.ifindex = dev.index;
    this.#buf = new NativeMemory(65536);
    this.#owned = new OwnedFd(fd, `AF_PACKET socket on ${dev.name}`, this);
  }

  /** The socket's fd; throws once it is closed. */
  get fd(): number {
    return this.#owned.value;
  }

  /** Sends one whole Ethernet frame. */
  send(frame: Uint8Array): void {
    const fd = this.#owned.value;
    this.#buf.buffer.set(frame, 0);
    const r = sendAt(fd, this.#buf.address, frame.length);
    if (r < 0) throw new SyscallError('sendto(AF_PACKET)', -r, `fd ${fd}, ${frame.length} bytes`);
  }

  /**
   * Receives one frame without waiting into the socket's buffer and returns its length, or -1 when
   * none is queued. The bytes are in `lastFrame` until the next call.
   */
  receiveInto(): number {
    const fd = this.#owned.value;
    const r = recvAt(fd, this.#buf.address, this.#buf.length, MSG_DONTWAIT);
    if (r >= 0) return r;
    if (-r === EAGAIN) return -1;
    throw new SyscallError('recvfrom(AF_PACKET)', -r, `fd ${fd}`);
  }

  /** The buffer receiveInto() writes to. */
  get lastFrame(): Buffer {
    return this.#buf.buffer;
  }

  /** One received frame as a copy, or undefined when none is queued. */
  receive(): Buffer | undefined {
    const n = this.receiveInto();
    return n < 0 ? undefined : Buffer.from(this.#buf.buffer.subarray(0, n));
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** Closes the socket and frees its receive buffer. Calling it again does nothing. */
  close(): void {
    if (this.#owned.closed) return;
    this.#owned.close();
    this.#buf.free();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function setIgnoreOutgoing(fd: number, v: Buffer): void {
  setsockoptBytes(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, v, 'setsockopt(PACKET_IGNORE_OUTGOING)');
}
