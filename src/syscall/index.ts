export * from './bpf.js';
export * from './errors.js';
export * from './epoll.js';
export * from './fd.js';
export * from './memory.js';
export * from './mmap.js';
export * from './netlink.js';
export * from './perf.js';
export { lastErrno, syscall3Raw, SYS_BPF } from './libc.js';
