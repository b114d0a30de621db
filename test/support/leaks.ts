// Per test file: the fds that hold kernel BPF objects (and the perf, epoll and eventfd fds this
// library opens) must be back to where they were when the file's tests end.
import { afterAll, beforeAll, expect } from 'vitest';
import { readdirSync, readlinkSync } from 'node:fs';
import { getsockoptBytes } from '../../src/syscall/sockopt.js';
import { startVerifierThread, verifierThreadStats } from '../../src/syscall/verifier-thread.js';

/** AF_XDP (44) and AF_PACKET (17) sockets hold UMEMs, rings and device bindings: they count too. */
const SOCKET_DOMAINS: Record<number, string> = { 44: 'AF_XDP', 17: 'AF_PACKET' };

function socketDomain(fd: number): number | undefined {
  try {
    return getsockoptBytes(fd, 1 /* SOL_SOCKET */, 39 /* SO_DOMAIN */, 4).readInt32LE(0);
  } catch {
    return undefined;
  }
}

const KINDS = /^anon_inode:(bpf-map|bpf-prog|bpf_link|btf|\[perf_event\]|\[eventpoll\]|\[eventfd\]|bpf_iter)/;

function kernelObjectFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (KINDS.test(target)) out.push(`${fd} -> ${target}`);
      else if (target.startsWith('socket:')) {
        const domain = SOCKET_DOMAINS[socketDomain(Number(fd)) ?? -1];
        if (domain) out.push(`${fd} -> ${domain} ${target}`);
      }
    } catch {
      // The fd readdir itself used is gone by now.
    }
  }
  return out.sort();
}

let before: string[] = [];
beforeAll(async () => {
  // The loaders' helper thread (src/syscall/verifier-thread.ts) lives as long as the process, and
  // its event loop holds an epoll fd and an eventfd: started first, it is in the baseline (and every
  // collection of two programs or more is loaded with it).
  startVerifierThread();
  for (let i = 0; i < 1000 && !verifierThreadStats().ready; i++) await new Promise((r) => setTimeout(r, 5));
  before = kernelObjectFds();
});
afterAll(() => {
  expect(kernelObjectFds(), 'fds of kernel objects left open by this test file').toEqual(before);
});
