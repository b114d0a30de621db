// The package's entry points show its layers: the pure ones (parsers, codecs, the assembler, the
// error model) load no native code, so they work where the FFI cannot load (macOS, Windows, a
// machine without koffi's binary) and on big-endian hosts; every entry point in package.json
// exists. test/package.test.ts imports them all from the packed tarball. The root is the object
// model only: its names are pinned here, and every name the README imports from an entry point is
// checked against what the compiler sees that entry export.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_SOURCES } from './support/entries.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, string | { import: string; types: string }> };
const PURE = ['asm', 'elf', 'btf', 'dwarf', 'go', 'codec', 'netlink', 'errors', 'core', 'usdt'];

/** The source file behind an exports entry ("./dist/elf/index.js" → "src/elf/index.ts"). */
function sourceOf(entry: string): string {
  const target = pkg.exports[entry];
  const js = typeof target === 'string' ? target : target.import;
  return js.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
}

// koffi made unloadable in a child: by the module hooks for `import`, and by a patched CommonJS loader
// for `require` (the syscall layer loads koffi through require on first use).
const NO_FFI_PRELUDE = `
    import Module, { register } from 'node:module';
    import { pathToFileURL } from 'node:url';
    register(pathToFileURL('test/fixtures/no-native-hooks.mjs'));
    const cjsLoad = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'koffi' || request === 'ffi-rs') throw new Error('native FFI ' + request + ' is not available here');
      return cjsLoad.call(this, request, ...rest);
    };`;

/** Imports `files` in a fresh node where koffi cannot load; returns what each exported, or throws with stderr. */
function importWithoutFfi(files: string[], env: Record<string, string> = {}): Record<string, string[]> {
  const script = `${NO_FFI_PRELUDE}
    const out = {};
    for (const f of ${JSON.stringify(files)}) out[f] = Object.keys(await import(pathToFileURL(f).href)).sort();
    console.log(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string[]>;
}

describe('entry points', () => {
  it('every exports entry has its source, and the pure ones are the layer the architecture check calls pure', () => {
    for (const entry of Object.keys(pkg.exports)) {
      if (entry === './package.json' || entry === './bpf/*') continue;
      expect(existsSync(sourceOf(entry)), entry).toBe(true);
    }
    for (const name of PURE) expect(pkg.exports[`./${name}`], name).toBeDefined();
  });

  it('the pure entry points import with the FFI unavailable, and export what they should', () => {
    const files = PURE.map((n) => sourceOf(`./${n}`));
    const out = importWithoutFfi(files);
    expect(out[sourceOf('./elf')]).toContain('ElfFile');
    expect(out[sourceOf('./asm')]).toContain('assemble');
    expect(out[sourceOf('./btf')]).toContain('parseBtf');
    expect(out[sourceOf('./errors')]).toContain('EbpfError');
    expect(out[sourceOf('./go')].length).toBeGreaterThan(3);
  });

  it('the hook is real: a kernel entry point imports without the FFI, and its first call says koffi does not load', () => {
    const script = `${NO_FFI_PRELUDE}
      const { BpfMap } = await import(pathToFileURL('src/index.ts').href);
      const { attachXdp } = await import(pathToFileURL('src/links/index.ts').href);
      try { BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }); console.log('created'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.message, attach: typeof attachXdp })); }`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim(),
    ) as Record<string, string>;
    expect(out).toMatchObject({
      name: 'EbpfError',
      code: 'ERR_NATIVE',
      cause: 'native FFI koffi is not available here',
      attach: 'function',
    });
    expect(out.message).toMatch(/the native FFI \(koffi\) does not load here.*pure entry points/);
  });

  it('on a simulated big-endian host the pure entry points import and parse both byte orders', () => {
    const out = importWithoutFfi(
      PURE.map((n) => sourceOf(`./${n}`)),
      { EBPF_SIMULATE_BIG_ENDIAN: '1' },
    );
    expect(Object.keys(out)).toHaveLength(PURE.length);
    const script = `
      import { register } from 'node:module';
      import { pathToFileURL } from 'node:url';
      import { readFileSync } from 'node:fs';
      register(pathToFileURL('test/fixtures/no-native-hooks.mjs'));
      const { HOST_LITTLE_ENDIAN } = await import(pathToFileURL('src/host.ts').href);
      const { ElfFile } = await import(pathToFileURL('src/elf/index.ts').href);
      const names = ['bpf/xdp_counter.o', 'bpf/xdp_counter.bpfeb.o'].map((f) => ElfFile.parse(new Uint8Array(readFileSync(f))).sections.map((s) => s.name).sort().join(','));
      console.log(JSON.stringify({ little: HOST_LITTLE_ENDIAN, same: names[0] === names[1] }));`;
    const r = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, EBPF_SIMULATE_BIG_ENDIAN: '1' },
      }).trim(),
    ) as { little: boolean; same: boolean };
    expect(r).toEqual({ little: false, same: true });
  });
});

// The root entry point, ebpf: the object model (maps, programs, collections, pinning, tokens, the
// error model), as cilium/ebpf's root package. Growing it is a decision: CONTRIBUTING.md says which
// names belong here; everything else is exported by its layer's entry point.
const ROOT_VALUES = [
  'AttachType',
  'BpfCommand',
  'BpfMap',
  'BpfToken',
  'EbpfError',
  'Errno',
  'LoaderError',
  'MapError',
  'MapFlags',
  'MapType',
  'NotSupportedError',
  'ObjectFlags',
  'Program',
  'ProgramAttachFlags',
  'ProgramError',
  'ProgramFlags',
  'ProgramType',
  'SyscallError',
  'TestRunFlags',
  'TokenError',
  'UpdateFlags',
  'VariableSpec',
  'VerifierError',
  'XskMap',
  'causeChain',
  'cpuMapValue',
  'createCpuMap',
  'createDevMap',
  'createStorageMap',
  'devMapValue',
  'errnoMessage',
  'errnoName',
  'errnoOf',
  'findCause',
  'isNotSupported',
  'linkInstructions',
  'loadCollection',
  'loadCollectionAsync',
  'loadCollectionSpec',
  'mapTypeOf',
  'onlineCpus',
  'openTypedMap',
  'possibleCpus',
  'programTypeOf',
  'storageMapBtf',
];
const ROOT_TYPES = [
  'AsyncCollectionOptions',
  'Collection',
  'CollectionOptions',
  'CollectionSpec',
  'CollectionSpecOptions',
  'CollectionVariables',
  'CpuMapValue',
  'DevMapValue',
  'EbpfErrorOptions',
  'ErrnoName',
  'LoadOptions',
  'LoaderErrorDetails',
  'MapCodecs',
  'MapContents',
  'MapErrorKind',
  'MapFdSource',
  'MapInfo',
  'MapPinning',
  'MapSpec',
  'MapSpecEntry',
  'MapTypeName',
  'ProgramErrorKind',
  'ProgramInfo',
  'ProgramSpec',
  'ProgramSpecEntry',
  'ProgramTypeName',
  'RawInput',
  'RedirectMapOptions',
  'StorageMapOptions',
  'StorageMapTypeName',
  'TestRunOptions',
  'TestRunResult',
  'VariableValue',
];

/** What each entry point exports as the compiler sees it: value names, and type-only names as "type X". */
function compilerExports(): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile('tsconfig.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json does not parse');
  const program = ts.createProgram(Object.values(ENTRY_SOURCES), config.options);
  const checker = program.getTypeChecker();
  const out: Record<string, string[]> = {};
  for (const [entry, file] of Object.entries(ENTRY_SOURCES)) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file}: not a module`);
    out[entry] = checker
      .getExportsOfModule(module)
      .map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        return target.flags & ts.SymbolFlags.Value ? s.name : `type ${s.name}`;
      })
      .sort();
  }
  return out;
}

