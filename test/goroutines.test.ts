// The goroutine tracer against real Go programs: the committed Go 1.19 test binaries (built from
// test/fixtures/go/goroutines.go; no Go toolchain needed) and the esbuild executable npm installs.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { ElfFile } from '../src/elf/index.js';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  elfBinaryImage,
  GoroutineTracer,
  GoroutineTracerError,
  inspectGoBinary,
  openGoBinary,
  stateName,
  type GoroutineTransition,
} from '../src/goroutines/index.js';
import { goBinaryInfo, GoBinaryError, newGoBinary } from '../src/go/index.js';
import { GoroutineSummary } from '../src/goroutines/index.js';
import { buildCasgstatusProbe, CONFIG, spanOf, STATS_ENTRIES } from '../src/goroutines/probe.js';
import { Program } from '../src/programs/index.js';
import { BpfMap } from '../src/maps/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { checkInvariants } from './goroutine-invariants.js';

const FIXTURES = resolve('test/fixtures/go');
const VARIANTS = ['goroutines', 'goroutines-stripped', 'goroutines-pie'] as const;
const esbuild = join(
  dirname(createRequire(import.meta.url).resolve(`@esbuild/${process.platform}-${process.arch}/package.json`)),
  'bin',
  'esbuild',
);

/** readelf's view of a symbol's address, an oracle independent of our ELF and pclntab readers. */
function readelfSymbol(path: string, name: string): number | undefined {
  const out = execFileSync('readelf', ['-sW', path], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.trim().split(/\s+/)[7] === name);
  return line ? parseInt(line.trim().split(/\s+/)[1], 16) : undefined;
}

