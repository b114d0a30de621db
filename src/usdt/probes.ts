// USDT probes of an ELF file, from its .note.stapsdt notes (owner "stapsdt", type 3). Each note
// is: u64 probe address, u64 link-time address of .stapsdt.base, u64 semaphore address (0 = none),
// then three NUL-terminated strings: provider, name, argument specs. Prelinking moves the file
// after link time; the difference between .stapsdt.base's address now and the recorded one is
// added to the addresses, as libbpf and SystemTap do.
import { EM_AARCH64, EM_X86_64, ET_DYN, PF_X, PT_LOAD, SHT_NOBITS, type ElfFile } from '../elf/index.js';
import { parseUsdtArgs, type UsdtArch, type UsdtArg } from './arg-spec.js';
import { UsdtError } from './errors.js';

/** Note type of a USDT probe note (owner "stapsdt"). */
export const NT_STAPSDT = 3;
const OWNER = 'stapsdt';

/** A USDT probe from a .note.stapsdt note: provider, name, location, semaphore and arguments. */
export interface UsdtProbe {
  readonly provider: string;
  readonly name: string;
  /** Virtual address of the probe's nop, as the file is linked (prelink adjusted). */
  readonly address: number;
  /** File offset of that nop: what a uprobe attaches to. */
  readonly fileOffset: number;
  /** The semaphore (a u16 counter the probe site tests; a tracer increments it while attached), if any. */
  readonly semaphore: { readonly address: number; readonly fileOffset: number } | undefined;
  /** The argument specs as written in the note. */
  readonly argsText: string;
  /** The parsed arguments; empty with `argsError` set when they do not parse. */
  readonly args: readonly UsdtArg[];
  readonly argsError: UsdtError | undefined;
  /** File offset of the note. */
  readonly noteOffset: number;
}

/** The architecture whose register names a file's argument specs use. */
export function usdtArchOf(elf: ElfFile): UsdtArch {
  if (elf.header.machine === EM_X86_64) return 'x86_64';
  if (elf.header.machine === EM_AARCH64) return 'aarch64';
  throw new UsdtError(`USDT argument specs of ELF machine ${elf.header.machine} are not supported (x86-64 and arm64 are)`);
}

/** Every USDT probe of the file, in note order; none when it has no .note.stapsdt. */
export function readUsdtProbes(elf: ElfFile): UsdtProbe[] {
  const notes = elf.notes().filter((n) => n.name === OWNER && n.type === NT_STAPSDT);
  if (notes.length === 0) return [];
  if (elf.header.class !== 2) throw new UsdtError('USDT notes of 32-bit ELF files are not supported');
  const arch = usdtArchOf(elf);
  const le = elf.header.byteOrder === 'little';
  const base = elf.section('.stapsdt.base');
  const out: UsdtProbe[] = [];
  for (const note of notes) {
    const d = note.desc;
    if (d.length < 24 + 3)
      throw new UsdtError(`stapsdt note of ${d.length} bytes is too short for three addresses and three strings`, {
        offset: note.offset,
        section: note.section,
      });
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const pc = view.getBigUint64(0, le);
    const linkedBase = view.getBigUint64(8, le);
    const sem = view.getBigUint64(16, le);
    let at = 24;
    const nextString = (n: number): string => {
      const end = d.indexOf(0, at);
      if (end < 0)
        throw new UsdtError(`stapsdt note: string ${n} of 3 (provider, name, arguments) is not NUL-terminated`, {
          offset: note.offset,
          section: note.section,
        });
      const text = new TextDecoder('latin1').decode(d.subarray(at, end));
      at = end + 1;
      return text;
    };
    const provider = nextString(1);
    const name = nextString(2);
    const argsText = nextString(3);
    const probe = `${provider}:${name}`;
    const delta = base && linkedBase !== 0n ? base.addrBig - linkedBase : 0n;
    const address = toNumber(pc + delta, probe, note.offset);
    const fileOffset = executableOffset(elf, address);
    if (fileOffset === undefined) {
      throw new UsdtError(`probe address 0x${address.toString(16)} is in no executable PT_LOAD segment`, {
        offset: note.offset,
        section: note.section,
        probe,
      });
    }
    let semaphore: UsdtProbe['semaphore'];
    if (sem !== 0n) {
      const semAddress = toNumber(sem + delta, probe, note.offset);
      const semOffset = semaphoreOffset(elf, semAddress);
      if (semOffset === undefined) {
        throw new UsdtError(`semaphore address 0x${semAddress.toString(16)} is in no section with file contents`, {
          offset: note.offset,
          section: note.section,
          probe,
        });
      }
      semaphore = { address: semAddress, fileOffset: semOffset };
    }
    let args: UsdtArg[] = [];
    let argsError: UsdtError | undefined;
    try {
      args = parseUsdtArgs(argsText, arch);
    } catch (e) {
      if (!(e instanceof UsdtError)) throw e;
      argsError = new UsdtError(e.message, { offset: note.offset, probe }, { cause: e });
    }
    out.push({ provider, name, address, fileOffset, semaphore, argsText, args, argsError, noteOffset: note.offset });
  }
  return out;
}

function toNumber(v: bigint, probe: string, offset: number): number {
  const n = BigInt.asUintN(64, v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new UsdtError(`address 0x${n.toString(16)} is beyond what user-space files use`, { offset, probe });
  return Number(n);
}

function executableOffset(elf: ElfFile, address: number): number | undefined {
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD || (p.flags & PF_X) === 0) continue;
    if (address >= p.vaddr && address < p.vaddr + p.filesz) return address - p.vaddr + p.offset;
  }
  return undefined;
}

/** The semaphore's file offset through the section holding it (.probes), as the kernel's ref_ctr_offset wants. */
function semaphoreOffset(elf: ElfFile, address: number): number | undefined {
  for (const s of elf.sections) {
    if (s.type === SHT_NOBITS || s.addr === 0) continue;
    if (address >= s.addr && address + 2 <= s.addr + s.size) return address - s.addr + s.offset;
  }
  return elf.fileOffsetOf(address);
}

/** Whether addresses in the file are relative to where it is loaded (shared libraries, PIE). */
export function isPositionIndependent(elf: ElfFile): boolean {
  return elf.header.type === ET_DYN;
}
