// Kernel objects seen from outside: enumeration by id, link info per type, program queries,
// translated and jited code, statistics. Oracles: bpftool -j for the same objects, readelf for
// uprobe offsets, the kernel's own BTF (compiled into offsetof() by cc) for the struct layouts.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachType, BpfMap, Program, SyscallError } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R10, Size } from '../src/asm/index.js';
import {
  attachCgroup,
  attachTcx,
  attachTracepoint,
  attachUprobe,
  attachXdp,
  BpfLink,
  Link,
  LinkInfoUnion,
  LinkType,
  resolveBinaryPath,
} from '../src/links/index.js';
import {
  BtfObject,
  BtfInfoLayout,
  enableStats,
  KernelObjectError,
  listBtf,
  listLinks,
  listMaps,
  listPrograms,
  linkIds,
  mapIds,
  programIds,
  queryPrograms,
  btfIds,
} from '../src/objects/index.js';
import { closeFd, linkCreate, NativeMemory, openPath, progQuery, SYS_BPF, syscall3Raw } from '../src/syscall/index.js';
import { BpfCommand } from '../src/uapi/bpf.js';
import { kernelBtf } from '../src/kernel/btf.js';
import { PerfEventLinkType } from '../src/links/link-info.js';
import { EnableStatsAttr, ProgQueryAttr } from '../src/syscall/attr.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { bpftool, ensureBpffs } from './support/kernel.js';
import { createTestNetns } from './support/netns.js';
import { track } from './support/track.js';

const ret0 = (
  type: Parameters<typeof Program.load>[0]['type'],
  name: string,
  extra: Partial<Parameters<typeof Program.load>[0]> = {},
): Program => track(Program.load({ type, name, instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(), ...extra }));

/** A program that looks up key 0 of `map` and returns: enough for xlated to carry a map id. */
function withMap(map: BpfMap): Program {
  const insns = new ProgramBuilder()
    .st(Size.W, R10, -4, 0)
    .ldMapFd(R1, 'm')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .mov64Imm(R0, 0)
    .exit()
    .build();
  return track(Program.load({ type: 'SOCKET_FILTER', name: 'objs_map', instructions: insns, maps: { m: map } }));
}

function cgroup2Root(): string | undefined {
  const line = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[2] === 'cgroup2');
  return line?.split(' ')[1];
}

