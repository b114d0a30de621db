// Socket calls that take or return structs: setsockopt/getsockopt with byte buffers, bind with a
// sockaddr, and the empty send/recv that AF_XDP uses as a wakeup. getsockopt has no wrapper in
// libc.ts, so it goes through the raw syscall with its number per architecture.
import { arch } from 'node:process';
import { libc, syscall3Raw, syscall5Raw } from './libc.js';
import { check } from './errors.js';
import { scratch } from './memory.js';

const SYS_GETSOCKOPT: Record<string, number> = { x64: 55, arm64: 209 };

/** setsockopt with a struct value. */
export function setsockoptBytes(fd: number, level: number, name: number, value: Uint8Array, what = 'setsockopt'): void {
  const mem = scratch(value.length);
  mem.buffer.set(value, 0);
  check(what, libc.setsockopt(fd, level, name, mem.address, value.length), `fd ${fd}`);
}

/** getsockopt into a buffer of `size` bytes; returns the bytes the kernel wrote (a copy). */
export function getsockoptBytes(fd: number, level: number, name: number, size: number, what = 'getsockopt'): Buffer {
  const nr = SYS_GETSOCKOPT[arch];
  if (nr === undefined) throw new Error(`getsockopt: unsupported architecture ${arch}`);
  const mem = scratch(size + 8);
  mem.buffer.fill(0, 0, size + 8);
  mem.buffer.writeUInt32LE(size, size);
  check(what, syscall5Raw(nr, fd, level, name, mem.address, mem.address + size), `fd ${fd}`);
  const written = mem.buffer.readUInt32LE(size);
  return Buffer.from(mem.buffer.subarray(0, Math.min(written, size)));
}

/** socket(2) with SOCK_CLOEXEC added. */
export function openSocket(domain: number, type: number, protocol: number, what = 'socket'): number {
  const SOCK_CLOEXEC = 0x80000;
  return check(what, libc.socket(domain, type | SOCK_CLOEXEC, protocol));
}

/** bind(2) with a sockaddr given as bytes. */
export function bindSockaddr(fd: number, sockaddr: Uint8Array, what = 'bind', detail?: string): void {
  const mem = scratch(sockaddr.length);
  mem.buffer.set(sockaddr, 0);
  check(what, libc.bind(fd, mem.address, sockaddr.length), detail ?? `fd ${fd}`);
}

/**
 * An empty sendto or recvfrom with MSG_DONTWAIT: how AF_XDP asks the kernel to process its TX
 * ring (send) or to refill from its fill ring (recv). Returns the result or -errno; the errnos a
 * busy or full socket gives (EAGAIN, EBUSY, ENOBUFS, ENETDOWN) are for the caller to judge.
 */
export function kickSocket(fd: number, direction: 'send' | 'recv'): number {
  const MSG_DONTWAIT = 0x40;
  return direction === 'send' ? libc.sendto(fd, 0, 0, MSG_DONTWAIT, 0, 0) : libc.recvfrom(fd, 0, 0, MSG_DONTWAIT, 0, 0);
}

/** sendto(2) of `length` bytes at native `address` with `flags`; returns bytes sent or -errno. */
export function sendAt(fd: number, address: number, length: number, flags = 0): number {
  return libc.sendto(fd, address, length, flags, 0, 0);
}

/** recvfrom(2) into native memory; returns bytes received or -errno. */
export function recvAt(fd: number, address: number, length: number, flags = 0): number {
  return libc.recvfrom(fd, address, length, flags, 0, 0);
}

// listen and connect: no wrapper in libc.ts, so raw syscalls (three arguments each).
const SYS_LISTEN: Record<string, number> = { x64: 50, arm64: 201 };
const SYS_CONNECT: Record<string, number> = { x64: 42, arm64: 203 };

/** listen(2). */
export function listenSocket(fd: number, backlog = 128): void {
  check('listen', syscall3Raw(SYS_LISTEN[arch], fd, backlog, 0), `fd ${fd}`);
}

/** connect(2) with a sockaddr given as bytes (blocking unless the socket is non-blocking). */
export function connectSockaddr(fd: number, sockaddr: Uint8Array, detail?: string): void {
  const mem = scratch(sockaddr.length);
  mem.buffer.set(sockaddr, 0);
  check('connect', syscall3Raw(SYS_CONNECT[arch], fd, mem.address, sockaddr.length), detail ?? `fd ${fd}`);
}

/** A struct sockaddr_in for an IPv4 address ("10.0.0.1") and port. */
export function sockaddrIn(address: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0); // AF_INET
  b.writeUInt16BE(port, 2);
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  Buffer.from(parts).copy(b, 4);
  return b;
}
