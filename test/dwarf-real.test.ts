// The DWARF reader on real compiler output, with independent oracles: readelf's dump of every DIE
// (offset, depth, tag, name) for a Go 1.19 binary and for C programs from gcc and clang (DWARF 4,
// DWARF 5 with string/address indexes, 64-bit DWARF), and offsetof() printed by the C program
// itself for struct layouts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DW_TAG, DwarfError, DwarfReader, structMemberOffset, structMembers, typeSize, type DwarfSections } from '../src/dwarf/index.js';
import { dwarfFromImage } from '../src/go/index.js';
import { hasCommand, need } from './support/env.js';
import { buildGoVariants, elfImage, seededRandom } from './go-support.js';

const TAG_NAMES = new Map<number, string>(Object.entries(DW_TAG).map(([k, v]) => [v, `DW_TAG_${k}`]));

interface ReadelfDie {
  offset: number;
  depth: number;
  tag: string;
  name?: string;
}

/** Non-null DIEs as `readelf --debug-dump=info` prints them. */
function readelfDies(path: string): ReadelfDie[] {
  const out = execFileSync('readelf', ['--wide', '--debug-dump=info', path], { encoding: 'utf8', maxBuffer: 512 << 20 });
  const dies: ReadelfDie[] = [];
  for (const line of out.split('\n')) {
    const d = /^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: (\d+)(?: \((DW_TAG_\w+|[^)]*)\))?/.exec(line);
    if (d) {
      if (d[3] !== '0') dies.push({ offset: parseInt(d[2], 16), depth: Number(d[1]), tag: d[4] ?? '' });
      continue;
    }
    const a = /^\s*<[0-9a-f]+>\s+DW_AT_name\s*:\s?(.*)$/.exec(line);
    if (a && dies.length) {
      // --wide prefixes the form: "(string) x", "(strp) (offset: 0x1): x", "(strx1) (offset: 0x3): x".
      const m = /^\((?:string|[\w]*strp|strx\d?|GNU_str_index|indirect[^)]*|indexed[^)]*)\)(?: \(offset: (?:0x)?[0-9a-f]+\))?:? (.*)$/.exec(
        a[1],
      );
      dies[dies.length - 1].name = (m ? m[1] : a[1]).trimEnd();
    }
  }
  return dies;
}

function ourDies(dwarf: DwarfReader): ReadelfDie[] {
  const out: ReadelfDie[] = [];
  for (const unit of dwarf.units()) {
    for (const { die, depth } of dwarf.walk(unit)) {
      const name = dwarf.name(die);
      out.push({ offset: die.offset, depth, tag: TAG_NAMES.get(die.tag) ?? '', ...(name === undefined ? {} : { name }) });
    }
  }
  return out;
}

/** Same DIEs in the same places; tags compared where both sides have a name for them. */
function expectSameDies(ours: ReadelfDie[], theirs: ReadelfDie[]): void {
  expect(ours.length).toBe(theirs.length);
  const mismatches: string[] = [];
  for (let i = 0; i < ours.length && mismatches.length < 10; i++) {
    const a = ours[i];
    const b = theirs[i];
    const tagOk = a.tag === '' || !b.tag.startsWith('DW_TAG_') || a.tag === b.tag;
    const nameOk = a.name === b.name || (b.name !== undefined && a.name?.trimEnd() === b.name);
    if (a.offset !== b.offset || a.depth !== b.depth || !tagOk || !nameOk)
      mismatches.push(`${JSON.stringify(a)} vs readelf ${JSON.stringify(b)}`);
  }
  expect(mismatches.join('\n')).toBe('');
}

/**
 * The name index against readelf: for every name readelf shows on a top-level DIE (depth 1), the
 * DIE findNamed returns is the first one of that name in readelf's order; names no top-level DIE
 * has are not found.
 */
function expectIndexLikeReadelf(dwarf: DwarfReader, theirs: ReadelfDie[]): void {
  const first = new Map<string, number>();
  for (const d of theirs) if (d.depth === 1 && d.name !== undefined && !first.has(d.name)) first.set(d.name, d.offset);
  expect(first.size).toBeGreaterThan(10);
  const wrong: string[] = [];
  for (const [name, offset] of first) {
    const found = dwarf.findNamed(name)?.offset;
    if (found !== offset) wrong.push(`${name}: ${found} vs readelf ${offset}`);
  }
  expect(wrong.slice(0, 10).join('\n')).toBe('');
  const nested = theirs.find((d) => d.depth > 1 && d.name !== undefined && !first.has(d.name));
  if (nested) expect(dwarf.findNamed(nested.name!)).toBeUndefined();
}

