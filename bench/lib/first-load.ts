// One object load in a process that has loaded nothing before: the library imported, then
// loadCollection timed alone (the file read included, as in the load rows). What a program that
// loads its object once at start-up waits for; the load rows' best-of-N show a warmed-up process.
//   node --import tsx bench/lib/first-load.ts <object.o>     prints {"ms": …}
import { readFileSync } from 'node:fs';
import { loadCollection } from '../../src/loader/index.js';

const t0 = process.hrtime.bigint();
const c = loadCollection(readFileSync(process.argv[2]));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
c.close();
console.log(JSON.stringify({ ms }));
