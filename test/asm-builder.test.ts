import { describe, expect, it } from 'vitest';
import {
  AsmError,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  Helper,
  ProgramBuilder,
  R0,
  R1,
  R2,
  R10,
  Size,
  assemble,
  assembleInstructions,
  bindMapReferences,
  decodeInstructions,
  disassemble,
  encodeInstructions,
  helperByName,
  helperName,
  instructionSlots,
  mapReferences,
  type AsmErrorLocation,
} from '../src/asm/index.js';

/** Runs `fn`, expects an AsmError and returns it. */
function asmError(fn: () => unknown): AsmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AsmError);
    return err as AsmError;
  }
  throw new Error('expected an AsmError');
}

const at = (err: AsmError): AsmErrorLocation => ({
  line: err.line,
  column: err.column,
  instruction: err.instruction,
  byteOffset: err.byteOffset,
});

describe('ProgramBuilder', () => {
  it('builds the example program: map reference, helper call, labels, subprogram', () => {
    const insns = new ProgramBuilder()
      .mov64Imm(R1, 0)
      .stx(Size.W, R10, -4, R1)
      .ldMapFd(R1, 'counts')
      .call(Helper.map_lookup_elem)
      .jeqImm(R0, 0, 'miss')
      .callSub('helper_fn')
      .label('miss')
      .mov64Imm(R0, 0)
      .exit()
      .function('helper_fn')
      .mov64Imm(R0, 1)
      .exit()
      .build();
    expect(insns).toHaveLength(10);
    // map reference left for the loader: src=BPF_PSEUDO_MAP_FD, imm 0, name in `reference`
    expect(insns[2]).toMatchObject({ opcode: 0x18, dst: 1, src: BPF_PSEUDO_MAP_FD, imm: 0, reference: 'counts' });
    expect(instructionSlots(insns[2])).toBe(2);
    // slots: 0 mov, 1 stx, 2-3 lddw, 4 call, 5 jeq, 6 callSub, 7 mov (miss), 8 exit, 9 mov (helper_fn), 10 exit
    expect(insns[3]).toMatchObject({ opcode: 0x85, src: 0, imm: 1 });
    expect(insns[4]).toMatchObject({ opcode: 0x15, offset: 1, reference: 'miss' });
    expect(insns[5]).toMatchObject({ opcode: 0x85, src: BPF_PSEUDO_CALL, imm: 2, reference: 'helper_fn' });
    expect(insns[8].symbol).toBe('helper_fn');
    expect(disassemble(encodeInstructions(insns))).toContain('call pc+0x2\n');
  });

  it('resolves forward and backward jumps counting lddw as two slots', () => {
    const insns = new ProgramBuilder()
      .label('top')
      .lddw(R1, 1n << 40n)
      .ja('top')
      .build();
    expect(insns[1].offset).toBe(-3);
    const fwd = new ProgramBuilder().ja('end').lddw(R1, 5).lddw(R2, 6).label('end').exit().build();
    expect(fwd[0].offset).toBe(4);
    const gl = new ProgramBuilder().gotol('end').lddw(R1, 5).label('end').exit().build();
    expect(gl[0]).toMatchObject({ opcode: 0x06, offset: 0, imm: 2 });
  });

  it('ldFunc gets a pc-relative imm; map values keep their offset in the high half', () => {
    const insns = new ProgramBuilder().ldFunc(R2, 'cb').ldMapValue(R1, 'data', 16).exit().function('cb').exit().build();
    expect(insns[0]).toMatchObject({ src: BPF_PSEUDO_FUNC, imm: 5 - 0 - 1 });
    expect(insns[1]).toMatchObject({ src: BPF_PSEUDO_MAP_VALUE, imm: 0, imm64: 16n << 32n, reference: 'data' });
    expect(mapReferences(insns)).toEqual([{ index: 1, name: 'data', src: BPF_PSEUDO_MAP_VALUE }]);
    const bound = bindMapReferences(insns, (name) => (name === 'data' ? 7 : undefined));
    expect(bound[1]).toMatchObject({ imm: 7, imm64: (16n << 32n) | 7n });
    expect(disassemble(encodeInstructions(bound)).split('\n')[1]).toBe('ld_pseudo\tr1, 0x2, 0x7, 0x10');
    expect(at(asmError(() => bindMapReferences(insns, () => undefined)))).toMatchObject({ instruction: 1 });
  });

  it('calls helpers by name with or without bpf_ prefix', () => {
    expect(new ProgramBuilder().call('bpf_ktime_get_ns').build()[0].imm).toBe(5);
    expect(helperByName('map_update_elem')).toBe(2);
    expect(helperName(1)).toBe('map_lookup_elem');
    expect(helperName(100000)).toBeUndefined();
    expect(asmError(() => new ProgramBuilder().call('no_such_helper')).message).toMatch(/unknown helper 'no_such_helper'/);
  });

  it('reports unknown and duplicate labels', () => {
    const unknown = asmError(() => new ProgramBuilder().mov64Imm(R0, 0).ja('nowhere').exit().build());
    expect(unknown.message).toMatch(/unknown label 'nowhere'/);
    expect(unknown.instruction).toBe(1);
    const dup = asmError(() => new ProgramBuilder().label('a').exit().label('a'));
    expect(dup.message).toMatch(/duplicate label 'a'/);
    expect(asmError(() => new ProgramBuilder().callSub('f').exit().build()).message).toMatch(/unknown label 'f'/);
  });

  it('rejects jumps beyond 16 bits and suggests gotol', () => {
    const b = new ProgramBuilder().ja('far');
    for (let i = 0; i < 40000; i++) b.mov64Imm(R0, 0);
    b.label('far').exit();
    expect(asmError(() => b.build()).message).toMatch(/gotol/);
    const ok = new ProgramBuilder().gotol('far');
    for (let i = 0; i < 40000; i++) ok.mov64Imm(R0, 0);
    expect(ok.label('far').exit().build()[0].imm).toBe(40000);
    expect(asmError(() => new ProgramBuilder().ja(40000)).message).toMatch(/16-bit/);
  });

  it('rejects bad registers, sizes and operands with the instruction index', () => {
    const err = asmError(() => new ProgramBuilder().exit().mov64Imm(11, 0));
    expect(err.message).toMatch(/r0 to r10/);
    expect(err.instruction).toBe(1);
    expect(asmError(() => new ProgramBuilder().mov64Reg(R0, -1)).message).toMatch(/register/);
    expect(asmError(() => new ProgramBuilder().mov64Imm(R0, 2 ** 32)).message).toMatch(/lddw/);
    expect(asmError(() => new ProgramBuilder().ldx(3 as Size, R0, R1, 0)).message).toMatch(/size/);
    expect(asmError(() => new ProgramBuilder().ldxsx(Size.DW, R0, R1, 0)).message).toMatch(/B, H and W/);
    expect(asmError(() => new ProgramBuilder().atomicAdd(Size.B, R1, 0, R2)).message).toMatch(/W and DW/);
    expect(asmError(() => new ProgramBuilder().movsx32(R0, R1, 32 as 16)).message).toMatch(/8, 16/);
    expect(asmError(() => new ProgramBuilder().ldAbs(Size.DW, 0)).message).toMatch(/64-bit packet/);
    expect(asmError(() => new ProgramBuilder().stx(Size.W, R10, 0x8000, R1)).message).toMatch(/16-bit/);
    expect(asmError(() => new ProgramBuilder().lddw(R0, 1n << 64n)).message).toMatch(/2\^64/);
    expect(asmError(() => new ProgramBuilder().function('f').build()).message).toMatch(/no instructions/);
    expect(asmError(() => new ProgramBuilder().label('1abc')).message).toMatch(/identifier/);
  });
});

