// The XDP counter of examples/xdp-modes.ts exists twice: assembled in TypeScript and compiled from
// bpf/xdp_counter.c. Run on the same packets, both must return the same verdicts and count the same.
import { describe, expect, it } from 'vitest';
import { BpfMap, loadCollection, Program } from '../src/index.js';
import { countingProgram, SLOTS, XDP_DROP } from '../examples/xdp-counter-program.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

function frame(ethertype: number, l3: number[] = []): Buffer {
  const b = Buffer.alloc(Math.max(64, 14 + l3.length));
  b.writeUInt16BE(ethertype, 12);
  Buffer.from(l3).copy(b, 14);
  return b;
}
const ipv4 = (proto: number): Buffer => {
  const h = new Array(20).fill(0);
  h[0] = 0x45;
  h[9] = proto;
  return frame(0x0800, h);
};
const ipv6 = (next: number): Buffer => {
  const h = new Array(40).fill(0);
  h[0] = 0x60;
  h[6] = next;
  return frame(0x86dd, h);
};
const PACKETS: Buffer[] = [
  ipv4(6),
  ipv4(17),
  ipv4(1),
  ipv4(47),
  ipv6(17),
  ipv6(58),
  ipv6(6),
  ipv6(0),
  frame(0x0806),
  frame(0x88cc),
  Buffer.alloc(14),
  frame(0x0800).subarray(0, 20),
  frame(0x86dd).subarray(0, 40),
];

/** Per slot, the sum over CPUs (values are Buffers, or bigints when the map has BTF). */
function totals(map: BpfMap<unknown, unknown>): number[] {
  const n = (v: unknown): number => Number(typeof v === 'bigint' ? v : (v as Buffer).readBigUInt64LE(0));
  return Array.from({ length: SLOTS }, (_, k) => (map.lookupPerCpu(k) ?? []).reduce((s: number, v) => s + n(v), 0));
}

describe.runIf(need(isRoot, 'loading programs needs root'))('XDP counter: assembler and C', () => {
  it('count the same packets the same way, for each verdict', () => {
    const c = track(loadCollection('bpf/xdp_counter.o'));
    const counters = track(BpfMap.create({ type: 'PERCPU_ARRAY', keySize: 4, valueSize: 8, maxEntries: SLOTS, name: 'counters' }));
    const config = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'config' }));
    const asm = track(
      Program.load({ type: 'XDP', instructions: countingProgram().build(), maps: { counters, config }, name: 'xdp_counter' }),
    );
    const cCounters = c.maps.counters;
    const cConfig = c.maps.config;
    for (const verdict of [2, XDP_DROP, 9]) {
      config.update(0, verdict);
      cConfig.update(0, verdict);
      for (const p of PACKETS) {
        const a = asm.testRun({ data: p, repeat: 3 }).retval;
        const b = c.programs.xdp_counter.testRun({ data: p, repeat: 3 }).retval;
        expect(b).toBe(a);
      }
    }
    const expected = totals(counters as BpfMap<unknown, unknown>);
    expect(expected.reduce((s, x) => s + x, 0)).toBeGreaterThan(PACKETS.length * 9);
    expect(totals(cCounters)).toEqual(expected);
  });
});
