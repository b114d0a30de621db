// AF_XDP sockets: frames an XDP program redirects into an XSKMAP land in a UMEM this process
// mapped, and frames this process writes there go out of the device, with no copy through socket
// buffers and no system call per frame. The UMEM is split in two: the first half feeds the kernel
// through the fill ring for receiving, the second half is this process's pool for transmitting.
import {
  bindSockaddr,
  closeFd,
  Epoll,
  EPOLLIN,
  getsockoptBytes,
  kickSocket,
  NativeMemory,
  openSocket,
  OwnedFd,
  setsockoptBytes,
  SyscallError,
} from '../syscall/index.js';
import { resolveDevice, type DeviceRef } from '../netlink/index.js';
import { withRoute } from '../links/netlink-session.js';
import { XskRing, type RingOffsets } from './ring.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

const AF_XDP = 44;
const SOCK_RAW = 3;
const SOL_XDP = 283;
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_TX_RING = 3;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_OPTIONS = 8;
const XDP_OPTIONS_ZEROCOPY = 1;
// sockaddr_xdp.sxdp_flags
const XDP_COPY = 1 << 1;
const XDP_ZEROCOPY = 1 << 2;
const XDP_USE_NEED_WAKEUP = 1 << 3;
// mmap page offsets of the four rings
const XDP_PGOFF_RX_RING = 0;
const XDP_PGOFF_TX_RING = 0x80000000;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

const EAGAIN = 11;
const EBUSY = 16;
const ENOBUFS = 105;
const ENETDOWN = 100;
/** Copy-mode transmit sends at most this many frames per sendto (the kernel's TX batch). */
const COPY_TX_BATCH = 32;

const BIND_RETRY_MS = 5;
const BIND_RETRY_LIMIT_MS = 250;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** How an AF_XDP socket binds: "copy" (frames copied to the UMEM) or "zerocopy" (the driver uses the UMEM directly). */
export type XdpSocketMode = 'copy' | 'zerocopy';

/** Options of an AF_XDP socket: device, queue, UMEM and ring sizes, bind mode. */
export interface XdpSocketOptions {
  /** Device name or ifindex, in the calling thread's network namespace. */
  device: DeviceRef;
  /** Receive queue to bind to (default 0). */
  queue?: number;
  /** Frames in the UMEM (power of two, default 4096): half for receiving, half for sending. */
  frameCount?: number;
  /** Bytes per frame: 2048 or 4096 (default 4096). */
  frameSize?: number;
  /** Slots per ring (power of two, default frameCount / 2). */
  ringSize?: number;
  /** 'copy', 'zerocopy' (fails where the driver has none), or leave out: zero-copy where the driver has it, else copy. */
  mode?: XdpSocketMode;
  /** Ask the kernel to say when it needs a wakeup call (default true): fewer system calls while it is busy. */
  needWakeup?: boolean;
}

/** The kernel's counters for an AF_XDP socket (struct xdp_statistics). */
export interface XdpSocketStatistics {
  /** Frames dropped for reasons other than a full ring or an empty fill ring. */
  rxDropped: bigint;
  rxInvalidDescriptors: bigint;
  txInvalidDescriptors: bigint;
  /** Frames dropped because the RX ring was full (the reader fell behind). */
  rxRingFull: bigint;
  /** Times the fill ring was empty when a frame came. */
  rxFillRingEmpty: bigint;
  txRingEmpty: bigint;
}

/**
 * A socket collected without close(): its fd is closed by OwnedFd; this unmaps its rings and UMEM.
 * The kernel pinned the UMEM's pages while bound, so dropping our mapping first is safe.
 */
const unmapWhenCollected = new FinalizationRegistry<{ rings: XskRing[]; memory: NativeMemory }>(({ rings, memory }) => {
  for (const r of rings) r.unmap();
  memory.free();
});

/** Called with the UMEM, the frame's offset in it and its length; the bytes are valid only during the call. */
export type FrameCallback = (umem: Buffer, offset: number, length: number) => void;

/** An AF_XDP socket that cannot be set up or used. */
export class XdpSocketError extends EbpfError {
  /** Creates the error with stable `code` and `message`. */
  constructor(code: string, message: string, options?: EbpfErrorOptions) {
    super(code, message, options);
  }
}

