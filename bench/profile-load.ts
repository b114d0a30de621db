// Where loadCollection spends its time: runs it in a loop on bench/anchors/bpf/many.bpf.c under the
// inspector's CPU profiler (only around the loads) and prints the functions with the most self time.
//   npx tsx bench/profile-load.ts [rounds] [--out file.cpuprofile]
// (node --cpu-prof would profile the whole process and the build of the object too. The profiler
// samples with a signal: a short interval interrupts the verifier too often, hence 1 ms.)
import { Session } from 'node:inspector/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadCollection } from '../src/index.js';
import { buildAnchors } from './anchors/build.js';

const rounds = Number(process.argv[2] ?? 50);
const outAt = process.argv.indexOf('--out');
const build = buildAnchors(() => undefined);
const obj = build.objects.many;
if (!obj) throw new Error(`many.bpf.o did not build: ${build.errors.bpf}`);
const bytes = readFileSync(obj);
for (let i = 0; i < 5; i++) loadCollection(bytes).close(); // warm up the JIT

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 1000 });
await session.post('Profiler.start');
const t0 = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) loadCollection(bytes).close();
const ms = Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: Node[]; samples: number[] } };
session.disconnect();
if (outAt > 0) writeFileSync(process.argv[outAt + 1], JSON.stringify(profile));

const self = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`;
  self.set(key, (self.get(key) ?? 0) + n.hitCount);
  total += n.hitCount;
}
console.log(`loadCollection(many.bpf.o): ${ms.toFixed(2)} ms per load (${rounds} rounds, profiled)`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
