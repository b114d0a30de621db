// The one place that talks to the FFI (koffi). Every libc function is bound once with a fixed C
// prototype: koffi then converts arguments from a precompiled description, and a call costs about a
// thousand instructions instead of the tens of thousands a per-call description costs. Addresses are
// declared `intptr_t`/`long` so they stay plain JavaScript numbers (user-space addresses fit in 53
// bits), and every wrapper returns the result or -errno, never throws.
//
// Nothing happens at import: koffi (a native module), libc and the bindings are loaded by the first
// call that needs them, so importing a kernel entry point costs no native code, and a machine where
// koffi cannot load fails on first use, with a message. The syscall path, the hottest, checks
// nothing per call: its module variables start as stubs that bind libc and replace themselves (a
// check per call, `bound ?? bindLibc()`, cost it about 15 ns per bpf() call); the other wrappers
// check `bound` once per call.
import { createRequire } from 'node:module';
import { arch } from 'node:process';
import type Koffi from 'koffi';
import { EbpfError } from '../errors/index.js';
import { HOST_LITTLE_ENDIAN } from '../host.js';

/** Syscall numbers of the calls glibc has no wrapper for. */
const SYSCALL_NUMBERS: Record<string, { bpf: number; perf_event_open: number }> = {
  x64: { bpf: 321, perf_event_open: 298 },
  arm64: { bpf: 280, perf_event_open: 241 },
};
const numbers = SYSCALL_NUMBERS[arch];
// -1 on an architecture without numbers here: bindLibc() refuses it before any call is made.
export const SYS_BPF = numbers?.bpf ?? -1;
export const SYS_PERF_EVENT_OPEN = numbers?.perf_event_open ?? -1;

type Fn0 = () => number;
type Fn1 = (a: number) => number;
type Fn2 = (a: number, b: number) => number;
type Fn3 = (a: number, b: number, c: number) => number;
type Fn4 = (a: number, b: number, c: number, d: number) => number;
type Fn5 = (a: number, b: number, c: number, d: number, e: number) => number;
type Fn6 = (a: number, b: number, c: number, d: number, e: number, f: number) => number;
type AsyncFn4 = { async: (a: number, b: number, c: number, d: number, cb: (err: unknown, r: number) => void) => void };

/** Everything bound from libc, made once per thread by bindLibc(). */
interface Bound {
  readonly koffi: typeof Koffi;
  /** A view over this thread's errno. */
  readonly errno: Int32Array;
  readonly syscall4: Fn4;
  readonly syscall6: Fn6;
  readonly c: ReturnType<typeof bindFunctions>;
  readonly epollWait: AsyncFn4;
}

let bound: Bound | undefined;
// The hottest bindings also live in module variables: a stub that binds libc on its first call, then
// the bound function itself, so the syscall path makes no check at all.
let syscall4: Fn4 = (nr, a, b, c) => {
  bindLibc();
  return syscall4(nr, a, b, c);
};
let syscall6: Fn6 = (nr, a, b, c, d, e) => {
  bindLibc();
  return syscall6(nr, a, b, c, d, e);
};
let errnoView: Int32Array = new Int32Array(1);
// The other functions: undefined until bound, checked once per call.
let c: Bound['c'] | undefined;

function bindFunctions(bind: <T>(prototype: string) => T) {
  return {
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
}

/** Loads koffi and libc and binds every function: on the first call that needs one, once per thread. */
function bindLibc(): Bound {
  if (!numbers)
    throw new EbpfError(
      'ERR_NATIVE',
      `ebpf: unsupported architecture ${arch} (x64 and arm64 are supported); the pure entry points (ebpf/asm, ebpf/elf, ebpf/btf, …) work anywhere`,
    );
  // Native byte order for attribute structs: the kernel reads them as host-endian.
  if (!HOST_LITTLE_ENDIAN)
    throw new EbpfError(
      'ERR_NATIVE',
      'ebpf: big-endian hosts are not supported by the syscall layer; the pure entry points (ebpf/asm, ebpf/elf, ebpf/btf, …) work on them',
    );
  let koffi: typeof Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  } catch (e) {
    throw new EbpfError(
      'ERR_NATIVE',
      `ebpf: the native FFI (koffi) does not load here, and the kernel entry points need it: ${(e as Error).message}; reinstall the package on Linux x64 or arm64 (npm ci), or use only the pure entry points`,
      { cause: e },
    );
  }
  const lib = koffi.load('libc.so.6');
  // koffi types its functions loosely (any); each binding gets the exact shape of its prototype here.
  const bind = <T>(prototype: string): T => lib.func(prototype) as T;
  // errno lives in thread-local storage. Each thread that loads this module (the main thread, and
  // each worker_threads Worker, which evaluates its own copy) asks libc for its own errno address
  // once and keeps a view over it: reading errno is then one array load, and it is the calling
  // thread's errno. koffi leaves errno as the call set it (and restores an async call's errno on
  // the calling thread before its callback runs), so the view reads the errno of the call just made.
  const errnoLocation = bind<Fn0>('intptr_t __errno_location()')();
  bound = {
    koffi,
    errno: new Int32Array(koffi.view(errnoLocation, 4)),
    // syscall(2) is variadic in C; binding it with a fixed prototype per arity is what makes it
    // cheap, and on x86-64 and arm64 Linux integer arguments travel in the same registers either way.
    syscall4: bind<Fn4>('long syscall(long nr, long a, long b, long c)'),
    syscall6: bind<Fn6>('long syscall(long nr, long a, long b, long c, long d, long e)'),
    c: bindFunctions(bind),
    epollWait: lib.func('int epoll_wait(int epfd, intptr_t events, int maxevents, int timeout)') as AsyncFn4,
  };
  syscall4 = bound.syscall4;
  syscall6 = bound.syscall6;
  errnoView = bound.errno;
  c = bound.c;
  return bound;
}

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return (bound ?? bindLibc()).errno[0];
}

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
  const libc = bound ?? bindLibc();
  return new Promise((resolve, reject) => {
    (libc.syscall4 as unknown as AsyncFn3).async(nr, a, b, c, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      // koffi puts the worker thread's errno on this thread before calling back.
      else resolve(r === -1 ? -libc.errno[0] : r);
    });
  });
}