describe('Go binary inspection', () => {
  it.each(VARIANTS)('%s: Go 1.19.8, goid at 152, casgstatus where readelf puts it', (variant) => {
    const path = join(FIXTURES, variant);
    const info = inspectGoBinary(path);
    expect(info.version.raw).toBe('go1.19.8');
    expect(info.goidOffset).toBe(152);
    expect(info.goidOffsetSource).toBe(variant === 'goroutines-stripped' ? 'table' : 'dwarf');
    expect(info.abi.kind).toBe('registers');
    if (hasCommand('go')) {
      expect(execFileSync('go', ['version', path], { encoding: 'utf8' })).toContain('go1.19.8');
    }
    if (need(hasCommand('readelf'), 'readelf (binutils) is the oracle for symbol addresses')) {
      // The stripped build has no symbol table: it must agree with the unstripped build of the same source.
      const reference = variant === 'goroutines-stripped' ? join(FIXTURES, 'goroutines') : path;
      expect(info.functions.lookup('runtime.casgstatus')).toBe(readelfSymbol(reference, 'runtime.casgstatus'));
      expect(info.functions.lookup('main.main')).toBe(readelfSymbol(reference, 'main.main'));
    }
  });

  it('esbuild (a stripped, newer Go): version from its runtime string, goid offset from the table', () => {
    const info = inspectGoBinary(esbuild);
    const bytes = readFileSync(esbuild);
    expect(bytes.includes(Buffer.from(info.version.raw))).toBe(true);
    expect(info.version.major).toBe(1);
    expect(info.version.minor).toBeGreaterThanOrEqual(20);
    expect(info.goidOffsetSource).toBe('table');
    expect(info.goidOffset).toBe(info.version.minor >= 23 && info.version.minor <= 24 ? 160 : 152);
    const casgstatus = info.functions.lookup('runtime.casgstatus');
    expect(casgstatus).toBeGreaterThan(0);
    expect(info.functions.nameAt(casgstatus!)).toBe('runtime.casgstatus');
  });

  it('GNU .zdebug DWARF (Go 1.11-1.15 style, made by objcopy) is inflated once and read', () => {
    if (!need(hasCommand('objcopy'), 'objcopy (binutils) writes the .zdebug sections')) return;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-zdebug-'));
    try {
      const out = join(dir, 'workload');
      execFileSync('objcopy', ['--compress-debug-sections=zlib-gnu', join(FIXTURES, 'workload'), out]);
      expect(execFileSync('readelf', ['-SW', out], { encoding: 'utf8' })).toMatch(/\.zdebug_info/);
      const info = openGoBinary(out);
      expect(info).toMatchObject({ goidOffset: 152, goidOffsetSource: 'dwarf', warnings: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("openGoBinary(path) and newGoBinary(image), like Go's elf.Open and elf.NewFile; mixing them up is a typed error", () => {
    const path = join(FIXTURES, 'workload-stripped');
    const a = openGoBinary(path);
    const b = newGoBinary(elfBinaryImage(ElfFile.parse(readFileSync(path))));
    expect(b.version).toEqual(a.version);
    expect(b.functions.lookup('main.worker')).toBe(a.functions.lookup('main.worker'));
    expect(() => goBinaryInfo(path as never)).toThrow(GoBinaryError);
    expect(() => goBinaryInfo(path as never)).toThrow(
      /takes a BinaryImage, not the string ".*workload-stripped"; for a file path use openGoBinary/,
    );
    expect(() => openGoBinary(elfBinaryImage(ElfFile.parse(readFileSync(path))) as never)).toThrow(/use newGoBinary/);
    // elfBinaryImage takes the parsed file or its bytes; anything else is a typed error, not a TypeError.
    expect(newGoBinary(elfBinaryImage(readFileSync(path))).version).toEqual(a.version);
    for (const wrong of [path, null, undefined, 42, {}]) {
      expect(() => elfBinaryImage(wrong as never)).toThrow(GoBinaryError);
    }
    expect(() => elfBinaryImage(path as never)).toThrow(
      /takes an ElfFile or an ELF file's bytes, not the string ".*"; for a file path use openGoBinary/,
    );
    // Unstripped: runtime.buildVersion and build info agree.
    expect(openGoBinary(join(FIXTURES, 'workload')).versionSource).toBe('buildinfo');
  });

  it('refuses what is not a Go binary, clearly', () => {
    expect(() => inspectGoBinary('/bin/sh')).toThrow(GoBinaryError);
    expect(() => inspectGoBinary('/bin/sh')).toThrow(/\/bin\/sh/);
    expect(() => inspectGoBinary(join(FIXTURES, 'goroutines.go'))).toThrow(/not a Go binary: not an ELF64 executable/);
    expect(() => inspectGoBinary('/nonexistent')).toThrow(/^\/nonexistent: no such file$/);
    // The path once, in front; the section and offset after it.
    expect(() => inspectGoBinary('/bin/sh')).toThrow(/^\/bin\/sh: [^/]*$/);
  });
});

/** Records ("pid/tid g… a->b") grouped by thread, each thread's in the order read. */
function byThread(records: string[]): Map<string, string[]> {
  const threads = new Map<string, string[]>();
  for (const r of records) {
    const tid = r.slice(0, r.indexOf(' '));
    threads.set(tid, [...(threads.get(tid) ?? []), r]);
  }
  return new Map([...threads].sort(([x], [y]) => x.localeCompare(y)));
}

/** Starts a fixture that prints "ready", then on go() runs and returns its output. */
async function startFixture(path: string, args: string[]): Promise<{ pid: number; go(): Promise<string> }> {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r, j) => {
    child.stdout!.once('data', () => r());
    child.once('error', j);
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin!.end('go\n');
      await exited;
      return out;
    },
  };
}

describe('the casgstatus probe', () => {
  it("reads goid and a transition's fields of runtime.g in one span when they lie close enough, aligned", () => {
    // Go 1.19: goid 152, waitreason 176, gopc 296, startpc 312 (GOROUTINE_FIELD_OFFSETS).
    expect(spanOf(152, [312, 296], [])).toEqual({ from: 152, length: 168 });
    expect(spanOf(152, [], [176])).toEqual({ from: 152, length: 32 });
    expect(spanOf(160, [], [184])).toEqual({ from: 160, length: 32 });
    // A byte field before goid starts the span at its 8-byte boundary.
    expect(spanOf(152, [], [141])).toEqual({ from: 136, length: 24 });
    // Too far apart for one read (256 bytes at most), or an 8-byte field off the span's alignment.
    expect(spanOf(152, [600, 616], [])).toBeUndefined();
    expect(spanOf(152, [300], [])).toBeUndefined();
  });

  it.runIf(need(isRoot, 'loading programs needs root'))('verifies with fields too far from goid for one read, each read on its own', () => {
    const info = openGoBinary(join(FIXTURES, 'goroutines'));
    using events = BpfMap.create({ type: 'RINGBUF', maxEntries: 4096 });
    using config = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: CONFIG.size, maxEntries: 1 });
    using stats = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: STATS_ENTRIES });
    for (const fields of [
      { waitreason: 176, gopc: 296, startpc: 312 },
      { waitreason: 900, gopc: 1000, startpc: 1016 },
    ]) {
      const instructions = buildCasgstatusProbe({ abi: info.abi, goidOffset: info.goidOffset, fields });
      using p = Program.load({ type: 'KPROBE', instructions, maps: { events, config, stats }, name: 'casgstatus' });
      expect(p.fd).toBeGreaterThan(0);
    }
  });
});

