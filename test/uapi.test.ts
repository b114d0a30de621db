// Checks every bpf_attr offset and enum value the syscall layer uses against the installed kernel
// UAPI headers, compiled by the C compiler: offsetof() is the oracle, not our tables.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_ATTR_LAYOUTS, ALL_INFO_LAYOUTS, type AttrLayout } from '../src/syscall/attr.js';
import { PerfEventAttrLayout, PERF_ATTR_SIZE } from '../src/syscall/perf.js';
import { AttachType, BpfCommand, MapType, ProgramType } from '../src/uapi/bpf.js';
import { hasCommand, need } from './support/env.js';

const HEADER = '/usr/include/linux/bpf.h';
const canRun = need(
  hasCommand('cc') &&
    hasCommand('grep') &&
    (() => {
      try {
        readFileSync(HEADER);
        return true;
      } catch {
        return false;
      }
    })(),
  'a C compiler and the kernel UAPI headers (Debian linux-libc-dev) are needed for the header checks',
);

interface Probe {
  label: string;
  expr: string;
  expected: number;
}

/** Compiles and runs a C program printing each expression; members this older header lacks are dropped and reported. */
function runProbes(includes: string[], probes: Probe[]): { values: Map<string, number>; missing: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-uapi-'));
  try {
    let live = probes;
    const missing: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const src = [
        ...includes.map((h) => `#include <${h}>`),
        '#include <stdio.h>',
        '#include <stddef.h>',
        'int main(void) {',
        ...live.map((p, i) => `  printf("%d %ld\\n", ${i}, (long)(${p.expr}));`),
        '  return 0;',
        '}',
      ].join('\n');
      writeFileSync(join(dir, 'p.c'), src);
      try {
        execFileSync('cc', ['-o', join(dir, 'p'), join(dir, 'p.c')], { stdio: 'pipe' });
      } catch (e) {
        const err = String((e as { stderr?: Buffer }).stderr ?? e);
        const badLines = new Set([...err.matchAll(/p\.c:(\d+):\d+: error/g)].map((m) => Number(m[1])));
        if (badLines.size === 0) throw new Error(err);
        // Line n of the file is probe n - (includes + 4).
        const first = includes.length + 4;
        const drop = new Set([...badLines].map((l) => l - first));
        missing.push(...live.filter((_, i) => drop.has(i)).map((p) => p.label));
        live = live.filter((_, i) => !drop.has(i));
        continue;
      }
      const out = execFileSync(join(dir, 'p'), { encoding: 'utf8' });
      const values = new Map<string, number>();
      for (const line of out.trim().split('\n')) {
        const [i, v] = line.split(' ').map(Number);
        values.set(live[i].label, v);
      }
      return { values, missing };
    }
    throw new Error('too many compile rounds');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function layoutProbes(l: AttrLayout): Probe[] {
  const [container, prefix] = l.prefix.startsWith('struct ') ? [l.prefix.slice(0, -1), ''] : ['union bpf_attr', l.prefix];
  return Object.entries(l.fields).map(([field, offset]) => ({
    label: `${container} ${prefix}${field}`,
    expr: `offsetof(${container}, ${prefix}${field})`,
    expected: offset,
  }));
}

describe.runIf(canRun)('UAPI layouts against the kernel headers', () => {
  it('every bpf_attr and info member offset matches offsetof()', () => {
    const probes = [...ALL_ATTR_LAYOUTS, ...ALL_INFO_LAYOUTS].flatMap(layoutProbes);
    const { values, missing } = runProbes(['linux/bpf.h'], probes);
    for (const p of probes) if (values.has(p.label)) expect(`${p.label} @ ${values.get(p.label)}`).toBe(`${p.label} @ ${p.expected}`);
    // Members newer than the installed header are fine; most must be checkable.
    expect(values.size).toBeGreaterThan(probes.length * 0.8);
    if (missing.length) console.info(`newer than ${HEADER}, not checked: ${missing.join(', ')}`);
  });

  it('struct sizes we pass are at least the header sizes of the structs we fill', () => {
    const sizes = runProbes(
      ['linux/bpf.h'],
      [
        { label: 'map_info', expr: 'sizeof(struct bpf_map_info)', expected: 88 },
        { label: 'prog_info', expr: 'sizeof(struct bpf_prog_info)', expected: 232 },
      ],
    ).values;
    expect(sizes.get('map_info')).toBeLessThanOrEqual(88);
    expect(sizes.get('prog_info')).toBeLessThanOrEqual(232);
  });

  it('perf_event_attr offsets match', () => {
    const probes: Probe[] = Object.entries(PerfEventAttrLayout)
      .filter(([f]) => f !== 'flags')
      .map(([f, off]) => ({ label: f, expr: `offsetof(struct perf_event_attr, ${f})`, expected: off }));
    const { values } = runProbes(['linux/perf_event.h'], probes);
    for (const p of probes) if (values.has(p.label)) expect(`${p.label} @ ${values.get(p.label)}`).toBe(`${p.label} @ ${p.expected}`);
    // Our struct may be newer (config3) than the header, never older.
    const size = runProbes(['linux/perf_event.h'], [{ label: 's', expr: 'sizeof(struct perf_event_attr)', expected: 0 }]).values.get('s');
    expect(size).toBeLessThanOrEqual(PERF_ATTR_SIZE);
    expect(values.get('config2')).toBe(64);
  });

  it('enum values match', () => {
    const header = readFileSync(HEADER, 'utf8');
    const probes: Probe[] = [];
    const add = (prefix: string, table: Record<string, number>): void => {
      for (const [k, v] of Object.entries(table)) {
        const name = `${prefix}${k}`;
        if (new RegExp(`\\b${name}\\b`).test(header)) probes.push({ label: name, expr: name, expected: v });
      }
    };
    add('BPF_', BpfCommand);
    add('BPF_MAP_TYPE_', MapType);
    add('BPF_PROG_TYPE_', ProgramType);
    add('BPF_', AttachType);
    const { values, missing } = runProbes(['linux/bpf.h'], probes);
    expect(missing).toEqual([]);
    for (const p of probes) expect(`${p.label}=${values.get(p.label)}`).toBe(`${p.label}=${p.expected}`);
    expect(probes.length).toBeGreaterThan(120);
  });
});
