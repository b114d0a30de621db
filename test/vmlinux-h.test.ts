// The vmlinux.h this library prints from the kernel's BTF is good enough to build a CO-RE program
// against: clang compiles it, the loader relocates it, the kernel verifies and runs it.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollection } from '../src/index.js';
import { Link } from '../src/links/index.js';
import { kernelBtf } from '../src/features/index.js';
import { formatVmlinuxHeader } from '../src/btf/index.js';
import { hasCommand, isRoot, need } from './support/env.js';

const PROGRAM = `
#include "vmlinux.h"
#define SEC(name) __attribute__((section(name), used))
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
struct { int (*type)[BPF_MAP_TYPE_ARRAY]; __u32 *key; __u64 *value; int (*max_entries)[2]; } seen SEC(".maps");
SEC("raw_tp/sys_enter")
int record_tgid(void *ctx) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  int tgid = 0;
  bpf_probe_read_kernel(&tgid, sizeof(tgid), __builtin_preserve_access_index(&task->tgid));
  __u32 key = 0;
  __u64 *want = bpf_map_lookup_elem(&seen, &key);
  if (!want || *want != (__u64)tgid) return 0;
  key = 1;
  __u64 *hits = bpf_map_lookup_elem(&seen, &key);
  if (hits) __sync_fetch_and_add(hits, 1);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

describe.runIf(need(isRoot && hasCommand('clang'), 'needs root and clang (to compile against the generated header)'))(
  'generated vmlinux.h',
  () => {
    it('compiles with clang, and the CO-RE program built on it loads and reads task->tgid', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vmlinux-h-'));
      try {
        writeFileSync(join(dir, 'vmlinux.h'), formatVmlinuxHeader(kernelBtf()));
        writeFileSync(join(dir, 'prog.c'), PROGRAM);
        execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(dir, 'prog.c'), '-o', join(dir, 'prog.o')], { stdio: 'pipe' });
        using c = loadCollection(readFileSync(join(dir, 'prog.o')));
        const seen = c.maps.seen;
        using link = Link.rawTracepoint(c.programs.record_tgid, 'sys_enter');
        const child = spawn(
          'python3',
          ['-c', 'import os,sys\nprint("ready", flush=True)\nsys.stdin.readline()\nfor _ in range(50): os.getppid()'],
          { stdio: ['pipe', 'pipe', 'inherit'] },
        );
        await new Promise<void>((r) => child.stdout!.once('data', () => r()));
        seen.update(Buffer.from([0, 0, 0, 0]), Buffer.from(new BigUint64Array([BigInt(child.pid!)]).buffer));
        const exited = new Promise((r) => child.on('exit', r));
        child.stdin!.end('go\n');
        await exited;
        link.close();
        const hits = seen.lookup(Buffer.from([1, 0, 0, 0])) as bigint | Buffer;
        const n = typeof hits === 'bigint' ? hits : (hits as Buffer).readBigUInt64LE(0);
        expect(n).toBeGreaterThanOrEqual(50n);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
