// `ebpf disasm OBJ.o|ID`: disassembles the program sections of a BPF object file (as
// `llvm-objdump -d` does), or a loaded program by id through the instructions the kernel reports
// for it after verification (xlated_prog_insns of BPF_OBJ_GET_INFO_BY_FD, as `bpftool prog dump
// xlated` reads them). Kept local to the CLI: a small fetch of the xlated bytes, nothing more.
import { readFileSync } from 'node:fs';
import { decodeInstructions, formatInstruction, slotOffsets, type ByteOrder, type Instruction } from '../asm/index.js';
import { ElfFile } from '../elf/index.js';
import { SHF_EXECINSTR, STT_FUNC } from '../elf/constants.js';
import { ProgInfoLayout as L } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import { programInfoFromFd } from '../programs/info.js';
import { emitJson, runCommand, stringOption, UsageError, type CommandSpec } from './command.js';
import { idArgument, withObjectFd } from './objects.js';

const SPEC: CommandSpec = {
  usage: 'ebpf disasm OBJ.o|ID [--section NAME] [--json]',
  summary: 'Disassembles the program sections of a BPF object file, or a loaded program (by id) as the kernel holds it after verification.',
  details:
    'Lines are "slot: bytes  text" as llvm-objdump -d prints them, under "Disassembly of section S:" and "<function>:" headers.\n' +
    'With --json: {"section","function","slot","bytes","text"} per instruction (for an id: section is "xlated").',
  options: { section: { type: 'string', short: 's', value: 'NAME', help: 'only this section of an object file' } },
  positionals: { min: 1, max: 1, names: 'OBJ.o|ID' },
};

/** The instructions of loaded program `id` after verification (the kernel's xlated view). */
export function xlatedInstructions(id: number): { name: string; code: Uint8Array } {
  return withObjectFd(
    'prog',
    id,
    (fd) => {
      const info = programInfoFromFd(fd);
      const length = info.xlatedSize;
      const { extra } = objGetInfo(fd, L.size, length, (b, address) => {
        b.writeUInt32LE(length, L.xlated_prog_len);
        b.writeBigUInt64LE(BigInt(address), L.xlated_prog_insns);
      });
      return { name: info.name, code: new Uint8Array(extra.subarray(0, length)) };
    },
    false,
  )!;
}

interface Listing {
  section: string;
  /** Functions by slot where they start. */
  functions: Map<number, string>;
  insns: Instruction[];
  code: Uint8Array;
  order: ByteOrder;
}

/** Every executable section of a BPF object, decoded. */
export function objectListings(bytes: Uint8Array, only?: string): Listing[] {
  const elf = ElfFile.parse(bytes);
  const order = elf.header.byteOrder;
  const out: Listing[] = [];
  const symbols = elf.section('.symtab') ? elf.symbols() : [];
  for (const s of elf.sections) {
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    if (only !== undefined && s.name !== only) continue;
    const code = elf.sectionData(s);
    const functions = new Map<number, string>();
    for (const sym of symbols) if (sym.type === STT_FUNC && sym.sectionIndex === s.index) functions.set(sym.value / 8, sym.name);
    out.push({ section: s.name, functions, insns: decodeInstructions(code, order), code, order });
  }
  if (only !== undefined && out.length === 0) throw new UsageError(`no executable section named ${JSON.stringify(only)}`);
  return out;
}

function print(l: Listing, json: boolean, first: boolean): void {
  const slots = slotOffsets(l.insns);
  if (!json) process.stdout.write(`${first ? '' : '\n'}Disassembly of section ${l.section}:\n`);
  let fn = '';
  const lines: string[] = [];
  for (let i = 0; i < l.insns.length; i++) {
    const slot = slots[i];
    const name = l.functions.get(slot);
    if (name !== undefined) {
      fn = name;
      if (!json) lines.push(`\n${slot.toString(16).padStart(16, '0')} <${name}>:`);
    }
    const bytes = Buffer.from(l.code.subarray(slot * 8, slots[i + 1] * 8)).toString('hex');
    const text = formatInstruction(l.insns[i]);
    if (json) emitJson({ section: l.section, function: fn || null, slot, bytes, text });
    else lines.push(`${String(slot).padStart(8)}:\t${bytes.replace(/(..)(?!$)/g, '$1 ')}\t${text}`);
  }
  if (!json) process.stdout.write(`${lines.join('\n')}\n`);
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(SPEC, argv, (inv) => {
    const target = inv.positionals[0];
    const section = stringOption(inv, 'section');
    let listings: Listing[];
    if (/^\d+$/.test(target)) {
      if (section !== undefined) throw new UsageError('--section applies to object files, not to a loaded program id');
      const { name, code } = xlatedInstructions(idArgument(target));
      listings = [{ section: 'xlated', functions: new Map([[0, name]]), insns: decodeInstructions(code, 'little'), code, order: 'little' }];
    } else {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(target);
      } catch (e) {
        throw new UsageError(`cannot read ${target}: ${(e as Error).message}`);
      }
      listings = objectListings(bytes, section);
    }
    listings.forEach((l, i) => print(l, inv.json, i === 0));
    return 0;
  });
}
