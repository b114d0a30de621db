// CPU per object load of bench/anchors/bpf/many.bpf.c, split in phases: loadCollectionSpec (parse)
// and loadCollection(spec) (maps, BTF, relocation, programs, verification included). CPU is the
// main thread's own (clock_gettime(CLOCK_THREAD_CPUTIME_ID): user + system, without GC helper
// threads or time spent waiting for a CPU), so it is steadier than wall time on a busy machine.
//   npx tsx bench/load-cpu.ts [rounds] [object]
import { readFileSync } from 'node:fs';
import { loadCollection, loadCollectionSpec } from '../src/index.js';
import { NativeMemory, syscall3Raw } from '../src/syscall/index.js';
import { buildAnchors } from './anchors/build.js';

const rounds = Number(process.argv[2] ?? 200);
let obj = process.argv[3];
if (obj === undefined) {
  const build = buildAnchors(() => undefined);
  obj = build.objects.many;
  if (!obj) throw new Error(`many.bpf.o did not build: ${build.errors.bpf}`);
}
const path = obj;
const SYS_CLOCK_GETTIME = process.arch === 'x64' ? 228 : process.arch === 'arm64' ? 113 : -1;
const timespec = new NativeMemory(16);
function threadNs(): number {
  if (SYS_CLOCK_GETTIME < 0 || syscall3Raw(SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, timespec.address, 0) !== 0)
    throw new Error('clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed');
  return Number(timespec.buffer.readBigInt64LE(0)) * 1e9 + Number(timespec.buffer.readBigInt64LE(8));
}
for (let i = 0; i < 20; i++) loadCollection(readFileSync(path)).close();
let parse = 0;
let load = 0;
const parses: number[] = [];
const loads: number[] = [];
const walls: number[] = [];
for (let i = 0; i < rounds; i++) {
  const t0 = process.hrtime.bigint();
  const c0 = threadNs();
  const spec = loadCollectionSpec(readFileSync(path));
  const c1 = threadNs();
  const c = loadCollection(spec);
  const c2 = threadNs();
  walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
  c.close();
  parse += c1 - c0;
  load += c2 - c1;
  parses.push(c1 - c0);
  loads.push(c2 - c1);
}
for (const a of [walls, parses, loads]) a.sort((x, y) => x - y);
const per = (ns: number): string => (ns / rounds / 1e6).toFixed(3);
const ms = (ns: number): string => (ns / 1e6).toFixed(3);
// The fastest tenth: rounds that other processes disturbed least.
const low = (a: number[]): string => ms(a.slice(0, Math.max(1, a.length >> 3)).reduce((x, y) => x + y, 0) / Math.max(1, a.length >> 3));
console.log(
  `main thread CPU per load: mean parse ${per(parse)} + load ${per(load)} = ${per(parse + load)} ms; fastest eighth parse ${low(parses)} + load ${low(loads)} ms | wall best ${walls[0].toFixed(2)} median ${walls[walls.length >> 1].toFixed(2)} ms (${rounds} rounds)`,
);
