// The pure half of the object loader: clang objects (bpf/*.o, committed) into collection specs.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeInstructions, formatInstruction } from '../src/asm/index.js';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../src/asm/opcodes.js';
import { ElfFile } from '../src/elf/index.js';
import { KNOWN_SECTION_PREFIXES, loadCollectionSpec, LoaderError, programKindOf } from '../src/loader/index.js';
import { AttachType, MapFlags, MapType, ProgramFlags, ProgramType } from '../src/uapi/bpf.js';
import { seededRandom } from './support/random.js';
import { recordStringOffsets } from '../src/loader/spec/record-strings.js';
import { parseBtf } from '../src/btf/index.js';

const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../bpf/${name}`, import.meta.url)));
const collection = read('collection.o');
const spec = () => loadCollectionSpec(collection, { name: 'collection.o' });

describe('section names', () => {
  it.each([
    ['xdp', ProgramType.XDP, AttachType.XDP, undefined],
    ['xdp.frags', ProgramType.XDP, AttachType.XDP, undefined],
    ['xdp/devmap', ProgramType.XDP, AttachType.XDP_DEVMAP, undefined],
    ['tc', ProgramType.SCHED_CLS, undefined, undefined],
    ['tcx/ingress', ProgramType.SCHED_CLS, AttachType.TCX_INGRESS, undefined],
    ['tc/egress', ProgramType.SCHED_CLS, AttachType.TCX_EGRESS, undefined],
    ['classifier', ProgramType.SCHED_CLS, undefined, undefined],
    ['socket', ProgramType.SOCKET_FILTER, undefined, undefined],
    ['kprobe/do_unlinkat', ProgramType.KPROBE, undefined, 'do_unlinkat'],
    ['kretprobe/vfs_read', ProgramType.KPROBE, undefined, 'vfs_read'],
    ['uprobe//usr/bin/bash:readline', ProgramType.KPROBE, undefined, '/usr/bin/bash:readline'],
    ['uprobe.multi/libc.so.6:malloc*', ProgramType.KPROBE, AttachType.TRACE_UPROBE_MULTI, 'libc.so.6:malloc*'],
    ['kprobe.multi/vfs_*', ProgramType.KPROBE, AttachType.TRACE_KPROBE_MULTI, 'vfs_*'],
    ['tracepoint/syscalls/sys_enter_openat', ProgramType.TRACEPOINT, undefined, 'syscalls/sys_enter_openat'],
    ['tp/sched/sched_switch', ProgramType.TRACEPOINT, undefined, 'sched/sched_switch'],
    ['raw_tracepoint/sys_enter', ProgramType.RAW_TRACEPOINT, undefined, 'sys_enter'],
    ['raw_tp/sys_exit', ProgramType.RAW_TRACEPOINT, undefined, 'sys_exit'],
    ['tp_btf/sched_switch', ProgramType.TRACING, AttachType.TRACE_RAW_TP, 'sched_switch'],
    ['fentry/vfs_read', ProgramType.TRACING, AttachType.TRACE_FENTRY, 'vfs_read'],
    ['fexit/vfs_read', ProgramType.TRACING, AttachType.TRACE_FEXIT, 'vfs_read'],
    ['fmod_ret/security_file_open', ProgramType.TRACING, AttachType.MODIFY_RETURN, 'security_file_open'],
    ['lsm/file_open', ProgramType.LSM, AttachType.LSM_MAC, 'file_open'],
    ['iter/task', ProgramType.TRACING, AttachType.TRACE_ITER, 'task'],
    ['cgroup_skb/ingress', ProgramType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, undefined],
    ['cgroup_skb/egress', ProgramType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, undefined],
    ['cgroup/sock_create', ProgramType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE, undefined],
    ['cgroup/connect4', ProgramType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, undefined],
    ['cgroup/sendmsg6', ProgramType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP6_SENDMSG, undefined],
    ['cgroup/getsockopt', ProgramType.CGROUP_SOCKOPT, AttachType.CGROUP_GETSOCKOPT, undefined],
    ['sockops', ProgramType.SOCK_OPS, AttachType.CGROUP_SOCK_OPS, undefined],
    ['sk_skb/stream_parser', ProgramType.SK_SKB, AttachType.SK_SKB_STREAM_PARSER, undefined],
    ['sk_msg', ProgramType.SK_MSG, AttachType.SK_MSG_VERDICT, undefined],
    ['flow_dissector', ProgramType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR, undefined],
    ['perf_event', ProgramType.PERF_EVENT, undefined, undefined],
    ['syscall', ProgramType.SYSCALL, undefined, undefined],
    ['netfilter', ProgramType.NETFILTER, AttachType.NETFILTER, undefined],
    ['struct_ops/tcp_init', ProgramType.STRUCT_OPS, undefined, 'tcp_init'],
    ['freplace/handler', ProgramType.EXT, undefined, 'handler'],
    ['sk_lookup', ProgramType.SK_LOOKUP, AttachType.SK_LOOKUP, undefined],
  ])('%s', (section, type, attach, target) => {
    const kind = programKindOf(section);
    expect(kind).toBeDefined();
    expect(kind!.type).toBe(type);
    expect(kind!.expectedAttachType).toBe(attach);
    expect(kind!.attachTo).toBe(target);
  });

  it('marks sleepable and frags sections with their program flags', () => {
    expect(programKindOf('xdp.frags')!.flags).toBe(ProgramFlags.XDP_HAS_FRAGS);
    expect(programKindOf('fentry.s/vfs_read')!.flags).toBe(ProgramFlags.SLEEPABLE);
    expect(programKindOf('uprobe.s/x')!.flags).toBe(ProgramFlags.SLEEPABLE);
  });

  it('refuses names that follow no convention, or lack a required target', () => {
    expect(programKindOf('fentry')).toBeUndefined();
    expect(programKindOf('socketx')).toBeUndefined();
    expect(programKindOf('xdp.frags/whatever')).toBeUndefined();
    expect(KNOWN_SECTION_PREFIXES).toContain('kprobe');
  });
});

describe('collection spec of bpf/collection.o', () => {
  it('finds every program, several per section, with its type and target', () => {
    const s = spec();
    expect(Object.keys(s.programs).sort()).toEqual([
      'btf_sched_switch',
      'cgroup_egress',
      'cgroup_ingress',
      'classifier_prog',
      'connect4',
      'count_getppid',
      'count_sys_enter',
      'dissect',
      'kprobe_nanosleep',
      'kretprobe_nanosleep',
      'on_fork',
      'on_perf_event',
      'raw_exit',
      'sk_msg_prog',
      'sk_verdict',
      'sock_create',
      'socket_prog',
      'sockops_prog',
      'tc_prog',
      'uprobe_any',
      'uretprobe_malloc',
      'xdp_frags',
      'xdp_jump',
      'xdp_loop',
      'xdp_tail',
      'xdp_verdict_prog',
    ]);
    expect(
      Object.values(s.programs)
        .filter((p) => p.section === 'xdp')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['xdp_jump', 'xdp_loop', 'xdp_tail', 'xdp_verdict_prog']);
    expect(s.programs.count_getppid).toMatchObject({ type: ProgramType.TRACEPOINT, attachTo: 'syscalls/sys_enter_getppid' });
    expect(s.programs.count_sys_enter).toMatchObject({ type: ProgramType.RAW_TRACEPOINT, attachTo: 'sys_enter' });
    expect(s.programs.btf_sched_switch).toMatchObject({
      type: ProgramType.TRACING,
      expectedAttachType: AttachType.TRACE_RAW_TP,
      btfTarget: 'tp_btf',
    });
    expect(s.programs.uretprobe_malloc.attachTo).toBe('libc.so.6:malloc');
    expect(s.license).toBe('GPL');
    expect(s.version).toBe(0x060000);
  });

  it('appends called .text functions and bpf_loop callbacks, transitively, with call offsets fixed', () => {
    const p = spec().programs.xdp_loop;
    const starts = new Map<string, number>();
    let slot = 0;
    for (const insn of p.instructions) {
      if (insn.symbol) starts.set(insn.symbol, slot);
      slot += insn.opcode === 0x18 ? 2 : 1;
    }
    expect([...starts.keys()]).toEqual(['sum_rounds', 'bump', 'loop_step']);
    // Each call and callback load points at its callee's first slot, and func_info agrees.
    slot = 0;
    for (const insn of p.instructions) {
      const isCall = insn.opcode === 0x85 && insn.src === BPF_PSEUDO_CALL;
      const isCallback = insn.opcode === 0x18 && insn.src === BPF_PSEUDO_FUNC;
      if (isCall || isCallback) expect(slot + insn.imm + 1, formatInstruction(insn)).toBe(starts.get(insn.reference!));
      slot += insn.opcode === 0x18 ? 2 : 1;
    }
    expect(p.funcInfos.map((f) => f.insnOffset)).toEqual([0, ...starts.values()]);
    expect(p.funcInfos).toHaveLength(4);
    // Line info follows the functions it was moved with.
    expect(p.lineInfos.every((l, i) => i === 0 || l.insnOffset >= p.lineInfos[i - 1].insnOffset)).toBe(true);
    expect(p.lineInfos.some((l) => l.line.includes('*sum += index + 1'))).toBe(true);
  });

  it('programs that call nothing get no subprograms', () => {
    const p = spec().programs.classifier_prog;
    expect(p.instructions.some((i) => i.symbol)).toBe(false);
    expect(p.funcInfos).toEqual([{ insnOffset: 0, typeId: expect.any(Number) }]);
  });

  it('relocates map references and global data to map names and value offsets', () => {
    const s = spec();
    const tc = s.programs.tc_prog.instructions.filter((i) => i.opcode === 0x18);
    expect(tc.map((i) => [i.src, i.reference, i.imm64! >> 32n])).toEqual([
      [BPF_PSEUDO_MAP_FD, 'legacy_hash', 0n],
      [BPF_PSEUDO_MAP_VALUE, '.data.custom', 0n],
      [BPF_PSEUDO_MAP_VALUE, '.data', 4n], // tc_verdict sits after data_magic
    ]);
    const raw = s.programs.count_sys_enter.instructions.filter((i) => i.opcode === 0x18);
    expect(raw.map((i) => [i.reference, i.imm64! >> 32n])).toEqual([
      ['.data', 8n],
      ['.bss', 16n],
      ['hits', 0n],
    ]);
  });

  it('reads BTF-defined maps of every kind, legacy maps and inner map templates', () => {
    const m = spec().maps;
    expect(m.counters).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 32, maxEntries: 64, pinning: 'none' });
    expect(m.counters.btfKeyTypeId).toBeGreaterThan(0);
    expect(m.counters.btfValueTypeId).toBeGreaterThan(0);
    expect(m.percpu_scratch).toMatchObject({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, btfKeyTypeId: 0 });
    expect(m.routes).toMatchObject({ type: MapType.LPM_TRIE, keySize: 8, flags: MapFlags.NO_PREALLOC });
    expect(m.events).toMatchObject({ type: MapType.RINGBUF, maxEntries: 4096 });
    expect(m.bloom).toMatchObject({ type: MapType.BLOOM_FILTER, valueSize: 4, mapExtra: 3n });
    expect(m.queue).toMatchObject({ type: MapType.QUEUE, keySize: 0, valueSize: 4 });
    expect(m.pinned_counts.pinning).toBe('by-name');
    expect(m.outer).toMatchObject({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4 });
    expect(m.outer.innerMap).toMatchObject({ type: MapType.ARRAY, maxEntries: 2, valueSize: 4 });
    expect(m.outer.contents).toEqual({ kind: 'maps', slots: new Map([[1, 'inner_one']]) });
    expect(m.outer_hash.innerMap).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8 });
    expect(m.jump_table.contents).toEqual({ kind: 'programs', slots: new Map([[2, 'xdp_tail']]) });
    expect(m.legacy_hash).toMatchObject({ section: 'maps', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
    expect(m.legacy_array).toMatchObject({ section: 'maps', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
  });

  it('makes one array map per global data section, with typed variables', () => {
    const s = spec();
    expect(s.maps['.rodata']).toMatchObject({ type: MapType.ARRAY, maxEntries: 1, flags: MapFlags.RDONLY_PROG, freeze: true });
    expect(s.maps['.bss'].contents).toEqual({ kind: 'data', bytes: new Uint8Array(24) });
    expect(s.maps['.data.custom'].freeze).toBe(false);
    const v = s.variables;
    expect(Object.keys(v).sort()).toEqual([
      'custom_counter',
      'custom_second',
      'data_magic',
      'greeting',
      'loop_rounds',
      'loop_total',
      'raw_tp_hits',
      'target_tgid',
      'tc_verdict',
      'tracepoint_hits',
      'xdp_verdict',
    ]);
    expect(v.xdp_verdict).toMatchObject({ section: '.rodata', offset: 0, size: 4 });
    expect(v.custom_second).toMatchObject({ section: '.data.custom', offset: 8, size: 4 });
    expect(v.xdp_verdict.get()).toBe(2);
    expect(v.greeting.get()).toBe('hello');
    expect(v.custom_counter.get()).toBe(7n);
    expect(v.data_magic.get()).toBe(0xfeedbeef);
  });

  it('variables set on the spec change the map contents the loader writes', () => {
    const s = spec();
    s.variables.xdp_verdict.set(1);
    s.variables.custom_counter.set(99n);
    s.variables.greeting.set('bye');
    s.variables.loop_rounds.set(new Uint8Array([6, 0, 0, 0]));
    const rodata = s.maps['.rodata'].contents;
    expect(rodata?.kind === 'data' && Buffer.from(rodata.bytes).toString('hex')).toBe(
      '01000000' + '06000000' + Buffer.from('bye\0\0\0').toString('hex'),
    );
    expect(s.variables.custom_counter.get()).toBe(99n);
    expect(() => s.variables.xdp_verdict.set(new Uint8Array(3))).toThrow(LoaderError);
    expect(() => s.variables.xdp_verdict.set(-1)).toThrow(/xdp_verdict/);
  });

  it('a big-endian object gives the same programs, maps and variables', () => {
    const le = spec();
    const be = loadCollectionSpec(read('collection.bpfeb.o'), { name: 'collection.bpfeb.o' });
    expect(be.littleEndian).toBe(false);
    expect(Object.keys(be.programs).sort()).toEqual(Object.keys(le.programs).sort());
    for (const name of Object.keys(le.programs)) {
      expect(encodeInstructions(be.programs[name].instructions), name).toEqual(encodeInstructions(le.programs[name].instructions));
      expect(be.programs[name].funcInfos, name).toEqual(le.programs[name].funcInfos);
    }
    for (const name of Object.keys(le.maps)) {
      const { contents: _a, ...l } = le.maps[name];
      const { contents: _b, ...b } = be.maps[name];
      expect(b, name).toEqual(l);
    }
    // Data stays in the object's byte order; the typed accessors assume the host's (little-endian).
    expect(Buffer.from(be.variables.custom_counter.bytes()).readBigUInt64BE()).toBe(7n);
  });

  it('CO-RE relocations are attached to instructions of the program', () => {
    const s = loadCollectionSpec(read('core.o'));
    const relos = s.programs.record_exit.coreRelocations;
    expect(relos.length).toBeGreaterThanOrEqual(15);
    const kinds = new Set(relos.map((r) => r.kind));
    for (const k of [0, 1, 2, 3, 4, 5, 8, 9, 10, 11]) expect(kinds.has(k), `kind ${k}`).toBe(true);
  });

  it("keeps where its line records' strings sit in the BTF string table, each offset holding that text", () => {
    const s = spec();
    const known = recordStringOffsets(s.btf!);
    expect(known).toBeDefined();
    let lines = 0;
    for (const p of Object.values(s.programs)) {
      for (const l of p.lineInfos) {
        for (const text of [l.fileName, l.line]) expect(s.btf!.string(known!.get(text)!)).toBe(text);
        lines++;
      }
    }
    expect(lines).toBeGreaterThan(20);
    // Only the Btf the parse made has them: one made elsewhere, even from the same bytes, has
    // none, and the loader searches its string table as before.
    expect(recordStringOffsets(parseBtf(s.btf!.bytes))).toBeUndefined();
  });
});

/** Bytes of a section header field, to corrupt objects precisely. */
function withSectionNamed(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = new Uint8Array(bytes);
  const elf = ElfFile.parse(bytes);
  const names = elf.sections[elf.header.shstrndx];
  const needle = Buffer.from(`\0${from}\0`);
  const at = Buffer.from(out).indexOf(needle, names.offset);
  if (at < 0) throw new Error(`no section name ${from}`);
  out.set(Buffer.from(to), at + 1);
  return out;
}

function relocationEntry(bytes: Uint8Array, section: string, index: number): number {
  const elf = ElfFile.parse(bytes);
  const s = elf.section(section)!;
  return s.offset + index * 16;
}

describe('corrupt objects throw LoaderError naming where', () => {
  const expectLoaderError = (bytes: Uint8Array, match: RegExp, where: { section?: string; offset?: boolean } = {}) => {
    let error: unknown;
    try {
      loadCollectionSpec(bytes, { name: 'bad.o' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LoaderError);
    const e = error as LoaderError;
    expect(e.message).toMatch(match);
    expect(e.file).toBe('bad.o');
    if (where.section) expect(e.section).toBe(where.section);
    if (where.offset) expect(e.offset).toBeTypeOf('number');
    return e;
  };

  it('truncated', () => {
    expectLoaderError(collection.subarray(0, 100), /malformed ELF/);
    expectLoaderError(collection.subarray(0, collection.length - 3000), /ELF/);
  });

  it('not BPF', () => {
    const out = new Uint8Array(collection);
    out[18] = 62; // EM_X86_64
    expectLoaderError(out, /not a BPF object/);
  });

  it('.maps without .BTF', () => {
    // ".BTF" is stored as the tail of ".rel.BTF"; renaming it hides both from the loader.
    const out = new Uint8Array(collection);
    const at = Buffer.from(out).indexOf(Buffer.from('.rel.BTF\0'));
    out.set(Buffer.from('.rel.XTF'), at);
    expectLoaderError(out, /no \.BTF/, { section: '.maps' });
  });

  it('a relocation whose symbol index is out of range', () => {
    const out = new Uint8Array(collection);
    const at = relocationEntry(out, '.relxdp', 2);
    new DataView(out.buffer).setUint32(at + 12, 9999, true);
    const e = expectLoaderError(out, /symbol 9999/, { section: '.relxdp', offset: true });
    expect(e.offset).toBe(at);
  });

  it('a map referenced but not defined', () => {
    // Rename the symbol `counters` (in .maps) to `xdp_tail`: the code refers to a map nobody defines.
    const out = new Uint8Array(collection);
    const elf = ElfFile.parse(out);
    const symtab = elf.sectionsByType(2)[0];
    const counters = elf.symbols().find((s) => s.name === 'counters')!;
    const tail = elf.symbols().find((s) => s.name === 'xdp_tail')!;
    const view = new DataView(out.buffer);
    const nameOf = (i: number) => view.getUint32(symtab.offset + i * 24, true);
    view.setUint32(symtab.offset + counters.index * 24, nameOf(tail.index), true);
    const e = expectLoaderError(out, /map that is not defined/, { section: 'xdp', offset: true });
    expect(e.symbol).toBe('xdp_tail');
  });

  it('an unknown section name lists the known prefixes', () => {
    const e = expectLoaderError(withSectionNamed(collection, 'sockops', 'sockopz'), /unknown program section name/, { section: 'sockopz' });
    expect(e.hint).toMatch(/kprobe/);
    expect(e.symbol).toBe('sockops_prog');
  });

  it('a relocation that points between instructions', () => {
    const out = new Uint8Array(collection);
    const at = relocationEntry(out, '.reltc', 0);
    new DataView(out.buffer).setUint32(at, 33, true);
    expectLoaderError(out, /does not point at an instruction/, { section: 'tc', offset: true });
  });

  it('random corruption never escapes as anything but LoaderError', () => {
    const random = seededRandom(0x10ad);
    let failures = 0;
    for (let round = 0; round < 300; round++) {
      const out = new Uint8Array(collection);
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      try {
        loadCollectionSpec(out, { name: `round ${round}` });
      } catch (e) {
        failures++;
        if (!(e instanceof LoaderError)) throw new Error(`round ${round}: ${String(e)}`, { cause: e });
      }
    }
    expect(failures).toBeGreaterThan(0);
  });
});