function sectionsOf(path: string): DwarfSections {
  const img = elfImage(readFileSync(path));
  const get = (n: string) => img.section(n)?.data;
  return {
    info: get('.debug_info')!,
    abbrev: get('.debug_abbrev')!,
    str: get('.debug_str'),
    lineStr: get('.debug_line_str'),
    strOffsets: get('.debug_str_offsets'),
    addr: get('.debug_addr'),
    littleEndian: img.byteOrder === 'little',
  };
}

const canReadelf = hasCommand('readelf');

describe.runIf(need(hasCommand('go') && canReadelf, 'go and readelf are the oracles for Go DWARF'))('Go 1.19 DWARF', () => {
  let dir = '';
  let path = '';
  beforeAll(async () => {
    const r = await buildGoVariants([{ name: 'default', args: [] }]);
    dir = r.dir;
    path = r.builds.get('default')!;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every DIE at the offset, depth, tag and name readelf reports', () => {
    const dwarf = dwarfFromImage(elfImage(readFileSync(path)))!;
    expect(dwarf.units().every((u) => u.version === 4 && u.offsetSize === 4)).toBe(true);
    expectSameDies(ourDies(dwarf), readelfDies(path));
  });

  it('finds every top-level name where readelf shows it first', () => {
    expectIndexLikeReadelf(new DwarfReader(sectionsOf(path)), readelfDies(path));
  });

  it('runtime.g members match readelf; goid is at 152 and g is 392 bytes (Go 1.19 amd64)', () => {
    const dwarf = dwarfFromImage(elfImage(readFileSync(path)))!;
    const theirs = execFileSync('readelf', ['--wide', '--debug-dump=info', path], { encoding: 'utf8', maxBuffer: 512 << 20 }).split('\n');
    const start = theirs.findIndex(
      (l) => /DW_AT_name\s*: (?:\(string\) )?runtime\.g$/.test(l) && /DW_TAG_structure_type/.test(theirs[theirs.indexOf(l) - 1]),
    );
    const expected: { name: string; offset: number }[] = [];
    for (let i = start + 1; i < theirs.length && !/^\s*<1>/.test(theirs[i]); i++) {
      const n = /DW_AT_name\s*: (?:\(string\) )?(\S+)$/.exec(theirs[i]);
      if (n) expected.push({ name: n[1], offset: -1 });
      const o = /DW_AT_data_member_location: (?:\(\w+\) )?(\d+)$/.exec(theirs[i]);
      if (o) expected[expected.length - 1].offset = Number(o[1]);
    }
    const ours = structMembers(dwarf, 'runtime.g')!;
    expect(ours.map((m) => ({ name: m.name, offset: m.offset }))).toEqual(expected);
    expect(structMemberOffset(dwarf, 'runtime.g', 'goid')).toBe(152);
    // structMemberOffset reads one member's location only: the same offsets as readelf's, for all.
    for (const m of expected) expect(structMemberOffset(dwarf, 'runtime.g', m.name), m.name).toBe(m.offset);
    expect(structMemberOffset(dwarf, 'runtime.g', 'no_such_member')).toBeUndefined();
    expect(structMemberOffset(dwarf, 'runtime.no_such_struct', 'goid')).toBeUndefined();
    expect(ours.find((m) => m.name === 'goid')).toEqual({ name: 'goid', offset: 152, typeName: 'int64', size: 8 });
    expect(ours.find((m) => m.name === 'm')).toMatchObject({ typeName: '*runtime.m', size: 8 });
    expect(typeSize(dwarf, 'runtime.g')).toBe(392);
  });

  it('mutated Go DWARF sections: only DwarfError escapes', () => {
    const img = elfImage(readFileSync(path));
    const base: DwarfSections = { info: img.section('.debug_info')!.data, abbrev: img.section('.debug_abbrev')!.data, littleEndian: true };
    const rnd = seededRandom(0x9e37);
    let typed = 0;
    for (let iter = 0; iter < 120; iter++) {
      const key = iter % 3 === 0 ? 'abbrev' : 'info';
      const bytes = Uint8Array.from(base[key]);
      // The runtime unit comes early; mutate where the query will read.
      const span = Math.min(bytes.length, key === 'info' ? 0x20000 : bytes.length);
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) bytes[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
      try {
        const d = new DwarfReader({ ...base, [key]: rnd() < 0.2 ? bytes.subarray(0, Math.floor(rnd() * span)) : bytes });
        structMembers(d, 'runtime.g');
        typeSize(d, 'runtime.m');
      } catch (e) {
        if (!(e instanceof DwarfError)) throw e;
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(10);
  });
});

const C_PROGRAM = `#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct inner { short s; char c; };
struct sample {
  char a;
  int64_t b;
  struct inner in;
  unsigned bits : 3;
  unsigned more : 7;
  double d[3];
  void *p;
  const char *name;
  union { int i; float f; } u;
  struct sample *next;
  _Alignas(32) char tail;
};
typedef struct sample sample_t;
static volatile sample_t keep;

#define OFF(f) printf("%s %zu\\n", #f, offsetof(struct sample, f))
int main(void) {
  OFF(a); OFF(b); OFF(in); OFF(d); OFF(p); OFF(name); OFF(u); OFF(next); OFF(tail);
  printf("sizeof %zu\\n", sizeof(struct sample));
  printf("inner %zu\\n", sizeof(struct inner));
  return keep.a;
}
`;

interface CBuild {
  compiler: string;
  flags: string[];
  version: number;
  offsetSize: 4 | 8;
}

const C_BUILDS: CBuild[] = [
  { compiler: 'gcc', flags: ['-g'], version: 5, offsetSize: 4 },
  { compiler: 'gcc', flags: ['-gdwarf-4'], version: 4, offsetSize: 4 },
  { compiler: 'gcc', flags: ['-gdwarf-2', '-gstrict-dwarf'], version: 2, offsetSize: 4 },
  { compiler: 'gcc', flags: ['-g', '-gz=zlib'], version: 5, offsetSize: 4 },
  { compiler: 'clang', flags: ['-gdwarf-5'], version: 5, offsetSize: 4 },
  { compiler: 'clang', flags: ['-gdwarf-4'], version: 4, offsetSize: 4 },
  { compiler: 'clang', flags: ['-gdwarf-5', '-gdwarf64'], version: 5, offsetSize: 8 },
];

describe.runIf(need(canReadelf, 'readelf is the oracle for C DWARF'))('C DWARF from gcc and clang', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebpf-dwarf-c-'));
    writeFileSync(join(dir, 'sample.c'), C_PROGRAM);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const b of C_BUILDS) {
    it.runIf(need(hasCommand(b.compiler), `${b.compiler} compiles the C oracle program`))(`${b.compiler} ${b.flags.join(' ')}`, () => {
      const exe = join(dir, `${b.compiler}${b.flags.join('')}`);
      execFileSync(b.compiler, [...b.flags, '-O0', '-o', exe, join(dir, 'sample.c')]);
      const printed = Object.fromEntries(
        execFileSync(exe, { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]),
      );
      const dwarf = new DwarfReader(sectionsOf(exe));
      const versions = new Set(dwarf.units().map((u) => u.version));
      expect(versions.has(b.version)).toBe(true);
      expect(dwarf.units().some((u) => u.offsetSize === b.offsetSize)).toBe(true);

      const members = structMembers(dwarf, 'sample')!;
      const byName = Object.fromEntries(members.filter((m) => m.name).map((m) => [m.name!, m]));
      for (const f of ['a', 'b', 'in', 'd', 'p', 'name', 'u', 'next', 'tail']) expect(byName[f].offset, f).toBe(printed[f]);
      expect(byName.u).toMatchObject({ typeName: 'union {...}', size: 4 });
      expect(byName.bits).toMatchObject({ bitSize: 3 });
      expect(byName.more).toMatchObject({ bitSize: 7 });
      expect(byName.d).toMatchObject({ typeName: '[3]double', size: 24 });
      expect(byName.in).toMatchObject({ typeName: 'inner', size: printed.inner });
      expect(byName.next.size).toBe(8);
      expect(typeSize(dwarf, 'sample')).toBe(printed.sizeof);
      expect(typeSize(dwarf, 'sample_t')).toBe(printed.sizeof);

      const theirs = readelfDies(exe);
      expectSameDies(ourDies(dwarf), theirs);
      expectIndexLikeReadelf(new DwarfReader(sectionsOf(exe)), theirs);
    });
  }
});
