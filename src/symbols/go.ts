// Go binaries through the ELF reader: the BinaryImage view the Go inspection needs, and the
// function table of the pclntab (present even in stripped binaries).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ElfError, ElfFile, EM_AARCH64, EM_X86_64, PT_LOAD } from '../elf/index.js';
import {
  GoBinaryError,
  locatePclntab,
  newGoBinary,
  resolveTextStart,
  type BinaryImage,
  type GoBinaryInfo,
  type GoFunctions,
} from '../go/index.js';

const GOARCH: Record<number, string> = { [EM_X86_64]: 'amd64', [EM_AARCH64]: 'arm64' };

/** The Go inspection's view of an ELF file: an ElfFile, or the file's bytes (parsed here; ElfError when they are no ELF). */
export function elfBinaryImage(file: ElfFile | Uint8Array): BinaryImage {
  let elf: ElfFile;
  if (file instanceof ElfFile) elf = file;
  else if (file instanceof Uint8Array) elf = ElfFile.parse(file);
  else {
    const got = file === null ? 'null' : typeof file === 'string' ? `the string "${String(file)}"` : typeof file;
    throw new GoBinaryError(`elfBinaryImage takes an ElfFile or an ELF file's bytes, not ${got}; for a file path use openGoBinary(path)`);
  }
  return {
    byteOrder: elf.header.byteOrder,
    ptrSize: 8,
    machine: GOARCH[elf.header.machine] ?? `machine ${elf.header.machine}`,
    section(name) {
      const s = elf.section(name);
      return s ? { addr: s.addr, data: elf.sectionData(s) } : undefined;
    },
    readVirtual: (addr, len) => elf.readVirtual(addr, len),
    segments: elf.programHeaders
      .filter((p) => p.type === PT_LOAD)
      .map((p) => ({ vaddr: p.vaddr, memsz: p.memsz, offset: p.offset, filesz: p.filesz, flags: p.flags })),
    entry: elf.header.entry,
    symbol(name) {
      // The last of the name, as a map of every symbol by name would keep; found without decoding the table.
      const s = name === '' ? undefined : elf.symbolNamed(name);
      return s ? { addr: s.value, size: s.size } : undefined;
    },
  };
}

/**
 * Reads the Go executable at `path` (Go's elf.Open; newGoBinary(image) is elf.NewFile): version,
 * goid offset, calling convention, functions. Errors are GoBinaryError with the path as `where`.
 */
export function openGoBinary(path: string): GoBinaryInfo {
  if (typeof path !== 'string')
    throw new GoBinaryError(`openGoBinary takes a file path, not ${typeof path}; for a BinaryImage use newGoBinary(image)`);
  if (!existsSync(path)) throw new GoBinaryError('no such file', path);
  if (!statSync(path).isFile()) throw new GoBinaryError('not a regular file', path);
  let elf: ElfFile;
  try {
    elf = ElfFile.parse(readFileSync(path));
  } catch (e) {
    if (e instanceof ElfError)
      throw Object.assign(new GoBinaryError(`not a Go binary: not an ELF64 executable (${e.message})`, path), { cause: e });
    throw e;
  }
  try {
    return newGoBinary(elfBinaryImage(elf));
  } catch (e) {
    // The inner error names the section and offset; the path is added once, in front.
    if (e instanceof GoBinaryError) throw Object.assign(new GoBinaryError(e.message, path), { cause: e });
    if (e instanceof ElfError) throw Object.assign(new GoBinaryError(e.message, path), { cause: e });
    throw e;
  }
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
