// Objects that hold kernel fds own them: `.fd` throws once the object is closed (a stale number,
// perhaps reused by another object, never reaches the kernel), and an attachment made with
// BPF_PROG_ATTACH holds its own duplicates of what it detaches with, so closing the Program first
// neither breaks the detach nor lets it name another program. The kernel's own program query is
// the oracle for what is attached.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0 } from '../src/asm/registers.js';
import { attachCgroup, CgroupAttachment } from '../src/links/index.js';
import { BtfObject, KernelObjectError } from '../src/objects/index.js';
import { Program } from '../src/programs/index.js';
import { closeFd, openPath, progQuery } from '../src/syscall/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { PacketSocket } from '../src/xsk/index.js';
import { isRoot, need } from './support/env.js';
import './support/leaks.js';

function cgroup2Root(): string | undefined {
  const line = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[2] === 'cgroup2');
  return line?.split(' ')[1];
}

const skbProgram = (name: string): Program =>
  Program.load({
    type: 'CGROUP_SKB',
    instructions: new ProgramBuilder().mov64Imm(R0, 1).exit().build(),
    name,
    expectedAttachType: AttachType.CGROUP_INET_EGRESS,
  });

function attachedIds(dir: string): number[] {
  const cg = openPath(dir, 0x10000 /* O_DIRECTORY */);
  try {
    return progQuery(cg, AttachType.CGROUP_INET_EGRESS).ids;
  } finally {
    closeFd(cg);
  }
}

describe.runIf(need(isRoot, 'kernel objects need root'))('owned fds', () => {
  it('a BPF_PROG_ATTACH cgroup attachment detaches its own program after the Program was closed and its number reused', () => {
    const root = cgroup2Root();
    if (!need(root !== undefined, 'a cgroup v2 hierarchy must be mounted')) return;
    const dir = `${root}/ebpf_owned_fds_${process.pid}`;
    mkdirSync(dir);
    try {
      const first = skbProgram('owned_first');
      const firstId = first.info().id;
      const attachment = attachCgroup(first, dir, AttachType.CGROUP_INET_EGRESS, { legacy: true });
      expect(attachment).toBeInstanceOf(CgroupAttachment);
      first.close();
      // The lowest free number is handed out next, so the second program usually gets the first's
      // old number: a detach by that number would remove the second program; without a reuse it
      // would fail with EBADF. Either way the first program must be the one detached.
      const second = skbProgram('owned_second');
      const secondAttachment = attachCgroup(second, dir, AttachType.CGROUP_INET_EGRESS, { legacy: true });
      try {
        expect(attachedIds(dir).sort()).toEqual([firstId, second.info().id].sort());
        // Closing the first attachment detaches the first program, not the one now at its old number.
        attachment.close();
        expect(attachedIds(dir)).toEqual([second.info().id]);
      } finally {
        secondAttachment.close();
        second.close();
      }
      expect(attachedIds(dir)).toEqual([]);
    } finally {
      rmdirSync(dir);
    }
  });

  it('.fd throws once closed: BTF objects and AF_PACKET sockets', () => {
    const btf = BtfObject.load([
      { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false },
    ]);
    expect(btf.fd).toBeGreaterThan(2);
    btf.close();
    expect(() => btf.fd).toThrow(KernelObjectError);
    btf.close(); // idempotent

    const sock = new PacketSocket('lo');
    expect(sock.fd).toBeGreaterThan(2);
    sock.close();
    expect(() => sock.fd).toThrow(/is closed/);
  });
});
