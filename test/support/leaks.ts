// Per test file: the fds that hold kernel BPF objects (and the perf, epoll and eventfd fds this
// library opens) must be back to where they were when the file's tests end.
import { afterAll, beforeAll, expect } from 'vitest';
import { readdirSync, readlinkSync } from 'node:fs';

const KINDS = /^anon_inode:(bpf-map|bpf-prog|bpf_link|btf|\[perf_event\]|\[eventpoll\]|\[eventfd\]|bpf_iter)/;

function kernelObjectFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (KINDS.test(target)) out.push(`${fd} -> ${target}`);
    } catch {
      // The fd readdir itself used is gone by now.
    }
  }
  return out.sort();
}

let before: string[] = [];
beforeAll(() => {
  before = kernelObjectFds();
});
afterAll(() => {
  expect(kernelObjectFds(), 'fds of kernel objects left open by this test file').toEqual(before);
});
