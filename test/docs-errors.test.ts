// docs/errors.md is checked against the code, so it cannot drift: every error class the public
// entry points export is listed, every ERR_ code the source raises is listed, and every test file
// the page names as the one that provokes an error exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EbpfError } from '../src/errors/index.js';
import { libraryExports } from './support/entries.js';

const page = readFileSync('docs/errors.md', 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|cjs)$/.test(n) ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  it('lists every error class the entry points export', async () => {
    const api = await libraryExports();
    const classes = Object.entries(api)
      .filter(([, v]) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof Error)
      .map(([name]) => name);
    expect(classes.length).toBeGreaterThan(20);
    const missing = classes.filter((name) => !page.includes(`\`${name}\``));
    expect(missing).toEqual([]);
    const table = api as unknown as Record<string, { prototype: unknown }>;
    for (const name of classes) expect(table[name] === EbpfError || table[name].prototype instanceof EbpfError, name).toBe(true);
  });

  it('lists every ERR_ code the source raises', () => {
    const codes = new Set<string>();
    for (const f of sources('src')) for (const m of readFileSync(f, 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)) codes.add(m[1]);
    expect(codes.size).toBeGreaterThan(20);
    expect([...codes].filter((c) => !page.includes(c))).toEqual([]);
  });

  it('lists every kind of MapError, ProgramError and LinkError, and no kind the source lacks', () => {
    const unions: Record<string, string> = {
      MapError: 'src/maps/map.ts',
      ProgramError: 'src/programs/program.ts',
      LinkError: 'src/links/link.ts',
    };
    const declared = new Map<string, Set<string>>();
    for (const [cls, file] of Object.entries(unions)) {
      const union = new RegExp(`export type ${cls}Kind =([^;]+);`).exec(readFileSync(file, 'utf8'));
      expect(union, `${cls}Kind in ${file}`).not.toBeNull();
      declared.set(cls, new Set([...union![1].matchAll(/'([a-z-]+)'/g)].map((m) => m[1])));
    }
    // Every kind a throw site uses (the compiler checks it is in the union; this checks the parse).
    const used = new Set<string>();
    for (const f of sources('src')) {
      for (const m of readFileSync(f, 'utf8').matchAll(/new (MapError|ProgramError|LinkError)\(\s*'([a-z-]+)'/g))
        used.add(`${m[1]} ${m[2]}`);
    }
    expect(used.size).toBeGreaterThan(25);
    for (const u of used) {
      const [cls, kind] = u.split(' ');
      expect(declared.get(cls)!.has(kind), u).toBe(true);
    }
    const rows = new Set([...page.matchAll(/^\| `(MapError|ProgramError|LinkError)` \| `([a-z-]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));
    const all = [...declared].flatMap(([cls, kinds]) => [...kinds].map((k) => `${cls} ${k}`));
    expect(all.filter((k) => !rows.has(k))).toEqual([]);
    expect([...rows].filter((k) => !all.includes(k))).toEqual([]);
  });

  it('names only test files that exist', () => {
    const named = new Set([...page.matchAll(/test\/[\w./-]+\.test\.ts/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(20);
    const present = new Set(readdirSync('test').map((n) => `test/${n}`));
    expect([...named].filter((f) => !present.has(f))).toEqual([]);
  });
});
