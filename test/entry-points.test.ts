// The package's entry points show its layers: the pure ones (parsers, codecs, the assembler, the
// error model) load no native code, so they work where the FFI cannot load (macOS, Windows, a
// machine without koffi's binary) and on big-endian hosts; every entry point in package.json
// exists. test/package.test.ts imports them all from the packed tarball.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, string | { import: string; types: string }> };
const PURE = ['asm', 'elf', 'btf', 'dwarf', 'go', 'codec', 'netlink', 'errors', 'core', 'usdt'];

/** The source file behind an exports entry ("./dist/elf/index.js" → "src/elf/index.ts"). */
function sourceOf(entry: string): string {
  const target = pkg.exports[entry];
  const js = typeof target === 'string' ? target : target.import;
  return js.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
}

/** Imports `files` in a fresh node where koffi cannot load; returns what each exported, or throws with stderr. */
function importWithoutFfi(files: string[], env: Record<string, string> = {}): Record<string, string[]> {
  const script = `
    import { register } from 'node:module';
    import { pathToFileURL } from 'node:url';
    register(pathToFileURL('test/fixtures/no-native-hooks.mjs'));
    const out = {};
    for (const f of ${JSON.stringify(files)}) out[f] = Object.keys(await import(pathToFileURL(f).href)).sort();
    console.log(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
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

  it('the hook is real: a kernel entry point does need the FFI', () => {
    expect(() => importWithoutFfi([sourceOf('./link')])).toThrow(/native FFI koffi is not available/);
  });

  it('on a simulated big-endian host the pure entry points import and parse both byte orders', () => {
    const out = importWithoutFfi(PURE.map((n) => sourceOf(`./${n}`)), { EBPF_SIMULATE_BIG_ENDIAN: '1' });
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
    const r = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, EBPF_SIMULATE_BIG_ENDIAN: '1' },
    }).trim()) as { little: boolean; same: boolean };
    expect(r).toEqual({ little: false, same: true });
  });
});
