// struct_ops from C: bpf/tcp_cc.c (.struct_ops) and bpf/tcp_cc_link.c (.struct_ops.link), a
// Reno-like TCP congestion control, loaded by the object loader, registered with
// attachStructOps, and used by TCP connections inside a network namespace the test creates.
// Oracles: llvm-objdump's relocations for which program fills which member, libbpf (bpftool
// struct_ops register) registering the same object, bpftool's dump of both registrations, the
// kernel's list of congestion controls, and `ss -ti` naming the algorithm on the live socket.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { attachStructOps, loadCollection, loadCollectionSpec, LoaderError, type Collection } from '../src/loader/index.js';
import { BpfLink, StructOpsMap } from '../src/links/index.js';
import { closeFd, getFdById } from '../src/syscall/index.js';
import { BpfCommand, MapType, ProgramType } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';
import './support/leaks.js';

const dir = new URL('../bpf/', import.meta.url).pathname;
const OBJ = `${dir}tcp_cc.o`;
const LINK_OBJ = `${dir}tcp_cc_link.o`;
const BPF_F_LINK = 1 << 13;
const canRun = need(
  isRoot && hasCommand('ip') && hasCommand('ss') && hasCommand('python3') && hasCommand('bpftool'),
  'struct_ops C tests need root, iproute2 (ip, ss), python3 and bpftool',
);

function available(): string[] {
  return readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
}

function alive(progId: number): boolean {
  try {
    closeFd(getFdById(BpfCommand.PROG_GET_FD_BY_ID, progId));
    return true;
  } catch {
    return false;
  }
}

/** bpftool's dump of a registered struct_ops map: the kernel struct's members, program ids dropped. */
function dump(args: string[]): Record<string, unknown> {
  const text = execFileSync('bpftool', ['-j', 'struct_ops', 'dump', ...args], { encoding: 'utf8' }).trim();
  // By name it prints a JSON array, by id the array's elements only.
  const out = JSON.parse(text.startsWith('[') ? text : `[${text}]`) as Record<string, { data?: Record<string, unknown> }>[];
  const value = out.map((o) => o.bpf_struct_ops_tcp_congestion_ops).find((v) => v !== undefined);
  const data = value?.data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/\/prog_id:\d+$/, '') : v]));
}

