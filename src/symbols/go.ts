// Go binaries through the ELF reader: the BinaryImage view the Go inspection needs, and the
// function table of the pclntab (present even in stripped binaries).
import { ElfError, ElfFile, EM_AARCH64, EM_X86_64, PT_LOAD } from '../elf/index.js';
import { GoBinaryError, locatePclntab, resolveTextStart, type BinaryImage, type GoFunctions } from '../go/index.js';

const GOARCH: Record<number, string> = { [EM_X86_64]: 'amd64', [EM_AARCH64]: 'arm64' };

/** The Go inspection's view of an ELF file. */
export function elfBinaryImage(elf: ElfFile): BinaryImage {
  return {
    byteOrder: elf.header.byteOrder,
    ptrSize: 8,
    machine: GOARCH[elf.header.machine] ?? `machine ${elf.header.machine}`,
    section(name) {
      const s = elf.section(name);
      return s ? { addr: s.addr, data: elf.sectionData(s) } : undefined;
    },
    readVirtual: (addr, len) => elf.readVirtual(addr, len),
    segments: elf.programHeaders.filter((p) => p.type === PT_LOAD).map((p) => ({ vaddr: p.vaddr, memsz: p.memsz, offset: p.offset, filesz: p.filesz, flags: p.flags })),
    entry: elf.header.entry,
  };
}

const cache = new WeakMap<ElfFile, GoFunctions | null>();

/** The Go function table, or undefined when the file is not a Go binary. */
export function goFunctionsOf(elf: ElfFile): GoFunctions | undefined {
  let table = cache.get(elf);
  if (table === undefined) {
    try {
      const image = elfBinaryImage(elf);
      const { pclntab } = locatePclntab(image);
      table = pclntab.functions(resolveTextStart(pclntab, image).address);
    } catch (e) {
      // Not a Go binary (no usable pclntab): the caller reports the symbol as missing.
      if (!(e instanceof GoBinaryError) && !(e instanceof ElfError)) throw e;
      table = null;
    }
    cache.set(elf, table);
  }
  return table ?? undefined;
}