describe('encoder and decoder', () => {
  it('lays out registers per byte order', () => {
    const insns = new ProgramBuilder().stx(Size.DW, R10, -8, R1).lddw(R2, 0x1122334455667788n).build();
    expect([...encodeInstructions(insns, 'little')]).toEqual([
      0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0, 0x18, 0x02, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11,
    ]);
    expect([...encodeInstructions(insns, 'big')]).toEqual([
      0x7b, 0xa1, 0xff, 0xf8, 0, 0, 0, 0, 0x18, 0x20, 0, 0, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44,
    ]);
    expect(decodeInstructions(encodeInstructions(insns, 'big'), 'big')[1]).toMatchObject({
      dst: 2,
      imm64: 0x1122334455667788n,
      imm: 0x55667788,
    });
  });

  it('reports truncated input with the byte offset', () => {
    const e1 = asmError(() => decodeInstructions(new Uint8Array(13)));
    expect(e1.byteOffset).toBe(8);
    expect(e1.message).toMatch(/multiple of 8/);
    const e2 = asmError(() => decodeInstructions(Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0, 0x18, 1, 0, 0, 0, 0, 0, 0)));
    expect(e2).toMatchObject({ byteOffset: 8, instruction: 1 });
    expect(e2.message).toMatch(/missing its second/);
    const bad = new Uint8Array(16);
    bad[0] = 0x18;
    bad[8] = 0x95;
    const e3 = asmError(() => decodeInstructions(bad));
    expect(e3).toMatchObject({ byteOffset: 8 });
    expect(e3.message).toMatch(/second slot/);
  });

  it('rejects malformed instruction objects in the encoder', () => {
    const e = asmError(() =>
      encodeInstructions([
        { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 },
        { opcode: 0xb7, dst: 16, src: 0, offset: 0, imm: 0 },
      ]),
    );
    expect(e.instruction).toBe(1);
    expect(asmError(() => encodeInstructions([{ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 1.5 }])).message).toMatch(/imm/);
  });
});

