// The comparison table: rows collected by the benchmarks, ratios against the best anchor, and the
// console and markdown (bench/results.md) renderings.
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import type { AnchorBuild } from '../anchors/build.js';

export type Cell = number | { error: string } | undefined;

export interface Row {
  metric: string;
  unit: string;
  /** 'higher' when more is better (records/s), 'lower' for times. */
  better: 'higher' | 'lower';
  ours: Cell;
  libbpf: Cell;
  cilium: Cell;
  /** Ratio ours / best anchor must be >= (higher) or <= (lower) this; undefined: no target. */
  target?: number;
  /** An extra condition for "met" (for example: no records lost that the anchor kept). */
  extra?: { ok: boolean; text: string };
  note: string;
  /** Name of the anchor when it is neither libbpf nor cilium (bpftrace, a floor), shown in the notes. */
  otherAnchor?: { name: string; value: Cell };
}

export const rows: Row[] = [];

export const num = (c: Cell): number | undefined => (typeof c === 'number' && Number.isFinite(c) ? c : undefined);
const errorOf = (c: Cell): string | undefined => (c !== undefined && typeof c === 'object' ? c.error : undefined);

function bestAnchor(r: Row): { name: string; value: number } | undefined {
  const cands: { name: string; value: number }[] = [];
  if (num(r.libbpf) !== undefined) cands.push({ name: 'libbpf', value: num(r.libbpf)! });
  if (num(r.cilium) !== undefined) cands.push({ name: 'cilium', value: num(r.cilium)! });
  if (r.otherAnchor && num(r.otherAnchor.value) !== undefined) cands.push({ name: r.otherAnchor.name, value: num(r.otherAnchor.value)! });
  if (!cands.length) return undefined;
  return cands.reduce((a, b) => ((r.better === 'higher' ? b.value > a.value : b.value < a.value) ? b : a));
}

export function fmt(c: Cell): string {
  if (c === undefined) return '—';
  if (typeof c === 'object') return 'n/a';
  if (c >= 1e6) return `${(c / 1e6).toFixed(2)} M`;
  if (c >= 1000) return c.toFixed(0);
  if (c >= 10) return c.toFixed(1);
  return c.toFixed(2);
}

export function tableRows(): string[][] {
  return rows.map((r) => {
    const best = bestAnchor(r);
    const o = num(r.ours);
    const ratio = best && o !== undefined ? o / best.value : undefined;
    const target = r.target === undefined ? '—' : `${r.better === 'higher' ? '≥' : '≤'} ${r.target.toFixed(1)}×`;
    let status = '—';
    if (r.target !== undefined) {
      if (ratio === undefined) status = 'not measured';
      else {
        const met = r.better === 'higher' ? ratio >= r.target : ratio <= r.target;
        status = met && (r.extra?.ok ?? true) ? 'met' : 'missed';
      }
    }
    const errs = [
      errorOf(r.ours),
      errorOf(r.libbpf) && `libbpf: ${errorOf(r.libbpf)}`,
      errorOf(r.cilium) && `cilium: ${errorOf(r.cilium)}`,
      r.otherAnchor && errorOf(r.otherAnchor.value) && `${r.otherAnchor.name}: ${errorOf(r.otherAnchor.value)}`,
    ].filter(Boolean);
    const other =
      r.otherAnchor && num(r.otherAnchor.value) !== undefined ? `${r.otherAnchor.name} ${fmt(r.otherAnchor.value)} ${r.unit}; ` : '';
    const notes = `${other}${r.extra ? `${r.extra.text}; ` : ''}${r.note}${errs.length ? `; ${errs.join('; ')}` : ''}`;
    return [
      `${r.metric} (${r.unit})`,
      fmt(r.ours),
      fmt(r.libbpf),
      fmt(r.cilium),
      ratio === undefined ? '—' : `${ratio.toFixed(2)}× ${best!.name}`,
      target,
      status,
      notes,
    ];
  });
}

export function machine(b: AnchorBuild): string[] {
  const os = readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? 'Linux';
  return [
    `CPU: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores`,
    `OS: ${os}, kernel ${release()}`,
    `Node ${process.version}; ${b.versions.go}; libbpf-dev ${b.versions.libbpf}; golang-github-cilium-ebpf-dev ${b.versions.cilium}; ${b.versions.clang}; ${b.versions.cc}`,
  ];
}

export const HEADER = ['metric', 'ebpf (ours)', 'libbpf', 'cilium/ebpf', 'ours / best anchor', 'target', 'status', 'notes'];

/** The table for the console: the numeric columns aligned, notes below. */
export function consoleTable(title: string, mach: string[], body: string[][]): string {
  const widths = HEADER.slice(0, 7).map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  return [
    `\n${title}`,
    ...mach.map((l) => `  ${l}`),
    '',
    HEADER.slice(0, 7)
      .map((h, i) => h.padEnd(widths[i]))
      .join('  '),
    ...body.map((r) =>
      r
        .slice(0, 7)
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join('  '),
    ),
    '\nnotes:',
    ...body.map((r) => `  ${r[0]}: ${r[7]}`),
  ].join('\n');
}

/** The table as bench/results.md. */
export function markdownTable(generatedBy: string, mach: string[], body: string[][]): string {
  return [
    '# Benchmarks: ebpf vs libbpf vs cilium/ebpf',
    '',
    `${generatedBy} All columns come from the same run on the same machine; anchors are built from bench/anchors at bench time.`,
    '',
    ...mach.map((l) => `- ${l}`),
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
    'Ratios are ours / the best anchor in the row (for rec/s higher is better, for times lower is better); ' +
      'a target is met when the ratio is on the right side of it (live rows also need no more records lost than libbpf lost). ' +
      'Floors (a raw bpf(2) loop in C, an empty uprobe) are anchors too: their rows show how far ours is from what the kernel alone costs. ' +
      "Producers: bench/anchors/bpf/records.bpf.c, the same clang object for all three, loaded by each one's ELF loader; " +
      'the producer process is `dd if=/dev/zero of=/dev/null bs=1` for all.',
    '',
  ].join('\n');
}
