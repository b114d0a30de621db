// Uprobes by symbol, address or file offset, in executables and shared libraries (PIE and stripped
// Go binaries included), and uprobe_multi for many functions in one link.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter } from 'node:path';
import { ElfFile } from '../elf/index.js';
import { resolveFunctions } from '../symbols/index.js';
import { linkCreate, SyscallError } from '../syscall/index.js';
import { AttachType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError, attaching } from './link.js';
import type { PerfEventLink } from './perf-event.js';
import { attachUprobeAtOffset } from './probes.js';

const LIBRARY_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
  '/usr/local/lib',
];
const BPF_F_UPROBE_MULTI_RETURN = 1;

/** A path as given, or a bare library name ("libc.so.6") looked up in LD_LIBRARY_PATH and the usual directories. */
export function resolveBinaryPath(nameOrPath: string): string {
  if (nameOrPath.includes('/')) {
    if (!existsSync(nameOrPath)) throw new LinkError('target', `uprobe target ${nameOrPath} does not exist`);
    return nameOrPath;
  }
  const dirs = [...(process.env.LD_LIBRARY_PATH?.split(delimiter).filter(Boolean) ?? []), ...LIBRARY_DIRS];
  for (const d of dirs) {
    const p = `${d}/${nameOrPath}`;
    if (existsSync(p)) return p;
  }
  throw new LinkError('target', `cannot find library "${nameOrPath}" in ${dirs.join(', ')}; pass its full path`);
}

const parsed = new Map<string, { mtimeMs: number; size: number; elf: ElfFile }>();

/** Parses the ELF file at `path`, reusing the last parse while the file is unchanged. */
export function openElf(path: string): ElfFile {
  const st = statSync(path);
  const hit = parsed.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.elf;
  const elf = ElfFile.parse(readFileSync(path));
  parsed.set(path, { mtimeMs: st.mtimeMs, size: st.size, elf });
  return elf;
}

/** Options of attachUprobe: where in the binary to probe, and for which process. */
export interface UprobeOptions {
  /** Function name, from .symtab, .dynsym or (Go) the pclntab. */
  symbol?: string;
  /** Virtual address as linked, instead of a symbol. */
  address?: number;
  /** File offset, instead of a symbol; added to the symbol's offset when both are given. */
  offset?: number;
  /** Return probe. Never on Go functions: Go moves goroutine stacks and the target crashes. */
  ret?: boolean;
  /** Only this process. */
  pid?: number;
  cookie?: bigint;
  refCtrOffset?: number;
}

/** Attaches a KPROBE-type program as a uprobe on `binary` (a path, or a library name such as "libc.so.6"). */
export function attachUprobe(program: Program, binary: string, o: UprobeOptions): PerfEventLink {
  return attaching(`attaching "${program.name}" to a uprobe in ${binary}`, () => {
    const path = resolveBinaryPath(binary);
    let offset: number;
    let symbol = o.symbol;
    if (o.symbol !== undefined) {
      offset = resolveFunctions(openElf(path), [o.symbol], path)[0].fileOffset + (o.offset ?? 0);
    } else if (o.address !== undefined) {
      const at = openElf(path).fileOffsetOf(o.address);
      if (at === undefined) throw new LinkError('target', `address 0x${o.address.toString(16)} is not in a loaded segment of ${path}`);
      offset = at;
      symbol = `0x${o.address.toString(16)}`;
    } else if (o.offset !== undefined) {
      offset = o.offset;
    } else {
      throw new LinkError('options', 'attachUprobe needs a symbol, an address or a file offset');
    }
    return attachUprobeAtOffset(program, { path, offset, ret: o.ret, pid: o.pid, cookie: o.cookie, refCtrOffset: o.refCtrOffset, symbol });
  });
}

/** Options of attachUprobeMulti: the functions or offsets to probe in one link. */
export interface UprobeMultiOptions {
  symbols?: readonly string[];
  /** File offsets, instead of symbols. */
  offsets?: readonly number[];
  /** One cookie per probe. */
  cookies?: readonly bigint[];
  ret?: boolean;
  pid?: number;
}

/**
 * Attaches one program to many functions through one uprobe_multi link (kernel 6.6+). The program
 * must be loaded with expectedAttachType AttachType.TRACE_UPROBE_MULTI.
 */
export function attachUprobeMulti(program: Program, binary: string, o: UprobeMultiOptions): BpfLink {
  return attaching(`attaching "${program.name}" to uprobe_multi in ${binary}`, () => {
    const path = resolveBinaryPath(binary);
    const offsets = o.symbols ? resolveFunctions(openElf(path), o.symbols, path).map((f) => f.fileOffset) : (o.offsets ?? []);
    if (offsets.length === 0) throw new LinkError('options', 'attachUprobeMulti needs symbols or offsets');
    if (o.cookies && o.cookies.length !== offsets.length)
      throw new LinkError('options', `${o.cookies.length} cookies for ${offsets.length} probes`);
    const target = `uprobe_multi/${path} (${offsets.length} functions)`;
    try {
      const fd = linkCreate({
        progFd: program.fd,
        attachType: AttachType.TRACE_UPROBE_MULTI,
        uprobeMulti: {
          path,
          offsets: BigUint64Array.from(offsets.map(BigInt)),
          cookies: o.cookies ? BigUint64Array.from(o.cookies) : undefined,
          flags: o.ret ? BPF_F_UPROBE_MULTI_RETURN : 0,
          pid: o.pid,
        },
      });
      return new BpfLink(fd, target);
    } catch (e) {
      if (e instanceof SyscallError) {
        const hint =
          e.code === 'EINVAL' ? ' (was the program loaded with expectedAttachType TRACE_UPROBE_MULTI? uprobe_multi needs kernel 6.6+)' : '';
        throw new LinkError('attach', `attaching "${program.name}" to ${target} failed: ${e.message}${hint}`, { cause: e });
      }
      throw e;
    }
  });
}
