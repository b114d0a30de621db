// epoll with its waits on koffi's async calls (a thread of libuv's pool), so Node's event loop never
// blocks. An eventfd in every set lets close() wake a pending wait; the set's fds are closed once
// that wait returns.
import { arch } from 'node:process';
import { libc, epollWaitAsync } from './libc.js';
import { check, SyscallError } from './errors.js';
import { NativeMemory } from './memory.js';
import { Errno } from '../errors/errno.js';
import { EbpfError } from '../errors/ebpf-error.js';
import { OwnedFd } from './owned-fd.js';

const EPOLL_CLOEXEC = 0x80000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 1;
/** Edge-triggered: report an fd when it becomes ready (a wake-up), not while it stays ready. */
export const EPOLLET = 0x8000_0000;
const EFD_CLOEXEC = 0x80000;
const EFD_NONBLOCK = 0x800;

// struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).
const EVENT_SIZE = arch === 'x64' ? 12 : 16;
const DATA_OFFSET = arch === 'x64' ? 4 : 8;
const WAKE_TOKEN = 0xffff_ffff;

export class Epoll {
  readonly #epfd: OwnedFd;
  readonly #wake: OwnedFd;
  readonly #events: NativeMemory;
  readonly #maxEvents: number;
  #pending: Promise<number[]> | undefined;
  #closed = false;

  constructor(maxEvents = 64) {
    this.#maxEvents = maxEvents;
    this.#epfd = new OwnedFd(check('epoll_create1', libc.epollCreate1(EPOLL_CLOEXEC)), 'epoll set', this);
    try {
      this.#wake = new OwnedFd(check('eventfd', libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), 'epoll wake-up eventfd', this);
    } catch (e) {
      this.#epfd.close();
      throw e;
    }
    this.#events = new NativeMemory(EVENT_SIZE * (maxEvents + 1) + 16);
    this.#ctl(EPOLL_CTL_ADD, this.#wake.raw, EPOLLIN, WAKE_TOKEN);
  }

  /** The epoll fd; throws once the set is closed. */
  get fd(): number {
    if (this.#closed) throw new EbpfError('ERR_CLOSED', 'epoll set is closed');
    return this.#epfd.raw;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Watches `fd`; wait() reports `token` when it is ready. */
  add(fd: number, token: number, events = EPOLLIN): void {
    if (token < 0 || token >= WAKE_TOKEN) throw new RangeError(`epoll token ${token} out of range`);
    this.#ctl(EPOLL_CTL_ADD, fd, events, token);
  }

  remove(fd: number): void {
    this.#ctl(EPOLL_CTL_DEL, fd, 0, 0);
  }

  #ctl(op: number, fd: number, events: number, token: number): void {
    if (this.#closed) throw new Error('epoll set is closed');
    const at = EVENT_SIZE * this.#maxEvents;
    const b = this.#events.buffer;
    b.fill(0, at, at + EVENT_SIZE);
    b.writeUInt32LE(events, at);
    b.writeUInt32LE(token, at + DATA_OFFSET);
    check('epoll_ctl', libc.epollCtl(this.#epfd.raw, op, fd, this.#events.address + at), `fd ${fd}`);
  }

  /**
   * Waits up to `timeoutMs` (-1: forever) off the main thread. Resolves to the tokens of the ready
   * fds: empty on timeout, and empty once the set is closed. A call while another wait is pending
   * joins that wait (and its timeout).
   */
  wait(timeoutMs = -1): Promise<number[]> {
    if (this.#closed) return Promise.resolve([]);
    // A wait already on its way (another task of this process): join it rather than start a second
    // blocking call on the same set.
    if (this.#pending) return this.#pending;
    const p = this.#wait(timeoutMs).finally(() => {
      this.#pending = undefined;
      if (this.#closed) this.#release();
    });
    this.#pending = p;
    return p;
  }

  async #wait(timeoutMs: number): Promise<number[]> {
    for (;;) {
      const n = await epollWaitAsync(this.#epfd.raw, this.#events.address, this.#maxEvents, timeoutMs);
      if (n === -Errno.EINTR) continue;
      if (n < 0) throw new SyscallError('epoll_wait', -n);
      const tokens: number[] = [];
      const b = this.#events.buffer;
      for (let i = 0; i < n; i++) {
        const token = b.readUInt32LE(i * EVENT_SIZE + DATA_OFFSET);
        if (token !== WAKE_TOKEN) tokens.push(token);
      }
      return this.#closed ? [] : tokens;
    }
  }

  /** Makes a pending wait return now (with no tokens), without closing. */
  interrupt(): void {
    if (this.#closed) return;
    const b = this.#events.buffer;
    const at = EVENT_SIZE * this.#maxEvents;
    b.writeBigUInt64LE(1n, at);
    libc.write(this.#wake.raw, this.#events.address + at, 8);
  }

  close(): void {
    if (this.#closed) return;
    this.interrupt();
    this.#closed = true;
    if (!this.#pending) this.#release();
  }

  #release(): void {
    this.#wake.close();
    this.#epfd.close();
    this.#events.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
