// Inputs that index past what they describe. Before noUncheckedIndexedAccess (issue 15) each of
// these either threw a TypeError or produced a wrong value silently (a NaN jump offset, a spec
// with its cookie dropped); now each is the layer's typed error, naming what was out of range.
import { describe, expect, it } from 'vitest';
import { AsmError, BPF_JA, BPF_JMP, encodeInstructions, resolveLabels, type Instruction } from '../src/asm/index.js';
import { BTF_NAMING, BtfError, parseBtf, type EnumType } from '../src/btf/index.js';
import { btfCodec } from '../src/codec/btf.js';
import { CodecError } from '../src/codec/index.js';
import { encodeUsdtSpec, LIBBPF_1_1_USDT_SPEC_LAYOUT, UsdtError } from '../src/usdt/index.js';
import { u64Btf } from './support/u64-btf.js';

describe('indexes past the end of the input are typed errors', () => {
  it('resolveLabels: a label beyond the program is an AsmError, not a NaN offset', () => {
    const ja: Instruction = { opcode: BPF_JMP | BPF_JA, dst: 0, src: 0, offset: 0, imm: 0, reference: 'far' };
    // The program's end (index 1) is a valid target; index 5 is not.
    expect(resolveLabels([ja], new Map([['far', 1]]))[0]?.offset).toBe(0);
    expect(() => resolveLabels([ja], new Map([['far', 5]]))).toThrow(AsmError);
    expect(() => resolveLabels([ja], new Map([['far', 5]]))).toThrow(
      /label 'far' is at instruction 5, outside the program of 1 instructions/,
    );
  });

  it('encodeInstructions: a hole in the list is an AsmError naming the instruction', () => {
    const exit: Instruction = { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 };
    const list = [exit, null as unknown as Instruction];
    expect(() => encodeInstructions(list)).toThrow(AsmError);
    expect(() => encodeInstructions(list)).toThrow(/instruction 1: not an instruction object/);
  });

  it('btfCodec: a buffer too short for the value is a CodecError both ways', () => {
    const codec = btfCodec(parseBtf(u64Btf()), 1);
    expect(codec.size).toBe(8);
    const whole = Buffer.alloc(8);
    codec.encode(0x0102030405060708n, whole, 0);
    expect(whole.toString('hex')).toBe('0807060504030201');
    expect(codec.decode(whole, 0)).toBe(0x0102030405060708n);
    expect(() => codec.decode(Buffer.alloc(4), 0)).toThrow(CodecError);
    expect(() => codec.decode(whole, 4)).toThrow(/8 bytes at offset 4 run past the end of a 8-byte buffer/);
    expect(() => codec.encode(1n, Buffer.alloc(4), 0)).toThrow(CodecError);
  });

  it('BTF_NAMING: an enumerator index the enum lacks is a BtfError', () => {
    const e: EnumType = { kind: 'enum', id: 7, name: 'e', size: 4, signed: false, values: [{ name: 'A', value: 0 }] };
    expect(BTF_NAMING.enumerator(e, 0)).toBe('A');
    expect(() => BTF_NAMING.enumerator(e, 1)).toThrow(BtfError);
    expect(() => BTF_NAMING.enumerator(e, 1)).toThrow(/enum "e" has no enumerator 1 \(type id 7\)/);
  });

  it('encodeUsdtSpec: a layout whose fields lie past its size is a UsdtError, not a dropped write', () => {
    expect(encodeUsdtSpec([], 5n).length).toBe(LIBBPF_1_1_USDT_SPEC_LAYOUT.size);
    const short = { ...LIBBPF_1_1_USDT_SPEC_LAYOUT, size: 100 };
    expect(() => encodeUsdtSpec([], 5n, short)).toThrow(UsdtError);
    expect(() => encodeUsdtSpec([], 5n, short)).toThrow(/a field at bit 1536 runs past the 100-byte __bpf_usdt_spec/);
  });
});
