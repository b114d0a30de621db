// npm run fuzz -- [--seconds N] [--seed S] [--target name]
// Runs every parser on mutated real inputs and random bytes. The only allowed failure is the
// parser's typed error; anything else, or one input taking over a second, is a bug: the input is
// saved under test/regressions/<target>/ (test/regressions.test.ts replays those) and the run fails.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../support/random.js';
import { mutate } from './mutate.js';
import { targets, type FuzzTarget } from './targets.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(opt('seconds') ?? 30);
const seed = Number(opt('seed') ?? Date.now() % 1_000_000);
const only = opt('target');
const SLOW_MS = 1000;

function save(target: FuzzTarget, input: Uint8Array, why: string): string {
  const dir = join('test', 'regressions', target.name);
  mkdirSync(dir, { recursive: true });
  const name = createHash('sha256').update(input).digest('hex').slice(0, 16);
  const file = join(dir, `${name}.bin`);
  writeFileSync(file, input);
  writeFileSync(join(dir, `${name}.txt`), `${why}\n`);
  return file;
}

const list = targets().filter((t) => !only || t.name === only);
if (list.length === 0) throw new Error(`no fuzz target ${only}`);
const rand = seededRandom(seed);
const counts = new Map<string, { inputs: number; typed: number; ok: number }>(list.map((t) => [t.name, { inputs: 0, typed: 0, ok: 0 }]));
const failures: string[] = [];
const end = Date.now() + seconds * 1000;
console.log(`fuzzing ${list.map((t) => t.name).join(', ')} for ${seconds} s, seed ${seed}`);

while (Date.now() < end && failures.length === 0) {
  for (const t of list) {
    const c = counts.get(t.name)!;
    for (let i = 0; i < 50; i++) {
      const base = t.seeds[Math.floor(rand() * t.seeds.length)];
      const input = base ? mutate(base, rand) : new Uint8Array(0);
      c.inputs++;
      const t0 = Date.now();
      try {
        t.run(input);
        c.ok++;
      } catch (e) {
        if (t.allowed(e)) c.typed++;
        else {
          const why = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
          failures.push(`${t.name}: ${why.split('\n')[0]} (saved as ${save(t, input, why)})`);
          break;
        }
      }
      const ms = Date.now() - t0;
      if (ms > SLOW_MS) {
        failures.push(`${t.name}: one input took ${ms} ms (saved as ${save(t, input, `took ${ms} ms`)})`);
        break;
      }
    }
  }
}

let total = 0;
for (const [name, c] of counts) {
  total += c.inputs;
  console.log(
    `  ${name.padEnd(10)} ${String(c.inputs).padStart(9)} inputs  ${String(c.typed).padStart(9)} typed errors  ${String(c.ok).padStart(9)} parsed`,
  );
}
console.log(`  ${'total'.padEnd(10)} ${String(total).padStart(9)} inputs`);
if (failures.length) {
  console.error(`\nFAILED:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
