// Test-only helpers for the Go inspection tests: a tiny ELF section/segment reader that builds a
// BinaryImage, and a builder for Go programs. The real ELF reader lives in src/elf.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateElfCompressed } from '../src/dwarf/index.js';
import type { BinaryImage, ImageSection, ImageSegment } from '../src/go/index.js';

const execFileAsync = promisify(execFile);

const MACHINES: Record<number, string> = { 3: '386', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'amd64', 183: 'arm64' };
const SHT_NOBITS = 8;
const SHF_COMPRESSED = 0x800;
const PT_LOAD = 1;

export interface ElfSectionHeader {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
}

export interface TestImage extends BinaryImage {
  sectionHeaders: ElfSectionHeader[];
}

/** Parses just enough ELF for the tests. `withoutSections` pretends the section headers are gone. */
export function elfImage(file: Uint8Array, options: { withoutSections?: boolean } = {}): TestImage {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint32(0, false) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = file[4] === 2;
  const le = file[5] === 1;
  const word = (o: number): number => (is64 ? Number(v.getBigUint64(o, le)) : v.getUint32(o, le));
  const u16 = (o: number): number => v.getUint16(o, le);
  const u32 = (o: number): number => v.getUint32(o, le);
  const machine = MACHINES[u16(18)] ?? `elf-machine-${u16(18)}`;
  const entry = word(24);
  const phoff = word(is64 ? 32 : 28);
  const shoff = word(is64 ? 40 : 32);
  const [phentsize, phnum, shentsize, shnum, shstrndx] = is64
    ? [u16(54), u16(56), u16(58), u16(60), u16(62)]
    : [u16(42), u16(44), u16(46), u16(48), u16(50)];

  const segments: ImageSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (u32(p) !== PT_LOAD) continue;
    segments.push(
      is64
        ? { flags: u32(p + 4), offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32), memsz: word(p + 40) }
        : { offset: u32(p + 4), vaddr: u32(p + 8), filesz: u32(p + 16), memsz: u32(p + 20), flags: u32(p + 24) },
    );
  }

  const headers: ElfSectionHeader[] = [];
  if (shoff !== 0 && !options.withoutSections) {
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize;
      raw.push(
        is64
          ? { nameOff: u32(s), type: u32(s + 4), flags: word(s + 8), addr: word(s + 16), offset: word(s + 24), size: word(s + 32) }
          : { nameOff: u32(s), type: u32(s + 4), flags: u32(s + 8), addr: u32(s + 12), offset: u32(s + 16), size: u32(s + 20) },
      );
    }
    const strtab = raw[shstrndx];
    for (const r of raw) {
      const start = strtab.offset + r.nameOff;
      const name = Buffer.from(file.subarray(start, file.indexOf(0, start))).toString('latin1');
      headers.push({ name, type: r.type, flags: r.flags, addr: r.addr, offset: r.offset, size: r.size });
    }
  }

  const section = (name: string): ImageSection | undefined => {
    const h = headers.find((x) => x.name === name);
    if (!h) return undefined;
    if (h.type === SHT_NOBITS) return { addr: h.addr, data: new Uint8Array(0) };
    let data = file.subarray(h.offset, h.offset + h.size);
    if (h.flags & SHF_COMPRESSED) data = inflateElfCompressed(data, { elfClass: is64 ? 64 : 32, littleEndian: le, section: name });
    return { addr: h.addr, data };
  };

  const readVirtual = (addr: number, len: number): Uint8Array | undefined => {
    for (const s of segments) {
      if (addr < s.vaddr || addr + len > s.vaddr + s.memsz) continue;
      const rel = addr - s.vaddr;
      if (rel + len <= s.filesz) return file.subarray(s.offset + rel, s.offset + rel + len);
      const out = new Uint8Array(len);
      if (rel < s.filesz) out.set(file.subarray(s.offset + rel, s.offset + s.filesz));
      return out;
    }
    return undefined;
  };

  return {
    byteOrder: le ? 'little' : 'big',
    ptrSize: is64 ? 8 : 4,
    machine,
    entry,
    segments,
    section,
    readVirtual,
    sectionHeaders: headers,
  };
}

// println instead of fmt keeps cross-compiling the standard library for other GOARCHes quick.
export const GOROUTINE_PROGRAM = `package main

import (
	"runtime"
	"sync"
)

type payload struct {
	id    int64
	name  string
	flags [3]uint16
}

//go:noinline
func square(p payload, out chan<- int64) { out <- p.id * p.id }

func main() {
	var wg sync.WaitGroup
	out := make(chan int64, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.Gosched()
			square(payload{id: int64(i), name: "g"}, out)
		}(i)
	}
	wg.Wait()
	close(out)
	var sum int64
	for v := range out {
		sum += v
	}
	println(sum, runtime.NumGoroutine())
}
`;

/** The same image with some sections replaced (or removed with undefined). */
export function withSections(image: BinaryImage, replaced: Record<string, ImageSection | undefined>): BinaryImage {
  return {
    byteOrder: image.byteOrder,
    ptrSize: image.ptrSize,
    machine: image.machine,
    entry: image.entry,
    segments: image.segments,
    readVirtual: (a, l) => image.readVirtual(a, l),
    section: (name) => (name in replaced ? replaced[name] : image.section(name)),
  };
}

export interface GoBuild {
  name: string;
  path: string;
}

/** Writes the program into a fresh temp module and builds each variant in parallel. */
export async function buildGoVariants(
  variants: { name: string; args: string[]; env?: Record<string, string> }[],
  source = GOROUTINE_PROGRAM,
): Promise<{ dir: string; builds: Map<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-go-test-'));
  writeFileSync(join(dir, 'main.go'), source);
  writeFileSync(join(dir, 'go.mod'), 'module example.com/goroutines\n\ngo 1.17\n');
  const builds = new Map<string, string>();
  await Promise.all(
    variants.map(async (v) => {
      const out = join(dir, v.name);
      await execFileAsync('go', ['build', '-o', out, ...v.args, '.'], {
        cwd: dir,
        env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', ...v.env },
      });
      builds.set(v.name, out);
    }),
  );
  return { dir, builds };
}

/** `go tool nm` text symbols: name → address. */
export async function goToolNm(path: string): Promise<Map<string, number>> {
  const { stdout } = await execFileAsync('go', ['tool', 'nm', path], { maxBuffer: 256 << 20 });
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([0-9a-f]+)\s+([Tt])\s+(.+)$/.exec(line);
    if (m && !out.has(m[3])) out.set(m[3], parseInt(m[1], 16));
  }
  return out;
}

export async function run(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 256 << 20 });
  return stdout;
}

export { seededRandom } from './support/random.js';
