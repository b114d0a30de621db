// What goroutines do: start functions (g.startpc through the pclntab) and wait reasons
// (g.waitreason, named as the binary's own runtime.waitReasonStrings), checked against what the
// workload fixture's goroutines print about themselves.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ElfFile } from '../src/elf/index.js';
import { GOROUTINE_FIELD_OFFSETS, goroutineFieldOffsets, WAIT_REASON_NAMES, waitReasonsFromBinary } from '../src/go/index.js';
import { elfBinaryImage, GoroutineTracer, openGoBinary, type GoroutineTransition } from '../src/index.js';
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

describe('arm64 inspection (GOARCH=arm64 fixtures, cross-compiled with Debian\'s Go 1.19)', () => {
  it.each(['workload-arm64', 'workload-arm64-stripped'])('%s: version, goid and g fields, X0-X2, functions where readelf puts them', (variant) => {
    const info = openGoBinary(join(FIXTURES, variant));
    expect(info.version.raw).toBe('go1.19.8');
    expect(info).toMatchObject({ goidOffset: 152, goidOffsetSource: variant.endsWith('stripped') ? 'table' : 'dwarf' });
    expect(info.abi).toMatchObject({ kind: 'registers', arch: 'arm64', gp: { register: 'x0', ptRegsOffset: 0 }, old: { register: 'x1', ptRegsOffset: 8 }, new: { register: 'x2', ptRegsOffset: 16 } });
    expect(info.goroutineFields).toMatchObject({ waitreason: 176, startpc: 312, gopc: 296 });
    expect(info.waitReasons).toEqual(WAIT_REASON_NAMES.get(19));
    // readelf reads the unstripped build's symbol table: an oracle independent of our pclntab reader.
    const syms = execFileSync('readelf', ['-sW', join(FIXTURES, 'workload-arm64')], { encoding: 'utf8' });
    for (const name of ['main.worker', 'runtime.casgstatus']) {
      const line = syms.split('\n').find((l) => l.trim().split(/\s+/)[7] === name)!;
      expect(info.functions.lookup(name)).toBe(parseInt(line.trim().split(/\s+/)[1], 16));
    }
  });
});

describe.runIf(need(isRoot, 'tracing needs root'))('start functions and wait reasons, live', () => {
  it.each(WORKLOADS)('%s: each goroutine shows the function it printed; main.worker waits on chan receive, main.sleeper on sleep', async (variant) => {
    const path = join(FIXTURES, variant);
    const info = openGoBinary(path);
    const child = spawn(path, ['-waves', '2', '-n', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    const tracer = GoroutineTracer.open({ binary: path, pid: child.pid! });
    const summary = new GoroutineSummary({ names: { functionAt: (pc) => info.functions.nameAt(pc), positionAt: (pc) => info.functions.positionAt(pc), waitReasons: info.waitReasons } });
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
    expect(r.byFunction['main.worker'].createdAt).toEqual({ [`main.main at ${summary.createdAtOf(child.pid!, printed.find((p) => p.fn === 'main.worker')!.goid)}`]: 6 });
  });

  it('esbuild (Go 1.26, stripped, no checked g layout): traced as before, with a note instead of guessed fields', () => {
    const esbuild = resolve('node_modules/@esbuild', `${process.platform}-${process.arch}`, 'bin', 'esbuild');
    const info = openGoBinary(esbuild);
    expect(info.goroutineFields).toBeUndefined();
    expect(info.notes.join('\n')).toMatch(/no checked runtime\.g layout for go1\.2\d/);
  });
});
