// Loading objects into the running kernel: every program of bpf/collection.o verifies, runs and
// sees the globals set before load; the kernel and bpftool are the oracles.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { attachTracepoint, Link } from '../src/links/index.js';
import { loadCollection, loadCollectionSpec, LoaderError, type Collection } from '../src/loader/index.js';
import { VerifierError } from '../src/programs/index.js';
import { isRoot } from './support/env.js';
import { bpftool, ensureBpffs } from './support/kernel.js';
import { track } from './support/track.js';

const object = new URL('../bpf/collection.o', import.meta.url).pathname;
const bytes = new Uint8Array(readFileSync(object));
const spec = () => loadCollectionSpec(bytes, { name: 'collection.o' });
const packet = Buffer.alloc(64, 0xab);

function load(edit?: (s: ReturnType<typeof spec>) => void, pinPath?: string): Collection {
  const s = spec();
  // Pinning by name needs a directory; tests that do not pin treat the map as an ordinary one.
  if (!pinPath) s.maps.pinned_counts.pinning = 'none';
  edit?.(s);
  return track(loadCollection(s, pinPath ? { pinPath } : {}));
}

describe.runIf(isRoot)('loadCollection on bpf/collection.o', () => {
  let pinDir = '';
  const withPins = (): string => {
    ensureBpffs();
    pinDir = mkdtempSync('/sys/fs/bpf/ebpf-loader-');
    return pinDir;
  };
  const cleanPins = () => {
    if (pinDir) rmSync(pinDir, { recursive: true, force: true });
    pinDir = '';
  };

  it('loads every program and creates every map', () => {
    const c = load(undefined, withPins());
    try {
      expect(Object.keys(c.programs)).toHaveLength(26);
      expect(Object.keys(c.maps).sort()).toEqual(Object.keys(spec().maps).sort());
      for (const p of Object.values(c.programs)) expect(p.fd).toBeGreaterThan(0);
      // bpftool: func_info names come from the BTF we loaded.
      const id = c.programs.xdp_loop.info().id;
      const info = bpftool<{ btf_id?: number; name: string }>('prog', 'show', 'id', String(id));
      expect(info.btf_id).toBeGreaterThan(0);
      const btf = bpftool<{ types: { kind: string; name: string }[] }>('btf', 'dump', 'id', String(info.btf_id));
      const funcs = btf.types.filter((t) => t.kind === 'FUNC').map((t) => t.name);
      expect(funcs).toEqual(expect.arrayContaining(['xdp_loop', 'sum_rounds', 'bump', 'loop_step']));
      const lines = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(id), 'linum'], { encoding: 'utf8' });
      expect(lines).toMatch(/file:\S*collection\.c line_num:\d+/);
      expect(lines).toMatch(/bpf_loop\(loop_rounds, loop_step, &sum, 0\)/);
      // Maps carry their BTF key and value types.
      const counters = bpftool<{ btf_id?: number; name: string }>('map', 'show', 'id', String(c.maps.counters.info().id));
      expect(counters.btf_id).toBeGreaterThan(0);
    } finally {
      c.close();
      cleanPins();
    }
  });

  it('XDP: the .rodata verdict set before load is what the program returns; maps are typed', () => {
    for (const verdict of [1, 2, 3]) {
      const c = load((s) => s.variables.xdp_verdict.set(verdict));
      expect(c.programs.xdp_verdict_prog.testRun({ data: packet }).retval).toBe(verdict);
      expect(c.maps.counters.lookup(0)).toEqual({ packets: 1n, bytes: 64n, last_len: 64, tag: 'h', seen: true });
      expect(c.maps.hits.lookup(0)).toBe(1n);
      c.close();
    }
  });

  it('XDP: a tail call through the program array initialised from .maps', () => {
    const c = load();
    expect(c.programs.xdp_jump.testRun({ data: packet }).retval).toBe(3);
    expect(c.maps.hits.lookup(2)).toBe(1n);
  });

  it('XDP: bpf_loop with a callback subprogram sums loop_rounds', () => {
    const c = load((s) => s.variables.loop_rounds.set(6));
    expect(c.programs.xdp_loop.testRun({ data: packet }).retval).toBe(2);
    expect(c.variables.get('loop_total')).toBe(21n);
    expect(c.maps.hits.lookup(1)).toBe(1n);
  });

  it('tc: .data set before and after load, a custom .data section and a legacy map', () => {
    const c = load((s) => s.variables.tc_verdict.set(2));
    expect(c.programs.tc_prog.testRun({ data: packet }).retval).toBe(2);
    c.variables.set('tc_verdict', 0);
    expect(c.programs.tc_prog.testRun({ data: packet }).retval).toBe(0);
    expect(c.variables.get('custom_counter')).toBe(9n);
    expect(c.variables.get('custom_second')).toBe(9);
    c.maps.legacy_hash.update(3, 0n);
    c.programs.tc_prog.testRun({ data: packet });
    expect(c.maps.legacy_hash.lookup(3)).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
    expect(c.programs.classifier_prog.testRun({ data: packet }).retval).toBe(0);
  });

  it('socket filter returns the packet length past the Ethernet header', () => {
    const c = load();
    // Socket filters see the packet after the Ethernet header.
    expect(c.programs.socket_prog.testRun({ data: packet }).retval).toBe(64 - 14);
    expect(c.maps.hits.lookup(4)).toBe(1n);
  });

  it('.rodata is frozen: user space cannot write it after load', () => {
    const c = load();
    expect(() => c.maps['.rodata'].update(0, Buffer.alloc(14))).toThrow(/EPERM/);
    expect(() => c.variables.set('xdp_verdict', 1)).toThrow();
    expect(c.variables.get('xdp_verdict')).toBe(2);
    expect(c.variables.get('greeting')).toBe('hello');
  });

  it("raw_tp and tracepoint programs attach and count this process's system calls", () => {
    const c = load((s) => s.variables.target_tgid.set(process.pid));
    const raw = track(Link.rawTracepoint(c.programs.count_sys_enter, 'sys_enter'));
    const tp = track(attachTracepoint(c.programs.count_getppid, 'syscalls', 'sys_enter_getppid'));
    for (let i = 0; i < 20; i++) statSync('/');
    for (let i = 0; i < 5; i++) execFileSync('true');
    void process.ppid;
    raw.close();
    tp.close();
    expect(c.variables.get('raw_tp_hits')).toBeGreaterThanOrEqual(20n);
    expect(c.maps.hits.lookup(5)).toBeGreaterThanOrEqual(20n);
    expect(c.variables.get('tracepoint_hits')).toBeGreaterThanOrEqual(0n);
  });

  it('maps of maps hold their initial inner maps', () => {
    const c = load();
    const slot = c.maps.outer.lookup(1) as Buffer;
    expect(slot.readUInt32LE(0)).toBe(c.maps.inner_one.info().id);
    expect(c.maps.outer.lookup(0)).toBeUndefined();
    expect(c.maps.jump_table.lookup(2)).toBeDefined();
  });

  it('maps pinned by name are created once and reused by the next load', () => {
    const dir = withPins();
    try {
      const first = load(undefined, dir);
      first.maps.pinned_counts.update(1, 41);
      const id = first.maps.pinned_counts.info().id;
      first.close();
      const second = load(undefined, dir);
      expect(second.maps.pinned_counts.info().id).toBe(id);
      expect(second.maps.pinned_counts.lookup(1)).toBe(41);
      second.close();
      // A pin with another shape is refused rather than reused.
      const s = spec();
      s.maps.pinned_counts.maxEntries = 8;
      expect(() => loadCollection(s, { pinPath: dir })).toThrow(LoaderError);
    } finally {
      cleanPins();
    }
  });

  it('a pinned map without pinPath is an error naming the map', () => {
    expect(() => loadCollection(spec())).toThrow(/pinned_counts.*pinPath/);
  });

  it('a verifier failure shows the C source line', () => {
    let error: unknown;
    try {
      track(loadCollection(new URL('../bpf/verifier_fail.o', import.meta.url).pathname));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VerifierError);
    const log = (error as VerifierError).log;
    expect(log).toMatch(/return \*value == 42 \? 2 : 1;/);

    expect(log).toMatch(/invalid mem access 'map_value_or_null'/);
  });

  it('line records edited after parsing reach the kernel too (the blob is encoded again with their strings)', () => {
    const s = loadCollectionSpec(readFileSync(new URL('../bpf/verifier_fail.o', import.meta.url)));
    for (const [name, p] of Object.entries(s.programs)) {
      s.programs[name] = { ...p, lineInfos: p.lineInfos.map((l) => ({ ...l, line: `/* edited */ ${l.line.trim()}` })) };
    }
    let error: unknown;
    try {
      track(loadCollection(s));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).log).toMatch(/\/\* edited \*\/ return \*value == 42 \? 2 : 1;/);
  });

  it('a failed load closes what it created', () => {
    const s = spec();
    s.programs.classifier_prog.instructions = s.programs.classifier_prog.instructions.slice(0, 1);
    expect(() => loadCollection(s, { pinPath: withPins() })).toThrow();
    cleanPins();
  });

  it('reports the wall time of loadCollection on the many-programs object', () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const c = loadCollection(bytes, { pinPath: withPins() });
      times.push(performance.now() - t);
      c.close();
      cleanPins();
    }
    console.log(`loadCollection(collection.o): ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
  });
});
