// What creating a map costs, by type and size, against what handing a creation to libuv's pool
// costs: the figures behind costlyToCreate (src/loader/load/creation-cost.ts), which decides which
// maps loadCollectionAsync creates on the pool. Run as root:
//   npx tsx bench/map-creation-cost.ts
// Each figure is the best of 40 creations (and closes), in µs, with the verdict costlyToCreate gives.
import { BpfMap, type MapSpec } from '../src/maps/index.js';
import { costlyToCreate } from '../src/loader/load/creation-cost.js';
import { MapType } from '../src/uapi/bpf.js';

const ROUNDS = 40;
const bestUs = (create: () => void): number => {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    create();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000);
  }
  return best;
};

const cases: MapSpec[] = [];
for (const maxEntries of [64, 256, 1024, 4096, 16384]) {
  cases.push({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries });
  cases.push({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries, flags: 1 }); // BPF_F_NO_PREALLOC
  cases.push({ type: 'LRU_HASH', keySize: 4, valueSize: 24, maxEntries });
  cases.push({ type: 'PERCPU_HASH', keySize: 4, valueSize: 8, maxEntries });
  cases.push({ type: 'PERCPU_ARRAY', keySize: 4, valueSize: 24, maxEntries });
  cases.push({ type: 'ARRAY', keySize: 4, valueSize: 64, maxEntries });
}
for (const size of [1 << 12, 1 << 16, 1 << 20, 1 << 22]) cases.push({ type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: size });

console.log('map'.padEnd(36), 'create+close (µs)', ' costlyToCreate');
for (const spec of cases) {
  const us = bestUs(() => BpfMap.create(spec).close());
  const type = MapType[spec.type as keyof typeof MapType];
  const costly = costlyToCreate({ type, flags: spec.flags ?? 0, maxEntries: spec.maxEntries, valueSize: spec.valueSize ?? 0 });
  const label = `${spec.type}${spec.flags ? ' NO_PREALLOC' : ''} ${spec.maxEntries} x ${spec.valueSize} B`;
  console.log(label.padEnd(36), us.toFixed(0).padStart(17), ` ${costly}`);
}
// The other side: a creation handed to the pool and awaited, one at a time, against the same made here.
const tiny: MapSpec = { type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 4 };
let asyncBest = Infinity;
for (let i = 0; i < ROUNDS; i++) {
  const t0 = process.hrtime.bigint();
  (await BpfMap.createAsync(tiny)).close();
  asyncBest = Math.min(asyncBest, Number(process.hrtime.bigint() - t0) / 1000);
}
console.log(
  `hand-over: ARRAY 4 x 4 B through createAsync ${asyncBest.toFixed(0)} µs, through create ${bestUs(() => BpfMap.create(tiny).close()).toFixed(0)} µs`,
);