function powerOfTwo(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > 1 << 20) {
    throw new XdpSocketError('ERR_XSK_OPTIONS', `${what} must be a power of two between 2 and 2^20, got ${n}`);
  }
  return n;
}

function ringOffsets(b: Buffer, at: number): RingOffsets {
  return {
    producer: Number(b.readBigUInt64LE(at)),
    consumer: Number(b.readBigUInt64LE(at + 8)),
    desc: Number(b.readBigUInt64LE(at + 16)),
    flags: Number(b.readBigUInt64LE(at + 24)),
  };
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
}

/**
 * An AF_XDP socket bound to one queue of one device. Put it in an XSKMAP (`xskMap.set(queue,
 * socket)`) and attach an XDP program that redirects into that map: frames then arrive in
 * receive(). transmit() sends frames out of the device. Close it to unbind, unmap and free.
 */
export class XdpSocket {
  readonly ifindex: number;
  readonly queue: number;
  readonly frameSize: number;
  readonly frameCount: number;
  /** What the kernel runs the socket in: 'zerocopy' (the driver reads and writes the UMEM) or 'copy'. */
  readonly mode: XdpSocketMode;
  readonly needWakeup: boolean;
  /** The UMEM: every frame's bytes, at the offsets the callbacks are given. */
  readonly umem: Buffer;
  readonly #owned: OwnedFd;
  readonly #memory: NativeMemory;
  readonly #fill: XskRing;
  readonly #completion: XskRing;
  readonly #rx: XskRing;
  readonly #tx: XskRing;
  /** Free transmit frames (UMEM offsets), used as a stack. */
  readonly #txFree: Uint32Array;
  #txFreeCount: number;
  #epoll: Epoll | undefined;
  /** Wakeup calls made (recv for the fill ring, send for TX): what needs-wakeup saves. */
  wakeups = 0;

