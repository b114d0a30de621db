// prelinkInstructions + bindPrelinked (instructions encoded before their maps exist, the fds
// written in later) against the direct path, bindMapReferences + encodeInstructions, and the
// decoder: the same bytes for any fds, map value offsets kept, other instructions untouched.
import { describe, expect, it } from 'vitest';
import {
  bindMapReferences,
  bindPrelinked,
  decodeInstructions,
  encodeInstructions,
  prelinkInstructions,
  ProgramBuilder,
  R0,
  R1,
  R2,
  R3,
} from '../src/asm/index.js';
import { seededRandom } from './support/random.js';

const program = (): ReturnType<ProgramBuilder['build']> =>
  new ProgramBuilder()
    .lddw(R3, 0x1122334455667788n) // a 16-byte constant before the references shifts their slots
    .ldMapFd(R1, 'events')
    .mov64Imm(R2, 4)
    .ldMapValue(R2, 'data', 24)
    .lddw(R0, -1)
    .ldMapFd(R1, 'events')
    .ldMapValue(R3, 'rodata', 0x7fff_fff0)
    .mov64Imm(R0, 0)
    .exit()
    .build();

describe('prelinked instructions', () => {
  it('bound with any fds, equal the instructions bound then encoded', () => {
    const insns = program();
    const pre = prelinkInstructions(insns);
    expect(pre.sites.map((s) => s.name)).toEqual(['events', 'data', 'events', 'rodata']);
    const rand = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const fds: Record<string, number> = {
        events: Math.floor(rand() * 0x7fffffff),
        data: Math.floor(rand() * 1000),
        rodata: round === 0 ? 0x7fffffff : Math.floor(rand() * 0x7fffffff),
      };
      const direct = encodeInstructions(bindMapReferences(insns, (n) => fds[n]));
      expect(Buffer.from(bindPrelinked(pre, (n) => fds[n]))).toEqual(Buffer.from(direct));
    }
  });

  it('leaves the prelinked bytes as they were, and the decoder reads the fds and offsets back', () => {
    const pre = prelinkInstructions(program());
    const before = Buffer.from(pre.bytes);
    const bound = bindPrelinked(pre, (n) => ({ events: 11, data: 12, rodata: 13 })[n] ?? -1);
    expect(Buffer.from(pre.bytes)).toEqual(before);
    const refs = decodeInstructions(bound).filter((i) => i.src === 1 || i.src === 2);
    expect(refs.map((i) => [i.src, Number((i.imm64 ?? 0n) & 0xffffffffn), Number((i.imm64 ?? 0n) >> 32n)])).toEqual([
      [1, 11, 0],
      [2, 12, 24],
      [1, 11, 0],
      [2, 13, 0x7fff_fff0],
    ]);
  });
});