/** bpftool (libbpf) registers bpf/tcp_cc.o; returns its map id (unregister by id: ours has the same name). */
function libbpfRegister(): string {
  const r = spawnSync('bpftool', ['struct_ops', 'register', OBJ], { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`; // it says "Registered ..." on stderr
  const id = /Registered tcp_congestion_ops ebpf_reno id (\d+)/.exec(out)?.[1];
  if (!id) throw new Error(`bpftool struct_ops register said: ${out}`);
  return id;
}

describe('struct_ops variables in the object (spec, pure)', () => {
  it('reads the variable, its struct and the program of each function member as the relocations say', () => {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(OBJ)), { name: OBJ });
    const m = spec.maps.ebpf_reno;
    expect(m).toMatchObject({ type: MapType.STRUCT_OPS, section: '.struct_ops', keySize: 4, maxEntries: 1, flags: 0 });
    const c = m.contents;
    if (c?.kind !== 'struct_ops') throw new Error('no struct_ops contents');
    expect(c.structName).toBe('tcp_congestion_ops');
    expect(c.link).toBe(false);
    // llvm-objdump's relocation records of .struct_ops: offset -> function.
    const relocs = execFileSync('llvm-objdump-19', ['-r', OBJ], { encoding: 'utf8' })
      .split('RELOCATION RECORDS FOR [.struct_ops]:')[1]
      .split('\n\n')[0];
    const byOffset = new Map([...relocs.matchAll(/^([0-9a-f]{16}) R_BPF_64_ABS64\s+(\S+)$/gm)].map((r) => [parseInt(r[1], 16), r[2]]));
    expect(byOffset.size).toBe(3);
    expect(new Map(c.members.filter((x) => x.program).map((x) => [x.offset, x.program]))).toEqual(byOffset);
    const name = c.members.find((x) => x.name === 'name')!;
    expect(
      Buffer.from(c.bytes.subarray(name.offset, name.offset + name.size))
        .toString('latin1')
        .replace(/\0+$/, ''),
    ).toBe('ebpf_reno');
    const flags = c.members.find((x) => x.name === 'flags')!;
    expect(Buffer.from(c.bytes).readUInt32LE(flags.offset)).toBe(1); // TCP_CONG_NON_RESTRICTED
    for (const p of Object.values(spec.programs)) expect(p.type).toBe(ProgramType.STRUCT_OPS);

    const linked = loadCollectionSpec(new Uint8Array(readFileSync(LINK_OBJ)), { name: LINK_OBJ });
    expect(linked.maps.ebpf_reno_link).toMatchObject({ type: MapType.STRUCT_OPS, section: '.struct_ops.link', flags: BPF_F_LINK });
  });
});

describe.runIf(canRun)('a C congestion control registered from the object', () => {
  let ns: TestNetns | undefined;
  const progIds: number[] = [];

  afterAll(async () => {
    ns?.remove();
    // The kernel frees struct_ops programs only after RCU grace periods and the namespace's
    // cleanup: wait, so the leak checks after this file see them gone.
    for (let i = 0; i < 120 && progIds.some(alive); i++) await new Promise((r) => setTimeout(r, 500));
    expect(progIds.filter(alive), 'struct_ops programs freed by the kernel within a minute').toEqual([]);
  }, 90_000);

  function load(path: string): Collection {
    const c = loadCollection(path);
    for (const p of Object.values(c.programs)) progIds.push(p.info().id);
    return c;
  }

  /**
   * A TCP connection over loopback in the namespace (with congestion control `cc` set on the
   * socket, or the namespace's default); 8 MiB sent, `ss -tin` taken while it is open.
   */
  function transfer(cc: string | undefined): { socket: string; ss: string } {
    ns ??= createTestNetns();
    const out = ns.exec(
      'python3',
      '-c',
      `
import socket, subprocess, threading, json
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def drain():
    c, _ = srv.accept()
    while c.recv(65536): pass
    c.close()
t = threading.Thread(target=drain); t.start()
s = socket.socket()
cc = ${JSON.stringify(cc ?? null)}
if cc: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
s.connect(srv.getsockname())
s.sendall(b"x" * (8 << 20))
port = s.getsockname()[1]
ss = subprocess.run(["ss", "-tin", "src", "127.0.0.1:%d" % port], capture_output=True, text=True).stdout
name = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\\0").decode()
s.close(); t.join()
print(json.dumps({"socket": name, "ss": ss}))
`,
    );
    return JSON.parse(out) as { socket: string; ss: string };
  }

  it('libbpf (bpftool struct_ops register) registers the same object: the oracle', () => {
    const id = libbpfRegister();
    try {
      expect(available()).toContain('ebpf_reno');
    } finally {
      execFileSync('bpftool', ['struct_ops', 'unregister', 'id', id], { encoding: 'utf8' });
    }
    expect(available()).not.toContain('ebpf_reno');
  });

  it('.struct_ops: registers by the map write, carries a TCP connection, counts, and unregisters on close', () => {
    const coll = load(OBJ);
    try {
      expect(Object.keys(coll.structOps)).toEqual(['ebpf_reno']);
      expect(coll.maps.ebpf_reno.info()).toMatchObject({ type: MapType.STRUCT_OPS });
      expect(available()).not.toContain('ebpf_reno'); // loaded, not registered
      const reg = attachStructOps(coll, 'ebpf_reno');
      try {
        expect(reg).toBeInstanceOf(StructOpsMap);
        expect(available()).toContain('ebpf_reno');
        // What the kernel holds is what libbpf registers from the same object (bpftool's dump).
        const ours = dump(['id', String(coll.maps.ebpf_reno.info().id)]);
        expect(ours.name).toBe('ebpf_reno');
        expect(ours.ssthresh).toMatch(/reno_ssthresh$/);
        expect(ours.flags).toBe(1); // a data member copied from the object into the kernel's layout
        const before = coll.variables.get('cong_avoid_calls') as bigint;
        const r = transfer('ebpf_reno');
        expect(r.socket).toBe('ebpf_reno');
        expect(r.ss).toMatch(/\bebpf_reno\b/);
        expect(coll.variables.get('cong_avoid_calls') as bigint).toBeGreaterThan(before);
        (reg as StructOpsMap).close();
        expect(available()).not.toContain('ebpf_reno');
        // libbpf's registration of the same object, dumped the same way.
        const id = libbpfRegister();
        try {
          expect(dump(['id', id])).toEqual(ours);
        } finally {
          execFileSync('bpftool', ['struct_ops', 'unregister', 'id', id]);
        }
      } finally {
        reg.close();
      }
    } finally {
      coll.close();
    }
    expect(available()).not.toContain('ebpf_reno');
  });

  it('.struct_ops.link: a struct_ops link registers it and a TCP connection uses it', () => {
    const coll = load(LINK_OBJ);
    try {
      expect(coll.maps.ebpf_reno_link.info().flags & BPF_F_LINK).toBe(BPF_F_LINK);
      const link = attachStructOps(coll, 'ebpf_reno_link');
      try {
        expect(link).toBeInstanceOf(BpfLink);
        expect((link as BpfLink).info().type).toBe(9); // BPF_LINK_TYPE_STRUCT_OPS
        expect(available()).toContain('ebpf_reno_link');
        const before = coll.variables.get('cong_avoid_calls') as bigint;
        // Not the namespace default (sysctl): on this kernel that leaves the algorithm referenced
        // after the link and the namespace are gone, so it stays registered.
        const r = transfer('ebpf_reno_link');
        expect(r.socket).toBe('ebpf_reno_link');
        expect(r.ss).toMatch(/\bebpf_reno_link\b/);
        expect(coll.variables.get('cong_avoid_calls') as bigint).toBeGreaterThan(before);
      } finally {
        link.close();
      }
      expect(available()).not.toContain('ebpf_reno_link');
    } finally {
      coll.close();
    }
  });

  it('refuses what it cannot register, naming the variable and what to do', () => {
    const coll = loadCollection(OBJ, { programs: ['reno_ssthresh'] });
    try {
      for (const p of Object.values(coll.programs)) progIds.push(p.info().id);
      expect(() => attachStructOps(coll, 'ebpf_reno')).toThrow(
        /struct_ops ebpf_reno cannot be registered: its programs reno_cong_avoid, reno_undo_cwnd were not loaded/,
      );
      expect(() => attachStructOps(coll, 'nope')).toThrow(LoaderError);
      expect(() => attachStructOps(coll, 'nope')).toThrow(/no struct_ops variable named nope.*struct_ops variables: none/);
    } finally {
      coll.close();
    }
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(OBJ)), { name: OBJ });
    const c = spec.maps.ebpf_reno.contents!;
    if (c.kind !== 'struct_ops') throw new Error('no struct_ops contents');
    spec.maps.ebpf_reno.contents = { ...c, structName: 'no_such_ops' };
    expect(() => loadCollection(spec)).toThrow(/no struct_ops type no_such_ops.*section ".struct_ops", symbol "ebpf_reno"/);
    spec.maps.ebpf_reno.contents = { ...c, members: c.members.map((m) => (m.name === 'name' ? { ...m, name: 'no_such_member' } : m)) };
    expect(() => loadCollection(spec)).toThrow(/this kernel has no member no_such_member, which ebpf_reno sets/);
  });
});
