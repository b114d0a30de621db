// `ebpf asm FILE`: assembles BPF text (the syntax llvm-objdump prints) into bytecode. Without -o
// it prints each instruction's slot, bytes and text; with -o the raw bytecode is written to a file.
import { readFileSync, writeFileSync } from 'node:fs';
import { assembleInstructions, encodeInstructions, formatInstruction, slotOffsets, type ByteOrder } from '../asm/index.js';
import { emitJson, runCommand, stringOption, UsageError, type CommandSpec } from './command.js';

const SPEC: CommandSpec = {
  usage: 'ebpf asm FILE [-o OUT] [--order little|big] [--json]',
  summary: 'Assembles BPF assembly text (llvm-objdump syntax; FILE - reads stdin) into bytecode.',
  details:
    'Without -o: one line per instruction, "slot: bytes  text", as llvm-objdump -d prints them.\n' +
    'With --json: {"slot","bytes","text"} per instruction (bytes in hex).',
  options: {
    output: { type: 'string', short: 'o', value: 'OUT', help: 'write the raw bytecode to OUT' },
    order: { type: 'string', value: 'little|big', help: 'byte order of the bytecode (default little)' },
  },
  positionals: { min: 1, max: 1, names: 'FILE' },
};

export async function run(argv: string[]): Promise<number> {
  return runCommand(SPEC, argv, (inv) => {
    const order = (stringOption(inv, 'order') ?? 'little') as ByteOrder;
    if (order !== 'little' && order !== 'big') throw new UsageError(`--order must be little or big, got ${JSON.stringify(order)}`);
    const file = inv.positionals[0];
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const insns = assembleInstructions(text);
    const code = encodeInstructions(insns, order);
    const out = stringOption(inv, 'output');
    if (out !== undefined) {
      writeFileSync(out, code);
      if (inv.json) emitJson({ output: out, bytes: code.length, instructions: insns.length });
      return 0;
    }
    const slots = slotOffsets(insns);
    for (let i = 0; i < insns.length; i++) {
      const bytes = Buffer.from(code.subarray(slots[i] * 8, slots[i + 1] * 8)).toString('hex');
      const textOf = formatInstruction(insns[i]);
      if (inv.json) emitJson({ slot: slots[i], bytes, text: textOf });
      else process.stdout.write(`${String(slots[i]).padStart(8)}:\t${bytes.replace(/(..)(?!$)/g, '$1 ')}\t${textOf}\n`);
    }
    return 0;
  });
}