describe.runIf(need(hasCommand('cc') && hasCommand('bpftool'), "cc and bpftool are needed to read the kernel's own layouts"))(
  "layouts against the running kernel's BTF",
  () => {
    it("struct bpf_link_info and struct bpf_btf_info offsets and enum values match offsetof() over bpftool's vmlinux.h", () => {
      const dir = mkdtempSync(join(tmpdir(), 'ebpf-linkinfo-'));
      try {
        writeFileSync(
          join(dir, 'vmlinux.h'),
          execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 1 << 30 }),
        );
        const probes: [string, string, number][] = [];
        for (const [field, offset] of Object.entries(LinkInfoUnion)) {
          probes.push([
            `link_info ${field}`,
            field === 'size' ? 'sizeof(struct bpf_link_info)' : `__builtin_offsetof(struct bpf_link_info, ${field})`,
            offset,
          ]);
        }
        for (const [field, offset] of Object.entries(BtfInfoLayout)) {
          probes.push([
            `btf_info ${field}`,
            field === 'size' ? 'sizeof(struct bpf_btf_info)' : `__builtin_offsetof(struct bpf_btf_info, ${field})`,
            offset,
          ]);
        }
        for (const [name, value] of Object.entries(LinkType))
          if (name !== 'UNSPEC') probes.push([`BPF_LINK_TYPE_${name}`, `BPF_LINK_TYPE_${name}`, value]);
        for (const [name, value] of Object.entries(PerfEventLinkType))
          probes.push([`BPF_PERF_EVENT_${name}`, `BPF_PERF_EVENT_${name}`, value]);
        probes.push(['BPF_STATS_RUN_TIME', 'BPF_STATS_RUN_TIME', 0]);
        // The bpf_attr members this area added, newer than Debian's UAPI header.
        for (const l of [ProgQueryAttr, EnableStatsAttr]) {
          for (const [field, offset] of Object.entries(l.fields))
            probes.push([`bpf_attr ${l.prefix}${field}`, `__builtin_offsetof(union bpf_attr, ${l.prefix}${field})`, offset]);
        }
        const src = [
          '#include "vmlinux.h"',
          'int printf(const char *, ...);',
          'int main(void) {',
          ...probes.map(([, expr]) => `  printf("%ld\\n", (long)(${expr}));`),
          '  return 0;',
          '}',
        ].join('\n');
        writeFileSync(join(dir, 'p.c'), src);
        execFileSync('cc', ['-w', '-o', join(dir, 'p'), join(dir, 'p.c')], { stdio: 'pipe' });
        const values = execFileSync(join(dir, 'p'), { encoding: 'utf8' }).trim().split('\n').map(Number);
        expect(probes.map(([label], i) => `${label} = ${values[i]}`)).toEqual(probes.map(([label, , v]) => `${label} = ${v}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe.runIf(need(isRoot && hasCommand('bpftool'), 'kernel object tests need root and bpftool'))('kernel objects', () => {
  it('enumerates programs, maps, links and BTF objects: every id bpftool lists before and after is in ours', () => {
    const map = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'objs_enum' }));
    const prog = withMap(map);
    const link = track(Link.rawTracepoint(ret0('RAW_TRACEPOINT', 'objs_rawtp'), 'sys_enter'));
    const snapshot = (kind: string): Set<number> => new Set(bpftool<{ id: number }[]>(kind, 'show').map((o) => o.id));
    for (const [kind, ours] of [
      ['prog', programIds],
      ['map', mapIds],
      ['link', linkIds],
      ['btf', btfIds],
    ] as const) {
      const before = snapshot(kind);
      const mine = new Set(ours());
      const after = snapshot(kind);
      const stable = [...before].filter((id) => after.has(id));
      expect(stable.length, `bpftool lists ${kind}s`).toBeGreaterThan(0);
      expect(
        stable.filter((id) => !mine.has(id)),
        `${kind} ids bpftool saw before and after that we missed`,
      ).toEqual([]);
      expect([...mine]).toEqual([...mine].sort((a, b) => a - b));
    }
    // Our own objects, described by us and by bpftool.
    const info = prog.info();
    const listed = listPrograms().find((p) => p.id === info.id)!;
    const tool = bpftool<{
      id: number;
      type: string;
      name: string;
      tag: string;
      map_ids: number[];
      bytes_xlated: number;
      bytes_jited: number;
    }>('prog', 'show', 'id', String(info.id));
    expect({
      name: listed.name,
      tag: listed.tag,
      mapIds: listed.mapIds,
      xlated: listed.xlatedSize,
      jited: listed.jitedSize,
      type: 'socket_filter',
    }).toEqual({
      name: tool.name,
      tag: tool.tag,
      mapIds: tool.map_ids,
      xlated: tool.bytes_xlated,
      jited: tool.bytes_jited,
      type: tool.type,
    });
    const mapInfo = listMaps().find((m) => m.name === 'objs_enum' && m.id === map.info().id)!;
    const toolMap = bpftool<{ id: number; name: string; bytes_key: number; bytes_value: number; max_entries: number }>(
      'map',
      'show',
      'id',
      String(mapInfo.id),
    );
    expect([mapInfo.keySize, mapInfo.valueSize, mapInfo.maxEntries, mapInfo.name]).toEqual([
      toolMap.bytes_key,
      toolMap.bytes_value,
      toolMap.max_entries,
      toolMap.name,
    ]);
    const linkInfo = listLinks().find((l) => l.id === link.info().id)!;
    const toolLink = bpftool<{ id: number; type: string; prog_id: number; tp_name: string }>('link', 'show', 'id', String(linkInfo.id));
    expect(linkInfo.details).toEqual({ kind: 'raw_tracepoint', tracepoint: toolLink.tp_name, cookie: 0n });
    expect(linkInfo.programId).toBe(toolLink.prog_id);
    expect(toolLink.type).toBe('raw_tracepoint');
    const vmlinux = listBtf().find((b) => b.id === 1);
    const toolBtf = bpftool<{ id: number; size: number; name?: string; kernel?: boolean }>('btf', 'show', 'id', '1');
    expect(vmlinux).toEqual({ id: 1, name: toolBtf.name, size: toolBtf.size, kernel: true });
  });

  it("a BTF object opened by id returns the kernel's raw BTF; a BTF blob the kernel refuses carries its log", () => {
    using vmlinux = BtfObject.fromId(1);
    const bytes = vmlinux.bytes();
    expect(bytes.equals(readFileSync('/sys/kernel/btf/vmlinux'))).toBe(true);
    const bad = Buffer.from(readFileSync('/sys/kernel/btf/vmlinux').subarray(0, 64));
    bad.writeUInt32LE(0xffff, 12); // type_len runs past the blob
    let caught: unknown;
    try {
      BtfObject.load(bad);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(KernelObjectError);
    expect((caught as { code: string }).code).toBe('EINVAL');
    expect((caught as { log: string }).log.length).toBeGreaterThan(0);
    expect(() => BtfObject.fromId(0x7fff_fff0)).toThrow(SyscallError);
  });

  it('a pinned link opens by path and by id, reports the same info, and stays attached after its creator closes', () => {
    const bpffs = ensureBpffs();
    const pin = join(bpffs, `ebpf_objs_link_${process.pid}`);
    const prog = ret0('RAW_TRACEPOINT', 'objs_pin');
    const link = Link.rawTracepoint(prog, 'sys_exit');
    const id = link.info().id;
    try {
      link.pin(pin);
      link.close();
      using byPin = BpfLink.fromPin(pin);
      using byId = Link.fromId(id);
      expect(byPin.info()).toEqual(byId.info());
      expect(byPin.info().details).toEqual({ kind: 'raw_tracepoint', tracepoint: 'sys_exit', cookie: 0n });
      expect(byId.info().programId).toBe(prog.info().id);
      expect(byId.target).toContain(`link ${id}`);
      expect(bpftool<{ pinned?: string[] }>('-f', 'link', 'show', 'id', String(id)).pinned).toEqual([pin]);
    } finally {
      rmSync(pin, { force: true });
    }
    expect(() => Link.fromId(id)).toThrow(/ENOENT/);
    expect(() => Link.fromPin(pin)).toThrow(/nothing is pinned/);
  });

  it('a uprobe link reports the binary and the file offset readelf gives for the symbol', () => {
    const libc = resolveBinaryPath('libc.so.6');
    const prog = ret0('KPROBE', 'objs_uprobe');
    const link = track(attachUprobe(prog, libc, { symbol: 'getpid', pid: process.pid, cookie: 7n }));
    const info = link.info();
    expect(info.type).toBe(LinkType.PERF_EVENT);
    // readelf: the symbol's address, turned into a file offset through its PT_LOAD segment.
    const sym = /\s([0-9a-f]+)\s+\d+\s+FUNC\s+\w+\s+DEFAULT\s+\d+\s+getpid@@/.exec(
      execFileSync('readelf', ['-W', '--dyn-syms', libc], { encoding: 'utf8' }),
    );
    const address = parseInt(sym![1], 16);
    const segments = [
      ...execFileSync('readelf', ['-W', '-l', libc], { encoding: 'utf8' }).matchAll(
        /LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/g,
      ),
    ].map((m) => ({ offset: parseInt(m[1], 16), vaddr: parseInt(m[2], 16), size: parseInt(m[3], 16) }));
    const seg = segments.find((s) => address >= s.vaddr && address < s.vaddr + s.size)!;
    expect(info.details).toEqual({
      kind: 'uprobe',
      retprobe: false,
      path: libc,
      offset: address - seg.vaddr + seg.offset,
      cookie: 7n,
      refCtrOffset: 0n,
    });
  });

  it('a tracepoint link reports the tracepoint and cookie; a raw tracepoint link its name', () => {
    const prog = ret0('TRACEPOINT', 'objs_tp');
    const link = track(attachTracepoint(prog, 'syscalls', 'sys_enter_getppid', 9n));
    expect(link.info().details).toEqual({ kind: 'tracepoint', tracepoint: 'sys_enter_getppid', cookie: 9n });
    expect(link.info().typeName).toBe('PERF_EVENT');
  });

  it('iterator links report their target and, for a task iterator, the process, as bpftool link show does', () => {
    const btf = kernelBtf();
    const load = (target: string, name: string): Program =>
      ret0('TRACING', name, {
        expectedAttachType: AttachType.TRACE_ITER,
        attachBtfId: btf.findType(`bpf_iter_${target}`, 'func')!.id,
      });
    const maps = track(
      new BpfLink(linkCreate({ progFd: load('bpf_map', 'objs_iter').fd, attachType: AttachType.TRACE_ITER }), 'iter/bpf_map'),
    );
    expect(maps.info().details).toEqual({ kind: 'iter', target: 'bpf_map' });
    // A task iterator limited to this process: union bpf_iter_link_info's task.pid at offset 4.
    const params = Buffer.alloc(16);
    params.writeUInt32LE(process.pid, 4);
    const tasks = track(
      new BpfLink(linkCreate({ progFd: load('task', 'objs_iter_t').fd, attachType: AttachType.TRACE_ITER, iterInfo: params }), 'iter/task'),
    );
    const info = tasks.info();
    expect(info.details).toEqual({ kind: 'iter', target: 'task', tid: 0, pid: process.pid });
    expect(info.type).toBe(LinkType.ITER);
    for (const link of [maps, tasks]) {
      const shown = bpftool<{ type: string; target_name: string; prog_id: number }>('link', 'show', 'id', String(link.info().id));
      expect([shown.type, shown.target_name, shown.prog_id]).toEqual([
        'iter',
        (link.info().details as { target: string }).target,
        link.info().programId,
      ]);
    }
  });

  it('a netfilter link reports its protocol family, hook, priority and flags (in a namespace of its own)', () => {
    const prog = track(
      Program.load({
        type: 'NETFILTER',
        name: 'objs_nf',
        expectedAttachType: AttachType.NETFILTER,
        instructions: new ProgramBuilder().mov64Imm(R0, 1 /* NF_ACCEPT */).exit().build(),
      }),
    );
    const ns = createTestNetns();
    try {
      // BPF_LINK_CREATE laid out by hand (the library has no netfilter attach yet):
      // link_create.{prog_fd@0, attach_type@8, netfilter.pf@16, hooknum@20, priority@24, flags@28}.
      const mem = new NativeMemory(64);
      let fd: number;
      try {
        const a = mem.buffer;
        a.fill(0, 0, 64);
        a.writeUInt32LE(prog.fd, 0);
        a.writeUInt32LE(AttachType.NETFILTER, 8);
        a.writeUInt32LE(2 /* NFPROTO_IPV4 */, 16);
        a.writeUInt32LE(3 /* NF_INET_LOCAL_OUT */, 20);
        a.writeInt32LE(-42, 24);
        fd = ns.run(() => syscall3Raw(SYS_BPF, BpfCommand.LINK_CREATE, mem.address, 64));
      } finally {
        mem.free();
      }
      expect(fd).toBeGreaterThan(0);
      using link = new BpfLink(fd, 'netfilter');
      const info = link.info();
      expect(info.type).toBe(LinkType.NETFILTER);
      expect(info.details).toEqual({ kind: 'netfilter', protocolFamily: 2, hook: 3, priority: -42, flags: 0 });
      expect(bpftool<{ prog_id: number }>('link', 'show', 'id', String(info.id)).prog_id).toBe(prog.info().id);
    } finally {
      ns.remove();
    }
  });

  it('XDP, tcx and netns links report the ifindex and attach type; queryPrograms lists tcx and netns programs', () => {
    const ns = createTestNetns();
    try {
      const xdpProg = ret0('XDP', 'objs_xdp', { expectedAttachType: AttachType.XDP });
      const tcProg = ret0('SCHED_CLS', 'objs_tcx');
      const tcProg2 = ret0('SCHED_CLS', 'objs_tcx2');
      const flow = ret0('FLOW_DISSECTOR', 'objs_flow', { expectedAttachType: AttachType.FLOW_DISSECTOR });
      const ifindex = Number(ns.exec('cat', `/sys/class/net/${ns.b}/ifindex`).trim());
      const { xdp, tcx, tcx2, netnsLink } = ns.run(() => {
        const netnsFd = openPath('/proc/thread-self/ns/net');
        try {
          return {
            xdp: track(attachXdp(xdpProg, ns.b, { via: 'link', mode: 'generic' })),
            tcx: track(attachTcx(tcProg, ns.b, 'ingress')),
            tcx2: track(attachTcx(tcProg2, ns.b, 'ingress')),
            netnsLink: track(
              new BpfLink(linkCreate({ progFd: flow.fd, targetFd: netnsFd, attachType: AttachType.FLOW_DISSECTOR }), 'flow dissector'),
            ),
          };
        } finally {
          closeFd(netnsFd);
        }
      });
      expect(xdp.info().details).toEqual({ kind: 'xdp', ifindex });
      expect(tcx.info().details).toEqual({ kind: 'tcx', ifindex, attachType: AttachType.TCX_INGRESS });
      const netnsInfo = netnsLink.info();
      expect(netnsInfo.details.kind).toBe('netns');
      const inode = Number(/\[(\d+)\]/.exec(ns.exec('readlink', '/proc/self/ns/net'))![1]);
      expect(netnsInfo.details).toEqual({ kind: 'netns', netnsInode: inode, attachType: AttachType.FLOW_DISSECTOR });
      // bpftool's view of the same links: ids and program ids; bpftool 7.1 names the types it knows
      // (later ones print as numbers) and shows netns fields, but not an XDP or tcx ifindex.
      for (const [link, type, name] of [
        [xdp, LinkType.XDP, 'xdp'],
        [tcx, LinkType.TCX, 'tcx'],
        [netnsLink, LinkType.NETNS, 'netns'],
      ] as const) {
        const info = link.info();
        const shown = bpftool<{ id: number; prog_id: number; type: string | number }>('link', 'show', 'id', String(info.id));
        expect([shown.id, shown.prog_id, info.type]).toEqual([info.id, info.programId, type]);
        expect([name, type]).toContain(shown.type);
      }
      const shownNetns = bpftool<{ netns_ino: number; attach_type: string }>('link', 'show', 'id', String(netnsInfo.id));
      expect([shownNetns.netns_ino, shownNetns.attach_type]).toEqual([inode, 'flow_dissector']);
      const q = ns.run(() => queryPrograms({ device: ns.b }, 'TCX_INGRESS'));
      expect(q.programIds).toEqual([tcProg.info().id, tcProg2.info().id]);
      expect(q.linkIds).toEqual([tcx.info().id, tcx2.info().id]);
      expect(q.revision).toBeGreaterThan(0n);
      expect(ns.run(() => queryPrograms({ device: ifindex }, AttachType.TCX_INGRESS)).programIds).toEqual(q.programIds);
      expect(ns.run(() => queryPrograms({ device: ns.b }, 'TCX_EGRESS')).programIds).toEqual([]);
      const nsq = queryPrograms({ netns: ns.path }, 'FLOW_DISSECTOR');
      expect(nsq.programIds).toEqual([flow.info().id]);
      // (bpftool 7.1's `net show -j` prints broken JSON once tcx links exist, so it is no oracle here.)
    } finally {
      ns.remove();
    }
  });

  it('a cgroup link reports the cgroup id; queryPrograms lists the programs attached and those in effect', () => {
    const root = cgroup2Root();
    need(root !== undefined, 'a cgroup v2 hierarchy must be mounted');
    const dir = `${root}/ebpf_objs_${process.pid}`;
    mkdirSync(dir);
    try {
      const prog = ret0('CGROUP_SKB', 'objs_cg', { expectedAttachType: AttachType.CGROUP_INET_EGRESS });
      const link = track(attachCgroup(prog, dir, AttachType.CGROUP_INET_EGRESS)) as BpfLink;
      const cgroupId = BigInt(execFileSync('stat', ['-c', '%i', dir], { encoding: 'utf8' }).trim());
      expect(link.info().details).toEqual({ kind: 'cgroup', cgroupId, attachType: AttachType.CGROUP_INET_EGRESS });
      const q = queryPrograms({ cgroup: dir }, 'CGROUP_INET_EGRESS');
      expect(q.programIds).toEqual([prog.info().id]);
      const shown = bpftool<{ id: number; attach_type: string }[]>('cgroup', 'show', dir);
      expect(shown.map((p) => [p.id, p.attach_type])).toEqual([[prog.info().id, 'cgroup_inet_egress']]);
      expect(queryPrograms({ cgroup: dir }, 'CGROUP_INET_EGRESS', { effective: true }).programIds).toContain(prog.info().id);
      // More programs than a query has room for: the kernel says ENOSPC with the count, and the
      // query asks again (the hooks hold at most 64, the default room; here the room starts at 4).
      const many = Array.from({ length: 10 }, (_, i) =>
        ret0('CGROUP_SKB', `objs_cg${i}`, { expectedAttachType: AttachType.CGROUP_INET_INGRESS }),
      );
      const links = many.map((p) => track(attachCgroup(p, dir, AttachType.CGROUP_INET_INGRESS)));
      const cg = openPath(dir, 0o200000);
      try {
        expect(progQuery(cg, AttachType.CGROUP_INET_INGRESS, 4).ids).toEqual(many.map((p) => p.info().id));
      } finally {
        closeFd(cg);
      }
      expect(queryPrograms({ cgroup: dir }, 'CGROUP_INET_INGRESS').programIds).toEqual(many.map((p) => p.info().id));
      for (const l of links) l.close();
      expect(() => queryPrograms({ cgroup: `${dir}/missing` }, 'CGROUP_INET_EGRESS')).toThrow(KernelObjectError);
      expect(() => queryPrograms({ cgroup: dir }, 'NO_SUCH' as 'CGROUP_INET_EGRESS')).toThrow(/unknown attach type "NO_SUCH"/);
      link.close();
    } finally {
      rmdirSync(dir);
    }
  });

  it('translated instructions and jited bytes equal bpftool prog dump xlated/jited of the same program', () => {
    const map = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'objs_x' }));
    const prog = withMap(map);
    const id = String(prog.info().id);
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-xlated-'));
    try {
      execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', id, 'file', join(dir, 'x')]);
      expect(prog.translatedBytes().equals(readFileSync(join(dir, 'x')))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // This bpftool has no libbfd to dump jited code, so: its size is bpftool's bytes_jited, and
    // llvm-mc decodes every byte as x86-64 instructions ending in a return.
    const jited = prog.jited();
    expect(jited.length).toBe(bpftool<{ bytes_jited: number }>('prog', 'show', 'id', id).bytes_jited);
    if (process.arch === 'x64' && hasCommand('llvm-mc-19')) {
      const hex = [...jited].map((b) => `0x${b.toString(16)}`).join(' ');
      const asm = execFileSync('llvm-mc-19', ['--disassemble', '-triple=x86_64'], {
        input: hex,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const lines = asm
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('.text'));
      expect(lines.some((l) => /invalid/i.test(l))).toBe(false);
      expect(lines.at(-1)).toMatch(/^(ret|jmp)/);
    }
    const listing = bpftool<{ disasm: string }[]>('prog', 'dump', 'xlated', 'id', id);
    const insns = prog.translated();
    expect(insns.length).toBe(listing.length);
    // The map reference comes back as the map's id (the kernel rewrites fds to ids for dumps).
    const text = prog.disassemble();
    expect(text.split('\n').filter(Boolean).length).toBe(listing.length);
    expect(listing.some((l) => l.disasm.includes(`map[id:${map.info().id}]`))).toBe(true);
    expect(text).toContain(`0x${map.info().id.toString(16)}`);
  });

  it('statistics count runs and time while the scope is open, and stop when it closes', () => {
    const prog = ret0('SOCKET_FILTER', 'objs_stats');
    const globallyOn = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() === '1';
    {
      using stats = enableStats();
      expect(stats.type).toBe('RUN_TIME');
      prog.testRun({ data: Buffer.alloc(64), repeat: 100 });
      const info = prog.info();
      expect(info.runCount).toBeGreaterThanOrEqual(100n);
      expect(info.runTimeNs).toBeGreaterThan(0n);
      const shown = bpftool<{ run_cnt?: number; run_time_ns?: number }>('prog', 'show', 'id', String(info.id));
      expect(BigInt(shown.run_cnt ?? 0)).toBeGreaterThanOrEqual(info.runCount);
    }
    const after = prog.info().runCount;
    prog.testRun({ data: Buffer.alloc(64), repeat: 50 });
    // Another process may hold statistics on too; only then may the count still move.
    const stillOn = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() === '1';
    if (!stillOn && !globallyOn) expect(prog.info().runCount).toBe(after);
    expect(() => enableStats('NOPE' as 'RUN_TIME')).toThrow(/unknown statistics type "NOPE"/);
  });
});
