// The one place that talks to ffi-rs. Every native call goes through a params object built once and
// reused: ffi-rs costs microseconds per call, most of it converting arguments, so the hot paths pass
// as few arguments as possible and never allocate per call.
import { open, load, DataType, createExternalBuffer, type JsExternal } from 'ffi-rs';
import { arch } from 'node:process';

const LIB = 'ebpf-libc';
open({ library: LIB, path: 'libc.so.6' });

type Param = DataType;

interface CallSpec {
  library: string;
  funcName: string;
  retType: DataType;
  paramsType: Param[];
  paramsValue: unknown[];
  freeResultMemory: boolean;
  errno?: boolean;
  runInNewThread?: boolean;
}

function spec(funcName: string, retType: DataType, paramsType: Param[]): CallSpec {
  return { library: LIB, funcName, retType, paramsType, paramsValue: new Array(paramsType.length).fill(0), freeResultMemory: false };
}

// ffi-rs's typings cannot express a params object reused across calls; this is the one cast.
const invoke = load as unknown as (params: CallSpec) => unknown;

/** Syscall numbers of the calls glibc has no wrapper for. */
const SYSCALL_NUMBERS: Record<string, { bpf: number; perf_event_open: number }> = {
  x64: { bpf: 321, perf_event_open: 298 },
  arm64: { bpf: 280, perf_event_open: 241 },
};
const numbers = SYSCALL_NUMBERS[arch];
if (!numbers) throw new Error(`ebpf: unsupported architecture ${arch} (x64 and arm64 are supported)`);
export const SYS_BPF = numbers.bpf;
export const SYS_PERF_EVENT_OPEN = numbers.perf_event_open;

// errno lives in thread-local storage; for the main thread its address never changes, so one view
// over it replaces ffi-rs's slower errno capture on every call.
const errnoLocation = invoke(spec('__errno_location', DataType.External, [])) as JsExternal;
const errnoView = createExternalBuffer(errnoLocation, 4);

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return errnoView.readInt32LE(0);
}

const I64 = DataType.I64;

const syscall3 = spec('syscall', I64, [I64, I64, I64, I64]);
const syscall5 = spec('syscall', I64, [I64, I64, I64, I64, I64, I64]);

/** Raw syscall with three arguments: returns the result, or -errno. */
export function syscall3Raw(nr: number, a: number, b: number, c: number): number {
  const v = syscall3.paramsValue;
  v[0] = nr; v[1] = a; v[2] = b; v[3] = c;
  const r = invoke(syscall3) as number;
  return r === -1 ? -lastErrno() : r;
}

/** Raw syscall with five arguments: returns the result, or -errno. */
export function syscall5Raw(nr: number, a: number, b: number, c: number, d: number, e: number): number {
  const v = syscall5.paramsValue;
  v[0] = nr; v[1] = a; v[2] = b; v[3] = c; v[4] = d; v[5] = e;
  const r = invoke(syscall5) as number;
  return r === -1 ? -lastErrno() : r;
}

/** A libc function returning `int` (I32) or `long`/`ssize_t`/a pointer (I64). */
function wrapper(funcName: string, paramsType: Param[], ret: DataType.I32 | DataType.I64 = DataType.I32): (...args: number[]) => number {
  const s = spec(funcName, ret, paramsType);
  return (...args: number[]): number => {
    for (let i = 0; i < args.length; i++) s.paramsValue[i] = args[i];
    const r = invoke(s) as number;
    return r === -1 ? -lastErrno() : r;
  };
}

// libc wrappers, each returning the result or -errno. All pointers are native addresses (numbers).
export const libc = {
  close: wrapper('close', [I64]),
  ioctl: wrapper('ioctl', [I64, I64, I64]),
  mmap: wrapper('mmap', [I64, I64, I64, I64, I64, I64], I64),
  munmap: wrapper('munmap', [I64, I64]),
  epollCreate1: wrapper('epoll_create1', [I64]),
  epollCtl: wrapper('epoll_ctl', [I64, I64, I64, I64]),
  eventfd: wrapper('eventfd', [I64, I64]),
  write: wrapper('write', [I64, I64, I64], I64),
  read: wrapper('read', [I64, I64, I64], I64),
  socket: wrapper('socket', [I64, I64, I64]),
  bind: wrapper('bind', [I64, I64, I64]),
  setsockopt: wrapper('setsockopt', [I64, I64, I64, I64, I64]),
  getsockname: wrapper('getsockname', [I64, I64, I64]),
  sendto: wrapper('sendto', [I64, I64, I64, I64, I64, I64], I64),
  recvfrom: wrapper('recvfrom', [I64, I64, I64, I64, I64, I64], I64),
  fcntl: wrapper('fcntl', [I64, I64, I64]),
  getpid: wrapper('getpid', []),
  setns: wrapper('setns', [I64, I64]),
  open: wrapper('open', [I64, I64, I64]),
};

const epollWaitSpec: CallSpec = { ...spec('epoll_wait', DataType.I32, [I64, I64, I64, I64]), errno: true, runInNewThread: true };

/**
 * epoll_wait on a thread of ffi-rs's pool, so Node's event loop keeps running while it blocks.
 * Resolves to the number of events, or -errno.
 */
export async function epollWaitAsync(epfd: number, events: number, maxEvents: number, timeoutMs: number): Promise<number> {
  const s: CallSpec = { ...epollWaitSpec, paramsValue: [epfd, events, maxEvents, timeoutMs] };
  const r = (await invoke(s)) as { value: number; errnoCode: number };
  return r.value === -1 ? -r.errnoCode : r.value;
}

const memmoveSpec = spec('memmove', DataType.External, [I64, I64, I64]);

/** A Buffer over native memory at `address`, without copying. The caller keeps the memory alive. */
export function bufferAt(address: number, length: number): Buffer {
  const v = memmoveSpec.paramsValue;
  v[0] = address; v[1] = address; v[2] = 0;
  const ext = invoke(memmoveSpec) as JsExternal;
  return createExternalBuffer(ext, length);
}

const strerrorSpec = spec('strerror', DataType.String, [I64]);

/** The C library's text for an errno. */
export function strerror(errno: number): string {
  strerrorSpec.paramsValue[0] = errno;
  return invoke(strerrorSpec) as string;
}
