// Netlink sockets: the transport only. Messages are built and parsed by the pure netlink layer.
import { libc } from './libc.js';
import { check } from './errors.js';
import { NativeMemory } from './memory.js';
import { OwnedFd } from './owned-fd.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
export const NETLINK_ROUTE = 0;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
const SOCKADDR_NL_SIZE = 12;

export class NetlinkSocket {
  readonly #owned: OwnedFd;
  readonly portId: number;
  readonly #mem: NativeMemory;
  #closed = false;

  /** Opens a netlink socket; replies that do not come within `timeoutMs` fail instead of hanging. */
  constructor(protocol = NETLINK_ROUTE, timeoutMs = 5000, bufferSize = 64 * 1024) {
    this.#owned = new OwnedFd(
      check('socket(AF_NETLINK)', libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)),
      'netlink socket',
      this,
    );
    this.#mem = new NativeMemory(bufferSize + 256);
    try {
      this.#setInt(SOL_NETLINK, NETLINK_EXT_ACK, 1, 'setsockopt(NETLINK_EXT_ACK)');
      this.#setInt(SOL_SOCKET, SO_RCVBUF, bufferSize, 'setsockopt(SO_RCVBUF)');
      const b = this.#mem.buffer;
      b.fill(0, 0, 16);
      b.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
      b.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
      check('setsockopt(SO_RCVTIMEO)', libc.setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, this.#mem.address, 16));
      b.fill(0, 0, SOCKADDR_NL_SIZE);
      b.writeUInt16LE(AF_NETLINK, 0);
      check('bind(AF_NETLINK)', libc.bind(this.fd, this.#mem.address, SOCKADDR_NL_SIZE));
      b.writeUInt32LE(SOCKADDR_NL_SIZE, 64);
      check('getsockname', libc.getsockname(this.fd, this.#mem.address, this.#mem.address + 64));
      this.portId = b.readUInt32LE(4);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The socket's fd; throws once it is closed. */
  get fd(): number {
    return this.#owned.value;
  }

  #setInt(level: number, name: number, value: number, what: string): void {
    this.#mem.buffer.writeInt32LE(value, 0);
    check(what, libc.setsockopt(this.fd, level, name, this.#mem.address, 4));
  }

  setOption(name: number, value: number): void {
    this.#setInt(SOL_NETLINK, name, value, `setsockopt(SOL_NETLINK, ${name})`);
  }

  /** Sends one datagram to the kernel. */
  send(message: Uint8Array): void {
    const need = 256 + message.length;
    const mem = need <= this.#mem.length ? this.#mem : new NativeMemory(need);
    try {
      const b = mem.buffer;
      b.fill(0, 0, SOCKADDR_NL_SIZE);
      b.writeUInt16LE(AF_NETLINK, 0);
      b.set(message, 256);
      check('sendto(netlink)', libc.sendto(this.fd, mem.address + 256, message.length, 0, mem.address, SOCKADDR_NL_SIZE));
    } finally {
      if (mem !== this.#mem) mem.free();
    }
  }

  /** Receives one datagram (a copy). EAGAIN means the kernel did not answer in time. */
  receive(): Buffer {
    const n = check('recvfrom(netlink)', libc.recvfrom(this.fd, this.#mem.address + 256, this.#mem.length - 256, 0, 0, 0));
    return Buffer.from(this.#mem.buffer.subarray(256, 256 + n));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owned.close();
    this.#mem.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
