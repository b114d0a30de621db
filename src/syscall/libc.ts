// The one place that talks to the FFI (koffi). Every libc function is bound once with a fixed C
// prototype: koffi then converts arguments from a precompiled description, and a call costs about a
// thousand instructions instead of the tens of thousands a per-call description costs. Addresses are
// declared `intptr_t`/`long` so they stay plain JavaScript numbers (user-space addresses fit in 53
// bits), and every wrapper returns the result or -errno, never throws.
import koffi from 'koffi';
import { arch } from 'node:process';

const lib = koffi.load('libc.so.6');

/** Syscall numbers of the calls glibc has no wrapper for. */
const SYSCALL_NUMBERS: Record<string, { bpf: number; perf_event_open: number }> = {
  x64: { bpf: 321, perf_event_open: 298 },
  arm64: { bpf: 280, perf_event_open: 241 },
};
const numbers = SYSCALL_NUMBERS[arch];
if (!numbers) throw new Error(`ebpf: unsupported architecture ${arch} (x64 and arm64 are supported)`);
export const SYS_BPF = numbers.bpf;
export const SYS_PERF_EVENT_OPEN = numbers.perf_event_open;

type Fn0 = () => number;
type Fn1 = (a: number) => number;
type Fn2 = (a: number, b: number) => number;
type Fn3 = (a: number, b: number, c: number) => number;
type Fn4 = (a: number, b: number, c: number, d: number) => number;
type Fn5 = (a: number, b: number, c: number, d: number, e: number) => number;
type Fn6 = (a: number, b: number, c: number, d: number, e: number, f: number) => number;

// koffi types its functions loosely (any); each binding gets the exact shape of its prototype here.
const bind = <T>(prototype: string): T => lib.func(prototype) as T;

// errno lives in thread-local storage. Each thread that loads this module (the main thread, and each
// worker_threads Worker, which evaluates its own copy) asks libc for its own errno address once and
// keeps a view over it: reading errno is then one array load, and it is the calling thread's errno.
// koffi leaves errno as the call set it (and restores an async call's errno on the calling thread
// before its callback runs), so the view reads the errno of the call just made.
const errnoLocation = bind<Fn0>('intptr_t __errno_location()')();
const errnoView = new Int32Array(koffi.view(errnoLocation, 4));

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return errnoView[0];
}

// syscall(2) is variadic in C; binding it with a fixed prototype per arity is what makes it cheap,
// and on x86-64 and arm64 Linux integer arguments travel in the same registers either way.
const syscall4 = bind<Fn4>('long syscall(long nr, long a, long b, long c)');
const syscall6 = bind<Fn6>('long syscall(long nr, long a, long b, long c, long d, long e)');

/** Raw syscall with three arguments: returns the result, or -errno. */
export function syscall3Raw(nr: number, a: number, b: number, c: number): number {
  const r = syscall4(nr, a, b, c);
  return r === -1 ? -errnoView[0] : r;
}

/** Raw syscall with five arguments: returns the result, or -errno. */
export function syscall5Raw(nr: number, a: number, b: number, c: number, d: number, e: number): number {
  const r = syscall6(nr, a, b, c, d, e);
  return r === -1 ? -errnoView[0] : r;
}

type AsyncFn3 = { async: (nr: number, a: number, b: number, c: number, cb: (err: unknown, r: number) => void) => void };

/**
 * A three-argument syscall on one of koffi's worker threads (libuv's pool): the event loop keeps
 * running while the kernel works (the verifier, for BPF_PROG_LOAD), and several such calls run at
 * once on several CPUs. Resolves to the result, or -errno. The memory the arguments point to must
 * stay untouched until it resolves.
 */
export function syscall3Async(nr: number, a: number, b: number, c: number): Promise<number> {
  return new Promise((resolve, reject) => {
    (syscall4 as unknown as AsyncFn3).async(nr, a, b, c, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      // koffi puts the worker thread's errno on this thread before calling back.
      else resolve(r === -1 ? -errnoView[0] : r);
    });
  });
}

/**
 * Async calls koffi runs without allocating: it keeps this many sets of stack and heap blocks for
 * them, and maps and unmaps a new set for each call beyond (koffi.config().resident_async_pools).
 */
export function residentAsyncCalls(): number {
  return koffi.config().resident_async_pools ?? 8;
}

