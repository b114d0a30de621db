// Test programs that number what they emit: a one-slot counter map, and the instructions that
// take the next number from it, so readers' tests can check records arrive in order.
import { type ProgramBuilder } from '../../src/asm/builder.js';
import { R0, R1, R2, R6, R7, R10 } from '../../src/asm/registers.js';
import { Size } from '../../src/asm/size.js';
import { u32, u64 } from '../../src/codec/index.js';
import { BpfMap } from '../../src/maps/index.js';
import { track } from './track.js';

/** The counter map the prologue reads, named 'counter' and closed after the test. */
export function counterMap(): BpfMap<number, bigint> {
  return track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' }, { key: u32, value: u64 }));
}

/**
 * r6 = the context, r1 = r7 = counter++ (an atomic fetch-add); jumps to label 'out' when the
 * lookup fails. The caller defines 'out'.
 */
export function sequencePrologue(b: ProgramBuilder): ProgramBuilder {
  return b
    .mov64Reg(R6, R1)
    .st(Size.W, R10, -4, 0)
    .ldMapFd(R1, 'counter')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicFetchAdd(Size.DW, R0, 0, R1)
    .mov64Reg(R7, R1);
}
