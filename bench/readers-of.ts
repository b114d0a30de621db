// Copies the readers (src/readers/*.ts) of another commit into bench/old-readers/ (ignored by git),
// imports pointed back at src/, with the internals the A/B scripts time exported, so that
// bench/drain.ts --old=./old-readers, bench/ring-scan-ab.ts and bench/perf-scan-ab.ts compare
// that commit's loops with the current ones in the same process:
//   npx tsx bench/readers-of.ts c8df7bb
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const commit = process.argv[2];
if (!commit) throw new Error('usage: npx tsx bench/readers-of.ts <commit>');
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'old-readers');
mkdirSync(out, { recursive: true });
const files = execFileSync('git', ['ls-tree', '--name-only', `${commit}:src/readers`], { encoding: 'utf8' })
  .trim()
  .split('\n');
// The internals of the pre-split tree (c8df7bb): its scan loops, their results, the perf ring.
const exports: Record<string, string> = {
  'ringbuf.ts': 'export { scanLoop };\nexport const getLoopEnd = (): number => loopEnd;\n',
  'perf.ts': 'export { CpuRing, PerfState, perfScanLoop };\nexport const getLoopDone = (): number => loopDone;\n',
};
for (const f of files) {
  let text = execFileSync('git', ['show', `${commit}:src/readers/${f}`], { encoding: 'utf8' });
  text = text.replace(/'\.\.\/([a-z]+)\//g, "'../../src/$1/").replace(/'\.\.\/host\.js'/g, "'../../src/host.js'");
  writeFileSync(join(out, f), `// @ts-nocheck: ${commit}'s src/readers/${f}, copied by bench/readers-of.ts\n${text}${exports[f] ?? ''}`);
}
console.log(`${commit}'s readers in ${out}: ${files.join(', ')}`);
