// The package as a user gets it: `npm pack` (which runs prepack, building dist/), the tarball
// installed into an empty project, and there: the README's quick start type-checked against the
// shipped types and run (as root), `npx ebpf --help` and every subcommand's --help, require('ebpf')
// failing with the documented message, the shipped BPF objects resolvable through the exports,
// the test fixtures absent, and source maps that carry their sources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SUBCOMMANDS } from '../src/cli/main.js';
import { isRoot, need } from './support/env.js';

const root = resolve('.');
let work = '';
let project = '';
let tarball = '';
let files: string[] = [];

/** The README block after the quickstart marker. */
function quickstart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- quickstart\.ts:[^\n]*-->\n```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no quickstart.ts block');
  return m[1];
}

describe('npm pack, installed into an empty project', () => {
  beforeAll(() => {
    mkdirSync(join(root, 'tmp'), { recursive: true });
    work = mkdtempSync(join(root, 'tmp', 'pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
        cwd: root,
        encoding: 'utf8',
        timeout: 600_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, packed[0].filename);
    files = packed[0].files.map((f) => f.path);
    // An empty project, outside any workspace: npm init, then the tarball.
    project = join(work, 'app');
    mkdirSync(project);
    execFileSync('npm', ['init', '-y'], { cwd: project, stdio: 'ignore' });
    execFileSync('npm', ['pkg', 'set', 'type=module'], { cwd: project, stdio: 'ignore' });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: project,
      stdio: 'pipe',
      timeout: 600_000,
    });
  }, 900_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships dist/, the LICENSE and the runtime objects, and no test fixtures', () => {
    for (const f of [
      'LICENSE',
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/require-esm-only.cjs',
      'bpf/goroutines.o',
      'bpf/xdp_counter.o',
    ]) {
      expect(files, f).toContain(f);
    }
    for (const f of files) {
      expect(f).not.toMatch(/^(test|src|bench|examples)\//);
      expect(f).not.toMatch(/verifier_fail|\.bpfeb\.o$/);
    }
    expect(readFileSync(join(project, 'node_modules/ebpf/LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('source maps carry their sources (sourcesContent), since src/ is not shipped', () => {
    const map = JSON.parse(readFileSync(join(project, 'node_modules/ebpf/dist/index.js.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: string[];
    };
    expect(map.sourcesContent?.[0]).toContain("from './maps/index.js'");
  });

  it('the README quick start type-checks against the shipped types', () => {
    writeFileSync(join(project, 'quickstart.ts'), quickstart());
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'ESNext.Disposable'],
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['quickstart.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 300_000);

  it.runIf(need(isRoot, 'running the quick start loads programs: root'))(
    'the quick start runs and prints what the README says',
    () => {
      const out = execFileSync(process.execPath, [join(project, 'out/quickstart.js')], {
        cwd: project,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(out).toBe('verdict 2, runs counted 100\nxdp_counter passed 10 frames\n');
    },
    300_000,
  );

  it("npx ebpf --help and every subcommand's --help work from the installed bin", () => {
    const help = spawnSync('npx', ['--no-install', 'ebpf', '--help'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: ebpf SUBCOMMAND/);
    const bin = join(project, 'node_modules/.bin/ebpf');
    for (const name of Object.keys(SUBCOMMANDS)) {
      const r = spawnSync(bin, [name, '--help'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: ebpf ${name}`));
    }
    const bad = spawnSync(bin, ['prog', 'show', 'x'], { cwd: project, encoding: 'utf8' });
    expect(bad.status).toBe(2);
  }, 600_000);

  it("require('ebpf') throws the documented ESM-only error; import works", () => {
    const script = join(project, 'check.cjs');
    writeFileSync(
      script,
      `
      try { require('ebpf'); console.log('loaded'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
      import('ebpf').then((m) => console.log(typeof m.BpfMap));
    `,
    );
    const lines = execFileSync(process.execPath, [script], { cwd: project, encoding: 'utf8' }).trim().split('\n');
    const err = JSON.parse(lines[0]) as { code: string; message: string };
    expect(err.code).toBe('ERR_REQUIRE_ESM');
    expect(err.message).toMatch(/ebpf is an ES module package and cannot be loaded with require\(\).*await import\('ebpf'\)/);
    expect(lines[1]).toBe('function');
  });

  it('every entry point in the exports imports from the installed package', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((e) => e !== './package.json' && e !== './bpf/*')
      .map((e) => (e === '.' ? 'ebpf' : `ebpf/${e.slice(2)}`));
    expect(entries.length).toBeGreaterThan(15);
    const script = join(project, 'entries.mjs');
    writeFileSync(
      script,
      `
      const out = {};
      for (const e of ${JSON.stringify(entries)}) out[e] = Object.keys(await import(e)).length;
      console.log(JSON.stringify(out));
    `,
    );
    const counts = JSON.parse(execFileSync(process.execPath, [script], { cwd: project, encoding: 'utf8' }).trim()) as Record<
      string,
      number
    >;
    for (const e of entries) expect(counts[e], e).toBeGreaterThan(0);
  });

  it('every value the README imports from an entry point is there in the installed package; the root is the object model', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const wanted: Record<string, string[]> = {};
    for (const m of readme.matchAll(/import\s+\{([^}]*)\}\s+from\s+'(ebpf(?:\/[\w-]+)?)'/g)) {
      const names = m[1]
        .split(',')
        .map((n) => n.trim().replace(/\s+as\s+\w+$/, ''))
        .filter((n) => /^\w+$/.test(n));
      (wanted[m[2]] ??= []).push(...names);
    }
    expect(Object.keys(wanted).length).toBeGreaterThan(5);
    const script = join(project, 'readme-imports.mjs');
    writeFileSync(
      script,
      `
      const out = {};
      for (const [e, names] of Object.entries(${JSON.stringify(wanted)})) {
        const m = await import(e);
        out[e] = names.filter((n) => m[n] === undefined);
      }
      const root = await import('ebpf');
      out.rootHasAssembler = 'ProgramBuilder' in root || 'R0' in root;
      console.log(JSON.stringify(out));
    `,
    );
    const out = JSON.parse(execFileSync(process.execPath, [script], { cwd: project, encoding: 'utf8' }).trim()) as Record<
      string,
      string[] | boolean
    >;
    for (const e of Object.keys(wanted)) expect(out[e], `${e} lacks`).toEqual([]);
    expect(out.rootHasAssembler).toBe(false);
  });

  it('the shipped BPF objects resolve through the exports; fixtures do not', () => {
    const script = join(project, 'resolve.mjs');
    writeFileSync(
      script,
      `
      import { existsSync } from 'node:fs';
      import { fileURLToPath } from 'node:url';
      const p = fileURLToPath(import.meta.resolve('ebpf/bpf/goroutines.o'));
      console.log(existsSync(p), existsSync(fileURLToPath(import.meta.resolve('ebpf/bpf/verifier_fail.o'))));
    `,
    );
    expect(execFileSync(process.execPath, [script], { cwd: project, encoding: 'utf8' }).trim()).toBe('true false');
    expect(existsSync(join(project, 'node_modules/ebpf/bpf/verifier_fail.o'))).toBe(false);
  });
});