  /** Creates an AF_XDP socket with its UMEM and rings, and binds it to `options.device` and `options.queue`. */
  constructor(options: XdpSocketOptions) {
    const frameCount = powerOfTwo(options.frameCount ?? 4096, 'frameCount');
    const frameSize = options.frameSize ?? 4096;
    if (frameSize !== 2048 && frameSize !== 4096)
      throw new XdpSocketError('ERR_XSK_OPTIONS', `frameSize must be 2048 or 4096, got ${frameSize}`);
    const ringSize = powerOfTwo(options.ringSize ?? frameCount / 2, 'ringSize');
    const queue = options.queue ?? 0;
    if (!Number.isInteger(queue) || queue < 0) throw new XdpSocketError('ERR_XSK_OPTIONS', `queue must be a queue index ≥ 0, got ${queue}`);
    const needWakeup = options.needWakeup ?? true;
    if (options.mode !== undefined && options.mode !== 'copy' && options.mode !== 'zerocopy') {
      throw new XdpSocketError(
        'ERR_XSK_OPTIONS',
        `bad AF_XDP mode ${JSON.stringify(options.mode)}: use 'copy' or 'zerocopy', or leave it out for zero-copy where the driver has it`,
      );
    }
    const dev = withRoute((client) => resolveDevice(client, options.device));
    const name = dev.name;

    const fd = openSocket(AF_XDP, SOCK_RAW, 0, 'socket(AF_XDP)');
    const memory = new NativeMemory(frameCount * frameSize);
    const rings: XskRing[] = [];
    try {
      const reg = Buffer.alloc(24); // struct xdp_umem_reg, first version: addr, len, chunk_size, headroom
      reg.writeBigUInt64LE(BigInt(memory.address), 0);
      reg.writeBigUInt64LE(BigInt(frameCount * frameSize), 8);
      reg.writeUInt32LE(frameSize, 16);
      setsockoptBytes(fd, SOL_XDP, XDP_UMEM_REG, reg, 'setsockopt(XDP_UMEM_REG)');
      setsockoptBytes(fd, SOL_XDP, XDP_UMEM_FILL_RING, u32(ringSize), 'setsockopt(XDP_UMEM_FILL_RING)');
      setsockoptBytes(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, u32(ringSize), 'setsockopt(XDP_UMEM_COMPLETION_RING)');
      setsockoptBytes(fd, SOL_XDP, XDP_RX_RING, u32(ringSize), 'setsockopt(XDP_RX_RING)');
      setsockoptBytes(fd, SOL_XDP, XDP_TX_RING, u32(ringSize), 'setsockopt(XDP_TX_RING)');
      const off = getsockoptBytes(fd, SOL_XDP, XDP_MMAP_OFFSETS, 128, 'getsockopt(XDP_MMAP_OFFSETS)');
      if (off.length < 128)
        throw new XdpSocketError(
          'ERR_XSK_KERNEL',
          `the kernel gave ${off.length} bytes of ring offsets; AF_XDP with ring flags (needs-wakeup) needs Linux 5.4 or later`,
        );
      rings.push(new XskRing(fd, XDP_PGOFF_RX_RING, ringSize, 16, ringOffsets(off, 0), false));
      rings.push(new XskRing(fd, XDP_PGOFF_TX_RING, ringSize, 16, ringOffsets(off, 32), true));
      rings.push(new XskRing(fd, XDP_UMEM_PGOFF_FILL_RING, ringSize, 8, ringOffsets(off, 64), true));
      rings.push(new XskRing(fd, XDP_UMEM_PGOFF_COMPLETION_RING, ringSize, 8, ringOffsets(off, 96), false));
      const [rx, tx, fill, completion] = rings;

      // Give the kernel the receive half of the UMEM before binding, so the first frames have room.
      const rxFrames = Math.min(frameCount / 2, ringSize);
      const n = fill.free(rxFrames);
      for (let i = 0; i < n; i++) {
        const w = fill.slot(fill.cachedOwn + i);
        fill.words[w] = i * frameSize;
        fill.words[w + 1] = 0;
      }
      fill.submit(n);

      const bindFlags =
        (needWakeup ? XDP_USE_NEED_WAKEUP : 0) | (options.mode === 'copy' ? XDP_COPY : options.mode === 'zerocopy' ? XDP_ZEROCOPY : 0);
      const sa = Buffer.alloc(16); // struct sockaddr_xdp
      sa.writeUInt16LE(AF_XDP, 0);
      sa.writeUInt16LE(bindFlags, 2);
      sa.writeUInt32LE(dev.index, 4);
      sa.writeUInt32LE(queue, 8);
      // A socket closed just before (ours or another's) keeps its queue until the kernel's deferred
      // release of its UMEM runs, moments later: EBUSY is retried for a short while.
      for (let waited = 0; ; waited += BIND_RETRY_MS) {
        try {
          bindSockaddr(fd, sa, 'bind(AF_XDP)', `${name} queue ${queue}`);
          break;
        } catch (e) {
          if (e instanceof SyscallError && e.code === 'EBUSY' && waited < BIND_RETRY_LIMIT_MS) {
            Atomics.wait(sleeper, 0, 0, BIND_RETRY_MS);
            continue;
          }
          throw bindError(e, name, queue, options.mode);
        }
      }
      const opts = getsockoptBytes(fd, SOL_XDP, XDP_OPTIONS, 4, 'getsockopt(XDP_OPTIONS)');
      const mode: XdpSocketMode = (opts.readUInt32LE(0) & XDP_OPTIONS_ZEROCOPY) !== 0 ? 'zerocopy' : 'copy';

      this.ifindex = dev.index;
      this.queue = queue;
      this.frameSize = frameSize;
      this.frameCount = frameCount;
      this.mode = mode;
      this.needWakeup = needWakeup;
      this.#memory = memory;
      this.umem = memory.buffer.subarray(0, frameCount * frameSize);
      this.#rx = rx;
      this.#tx = tx;
      this.#fill = fill;
      this.#completion = completion;
      const txFrames = frameCount - frameCount / 2;
      this.#txFree = new Uint32Array(txFrames);
      for (let i = 0; i < txFrames; i++) this.#txFree[i] = (frameCount - 1 - i) * frameSize;
      this.#txFreeCount = txFrames;
      this.#owned = new OwnedFd(fd, `AF_XDP socket on ${name} queue ${queue}`, this);
      unmapWhenCollected.register(this, { rings: [rx, tx, fill, completion], memory }, this);
    } catch (e) {
      for (const r of rings) r.unmap();
      closeFd(fd);
      memory.free();
      throw e;
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  #live(): void {
    if (this.#owned.closed) throw new XdpSocketError('ERR_XSK_CLOSED', `AF_XDP socket (fd ${this.#owned.raw}) is closed`);
  }

  /** The socket's fd (for an XSKMAP entry); throws once the socket is closed. */
  get fd(): number {
    this.#live();
    return this.#owned.raw;
  }

  /**
   * Hands up to `limit` received frames to `onFrame`, in place in the UMEM, then gives their
   * frames back to the kernel through the fill ring: one index read and two index writes per
   * batch, and a system call only when the kernel asked for a wakeup. Returns the frames handed out.
   */
  receive(onFrame: FrameCallback, limit = 64): number {
    this.#live();
    const rx = this.#rx;
    const fill = this.#fill;
    const n = rx.ready(limit);
    if (n === 0) {
      if (this.needWakeup && fill.needsWakeup()) this.#kick('recv');
      return 0;
    }
    const words = rx.words;
    const umem = this.umem;
    const start = rx.cachedOwn;
    for (let i = 0; i < n; i++) {
      const w = rx.slot(start + i);
      onFrame(umem, words[w], words[w + 2]);
    }
    // Every frame handed out goes straight back to the fill ring: it has room for all receive frames.
    const room = fill.free(n);
    const mask = ~(this.frameSize - 1);
    for (let i = 0; i < room; i++) {
      const from = rx.slot(start + i);
      const to = fill.slot(fill.cachedOwn + i);
      fill.words[to] = words[from] & mask;
      fill.words[to + 1] = 0;
    }
    rx.release(n);
    fill.submit(room);
    if (this.needWakeup && fill.needsWakeup()) this.#kick('recv');
    return n;
  }

  /** Received frames as copies (convenient, allocates per frame; receive() does not). */
  receiveCopies(limit = 64): Buffer[] {
    const out: Buffer[] = [];
    this.receive((umem, offset, length) => out.push(Buffer.from(umem.subarray(offset, offset + length))), limit);
    return out;
  }

  /**
   * Queues `frames` (whole Ethernet frames, each at most frameSize bytes) on the TX ring and asks
   * the kernel to send them: frames are copied into free UMEM frames, published with one index
   * write, and sent with one system call per 32 frames in copy mode (none in zero-copy mode
   * unless the driver asks for a wakeup). Returns how many were queued: fewer when the TX ring or
   * the pool of free frames is full (call again after the kernel completed some).
   */
  transmit(frames: readonly Uint8Array[]): number {
    this.#live();
    this.reclaim();
    const tx = this.#tx;
    let n = Math.min(frames.length, this.#txFreeCount);
    n = tx.free(n);
    const words = tx.words;
    const umem = this.umem;
    // Checked before any slot is written, so a bad frame leaves the ring and the pool as they were.
    for (let i = 0; i < n; i++) {
      if (frames[i].length > this.frameSize)
        throw new XdpSocketError(
          'ERR_XSK_FRAME_SIZE',
          `frame ${i} is ${frames[i].length} bytes; frames are at most ${this.frameSize} bytes`,
        );
    }
    for (let i = 0; i < n; i++) {
      const f = frames[i];
      const addr = this.#txFree[--this.#txFreeCount];
      umem.set(f, addr);
      const w = tx.slot(tx.cachedOwn + i);
      words[w] = addr;
      words[w + 1] = 0;
      words[w + 2] = f.length;
      words[w + 3] = 0;
    }
    if (n === 0) return 0;
    tx.submit(n);
    this.flush();
    return n;
  }

  /** Asks the kernel to send what the TX ring holds (when it needs asking). */
  flush(): void {
    this.#live();
    if (this.mode === 'zerocopy') {
      if (!this.needWakeup || this.#tx.needsWakeup()) this.#kick('send');
      return;
    }
    // Copy mode sends only inside sendto, up to 32 frames a call.
    for (let tries = Math.ceil(this.#tx.pending() / COPY_TX_BATCH) + 2; tries > 0 && this.#tx.pending() > 0; tries--) {
      this.#kick('send');
    }
  }

  /** Takes completed transmit frames back into the pool; returns how many. */
  reclaim(): number {
    this.#live();
    const c = this.#completion;
    const n = c.ready(c.size);
    if (n === 0) return 0;
    const start = c.cachedOwn;
    for (let i = 0; i < n; i++) this.#txFree[this.#txFreeCount++] = c.words[c.slot(start + i)];
    c.release(n);
    return n;
  }

  /** Frames queued for transmit that the kernel has not completed. */
  get transmitPending(): number {
    return this.#txFree.length - this.#txFreeCount;
  }

  #kick(direction: 'send' | 'recv'): void {
    this.wakeups++;
    const r = kickSocket(this.fd, direction);
    if (r >= 0) return;
    const errno = -r;
    if (errno === EAGAIN || errno === EBUSY || errno === ENOBUFS || errno === ENETDOWN) return;
    throw new SyscallError(direction === 'send' ? 'sendto(AF_XDP wakeup)' : 'recvfrom(AF_XDP wakeup)', errno, `fd ${this.fd}`);
  }

  /** Waits until frames are ready to receive, up to `timeoutMs`, off the main thread. Resolves to whether they are. */
  async wait(timeoutMs = -1): Promise<boolean> {
    this.#live();
    if (this.#rx.ready(1) > 0) return true;
    if (!this.#epoll) {
      this.#epoll = new Epoll(4);
      this.#epoll.add(this.fd, 0, EPOLLIN);
    }
    const tokens = await this.#epoll.wait(timeoutMs);
    return tokens.length > 0 && !this.closed;
  }

  /** The kernel's counters for this socket (XDP_STATISTICS). */
  statistics(): XdpSocketStatistics {
    this.#live();
    const b = getsockoptBytes(this.fd, SOL_XDP, XDP_STATISTICS, 48, 'getsockopt(XDP_STATISTICS)');
    const at = (i: number): bigint => (b.length >= 8 * (i + 1) ? b.readBigUInt64LE(8 * i) : 0n);
    return {
      rxDropped: at(0),
      rxInvalidDescriptors: at(1),
      txInvalidDescriptors: at(2),
      rxRingFull: at(3),
      rxFillRingEmpty: at(4),
      txRingEmpty: at(5),
    };
  }

  /** Closes the socket, unmaps its rings and frees the UMEM. Calling it again does nothing. */
  close(): void {
    if (this.#owned.closed) return;
    this.#epoll?.close();
    unmapWhenCollected.unregister(this);
    this.#owned.close();
    for (const r of [this.#rx, this.#tx, this.#fill, this.#completion]) r.unmap();
    // The kernel pinned the UMEM's pages while bound and drops them with the socket; our mapping can go.
    this.#memory.free();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function bindError(e: unknown, device: string, queue: number, mode: XdpSocketMode | undefined): unknown {
  if (!(e instanceof SyscallError)) return e;
  let hint: string;
  switch (e.code) {
    case 'EOPNOTSUPP':
      hint =
        mode === 'zerocopy'
          ? `the driver of ${device} has no AF_XDP zero-copy support; use mode 'copy' or leave the mode out`
          : `${device} does not support AF_XDP`;
      break;
    case 'EINVAL':
      hint = `queue ${queue} does not exist on ${device} (or the flags are not valid together); bind to a queue below the device's queue count (ethtool -l)`;
      break;
    case 'EBUSY':
      hint = `queue ${queue} of ${device} already has an AF_XDP socket (or a zero-copy UMEM); one socket per queue unless they share a UMEM`;
      break;
    case 'ENODEV':
      hint = `no device with that ifindex in this network namespace; create the socket in the device's namespace (inNetns)`;
      break;
    default:
      return e;
  }
  return new XdpSocketError(`ERR_XSK_BIND_${e.code}`, `binding an AF_XDP socket to ${device} queue ${queue} failed: ${e.code}; ${hint}`, {
    cause: e,
  });
}