/**
 * Async calls koffi runs without allocating: it keeps this many sets of stack and heap blocks for
 * them, and maps and unmaps a new set for each call beyond (koffi.config().resident_async_pools).
 */
export function residentAsyncCalls(): number {
  return (bound ?? bindLibc()).koffi.config().resident_async_pools ?? 8;
}

// The table of bound functions; the first use binds libc. A failed call's errno is read right after
// it, before any other call on this thread.
const fns = (): Bound['c'] => c ?? bindLibc().c;
const orErrno = (r: number): number => (r === -1 ? -errnoView[0] : r);

// libc wrappers, each returning the result or -errno. All pointers are native addresses (numbers).
export const libc = {
  close: (fd: number): number => orErrno(fns().close(fd)),
  ioctl: (fd: number, request: number, arg: number): number => orErrno(fns().ioctl(fd, request, arg)),
  mmap: (addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number =>
    orErrno(fns().mmap(addr, length, prot, flags, fd, offset)),
  munmap: (addr: number, length: number): number => orErrno(fns().munmap(addr, length)),
  epollCreate1: (flags: number): number => orErrno(fns().epollCreate1(flags)),
  epollCtl: (epfd: number, op: number, fd: number, event: number): number => orErrno(fns().epollCtl(epfd, op, fd, event)),
  eventfd: (initval: number, flags: number): number => orErrno(fns().eventfd(initval, flags)),
  write: (fd: number, buf: number, count: number): number => orErrno(fns().write(fd, buf, count)),
  read: (fd: number, buf: number, count: number): number => orErrno(fns().read(fd, buf, count)),
  socket: (domain: number, type: number, protocol: number): number => orErrno(fns().socket(domain, type, protocol)),
  bind: (fd: number, addr: number, len: number): number => orErrno(fns().bind(fd, addr, len)),
  setsockopt: (fd: number, level: number, name: number, value: number, len: number): number =>
    orErrno(fns().setsockopt(fd, level, name, value, len)),
  getsockname: (fd: number, addr: number, lenAddr: number): number => orErrno(fns().getsockname(fd, addr, lenAddr)),
  sendto: (fd: number, buf: number, len: number, flags: number, addr: number, addrLen: number): number =>
    orErrno(fns().sendto(fd, buf, len, flags, addr, addrLen)),
  recvfrom: (fd: number, buf: number, len: number, flags: number, addr: number, lenAddr: number): number =>
    orErrno(fns().recvfrom(fd, buf, len, flags, addr, lenAddr)),
  fcntl: (fd: number, cmd: number, arg: number): number => orErrno(fns().fcntl(fd, cmd, arg)),
  getpid: (): number => orErrno(fns().getpid()),
  setns: (fd: number, nstype: number): number => orErrno(fns().setns(fd, nstype)),
  open: (path: number, flags: number, mode: number): number => orErrno(fns().open(path, flags, mode)),
};

/**
 * epoll_wait on one of koffi's worker threads (libuv's pool), so Node's event loop keeps running
 * while it blocks. Resolves to the number of events, or -errno.
 */
export function epollWaitAsync(epfd: number, events: number, maxEvents: number, timeoutMs: number): Promise<number> {
  const n = bound ?? bindLibc();
  return new Promise((resolve, reject) => {
    n.epollWait.async(epfd, events, maxEvents, timeoutMs, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      // koffi puts the worker thread's errno on this thread before calling back.
      else resolve(r === -1 ? -n.errno[0] : r);
    });
  });
}

/**
 * The address of an ArrayBuffer's memory. V8 never moves an ArrayBuffer's backing store, so the
 * address holds for as long as the ArrayBuffer is alive and not detached; the caller keeps it
 * referenced across every call that hands the address to the kernel.
 */
export function addressOf(ab: ArrayBuffer): number {
  return Number((bound ?? bindLibc()).koffi.address(ab));
}

/** A Buffer over native memory at `address`, without copying. The caller keeps the memory alive. */
export function bufferAt(address: number, length: number): Buffer {
  return Buffer.from((bound ?? bindLibc()).koffi.view(address, length), 0, length);
}
