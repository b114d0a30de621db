// What goroutines do: start functions (g.startpc through the pclntab) and wait reasons
// (g.waitreason, named as the binary's own runtime.waitReasonStrings), checked against what the
// workload fixture's goroutines print about themselves.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ElfFile } from '../src/elf/index.js';
import {
  GOROUTINE_FIELD_OFFSETS,
  goroutineFieldOffsets,
  parseGoVersion,
  WAIT_REASON_NAMES,
  waitReasonsFromBinary,
} from '../src/go/index.js';
import { elfBinaryImage, GoroutineTracer, openGoBinary, type GoroutineTransition } from '../src/goroutines/index.js';
import { GoroutineSummary } from '../src/goroutines/index.js';
import { isRoot, need } from './support/env.js';

const FIXTURES = resolve('test/fixtures/go');
const WORKLOADS = ['workload', 'workload-stripped', 'workload-pie', 'workload-pie-stripped'] as const;

describe('runtime.g fields and wait reason names', () => {
  it('the Go 1.19 table rows equal what the unstripped binary itself says (DWARF, runtime.waitReasonStrings)', () => {
    const image = elfBinaryImage(ElfFile.parse(readFileSync(join(FIXTURES, 'workload'))));
    const info = openGoBinary(join(FIXTURES, 'workload'));
    expect(info.goroutineFields).toMatchObject({ source: 'dwarf' });
    const row = GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === 19)!;
    expect(info.goroutineFields).toEqual({ waitreason: row.waitreason, startpc: row.startpc, gopc: row.gopc, source: 'dwarf' });
    expect(waitReasonsFromBinary(image)).toEqual(WAIT_REASON_NAMES.get(19));
    const stripped = openGoBinary(join(FIXTURES, 'workload-stripped'));
    expect(stripped.goroutineFields).toMatchObject({ source: 'table', startpc: row.startpc });
    expect(stripped.waitReasons).toEqual(WAIT_REASON_NAMES.get(19));
    expect(goroutineFieldOffsets(image, info.version).offsets!.source).toBe('dwarf');
  });
});

// An extra oracle where the machine happens to have it (this project's VM image ships docker built
// with Go 1.24 and DWARF): not a prerequisite, so it is left out where the binary is absent.
const DOCKER = '/usr/local/bin/docker';
describe.runIf(existsSync(DOCKER))('the table against DWARF of a newer Go binary on this machine', () => {
  it('Go 1.24.3 (/usr/local/bin/docker, unstripped): DWARF gives the 1.24 row and its binary the wait reason names', () => {
    const docker = DOCKER;
    const info = openGoBinary(docker);
    expect(info.version.raw).toMatch(/^go1\.24\./);
    const row = GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === 24)!;
    expect(info.goroutineFields).toEqual({ waitreason: row.waitreason, startpc: row.startpc, gopc: row.gopc, source: 'dwarf' });
    expect(info.waitReasons).toContain('chan receive');
  });
});

describe("arm64 inspection (GOARCH=arm64 fixtures, cross-compiled with Debian's Go 1.19)", () => {
  it.each(['workload-arm64', 'workload-arm64-stripped'])(
    '%s: version, goid and g fields, X0-X2, functions where readelf puts them',
    (variant) => {
      const info = openGoBinary(join(FIXTURES, variant));
      expect(info.version.raw).toBe('go1.19.8');
      expect(info).toMatchObject({ goidOffset: 152, goidOffsetSource: variant.endsWith('stripped') ? 'table' : 'dwarf' });
      expect(info.abi).toMatchObject({
        kind: 'registers',
        arch: 'arm64',
        gp: { register: 'x0', ptRegsOffset: 0 },
        old: { register: 'x1', ptRegsOffset: 8 },
        new: { register: 'x2', ptRegsOffset: 16 },
      });
      expect(info.goroutineFields).toMatchObject({ waitreason: 176, startpc: 312, gopc: 296 });
      expect(info.waitReasons).toEqual(WAIT_REASON_NAMES.get(19));
      // readelf reads the unstripped build's symbol table: an oracle independent of our pclntab reader.
      const syms = execFileSync('readelf', ['-sW', join(FIXTURES, 'workload-arm64')], { encoding: 'utf8' });
      for (const name of ['main.worker', 'runtime.casgstatus']) {
        const line = syms.split('\n').find((l) => l.trim().split(/\s+/)[7] === name)!;
        expect(info.functions.lookup(name)).toBe(parseInt(line.trim().split(/\s+/)[1], 16));
      }
    },
  );
});

