// Nothing runs at import that can wait for first use. Importing the root or any kernel entry point
// loads no native code: koffi's binary is not mapped into the process (/proc/<pid>/maps, read by the
// kernel, not by this library) and no BPF, perf, epoll or eventfd descriptor is opened. The first
// call then loads koffi and works. Statically, no module of the kernel layers calls anything at its
// top level but constructors of empty collections and pure table builders, so a warm-up loop, a
// feature probe or a read of /sys cannot come back into import time unnoticed.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ENTRY_SOURCES } from './support/entries.js';
import { isRoot } from './support/env.js';

const PURE = new Set(['./asm', './elf', './btf', './dwarf', './go', './codec', './netlink', './errors', './core', './usdt']);
const KERNEL_ENTRIES = Object.entries(ENTRY_SOURCES)
  .filter(([e]) => !PURE.has(e))
  .map(([, file]) => file);

interface ChildReport {
  /** Per entry file, after importing it (and those before it): names exported, koffi mapped, kernel fds opened. */
  imports: { file: string; names: number; koffiMapped: boolean; kernelFds: string[] }[];
  firstUse: { koffiMapped: boolean; result: string };
}

/** Imports `files` one after another in a fresh node, then makes one call into the kernel. */
function importInChild(files: string[]): ChildReport {
  const script = `
    import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
    import { pathToFileURL } from 'node:url';
    const koffiMapped = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => /\\/koffi\\.node$/.test(l));
    const fds = () => readdirSync('/proc/self/fd').map((f) => { try { return readlinkSync('/proc/self/fd/' + f); } catch { return ''; } })
      .filter((l) => /^anon_inode:(bpf|\\[perf_event\\]|\\[eventpoll\\]|\\[eventfd\\])/.test(l));
    const before = fds();
    const fresh = () => { const left = [...before]; return fds().filter((l) => { const i = left.indexOf(l); if (i < 0) return true; left.splice(i, 1); return false; }); };
    const report = { imports: [], firstUse: {} };
    for (const file of ${JSON.stringify(files)}) {
      const m = await import(pathToFileURL(file).href);
      report.imports.push({ file, names: Object.keys(m).length, koffiMapped: koffiMapped(), kernelFds: fresh() });
    }
    const { BpfMap, Program, SyscallError } = await import(pathToFileURL('src/index.ts').href);
    let result;
    if (process.getuid() === 0) {
      const map = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'lazy_import' });
      map.update(0, Buffer.from([7, 0, 0, 0]));
      result = 'lookup ' + map.lookup(0).readUInt32LE(0);
      map.close();
    } else {
      try { Program.fromId(2 ** 31 - 1); result = 'opened'; } catch (e) { result = e instanceof SyscallError ? 'refused ' + e.code : String(e); }
    }
    report.firstUse = { koffiMapped: koffiMapped(), result };
    console.log(JSON.stringify(report));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildReport;
}

/** Source files of the kernel layers (what loads koffi, talks to the kernel or reads /sys and /proc). */
function kernelLayerSources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  const folders = [
    'syscall',
    'symbols',
    'kernel',
    'features',
    'maps',
    'programs',
    'links',
    'readers',
    'loader/load',
    'objects',
    'goroutines',
    'xsk',
    'token',
  ];
  return [
    ...folders.flatMap((f) => walk(join('src', f))),
    'src/index.ts',
    'src/ringbuf.ts',
    'src/perf.ts',
    ...readdirSync('src/loader')
      .filter((n) => n.endsWith('.ts'))
      .map((n) => join('src/loader', n)),
  ];
}

// What a kernel-layer module may call at its top level: empty collections and registries, and
// builders of constant tables from literals. Anything else (a libc binding, an mmap, a warm-up
// loop, a probe, a file read) must wait for the first call that needs it.
const ALLOWED_NEW = new Set([
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'FinalizationRegistry',
  'URL',
  'Int32Array',
  'SharedArrayBuffer',
  'TextDecoder',
  'TextEncoder',
]);
const ALLOWED_CALLS = /^(Object\.(keys|entries|fromEntries|freeze)|layout|pairCodec)$|\.(map|filter)$/;

/** `file:line: call` for every call made while the module is evaluated (outside functions); `text` is the file's unless given. */
function topLevelCalls(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (ts.isClassLike(node)) {
      // Static fields and static blocks run at import; methods do not.
      for (const m of node.members) {
        if (ts.isClassStaticBlockDeclaration(m)) visit(m.body);
        else if (ts.isPropertyDeclaration(m) && m.initializer && m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword))
          visit(m.initializer);
      }
      return;
    }
    if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
      const callee = node.expression.getText(source);
      const allowed = ts.isNewExpression(node) ? ALLOWED_NEW.has(callee) : ALLOWED_CALLS.test(callee);
      if (!allowed)
        found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${node.getText(source).slice(0, 80)}`);
    }
    ts.forEachChild(node, visit);
  };
  for (const statement of source.statements) visit(statement);
  return found;
}

describe('nothing runs at import', () => {
  it('importing every kernel entry point maps no native code and opens no kernel fd; the first call loads koffi and works', () => {
    expect(KERNEL_ENTRIES).toContain('src/index.ts');
    expect(KERNEL_ENTRIES).toContain('src/links/index.ts');
    const report = importInChild(KERNEL_ENTRIES);
    expect(report.imports.map((i) => i.file)).toEqual(KERNEL_ENTRIES);
    for (const i of report.imports) {
      expect(i.names, i.file).toBeGreaterThan(0);
      expect({ file: i.file, koffiMapped: i.koffiMapped, kernelFds: i.kernelFds }).toEqual({
        file: i.file,
        koffiMapped: false,
        kernelFds: [],
      });
    }
    // The same check sees koffi once a call needed it: it can fail.
    expect(report.firstUse).toEqual({ koffiMapped: true, result: isRoot ? 'lookup 7' : expect.stringMatching(/^refused E/) });
  }, 300_000);

  it('no kernel-layer module calls anything at its top level but empty collections and table builders', () => {
    const files = kernelLayerSources();
    expect(files.length).toBeGreaterThan(60);
    expect(files.flatMap((f) => topLevelCalls(f))).toEqual([]);
    // The scan sees what it must refuse (the shapes the syscall layer and the readers had before).
    const probe = 'made-up.ts';
    expect(
      topLevelCalls(
        probe,
        "import koffi from 'koffi';\nconst lib = koffi.load('libc.so.6');\nlet arena = new NativeMemory(65536);\nwarmRingScan();\nclass A { static x = readFileSync('/sys/x'); }\n",
      ),
    ).toEqual([
      `${probe}:2: koffi.load('libc.so.6')`,
      `${probe}:3: new NativeMemory(65536)`,
      `${probe}:4: warmRingScan()`,
      `${probe}:5: readFileSync('/sys/x')`,
    ]);
  });
});
