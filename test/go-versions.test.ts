// The per-version tables of src/go (goid offset, g.waitreason/startpc/gopc, wait reason names)
// checked release by release, Go 1.20 to 1.27:
// - against the workload built by each of Go 1.21 to 1.27 (test/fixtures/go/workload-go1.N, made
//   by Debian's golang-1.N-go): llvm-dwarfdump reads runtime.g's members from DWARF, and the
//   runtime.waitReasonStrings array is read from the file through readelf's symbol and section
//   tables (neither goes through this library's ELF, DWARF or Go readers);
// - live, on stripped copies (strip(1)), where only the tables can give the offsets: each goroutine
//   shows the function it printed and waits on what its source does;
// - live on stripped release builds from npm (esbuild for Go 1.20, 1.22, 1.23, 1.25; lefthook for
//   1.21; the esbuild npm installs, Go 1.26, in goroutines-fields.test.ts), where nothing but the
//   binary's own behaviour can say whether the table is right: start pcs are function entries, the
//   runtime's own goroutines wait on the reasons their source gives.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GOID_OFFSETS, goidOffsetFromTable, GOROUTINE_FIELD_OFFSETS, parseGoVersion, WAIT_REASON_NAMES } from '../src/go/index.js';
import { openGoBinary } from '../src/symbols/index.js';
import { GoroutineSummary, GoroutineTracer, type GoroutineTransition } from '../src/goroutines/index.js';
import { hasCommand, inCI, isRoot, need } from './support/env.js';
import { checkInvariants } from './goroutine-invariants.js';

const FIXTURES = resolve('test/fixtures/go');
/** Each committed build and the exact release that made it. */
const BUILDS = [
  { minor: 21, go: 'go1.21.13' },
  { minor: 22, go: 'go1.22.12' },
  { minor: 23, go: 'go1.23.5' },
  { minor: 24, go: 'go1.24.4' },
  { minor: 25, go: 'go1.25.12' },
  { minor: 26, go: 'go1.26.10' },
  { minor: 27, go: 'go1.27.3' },
] as const;
const fixture = (minor: number): string => join(FIXTURES, `workload-go1.${minor}`);
const row = (minor: number) => GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === minor);

/** Member offsets of runtime.g as llvm-dwarfdump prints them. */
function dwarfdumpMembers(path: string): Map<string, number> {
  const out = execFileSync('llvm-dwarfdump-19', ['--name=runtime.g', '--show-children', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const members = new Map<string, number>();
  let name: string | undefined;
  for (const line of out.split('\n')) {
    if (line.includes('DW_TAG_member')) name = undefined;
    const n = /DW_AT_name\s+\("([^"]+)"\)/.exec(line);
    if (n) name = n[1];
    const at = /DW_AT_data_member_location\s+\((?:0x)?([0-9a-f]+)\)/.exec(line);
    if (at && name !== undefined && !members.has(name)) members.set(name, parseInt(at[1], line.includes('(0x') ? 16 : 10));
  }
  return members;
}

interface ReadelfSection {
  name: string;
  type: string;
  addr: number;
  offset: number;
  size: number;
}

function readelfSections(path: string): ReadelfSection[] {
  const out = execFileSync('readelf', ['-SW', path], { encoding: 'utf8' });
  const sections: ReadelfSection[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m) sections.push({ name: m[1], type: m[2], addr: parseInt(m[3], 16), offset: parseInt(m[4], 16), size: parseInt(m[5], 16) });
  }
  return sections;
}

/** An array of Go string headers {ptr, len} at file offset `at`, read with readelf's section table. */
function readStringArray(file: Buffer, sections: ReadelfSection[], at: number, count: number): string[] {
  const fileOffset = (addr: number): number => {
    const s = sections.find((x) => x.type !== 'NOBITS' && x.addr !== 0 && addr >= x.addr && addr < x.addr + x.size);
    if (!s) throw new Error(`0x${addr.toString(16)} is in no section`);
    return s.offset + addr - s.addr;
  };
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const ptr = Number(file.readBigUInt64LE(at + 16 * i));
    const len = Number(file.readBigUInt64LE(at + 16 * i + 8));
    names.push(len === 0 ? '' : file.subarray(fileOffset(ptr), fileOffset(ptr) + len).toString('latin1'));
  }
  return names;
}

