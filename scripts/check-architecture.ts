// The layering rules of src/, checked from the import statements (npm run check:architecture; CI
// runs it). Each folder of src/ is one concern; the rules say which concerns may use which:
//
//   pure     bytes in, values out; never native code, never the kernel: asm, elf, btf, dwarf, go,
//            codec, core, netlink (messages), errors, uapi, usdt, and loader/spec
//   syscall  the only folder that imports the FFI (koffi)
//   kernel   everything else: maps, programs, links, readers, features, the loader's load step,
//            the goroutine tracer, the CLI
//
// A pure folder imports only pure folders. No folder imports the FFI but syscall. Kernel folders
// are ranked (KERNEL_RANK below) and import only pure folders and lower ranks: maps and programs
// never know about links, the loader never about attaching. And the folders form no cycle: if A
// imports B, nothing B reaches imports A. A file is named by its folder under src/ (src/loader/spec
// and src/loader/load count as folders of their own).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');

/** Folders whose code must load no native code and make no system call. */
export const PURE = new Set([
  'asm',
  'elf',
  'btf',
  'dwarf',
  'go',
  'codec',
  'core',
  'netlink',
  'errors',
  'uapi',
  'usdt',
  'loader/spec',
  'host.ts',
]);
/**
 * Kernel folders by rank: the syscall layer, then the facts about the running kernel (CPUs,
 * version, BTF, feature probes), then the objects, then what attaches and reads them, then the
 * applications on top. A folder imports only from lower ranks. Unlisted folders rank at the top.
 */
export const KERNEL_RANK: Readonly<Record<string, number>> = {
  syscall: 1,
  symbols: 2,
  kernel: 3,
  features: 4,
  token: 4,
  maps: 5,
  programs: 6,
  'loader/load': 7,
  links: 7,
  readers: 7,
  usdt: 7,
  objects: 8,
  loader: 8,
  xsk: 8,
  goroutines: 9,
  // The public API as a whole, which the CLI is written on.
  'index.ts': 9.5,
  cli: 10,
};
const TOP = 100;
const FFI_PACKAGES = new Set(['koffi', 'ffi-rs']);
const SPLIT = new Set(['loader']);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The concern a file under src/ belongs to: its first folder (two for split folders), or the file name at the top. */
export function concernOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return parts[0];
  if (SPLIT.has(parts[0]) && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

export interface Violation {
  readonly file: string;
  readonly rule: string;
}

export function check(): { violations: Violation[]; edges: Map<string, Set<string>> } {
  const violations: Violation[] = [];
  const edges = new Map<string, Set<string>>();
  const edgeFile = new Map<string, string>();
  for (const file of files(SRC)) {
    const from = concernOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (FFI_PACKAGES.has(spec) && from !== 'syscall') {
        violations.push({ file: relative(SRC, file), rule: `imports the FFI (${spec}); only src/syscall may` });
      }
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC)) continue;
      const to = concernOf(target.replace(/\.js$/, '.ts'));
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      edgeFile.set(`${from}->${to}`, relative(SRC, file));
      if (PURE.has(from) && !PURE.has(to)) {
        violations.push({ file: relative(SRC, file), rule: `${from} is pure but imports ${to} (${spec})` });
      } else if (!PURE.has(from) && !PURE.has(to) && (KERNEL_RANK[to] ?? TOP) >= (KERNEL_RANK[from] ?? TOP)) {
        violations.push({
          file: relative(SRC, file),
          rule: `${from} (rank ${KERNEL_RANK[from] ?? TOP}) imports ${to} (rank ${KERNEL_RANK[to] ?? TOP}): only lower ranks may be imported (${spec})`,
        });
      }
    }
  }
  // Cycles between concerns: for each edge A->B, is A reachable from B?
  const reach = (start: string, goal: string): string[] | undefined => {
    const prev = new Map<string, string>();
    const queue = [start];
    const seen = new Set([start]);
    while (queue.length) {
      const cur = queue.shift()!;
      if (cur === goal) {
        const path = [cur];
        for (let p = prev.get(cur); p !== undefined; p = prev.get(p)) path.unshift(p);
        return path;
      }
      for (const n of edges.get(cur) ?? [])
        if (!seen.has(n)) {
          seen.add(n);
          prev.set(n, cur);
          queue.push(n);
        }
    }
    return undefined;
  };
  const reported = new Set<string>();
  for (const [a, tos] of edges) {
    for (const b of tos) {
      const back = reach(b, a);
      if (!back) continue;
      const key = [a, ...back].sort().join(',');
      if (reported.has(key)) continue;
      reported.add(key);
      violations.push({ file: edgeFile.get(`${a}->${b}`)!, rule: `cycle between folders: ${a} -> ${back.join(' -> ')}` });
    }
  }
  return { violations, edges };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { violations } = check();
  for (const v of violations) console.error(`src/${v.file}: ${v.rule}`);
  if (violations.length) {
    console.error(
      `${violations.length} architecture rule(s) broken; the rules are at the top of scripts/check-architecture.ts and in CONTRIBUTING.md`,
    );
    process.exit(1);
  }
  console.log('architecture: no forbidden imports, no cycles between folders');
}
