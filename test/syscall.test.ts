import { describe, expect, it } from 'vitest';
import {
  btfLoadRaw,
  check,
  closeFd,
  Epoll,
  getFdById,
  getNextId,
  NativeMemory,
  NetlinkSocket,
  SyscallError,
  errnoName,
} from '../src/syscall/index.js';
import { libc } from '../src/syscall/libc.js';
import { BpfCommand } from '../src/uapi/bpf.js';
import { Program } from '../src/programs/index.js';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0 } from '../src/asm/registers.js';
import { isRoot, need } from './support/env.js';

describe('errors', () => {
  it('names errnos, including kernel-internal ones', () => {
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(28)).toBe('ENOSPC');
    expect(errnoName(524)).toBe('ENOTSUPP');
    // EPERM on a map command is refined where the syscall layer checks results: it knows the
    // process's capabilities.
    let e: unknown;
    try {
      check('BPF_MAP_CREATE', -1);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(SyscallError);
    expect((e as SyscallError).message).toMatch(
      /^BPF_MAP_CREATE failed: EPERM \(1\) Operation not permitted; hint: (CAP_BPF is missing|this process has CAP_BPF)/,
    );
    expect(new SyscallError('BPF_PROG_LOAD', 28).hint).toMatch(/logSize/);
    expect(new SyscallError('BPF_MAP_UPDATE_ELEM', 7).hint).toMatch(/^the map is full/);
    expect(new SyscallError('BPF_MAP_CREATE', 7).hint).toMatch(/size/);
  });

  it('a closed fd is reported, not ignored', () => {
    expect(() => closeFd(1_000_000)).toThrow(/close failed: EBADF/);
  });
});

describe('native memory', () => {
  it('gives a Buffer over a fixed native address, freed once', () => {
    const m = new NativeMemory(100);
    expect(m.length).toBe(4096);
    m.buffer.write('hello', 0);
    expect(m.buffer.toString('utf8', 0, 5)).toBe('hello');
    expect(m.address % 4096).toBe(0);
    m.free();
    m.free();
  });
});

describe('epoll off the main thread', () => {
  it('wakes on a ready fd while the event loop keeps running, and close() ends a pending wait', async () => {
    const ep = new Epoll();
    const efd = libc.eventfd(0, 0x80000 | 0x800);
    expect(efd).toBeGreaterThan(0);
    const scratch = new NativeMemory(8);
    try {
      ep.add(efd, 7);
      expect(await ep.wait(0)).toEqual([]);
      const pending = ep.wait(5000);
      // The event loop is free while the wait blocks another thread.
      let ticks = 0;
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (++ticks === 3) {
            clearInterval(t);
            resolve();
          }
        }, 5);
      });
      scratch.buffer.writeBigUInt64LE(1n, 0);
      expect(libc.write(efd, scratch.address, 8)).toBe(8);
      expect(await pending).toEqual([7]);
      libc.read(efd, scratch.address, 8);
      const never = ep.wait(-1);
      ep.close();
      expect(await never).toEqual([]);
      expect(await ep.wait(10)).toEqual([]);
    } finally {
      ep.close();
      libc.close(efd);
      scratch.free();
    }
  });
});

describe('netlink socket', () => {
  it('asks the kernel about the loopback device (RTM_GETLINK) and gets RTM_NEWLINK back', () => {
    using nl = new NetlinkSocket();
    expect(nl.portId).toBeGreaterThan(0);
    const msg = Buffer.alloc(16 + 16);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(18, 4); // RTM_GETLINK
    msg.writeUInt16LE(1, 6); // NLM_F_REQUEST
    msg.writeUInt32LE(42, 8); // seq
    msg.writeUInt8(0, 16); // ifi_family AF_UNSPEC
    msg.writeInt32LE(1, 20); // ifi_index: lo is always 1
    nl.send(msg);
    const reply = nl.receive();
    expect(reply.readUInt16LE(4)).toBe(16); // RTM_NEWLINK
    expect(reply.readUInt32LE(8)).toBe(42);
    expect(reply.readInt32LE(20)).toBe(1);
    // IFLA_IFNAME (3) holds "lo".
    let off = 32;
    let name = '';
    while (off + 4 <= reply.readUInt32LE(0)) {
      const len = reply.readUInt16LE(off);
      if (len < 4) break;
      if ((reply.readUInt16LE(off + 2) & 0x3fff) === 3) name = reply.toString('utf8', off + 4, off + len - 1);
      off += (len + 3) & ~3;
    }
    expect(name).toBe('lo');
  });
});

describe.runIf(need(isRoot, 'bpf command tests need root'))('bpf commands without a higher layer', () => {
  it('walks program ids and opens one by id', () => {
    using prog = Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, 1).exit().build(), name: 'walk' });
    const want = prog.info().id;
    const ids: number[] = [];
    for (let id = getNextId(BpfCommand.PROG_GET_NEXT_ID, 0); id !== undefined; id = getNextId(BpfCommand.PROG_GET_NEXT_ID, id))
      ids.push(id);
    expect(ids).toContain(want);
    const fd = getFdById(BpfCommand.PROG_GET_FD_BY_ID, want);
    closeFd(fd);
    expect(() => getFdById(BpfCommand.MAP_GET_FD_BY_ID, 0x7fff_fff0)).toThrow(/BPF_MAP_GET_FD_BY_ID failed: ENOENT/);
  });

  it('loads BTF and returns the kernel log for bad BTF', () => {
    // A minimal BTF blob: header, one INT type "int" (32 bits, signed), string section.
    const strings = Buffer.from('\0int\0');
    const type = Buffer.alloc(16);
    type.writeUInt32LE(1, 0); // name_off
    type.writeUInt32LE(1 << 24, 4); // kind INT, vlen 0
    type.writeUInt32LE(4, 8); // size
    type.writeUInt32LE((1 << 24) | 32, 12); // encoding SIGNED, bits 32
    const header = Buffer.alloc(24);
    header.writeUInt16LE(0xeb9f, 0);
    header.writeUInt8(1, 2);
    header.writeUInt32LE(24, 4);
    header.writeUInt32LE(0, 8);
    header.writeUInt32LE(type.length, 12);
    header.writeUInt32LE(type.length, 16);
    header.writeUInt32LE(strings.length, 20);
    const good = Buffer.concat([header, type, strings]);
    const r = btfLoadRaw(good);
    expect(r.ret).toBeGreaterThan(0);
    closeFd(r.ret);
    const bad = Buffer.from(good);
    bad.writeUInt32LE(999, 24 + 0); // name_off past the string section
    const log = new NativeMemory(64 * 1024);
    try {
      const r2 = btfLoadRaw(bad, log);
      expect(r2.ret).toBe(-22);
      expect(r2.log).toMatch(/name_off|Invalid name/i);
    } finally {
      log.free();
    }
  });
});