const c = {
  close: bind<Fn1>('int close(int fd)'),
  // ioctl, fcntl and open are variadic in C; their optional argument is declared as a fixed one.
  ioctl: bind<Fn3>('int ioctl(int fd, unsigned long request, intptr_t arg)'),
  mmap: bind<Fn6>('intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
  munmap: bind<Fn2>('int munmap(intptr_t addr, size_t length)'),
  epollCreate1: bind<Fn1>('int epoll_create1(int flags)'),
  epollCtl: bind<Fn4>('int epoll_ctl(int epfd, int op, int fd, intptr_t event)'),
  eventfd: bind<Fn2>('int eventfd(unsigned int initval, int flags)'),
  write: bind<Fn3>('intptr_t write(int fd, intptr_t buf, size_t count)'),
  read: bind<Fn3>('intptr_t read(int fd, intptr_t buf, size_t count)'),
  socket: bind<Fn3>('int socket(int domain, int type, int protocol)'),
  bind: bind<Fn3>('int bind(int fd, intptr_t addr, uint32_t addrlen)'),
  setsockopt: bind<Fn5>('int setsockopt(int fd, int level, int name, intptr_t value, uint32_t len)'),
  getsockname: bind<Fn3>('int getsockname(int fd, intptr_t addr, intptr_t addrlen)'),
  sendto: bind<Fn6>('intptr_t sendto(int fd, intptr_t buf, size_t len, int flags, intptr_t addr, uint32_t addrlen)'),
  recvfrom: bind<Fn6>('intptr_t recvfrom(int fd, intptr_t buf, size_t len, int flags, intptr_t addr, intptr_t addrlen)'),
  fcntl: bind<Fn3>('int fcntl(int fd, int cmd, long arg)'),
  getpid: bind<Fn0>('int getpid()'),
  setns: bind<Fn2>('int setns(int fd, int nstype)'),
  open: bind<Fn3>('int open(intptr_t path, int flags, uint32_t mode)'),
};

const orErrno = (r: number): number => (r === -1 ? -errnoView[0] : r);

// libc wrappers, each returning the result or -errno. All pointers are native addresses (numbers).
export const libc = {
  close: (fd: number): number => orErrno(c.close(fd)),
  ioctl: (fd: number, request: number, arg: number): number => orErrno(c.ioctl(fd, request, arg)),
  mmap: (addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number =>
    orErrno(c.mmap(addr, length, prot, flags, fd, offset)),
  munmap: (addr: number, length: number): number => orErrno(c.munmap(addr, length)),
  epollCreate1: (flags: number): number => orErrno(c.epollCreate1(flags)),
  epollCtl: (epfd: number, op: number, fd: number, event: number): number => orErrno(c.epollCtl(epfd, op, fd, event)),
  eventfd: (initval: number, flags: number): number => orErrno(c.eventfd(initval, flags)),
  write: (fd: number, buf: number, count: number): number => orErrno(c.write(fd, buf, count)),
  read: (fd: number, buf: number, count: number): number => orErrno(c.read(fd, buf, count)),
  socket: (domain: number, type: number, protocol: number): number => orErrno(c.socket(domain, type, protocol)),
  bind: (fd: number, addr: number, len: number): number => orErrno(c.bind(fd, addr, len)),
  setsockopt: (fd: number, level: number, name: number, value: number, len: number): number =>
    orErrno(c.setsockopt(fd, level, name, value, len)),
  getsockname: (fd: number, addr: number, lenAddr: number): number => orErrno(c.getsockname(fd, addr, lenAddr)),
  sendto: (fd: number, buf: number, len: number, flags: number, addr: number, addrLen: number): number =>
    orErrno(c.sendto(fd, buf, len, flags, addr, addrLen)),
  recvfrom: (fd: number, buf: number, len: number, flags: number, addr: number, lenAddr: number): number =>
    orErrno(c.recvfrom(fd, buf, len, flags, addr, lenAddr)),
  fcntl: (fd: number, cmd: number, arg: number): number => orErrno(c.fcntl(fd, cmd, arg)),
  getpid: (): number => orErrno(c.getpid()),
  setns: (fd: number, nstype: number): number => orErrno(c.setns(fd, nstype)),
  open: (path: number, flags: number, mode: number): number => orErrno(c.open(path, flags, mode)),
};

type AsyncFn4 = { async: (a: number, b: number, c: number, d: number, cb: (err: unknown, r: number) => void) => void };
const epollWait = lib.func('int epoll_wait(int epfd, intptr_t events, int maxevents, int timeout)') as AsyncFn4;

/**
 * epoll_wait on one of koffi's worker threads (libuv's pool), so Node's event loop keeps running
 * while it blocks. Resolves to the number of events, or -errno.
 */
export function epollWaitAsync(epfd: number, events: number, maxEvents: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    epollWait.async(epfd, events, maxEvents, timeoutMs, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      // koffi puts the worker thread's errno on this thread before calling back.
      else resolve(r === -1 ? -errnoView[0] : r);
    });
  });
}

/** A Buffer over native memory at `address`, without copying. The caller keeps the memory alive. */
export function bufferAt(address: number, length: number): Buffer {
  return Buffer.from(koffi.view(address, length), 0, length);
}

