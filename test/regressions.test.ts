// Inputs the fuzzer once found crashing a parser (test/regressions/<target>/*.bin): each must now
// end in the parser's typed error or parse, never anything else.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targets } from './fuzz/targets.js';

const ROOT = 'test/regressions';
const all = targets();

describe('fuzz regressions', () => {
  it('every target has seeds that parse', () => {
    for (const t of all) {
      expect(t.seeds.length, t.name).toBeGreaterThan(0);
      for (const s of t.seeds) expect(() => t.run(s), t.name).not.toThrow();
    }
  });

  const saved = existsSync(ROOT)
    ? readdirSync(ROOT).flatMap((dir) =>
        readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith('.bin'))
          .map((f) => [dir, f] as const),
      )
    : [];
  it.runIf(saved.length > 0).each(saved)('%s/%s ends in a typed error or parses', (dir, file) => {
    const target = all.find((t) => t.name === dir);
    expect(target, `no fuzz target ${dir}`).toBeDefined();
    const input = new Uint8Array(readFileSync(join(ROOT, dir, file)));
    try {
      target!.run(input);
    } catch (e) {
      expect(target!.allowed(e), String(e)).toBe(true);
    }
  });
});