describe('text assembler', () => {
  it('accepts comments, blank lines, labels, hex and decimal, and helper names', () => {
    const text = `
      ; a comment
      start:            # label on its own line
        r1 = 0x10       // hex
        r2 = -16
      loop: r1 -= 1
        if r1 != 0 goto loop
        call map_lookup_elem
        call bpf_ktime_get_ns
        call sub
        exit
      sub:
        r0 = 0 ll
        exit
    `;
    const insns = assembleInstructions(text);
    expect(insns.map((i) => i.opcode)).toEqual([0xb7, 0xb7, 0x17, 0x55, 0x85, 0x85, 0x85, 0x95, 0x18, 0x95]);
    expect(insns[3].offset).toBe(-2);
    expect(insns[4]).toMatchObject({ src: 0, imm: 1 });
    expect(insns[5]).toMatchObject({ src: 0, imm: 5 });
    expect(insns[6]).toMatchObject({ src: 1, imm: 1 });
    expect(insns[8].symbol).toBe('sub');
    expect(assemble('r1 = 16\nr2 = -0x10')).toEqual(assemble('r1 = 0x10\nr2 = -16'));
  });

  it('keeps map names from ld_pseudo as references', () => {
    const [insn] = assembleInstructions('ld_pseudo r1, 1, my_map');
    expect(insn).toMatchObject({ src: 1, imm: 0, reference: 'my_map' });
  });

  const cases: [string, RegExp, number, number][] = [
    ['r1 = ', /expected a register, a number/, 1, 6],
    ['exit\n  r11 = 1', /unknown instruction 'r11'/, 2, 3],
    ['r1 += w2', /do not mix r and w/, 1, 7],
    ['r1 = 0x100000000', /does not fit in 32 bits.*ll/, 1, 6],
    ['if r1 == 2 goto', /expected a number, found end of line/, 1, 16],
    ['if r1 += 2 goto +1', /expected a comparison/, 1, 7],
    ['goto nowhere', /unknown label 'nowhere'/, 1, 6],
    ['a:\na:', /duplicate label 'a'/, 2, 1],
    ['*(u32 *)(r1 + 70000) = 1', /offset/, 1, 15],
    ['r1 = *(u128 *)(r1 + 0)', /expected a type/, 1, 8],
    ['frobnicate r1', /unknown instruction 'frobnicate'/, 1, 1],
    ['r1 = 1 2', /expected end of line, found '2'/, 1, 8],
    ['call nosuch', /neither a label .* nor a known helper/, 1, 6],
    ['r1 = 0x1g', /malformed number/, 1, 6],
    ['r1 = 1 @', /unexpected character '@'/, 1, 8],
    ['w1 = be16 w1', /64-bit register/, 1, 1],
    ['goto +40000', /16 bits.*gotol/, 1, 7],
    ['r1 = atomic_fetch_add((u64 *)(r2 + 0), r3)', /both must be r1/, 1, 40],
  ];
  for (const [text, message, line, column] of cases) {
    it(`reports ${JSON.stringify(text)} at ${line}:${column}`, () => {
      const err = asmError(() => assemble(text));
      expect(err.message).toMatch(message);
      expect({ line: err.line, column: err.column }).toEqual({ line, column });
      expect(err.message.startsWith(`${line}:${column}: `)).toBe(true);
    });
  }
});
