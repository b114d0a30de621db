import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { attachCgroup, attachSocketFilter, BpfLink, CgroupAttachment } from '../src/links/index.js';
import { libc } from '../src/syscall/libc.js';
import { NativeMemory, closeFd, progQuery, openPath } from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { u32, u64 } from '../src/codec/index.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

/** Counts runs in counts[0] and returns `verdict`. */
function counter(
  type: 'SOCKET_FILTER' | 'CGROUP_SKB',
  counts: BpfMap<number, bigint>,
  verdict: number,
  expectedAttachType?: number,
): Program {
  const insns = new ProgramBuilder()
    .st(Size.W, R10, -4, 0)
    .ldMapFd(R1, 'counts')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1)
    .label('out')
    .mov64Imm(R0, verdict)
    .exit()
    .build();
  return Program.load({ type, instructions: insns, maps: { counts }, name: 'counter', expectedAttachType });
}

function cgroup2Root(): string | undefined {
  const line = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[2] === 'cgroup2');
  return line?.split(' ')[1];
}

function sendUdp(port: number, n: number, cgroupProcs?: string): void {
  const enter = cgroupProcs ? `open(${JSON.stringify(cgroupProcs)}, 'w').write(str(os.getpid()))\n` : '';
  const r = spawnSync('python3', [
    '-c',
    `import os, socket\n${enter}s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${n}): s.sendto(b'x' * 10, ('127.0.0.1', ${port}))`,
  ]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
}

describe.runIf(need(isRoot, 'attach tests need root'))('cgroup and socket attachments', () => {
  it('a socket filter sees every datagram the socket receives, until detached', () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(counter('SOCKET_FILTER', counts, -1 >>> 0));
    const fd = libc.socket(2, 2 | 0x80000, 0); // AF_INET, SOCK_DGRAM | SOCK_CLOEXEC
    expect(fd).toBeGreaterThan(0);
    const mem = new NativeMemory(64);
    try {
      mem.buffer.fill(0, 0, 32);
      mem.buffer.writeUInt16LE(2, 0);
      mem.buffer.writeUInt32BE(0x7f000001, 4);
      expect(libc.bind(fd, mem.address, 16)).toBe(0);
      mem.buffer.writeUInt32LE(16, 32);
      expect(libc.getsockname(fd, mem.address, mem.address + 32)).toBe(0);
      const port = mem.buffer.readUInt16BE(2);
      const link = attachSocketFilter(prog, fd);
      sendUdp(port, 25);
      expect(counts.lookup(0)).toBe(25n);
      link.close();
      sendUdp(port, 5);
      expect(counts.lookup(0)).toBe(25n);
    } finally {
      closeFd(fd);
      mem.free();
    }
  });

  it.each([false, true])('a cgroup skb egress program counts the packets of processes in the cgroup (legacy attach: %s)', (legacy) => {
    const root = cgroup2Root();
    need(root !== undefined, 'a cgroup v2 hierarchy must be mounted');
    const dir = `${root}/ebpf_test_${process.pid}_${legacy ? 'legacy' : 'link'}`;
    mkdirSync(dir);
    try {
      const counts = track(
        BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counts' }, { key: u32, value: u64 }),
      );
      const prog = track(counter('CGROUP_SKB', counts, 1, AttachType.CGROUP_INET_EGRESS));
      const link = track(attachCgroup(prog, dir, AttachType.CGROUP_INET_EGRESS, { legacy }));
      expect(link).toBeInstanceOf(legacy ? CgroupAttachment : BpfLink);
      const cg = openPath(dir, 0x10000);
      try {
        expect(progQuery(cg, AttachType.CGROUP_INET_EGRESS).ids).toEqual([prog.info().id]);
      } finally {
        closeFd(cg);
      }
      sendUdp(9, 40, `${dir}/cgroup.procs`);
      expect(counts.lookup(0)).toBe(40n);
      if (link instanceof BpfLink) {
        // BPF_LINK_DETACH: the link fd stays open, the program no longer runs.
        link.detach();
        sendUdp(9, 10, `${dir}/cgroup.procs`);
        expect(counts.lookup(0)).toBe(40n);
      }
      link.close();
      sendUdp(9, 10, `${dir}/cgroup.procs`);
      expect(counts.lookup(0)).toBe(40n);
    } finally {
      rmdirSync(dir);
    }
  });

  it('kernel links, their programs and maps die with a killed process', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/attach-and-wait.ts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    const exists = (kind: string, id: number): boolean => spawnSync('bpftool', [kind, 'show', 'id', String(id)]).status === 0;
    const ids = JSON.parse(line) as { links: number[]; programs: number[]; map: number; perfLinkFd: boolean };
    try {
      expect(ids.perfLinkFd).toBe(true);
      for (const id of ids.links) expect(exists('link', id)).toBe(true);
      for (const id of ids.programs) expect(exists('prog', id)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The kernel frees them once the dead process's fds are gone (after an RCU grace period).
    const deadline = Date.now() + 5000;
    const alive = (): string[] => [
      ...ids.links.filter((id) => exists('link', id)).map((id) => `link ${id}`),
      ...ids.programs.filter((id) => exists('prog', id)).map((id) => `prog ${id}`),
      ...(exists('map', ids.map) ? [`map ${ids.map}`] : []),
    ];
    while (alive().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toEqual([]);
  });
});