/** runtime.waitReasonStrings of an unstripped binary, found by readelf's symbol table. */
function waitReasonStringsBySymbol(path: string): string[] {
  const syms = execFileSync('readelf', ['-sW', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = syms.split('\n').find((l) => l.trim().split(/\s+/)[7] === 'runtime.waitReasonStrings');
  if (!line) throw new Error(`${path}: no runtime.waitReasonStrings symbol`);
  const [, value, size] = line.trim().split(/\s+/);
  const addr = parseInt(value, 16);
  const sections = readelfSections(path);
  const s = sections.find((x) => addr >= x.addr && addr < x.addr + x.size)!;
  return readStringArray(readFileSync(path), sections, s.offset + addr - s.addr, Number(size) / 16);
}

/**
 * The wait reason names of a stripped binary: the string header array whose entry 0 is "" and
 * entry 1 points at "GC assist marking" (the first reason in every release), in .data. A stripped
 * binary does not say where the array ends, so `count` entries are read.
 */
function waitReasonStringsByScan(path: string, count: number): string[] {
  const file = readFileSync(path);
  const sections = readelfSections(path);
  const rodata = sections.find((s) => s.name === '.rodata')!;
  const data = sections.find((s) => s.name === '.data')!;
  const first = Buffer.from('GC assist marking');
  const hits: string[][] = [];
  for (let at = file.indexOf(first, rodata.offset); at >= 0 && at < rodata.offset + rodata.size; at = file.indexOf(first, at + 1)) {
    const header = Buffer.alloc(32);
    header.writeBigUInt64LE(BigInt(rodata.addr + at - rodata.offset), 16);
    header.writeBigUInt64LE(BigInt(first.length), 24);
    const found = file.subarray(data.offset, data.offset + data.size).indexOf(header);
    if (found >= 0) hits.push(readStringArray(file, sections, data.offset + found, count));
  }
  if (hits.length !== 1) throw new Error(`${path}: ${hits.length} candidate waitReasonStrings arrays in .data`);
  return hits[0];
}

const haveTools = hasCommand('llvm-dwarfdump-19') && hasCommand('readelf') && hasCommand('strip');

describe.runIf(need(haveTools, 'llvm-dwarfdump-19 (llvm-19), readelf and strip (binutils) are the oracles'))(
  'the tables against Go 1.21 to 1.27 builds',
  () => {
    it.each(BUILDS)('$go: DWARF (llvm-dwarfdump) gives the goid and g field rows; the binary its wait reason names', ({ minor, go }) => {
      const path = fixture(minor);
      const info = openGoBinary(path);
      expect(info.version.raw).toBe(go);
      const members = dwarfdumpMembers(path);
      const r = row(minor);
      expect(r, `a g field row for 1.${minor}`).toBeDefined();
      expect({
        goid: members.get('goid'),
        waitreason: members.get('waitreason'),
        startpc: members.get('startpc'),
        gopc: members.get('gopc'),
      }).toEqual({ goid: goidOffsetFromTable(info.version).offset, waitreason: r!.waitreason, startpc: r!.startpc, gopc: r!.gopc });
      // casgstatus's oldval is g.atomicstatus: a uint32 in the word before goid, in every release.
      expect(members.get('atomicstatus')).toBe(members.get('goid')! - 8);
      // Our own DWARF reader agrees with llvm-dwarfdump.
      expect(info).toMatchObject({ goidOffset: members.get('goid'), goidOffsetSource: 'dwarf', warnings: [], notes: [] });
      expect(info.goroutineFields).toEqual({ waitreason: r!.waitreason, startpc: r!.startpc, gopc: r!.gopc, source: 'dwarf' });
      const names = waitReasonStringsBySymbol(path);
      expect(names).toEqual(WAIT_REASON_NAMES.get(minor));
      expect(info.waitReasons).toEqual(names);
      expect(info.abi).toMatchObject({ kind: 'registers', gp: { register: 'ax' }, old: { register: 'bx' }, new: { register: 'cx' } });
    });

    it.each(BUILDS)('$go stripped: the tables alone give the same offsets and names, with no warning', ({ minor, go }) => {
      const dir = mkdtempSync(join(tmpdir(), 'go-versions-'));
      try {
        const path = join(dir, 'workload');
        copyFileSync(fixture(minor), path);
        execFileSync('strip', [path]);
        expect(readelfSections(path).some((s) => s.name.includes('debug') || s.name === '.symtab')).toBe(false);
        const info = openGoBinary(path);
        expect(info.version.raw).toBe(go);
        const r = row(minor)!;
        expect(info).toMatchObject({ goidOffsetSource: 'table', warnings: [], notes: [] });
        expect(info.goroutineFields).toEqual({ waitreason: r.waitreason, startpc: r.startpc, gopc: r.gopc, source: 'table' });
        expect(info.waitReasons).toEqual(WAIT_REASON_NAMES.get(minor));
        // The array in .data, found without a symbol, is the one the symbol named.
        expect(waitReasonStringsByScan(path, WAIT_REASON_NAMES.get(minor)!.length)).toEqual(WAIT_REASON_NAMES.get(minor));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the tables cover every release from 1.19 to 1.27 and nothing past it', () => {
      const minors = GOROUTINE_FIELD_OFFSETS.map((r) => r.minor);
      expect(minors).toEqual([19, 20, 21, 22, 23, 24, 25, 26, 27]);
      expect([...WAIT_REASON_NAMES.keys()].sort((a, b) => a - b)).toEqual([19, 20, 21, 22, 23, 24, 25, 26, 27]);
      expect(GOID_OFFSETS[GOID_OFFSETS.length - 1].to).toEqual({ major: 1, minor: 27 });
      for (const v of ['go1.27.0', 'go1.27.3', 'go1.27.9'])
        expect(goidOffsetFromTable(parseGoVersion(v)!)).toEqual({ offset: 152, warnings: [] });
    });

    it('a release past the table (go1.28.0 written into a stripped go1.27.3 build) keeps its warnings', () => {
      const dir = mkdtempSync(join(tmpdir(), 'go-versions-'));
      try {
        const path = join(dir, 'workload');
        copyFileSync(fixture(27), path);
        execFileSync('strip', [path]);
        const bytes = readFileSync(path);
        // Same length: .go.buildinfo's length prefix and runtime.buildVersion stay valid.
        let replaced = 0;
        for (let at = bytes.indexOf('go1.27.3'); at >= 0; at = bytes.indexOf('go1.27.3', at + 1), replaced++)
          bytes.write('go1.28.0', at, 'latin1');
        expect(replaced).toBeGreaterThan(0);
        writeFileSync(path, bytes);
        const info = openGoBinary(path);
        expect(info.version.raw).toBe('go1.28.0');
        // The goid offset of the newest layout, said to be a guess.
        expect(info.goidOffset).toBe(152);
        expect(info.warnings).toEqual([
          expect.stringMatching(/go1\.28\.0 is newer than the goid offset table \(up to go1\.27\); assuming the go1\.27 offset 152/),
        ]);
        // No guessed g fields or names: the tracer records transitions without them, and says so.
        expect(info.goroutineFields).toBeUndefined();
        expect(info.waitReasons).toBeUndefined();
        expect(info.notes).toEqual([expect.stringMatching(/no DWARF and no checked runtime\.g layout for go1\.28\.0/)]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

/** Runs `binary argv` under the tracer; the command waits on stdin until the probe is attached. */
async function traceRun(
  binary: string,
  argv: string[],
): Promise<{ seen: GoroutineTransition[]; out: string; stats: ReturnType<GoroutineTracer['stats']> }> {
  const child = spawn('sh', ['-c', 'read _ && exec "$@"', 'sh', binary, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r, j) => {
    child.once('spawn', r);
    child.once('error', j);
  });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const tracer = GoroutineTracer.open({ binary, pid: child.pid! });
  const seen: GoroutineTransition[] = [];
  try {
    child.stdin!.end('go\n');
    for await (const t of tracer) seen.push(t);
    await closed;
    return { seen, out, stats: tracer.stats() };
  } finally {
    tracer.close();
    child.kill('SIGKILL');
  }
}

describe.runIf(need(isRoot, 'tracing needs root') && need(hasCommand('strip'), 'strip (binutils) makes the stripped copies'))(
  'live, stripped Go 1.21 to 1.27 builds (the tables only)',
  () => {
    it.each(BUILDS)('$go: every goroutine is traced with the function it printed and the wait its source makes', async ({ minor }) => {
      const dir = mkdtempSync(join(tmpdir(), 'go-versions-'));
      try {
        const path = join(dir, 'workload');
        copyFileSync(fixture(minor), path);
        execFileSync('strip', [path]);
        const info = openGoBinary(path);
        expect(info.goroutineFields?.source).toBe('table');
        const { seen, out, stats } = await traceRun(path, ['-waves', '2', '-n', '3']);
        const printed = [...out.matchAll(/^goid (\d+) (\S+)$/gm)].map((m) => ({ goid: BigInt(m[1]), fn: m[2] }));
        expect(printed.length).toBe(2 * 3 * 4);
        const inv = checkInvariants(
          seen,
          minor,
          printed.map((p) => p.goid),
        );
        expect(inv).toMatchObject({ chainBreaks: [], movesAfterDeath: [], missing: [] });
        expect(stats).toMatchObject({ lost: 0n, goidReadFailures: 0n });
        const summary = new GoroutineSummary({
          names: {
            functionAt: (pc) => info.functions.nameAt(pc),
            positionAt: (pc) => info.functions.positionAt(pc),
            waitReasons: info.waitReasons,
          },
        });
        for (const t of seen) summary.add(t);
        summary.finish();
        const pid = seen[0].pid;
        for (const p of printed) expect([p.goid, summary.functionOf(pid, p.goid)]).toEqual([p.goid, p.fn]);
        for (const p of printed) expect(summary.createdByOf(pid, p.goid)).toBe('main.main');
        const r = summary.report();
        expect(r.byFunction['main.worker'].waitReasons['chan receive']).toBeGreaterThan(0);
        expect(r.byFunction['main.sleeper'].waitReasons.sleep).toBeGreaterThan(0);
        // Go 1.20 and later name a sync.Mutex wait (1.19 said "semacquire").
        expect(r.byFunction['main.locker'].waitReasons['sync.Mutex.Lock']).toBeGreaterThan(0);
        // From Go 1.26, entersyscall and exitsyscall switch running <-> syscall with their own CAS
        // and call casgstatus only when that fails (proc.go), so a plain read(2) is not seen there.
        if (minor < 26) expect(r.byFunction['main.reader'].timePerState.syscall.totalMs).toBeGreaterThan(0);
        // Every wait reason read is a value of this release's waitReason type.
        for (const t of seen) if (t.waitReason !== undefined) expect(t.waitReason).toBeLessThan(WAIT_REASON_NAMES.get(minor)!.length);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

// Stripped release binaries nobody here built: esbuild's npm builds of several Go releases (esbuild
// skipped Go 1.21; lefthook's build of it stands in). The packages are fetched with `npm pack` into
// node_modules/.cache (the npm registry is reachable wherever `npm ci` ran); under CI a failed
// download fails the test.
interface ReleaseBuild {
  pkg: string;
  version: string;
  go: string;
  /** The executable inside the package. */
  bin: string;
  /** Its arguments, given a scratch directory. */
  argv: (dir: string) => string[];
  /** Births expected at least, and the prefix of the program's own functions. */
  minBirths: number;
  own: string;
}
const target = `${process.platform}-${process.arch}`;
const esbuildRun = (version: string, go: string): ReleaseBuild => ({
  pkg: `@esbuild/${target}`,
  version,
  go,
  bin: 'bin/esbuild',
  // One goroutine per module parsed.
  argv: (dir) => ['--bundle', writeProject(dir, 200)],
  minBirths: 200,
  own: 'github.com/evanw/esbuild/internal/',
});
const RELEASE_BUILDS: readonly ReleaseBuild[] = [
  esbuildRun('0.19.2', 'go1.20.7'),
  {
    pkg: 'lefthook-linux-x64',
    version: '1.5.5',
    go: 'go1.21.4',
    bin: 'bin/lefthook',
    argv: () => ['version', '--full'],
    minBirths: 4,
    own: 'runtime.',
  },
  esbuildRun('0.23.1', 'go1.22.5'),
  esbuildRun('0.25.12', 'go1.23.12'),
  esbuildRun('0.27.3', 'go1.25.7'),
];
const CACHE = resolve('node_modules/.cache/ebpf-go-versions');

function releaseBinary(b: ReleaseBuild): string | undefined {
  const dir = join(CACHE, `${b.pkg.replace(/[@/]/g, '_')}-${b.version}`);
  const bin = join(dir, 'package', b.bin);
  if (existsSync(bin)) return bin;
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('npm', ['pack', '--silent', `${b.pkg}@${b.version}`, '--pack-destination', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 180_000,
    });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack left no tarball in ${dir}`);
    execFileSync('tar', ['xzf', join(dir, tgz), '-C', dir]);
    rmSync(join(dir, tgz));
    if (!existsSync(bin)) throw new Error(`${b.pkg}@${b.version} has no ${b.bin}`);
    return bin;
  } catch (e) {
    if (inCI) throw new Error(`could not fetch ${b.pkg}@${b.version} from the npm registry`, { cause: e });
    console.warn(`skipping: could not fetch ${b.pkg}@${b.version}: ${(e as Error).message}`);
    return undefined;
  }
}

/** A project of `n` modules importing each other in a binary tree: esbuild parses each in its own goroutine. */
function writeProject(dir: string, n: number): string {
  for (let i = 0; i < n; i++) {
    const kids = [2 * i + 1, 2 * i + 2].filter((k) => k < n);
    writeFileSync(
      join(dir, `m${i}.js`),
      `${kids.map((k) => `import { v${k} } from './m${k}.js';\n`).join('')}export const v${i} = ${[String(i), ...kids.map((k) => `v${k}`)].join(' + ')};\n`,
    );
  }
  return join(dir, 'm0.js');
}

/** The runtime's own goroutines and the reason each parks with, by start function (names vary by release). */
const RUNTIME_WAITS: readonly [RegExp, string][] = [
  [/^runtime\.forcegchelper$/, 'force gc (idle)'],
  [/^runtime\.gcenable\.(func1|gowrap1)$/, 'GC sweep wait'], // bgsweep
  [/^runtime\.gcenable\.(func2|gowrap2)$/, 'GC scavenge wait'], // bgscavenge
  [/^runtime\.(runfinq|runFinalizers)$/, 'finalizer wait'],
];

describe.runIf(need(isRoot, 'tracing needs root') && need(target === 'linux-x64', 'the release builds listed are linux-x64 packages'))(
  'live, stripped release builds of other Go releases',
  () => {
    it.each(RELEASE_BUILDS)(
      '$pkg $version ($go): start pcs are entries, creation pcs inside functions, the runtime waits on its own reasons',
      { timeout: 300_000 },
      async (build) => {
        const { go, minBirths, own } = build;
        const bin = releaseBinary(build);
        if (!bin) return;
        const info = openGoBinary(bin);
        expect(info.version.raw).toBe(go);
        const minor = info.version.minor;
        const r = row(minor)!;
        expect(info.goroutineFields).toEqual({ waitreason: r.waitreason, startpc: r.startpc, gopc: r.gopc, source: 'table' });
        expect(info).toMatchObject({ goidOffsetSource: 'table', goidOffset: goidOffsetFromTable(info.version).offset });
        const names = WAIT_REASON_NAMES.get(minor)!;
        expect(info.waitReasons).toEqual(names);
        // The array in the binary's .data, found without a symbol, holds the table's names.
        expect(waitReasonStringsByScan(bin, names.length)).toEqual(names);
        const dir = mkdtempSync(join(tmpdir(), 'go-versions-release-'));
        let run: Awaited<ReturnType<typeof traceRun>>;
        try {
          run = await traceRun(bin, build.argv(dir));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const { seen, stats } = run;
        expect(stats).toMatchObject({ lost: 0n, goidReadFailures: 0n });
        const inv = checkInvariants(seen, info.version.minor);
        expect(inv).toMatchObject({ chainBreaks: [], movesAfterDeath: [] });
        const births = seen.filter((t) => t.startPc !== undefined);
        expect(births.length).toBeGreaterThanOrEqual(minBirths);
        const startOf = new Map<bigint, string>();
        for (const b of births) {
          const name = info.functions.nameAt(Number(b.startPc));
          expect(name, `start pc 0x${b.startPc!.toString(16)}`).toBeDefined();
          expect(info.functions.lookup(name!)).toBe(Number(b.startPc));
          expect(
            info.functions.positionAt(Number(b.createdAtPc) - 1)?.line,
            `creation pc 0x${b.createdAtPc!.toString(16)}`,
          ).toBeGreaterThan(0);
          startOf.set(b.goid, name!);
        }
        expect([...startOf.values()].filter((f) => f.startsWith(own)).length).toBeGreaterThanOrEqual(minBirths);
        const reasonsOf = new Map<string, Set<string>>();
        for (const t of seen) {
          if (t.waitReason === undefined) continue;
          expect(t.waitReason).toBeLessThan(names.length);
          const fn = startOf.get(t.goid);
          if (fn === undefined) continue;
          if (!reasonsOf.has(fn)) reasonsOf.set(fn, new Set());
          reasonsOf.get(fn)!.add(names[t.waitReason]);
        }
        // Each of these parks right after it starts, but a short run can end before one gets a CPU:
        // those that parked must name their own reason, and most of them must have parked.
        let parked = 0;
        for (const [fn, reason] of RUNTIME_WAITS) {
          const goroutines = [...reasonsOf.keys()].filter((f) => fn.test(f));
          expect(goroutines.length, `goroutines started at ${fn} that waited`).toBeLessThanOrEqual(1);
          if (goroutines.length === 0) continue;
          expect([...reasonsOf.get(goroutines[0])!], goroutines[0]).toEqual([reason]);
          parked++;
        }
        expect(parked).toBeGreaterThanOrEqual(2);
      },
    );
  },
);