describe.runIf(need(isRoot, 'tracing needs root'))('start functions and wait reasons, live', () => {
  it.each(WORKLOADS)(
    '%s: each goroutine shows the function it printed; main.worker waits on chan receive, main.sleeper on sleep',
    async (variant) => {
      const path = join(FIXTURES, variant);
      const info = openGoBinary(path);
      const child = spawn(path, ['-waves', '2', '-n', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((r) => child.stdout!.once('data', () => r()));
      const closed = new Promise<void>((r) => child.once('close', () => r()));
      const tracer = GoroutineTracer.open({ binary: path, pid: child.pid! });
      const summary = new GoroutineSummary({
        names: {
          functionAt: (pc) => info.functions.nameAt(pc),
          positionAt: (pc) => info.functions.positionAt(pc),
          waitReasons: info.waitReasons,
        },
      });
      const seen: GoroutineTransition[] = [];
      try {
        child.stdin!.end('go\n');
        for await (const t of tracer) {
          seen.push(t);
          summary.add(t);
        }
      } finally {
        tracer.close();
        child.kill('SIGKILL');
      }
      await closed; // all of its output read
      summary.finish();
      const printed = [...out.matchAll(/^goid (\d+) (\S+)$/gm)].map((m) => ({ goid: BigInt(m[1]), fn: m[2] }));
      expect(printed.length).toBe(2 * 3 * 4);
      for (const p of printed) expect([p.goid, summary.functionOf(child.pid!, p.goid)]).toEqual([p.goid, p.fn]);
      const r = summary.report();
      expect(r.byFunction['main.worker'].goroutines).toBe(6);
      expect(r.byFunction['main.worker'].waitReasons['chan receive']).toBeGreaterThan(0);
      expect(r.byFunction['main.sleeper'].waitReasons.sleep).toBeGreaterThan(0);
      // Go 1.19 names a sync.Mutex wait "semacquire" (sync.Mutex.Lock came later).
      expect(r.byFunction['main.locker'].waitReasons.semacquire).toBeGreaterThan(0);
      expect(r.byFunction['main.reader'].timePerState.syscall.totalMs).toBeGreaterThan(0);
      // Births carry a creation site inside main.main (the go statements).
      const births = seen.filter((t) => t.startPc !== undefined && printed.some((p) => p.goid === t.goid));
      expect(births.every((t) => info.functions.nameAt(Number(t.createdAtPc)) === 'main.main')).toBe(true);
      // ...and at the line of the `go f()` statement that started each one, as the source says.
      const source = readFileSync(join(FIXTURES, 'workload.go'), 'utf8').split('\n');
      for (const p of printed) {
        const line = source.findIndex((l) => l.trim() === `go ${p.fn.slice('main.'.length)}()`) + 1;
        expect(line).toBeGreaterThan(0);
        expect(summary.createdAtOf(child.pid!, p.goid)).toMatch(new RegExp(`(^|/)workload\\.go:${line}$`));
        expect(summary.createdByOf(child.pid!, p.goid)).toBe('main.main');
      }
      expect(r.byFunction['main.worker'].createdAt).toEqual({
        [`main.main at ${summary.createdAtOf(child.pid!, printed.find((p) => p.fn === 'main.worker')!.goid)}`]: 6,
      });
    },
  );

  it(
    'esbuild (Go 1.26, stripped): births carry start functions that are function entries in its pclntab, waits carry reasons in the 1.26 range',
    { timeout: 120_000 },
    async () => {
      const esbuild = resolve('node_modules/@esbuild', `${process.platform}-${process.arch}`, 'bin', 'esbuild');
      const info = openGoBinary(esbuild);
      const row = GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === 26)!;
      expect(info.version.raw).toMatch(/^go1\.26\./);
      expect(info.goroutineFields).toEqual({ waitreason: row.waitreason, startpc: row.startpc, gopc: row.gopc, source: 'table' });
      expect(info.waitReasons).toEqual(WAIT_REASON_NAMES.get(26));
      // A bundle of a few files: the runtime's own goroutines start, and esbuild's parallel workers.
      const dir = mkdtempSync(join(tmpdir(), 'esbuild-fields-'));
      const seen: GoroutineTransition[] = [];
      try {
        // 60 modules: a run long enough for the runtime's own goroutines to park even on a loaded machine (6 were not, once).
        for (let i = 0; i < 60; i++)
          writeFileSync(join(dir, `m${i}.js`), `export const v${i} = ${i};\n${i < 59 ? `export * from './m${i + 1}.js';\n` : ''}`);
        // esbuild waits (in sh, before its exec) until the probe is attached, so its first goroutines are seen.
        const child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', esbuild, '--bundle', join(dir, 'm0.js')], {
          stdio: ['pipe', 'ignore', 'inherit'],
        });
        await new Promise<void>((r) => child.once('spawn', () => r()));
        const tracer = GoroutineTracer.open({ binary: esbuild, pid: child.pid! });
        try {
          child.stdin!.end('go\n');
          for await (const t of tracer) seen.push(t);
        } finally {
          tracer.close();
          child.kill('SIGKILL');
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const births = seen.filter((t) => t.startPc !== undefined);
      expect(births.length).toBeGreaterThan(5);
      // Every start pc is exactly a function's entry; every creation pc lies inside a function.
      for (const b of births) {
        const name = info.functions.nameAt(Number(b.startPc));
        expect(name, `start pc 0x${b.startPc!.toString(16)}`).toBeDefined();
        expect(info.functions.lookup(name!)).toBe(Number(b.startPc));
        expect(info.functions.positionAt(Number(b.createdAtPc) - 1)?.line).toBeGreaterThan(0);
      }
      const starts = new Set(births.map((b) => info.functions.nameAt(Number(b.startPc))!));
      // Goroutines the Go runtime always starts, and esbuild's own.
      for (const fn of ['runtime.forcegchelper', 'runtime.runFinalizers']) expect(starts).toContain(fn);
      expect([...starts].some((f) => f.startsWith('github.com/evanw/esbuild/internal/'))).toBe(true);
      const reasons = seen.filter((t) => t.waitReason !== undefined).map((t) => t.waitReason!);
      expect(reasons.length).toBeGreaterThan(0);
      for (const r of reasons) expect(r).toBeLessThan(WAIT_REASON_NAMES.get(26)!.length);
      const named = new Set(reasons.map((r) => WAIT_REASON_NAMES.get(26)![r]));
      // forcegchelper parks as "force gc (idle)", runFinalizers as "finalizer wait".
      // esbuild's main goroutine waits on its workers' channels.
      for (const r of ['force gc (idle)', 'finalizer wait', 'chan receive']) expect(named).toContain(r);
    },
  );

  it('a release past the table gets no guessed g fields, and says so', () => {
    const esbuild = resolve('node_modules/@esbuild', `${process.platform}-${process.arch}`, 'bin', 'esbuild');
    const image = elfBinaryImage(ElfFile.parse(readFileSync(esbuild)));
    const r = goroutineFieldOffsets(image, parseGoVersion('go1.28.0')!);
    expect(r.offsets).toBeUndefined();
    expect(r.warning).toMatch(/no checked runtime\.g layout for go1\.28\.0/);
  });
});