/** The README's imports from the package: `import { a, type B } from 'ebpf/x'` and `import * as n from 'ebpf/x'`, in code blocks and in text. */
function readmeImports(): { entry: string; names: string[]; line: string }[] {
  const readme = readFileSync('README.md', 'utf8');
  const out: { entry: string; names: string[]; line: string }[] = [];
  for (const m of readme.matchAll(/import\s+(?:\{([^}]*)\}|\*\s+as\s+\w+)\s+from\s+'(ebpf(?:\/[\w/.-]+)?)'/g)) {
    const names = (m[1] ?? '')
      .split(',')
      .map((n) => n.trim().replace(/\s+as\s+\w+$/, ''))
      .filter((n) => /^(type\s+)?\w+$/.test(n));
    out.push({ entry: m[2] === 'ebpf' ? '.' : `./${m[2].slice('ebpf/'.length)}`, names, line: m[0] });
  }
  return out;
}

describe('what the entry points export', () => {
  let exported: Record<string, string[]> = {};
  beforeAll(() => {
    exported = compilerExports();
  }, 300_000);

  it('the root is the object model: its names are pinned', () => {
    const root = exported['.'];
    expect(root.filter((n) => !n.startsWith('type '))).toEqual([...ROOT_VALUES].sort());
    expect(root.filter((n) => n.startsWith('type ')).map((n) => n.slice(5))).toEqual([...ROOT_TYPES].sort());
    // What left the root is reachable from a layer entry: the assembler, an attach, a reader, a probe.
    for (const [entry, name] of [
      ['./asm', 'ProgramBuilder'],
      ['./asm', 'R0'],
      ['./link', 'attachXdp'],
      ['./ringbuf', 'RingBufferReader'],
      ['./features', 'kernelBtf'],
      ['./codec', 'btfCodec'],
    ]) {
      expect(root, name).not.toContain(name);
      expect(exported[entry], `${entry} ${name}`).toContain(name);
    }
  });

  it('every name the README imports from an entry point is exported by that entry point', () => {
    const imports = readmeImports();
    expect(new Set(imports.map((i) => i.entry)).size).toBeGreaterThan(5);
    for (const { entry, names, line } of imports) {
      expect(exported[entry], `${line}: no entry point ${entry}`).toBeDefined();
      for (const name of names) {
        const bare = name.replace(/^type\s+/, '');
        const have = exported[entry].includes(bare) || exported[entry].includes(`type ${bare}`);
        expect(have, `${line}: ${entry} does not export ${name}`).toBe(true);
      }
    }
  });
});