describe.runIf(need(isRoot, 'tracing needs root'))('the goroutine tracer, live', () => {
  it.each(VARIANTS)('%s: the goids the program prints go through runnable, running, waiting and dead', async (variant) => {
    const path = join(FIXTURES, variant);
    const child = await startFixture(path, ['-n', '8']);
    using tracer = GoroutineTracer.open({ binary: path, pid: child.pid });
    const out = await child.go();
    const seen: GoroutineTransition[] = [];
    tracer.poll((t) => seen.push(t));
    const printed = [...out.matchAll(/^goid (\d+)$/gm)].map((m) => BigInt(m[1]));
    expect(printed.length).toBe(8);
    for (const goid of printed) {
      const states = new Set(seen.filter((t) => t.goid === goid).map((t) => stateName(t.newState)));
      expect([goid, [...states].sort()]).toEqual([goid, expect.arrayContaining(['dead', 'running', 'runnable', 'waiting'])]);
    }
    expect(seen.every((t) => t.pid === child.pid)).toBe(true);
    const stats = tracer.finish((t) => seen.push(t));
    expect(stats).toMatchObject({ lost: 0n, goidReadFailures: 0n, unattributed: 0 });
    expect(stats.records).toBe(BigInt(seen.length));
    const inv = checkInvariants(seen, 19, printed);
    expect(inv).toEqual({ goroutines: inv.goroutines, chainBreaks: [], movesAfterDeath: [], missing: [] });
  });

  it('the C probe (bpf/goroutines.o, offsets set before load) and the assembled probe write identical records', async () => {
    for (const variant of VARIANTS) {
      const path = join(FIXTURES, variant);
      const child = await startFixture(path, ['-n', '6']);
      using asm = GoroutineTracer.open({ binary: path, pid: child.pid });
      using c = GoroutineTracer.open({ binary: path, pid: child.pid, probe: 'c' });
      await child.go();
      // With what a transition carries besides: the C probe reads each field of runtime.g on its
      // own, the assembled one reads them with goid in one span (spanOf).
      const strip = (t: GoroutineTransition): string =>
        `${t.pid}/${t.tid} g${t.goid} ${t.oldState}->${t.newState} start ${t.startPc ?? '-'} at ${t.createdAtPc ?? '-'} wait ${t.waitReason ?? '-'}`;
      const a: string[] = [];
      const b: string[] = [];
      asm.finish((t) => a.push(strip(t)));
      c.finish((t) => b.push(strip(t)));
      expect(a.length).toBeGreaterThan(30);
      expect(a.filter((r) => /start [1-9]/.test(r) && /at [1-9]/.test(r)).length, variant).toBeGreaterThanOrEqual(6);
      expect(a.filter((r) => /wait \d/.test(r)).length, variant).toBeGreaterThan(0);
      // Both uprobes fire on every call, one after the other, so each thread's records come in
      // the same order from both. Across threads the two rings may interleave differently: two
      // CPUs can reserve in the first ring in one order and in the second in the other. Records
      // of a g not yet given its goid (out of idle or dead: before Go 1.24 the goid comes after
      // the transition) are held until a later record of that g names it, and released where
      // that record lands: where a batch ends, which differs between the two rings. So: the
      // same records per thread, and the same order once those are set aside.
      const sorted = (m: Map<string, string[]>): Map<string, string[]> => new Map([...m].map(([k, v]) => [k, [...v].sort()]));
      expect(sorted(byThread(b))).toEqual(sorted(byThread(a)));
      const settled = (rs: string[]): string[] => rs.filter((r) => !/ g\d+ (0|6)->/.test(r));
      expect(byThread(settled(b))).toEqual(byThread(settled(a)));
      expect(c.stats()).toMatchObject({ lost: 0n, goidReadFailures: 0n, records: BigInt(b.length) });
    }
  });

  it('filters by state in the kernel: transitions into or out of the chosen states', async () => {
    const path = join(FIXTURES, 'goroutines');
    const child = await startFixture(path, ['-n', '4']);
    using tracer = GoroutineTracer.open({ binary: path, pid: child.pid, states: ['dead'] });
    await child.go();
    const seen: GoroutineTransition[] = [];
    tracer.finish((t) => seen.push(t));
    expect(seen.filter((t) => (t.newState & 0xfff) === 6).length).toBeGreaterThanOrEqual(4);
    expect(seen.filter((t) => (t.oldState & 0xfff) === 6).length).toBeGreaterThanOrEqual(4);
    expect(seen.every((t) => (t.newState & 0xfff) === 6 || (t.oldState & 0xfff) === 6)).toBe(true);
  });

  it('time per state under a state filter equals the unfiltered time of those states', async () => {
    const path = join(FIXTURES, 'workload');
    const child = await startFixture(path, ['-waves', '3', '-n', '4']);
    using all = GoroutineTracer.open({ binary: path, pid: child.pid });
    using some = GoroutineTracer.open({ binary: path, pid: child.pid, states: ['running', 'waiting'] });
    await child.go();
    const full = new GoroutineSummary();
    const filtered = new GoroutineSummary({ states: ['running', 'waiting'] });
    all.finish((t) => full.add(t));
    some.finish((t) => filtered.add(t));
    full.finish();
    filtered.finish();
    const a = full.report().timePerState;
    const b = filtered.report().timePerState;
    expect(Object.keys(b).sort()).toEqual(['running', 'waiting']);
    for (const state of ['running', 'waiting']) {
      // Two probes on the same calls: the same intervals, timestamps a few µs apart per record.
      expect(b[state].goroutines).toBe(a[state].goroutines);
      expect(Math.abs(b[state].totalMs - a[state].totalMs)).toBeLessThan(0.02 * a[state].totalMs + 1);
    }
    expect(a.runnable.totalMs).toBeGreaterThan(0);
  });

  it('a process that is gone is a clear error, and nothing stays open', () => {
    expect(() => GoroutineTracer.open({ binary: join(FIXTURES, 'goroutines'), pid: 0x3ffffff0 })).toThrow(GoroutineTracerError);
    expect(() => GoroutineTracer.open({ binary: join(FIXTURES, 'goroutines'), pid: 0x3ffffff0 })).toThrow(/process \d+ is gone/);
  });
});
