// Fuzz targets: every parser that reads outside bytes, with the one error type it may throw and
// the seed inputs its mutations start from. Each `run` exercises the parser deeply (not just the
// header), so a bad offset deep inside is reached too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AsmError,
  assemble,
  decodeInstructions,
  disassemble,
  encodeInstructions,
  ProgramBuilder,
  R0,
  R1,
  R2,
  R10,
  Size,
} from '../../src/asm/index.js';
import { BtfError, formatTypeDeclaration, parseBtf, parseBtfExt, type Btf } from '../../src/btf/index.js';
import { DwarfError, DwarfReader } from '../../src/dwarf/index.js';
import { ElfError, ElfFile, SHT_REL, SHT_RELA } from '../../src/elf/index.js';
import { GoBinaryError, parsePclntab, readBuildInfo, waitReasonsFromBinary, type BinaryImage } from '../../src/go/index.js';
import { NetlinkParseError, parseAcknowledgement, parseLinkMessage, parseTcMessage, splitMessages } from '../../src/netlink/index.js';
import { elfBinaryImage } from '../../src/symbols/index.js';
import { buildLines } from '../go-line-tables.js';
import { loadCollectionSpec, LoaderError } from '../../src/loader/index.js';
import { applyCoreRelocations } from '../../src/core/index.js';

import { encodeUsdtSpec, parseUsdtArgs, readUsdtProbes, UsdtError } from '../../src/usdt/index.js';

export interface FuzzTarget {
  name: string;
  /** The only error type allowed to escape. */
  allowed: (e: unknown) => boolean;
  seeds: Uint8Array[];
  run(input: Uint8Array): void;
}

const GO_FIXTURES = resolve('test/fixtures/go');

function touchElf(elf: ElfFile): void {
  for (const s of elf.sections) {
    elf.sectionData(s);
    if (s.type === SHT_REL || s.type === SHT_RELA) elf.relocations(s);
  }
  if (elf.section('.symtab')) elf.symbols();
  if (elf.section('.dynsym')) elf.dynamicSymbols();
  elf.notes();
  for (const p of elf.programHeaders) elf.readVirtual(p.vaddr, Math.min(64, p.filesz));
}

/** Small real BPF objects, compiled now when clang is here (the fuzzer never needs it otherwise). */
function bpfObjects(): Uint8Array[] {
  const committed = ['bpf'].flatMap((dir) => {
    try {
      return execFileSync('sh', ['-c', `ls ${dir}/*.o 2>/dev/null`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
    } catch {
      return [];
    }
  });
  const out = committed.map((f) => new Uint8Array(readFileSync(f)));
  if (out.length) return out;
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-seeds-'));
  try {
    writeFileSync(
      join(dir, 'p.c'),
      `
      struct { int type; int max; } m __attribute__((section(".maps")));
      struct pair { long a; int b[3]; };
      volatile const int knob = 3; int counter; struct pair data = { 1, { 2, 3, 4 } };
      static __attribute__((noinline)) int helper(int x) { return x * knob; }
      __attribute__((section("xdp"), used)) int prog(void *ctx) { counter += helper(data.b[1]); return 2; }
      char _license[] __attribute__((section("license"), used)) = "GPL";`,
    );
    try {
      writeFileSync(join(dir, 'hello.c'), 'int main(void) { return 0; }');
      execFileSync('cc', ['-O1', '-o', join(dir, 'hello'), join(dir, 'hello.c')], { stdio: 'ignore' });
      out.push(new Uint8Array(readFileSync(join(dir, 'hello'))));
    } catch {
      // No C compiler: the BPF objects seed the ELF target.
    }
    for (const target of ['bpf', 'bpfeb']) {
      try {
        execFileSync('clang', ['-O2', '-g', '-target', target, '-c', join(dir, 'p.c'), '-o', join(dir, `${target}.o`)], {
          stdio: 'ignore',
        });
        out.push(new Uint8Array(readFileSync(join(dir, `${target}.o`))));
      } catch {
        // No clang: the Go binaries still seed the ELF target.
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function goImage(name: string): { bytes: Uint8Array; elf: ElfFile; image: BinaryImage } {
  const bytes = new Uint8Array(readFileSync(join(GO_FIXTURES, name)));
  const elf = ElfFile.parse(bytes);
  return { bytes, elf, image: elfBinaryImage(elf) };
}

/** The Go binary's image with one section's bytes replaced (structure-aware mutation of that section). */
function withSection(base: BinaryImage, name: string, data: Uint8Array): BinaryImage {
  return {
    ...base,
    section(n) {
      if (n !== name) return base.section(n);
      const s = base.section(n);
      return s ? { addr: s.addr, data } : undefined;
    },
  };
}

function sampleProgram(): Uint8Array {
  return encodeInstructions(
    new ProgramBuilder()
      .mov64Imm(R0, 0)
      .st(Size.W, R10, -4, 7)
      .ldMapFd(R1, 3)
      .mov64Reg(R2, R10)
      .add64Imm(R2, -4)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'out')
      .ldx(Size.DW, R0, R0, 0)
      .label('out')
      .lddw(R1, 0x1122334455667788n)
      .atomicFetchAdd(Size.DW, R10, -8, R1)
      .bswap(R1, 32)
      .exit()
      .build(),
  );
}

export function targets(): FuzzTarget[] {
  const list: FuzzTarget[] = [];
  const objects = bpfObjects();
  const goFull = goImage('goroutines');
  const goStripped = goImage('goroutines-stripped');

  list.push({
    name: 'elf',
    allowed: (e) => e instanceof ElfError,
    seeds: objects,
    run: (b) => touchElf(ElfFile.parse(b)),
  });

  // BTF: the objects' .BTF sections, and a slice-sized piece of the kernel's (the whole is 5 MB).
  const btfSeeds: Uint8Array[] = [];
  let objectBtf: Btf | undefined;
  const extSeeds: Uint8Array[] = [];
  for (const o of objects) {
    const elf = ElfFile.parse(o);
    const btf = elf.section('.BTF');
    if (btf) {
      const data = elf.sectionData(btf);
      btfSeeds.push(data);
      objectBtf ??= parseBtf(data);
      const ext = elf.section('.BTF.ext');
      // The ext target parses against the first object's BTF: only the .BTF.ext sections whose
      // string offsets fit it are seeds (objects with bigger string tables would not parse).
      if (ext && objectBtf.littleEndian === parseBtf(data).littleEndian) {
        const bytes = elf.sectionData(ext);
        try {
          parseBtfExt(bytes, objectBtf);
          extSeeds.push(bytes);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
        }
      }
    }
  }
  list.push({
    name: 'btf',
    allowed: (e) => e instanceof BtfError,
    seeds: btfSeeds,
    run(b) {
      const btf = parseBtf(b);
      for (let id = 1; id <= Math.min(btf.lastTypeId, 2000); id++) {
        btf.typeById(id);
        try {
          btf.sizeOf(id);
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
        }
        formatTypeDeclaration(btf, id);
      }
      for (const t of btf) if (t.kind !== 'void' && 'name' in t && t.name) btf.findType(t.name);
    },
  });
  if (objectBtf) {
    const btf = objectBtf;
    list.push({ name: 'btf.ext', allowed: (e) => e instanceof BtfError, seeds: extSeeds, run: (b) => void parseBtfExt(b, btf) });
  }

  // DWARF: .debug_info mutated against the real abbreviations and strings of a Go binary.
  const sec = (n: string): Uint8Array | undefined => goFull.image.section(n)?.data;
  const info = sec('.debug_info');
  const abbrev = sec('.debug_abbrev');
  if (info && abbrev) {
    // Whole units, up to about 48 KiB, so an unmutated seed parses.
    let end = 0;
    const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
    while (end + 4 <= info.length && end < 48 * 1024) end += 4 + view.getUint32(end, true);
    const units = info.subarray(0, Math.min(end, info.length));
    list.push({
      name: 'dwarf',
      allowed: (e) => e instanceof DwarfError,
      seeds: [units, abbrev],
      run(b) {
        const asInfo = b.length > abbrev.length + 64;
        const reader = new DwarfReader({
          info: asInfo ? b : units,
          abbrev: asInfo ? abbrev : b,
          str: sec('.debug_str'),
          littleEndian: true,
        });
        let n = 0;
        for (const unit of reader.units()) {
          for (const { die } of reader.walk(unit)) {
            reader.name(die);
            if (++n > 3000) return;
          }
        }
      },
    });
  }

  const pcln = goStripped.image.section('.gopclntab')!.data;
  list.push({
    name: 'pclntab',
    allowed: (e) => e instanceof GoBinaryError,
    seeds: [pcln],
    run(b) {
      const table = parsePclntab(b);
      const fns = table.functions(0x401000);
      let n = 0;
      for (const f of fns.all()) {
        fns.nameAt(f.entry);
        if (++n > 2000) break;
      }
    },
  });

  // Line tables: laid-out Go 1.2 and 1.16 tables (small, so mutations land in them) and the real
  // Go 1.19 one; every function's entry, middle and end pcs are resolved to file:line.
  list.push({
    name: 'pclntab-lines',
    allowed: (e) => e instanceof GoBinaryError,
    seeds: [
      buildLines('go1.2', 8, true),
      buildLines('go1.16', 8, true),
      buildLines('go1.2', 4, false),
      buildLines('go1.16', 4, true),
      pcln,
    ],
    run(b) {
      const table = parsePclntab(b);
      const fns = table.functions(0x401000);
      let n = 0;
      for (const f of fns.all()) {
        fns.positionAt(f.entry);
        fns.positionAt(f.entry + Math.floor((f.end - f.entry) / 2));
        fns.positionAt(f.end - 1);
        if (++n > 300) break;
      }
    },
  });

  const buildinfo = goFull.image.section('.go.buildinfo')?.data;
  if (buildinfo) {
    list.push({
      name: 'buildinfo',
      allowed: (e) => e instanceof GoBinaryError,
      seeds: [buildinfo],
      run: (b) => void readBuildInfo(withSection(goFull.image, '.go.buildinfo', b)),
    });
  }

  // runtime.waitReasonStrings: the [N]string array the symbol names, its headers overwritten by
  // the mutations (the names they point at stay in the real .rodata).
  const reasons = goFull.image.symbol?.('runtime.waitReasonStrings');
  const reasonBytes = reasons && goFull.image.readVirtual(reasons.addr, reasons.size);
  if (reasons && reasonBytes) {
    list.push({
      name: 'waitreasons',
      allowed: (e) => e instanceof GoBinaryError,
      seeds: [reasonBytes],
      run(b) {
        const image: BinaryImage = {
          ...goFull.image,
          symbol: (name) => (name === 'runtime.waitReasonStrings' ? { addr: reasons.addr, size: b.length } : undefined),
          readVirtual: (addr, len) =>
            addr >= reasons.addr && addr + len <= reasons.addr + b.length
              ? b.subarray(addr - reasons.addr, addr - reasons.addr + len)
              : goFull.image.readVirtual(addr, len),
        };
        waitReasonsFromBinary(image);
      },
    });
  }

  const program = sampleProgram();
  list.push({
    name: 'decoder',
    allowed: (e) => e instanceof AsmError,
    seeds: [program],
    run(b) {
      decodeInstructions(b, 'little');
      decodeInstructions(b, 'big');
      disassemble(b);
    },
  });
  const text = new TextEncoder().encode(disassemble(program));
  list.push({
    name: 'assembler',
    allowed: (e) => e instanceof AsmError,
    seeds: [text],
    run: (b) => void assemble(new TextDecoder().decode(b)),
  });

  // Netlink replies: real ones from the kernel (RTM_NEWLINK of lo) when we can ask; a synthetic ack otherwise.
  const netlinkSeeds = netlinkReplies();
  list.push({
    name: 'netlink',
    allowed: (e) => e instanceof NetlinkParseError,
    seeds: netlinkSeeds,
    run(b) {
      for (const m of splitMessages(b)) {
        if (m.type === 2 || m.type === 3) parseAcknowledgement(m);
        else if (m.type === 16) parseLinkMessage(m.payload);
        else parseTcMessage(m.payload);
      }
    },
  });

  // The object loader: a collection spec from mutated real BPF objects (maps, programs, BTF,
  // .BTF.ext, externs), and CO-RE relocations of each program against the kernel's BTF (or the
  // object's own when there is none), which reads type ids and access strings the input chose.
  const coreTarget = coreTargetBtf();
  list.push({
    name: 'loader',
    allowed: (e) => e instanceof LoaderError,
    seeds: bpfObjects().filter((b) => b[18] === 247 && parses(b)), // EM_BPF objects this loader takes
    run(b) {
      const spec = loadCollectionSpec(b, { name: 'fuzz.o' });
      for (const p of Object.values(spec.programs)) {
        if (p.coreRelocations.length === 0 || !spec.btf) continue;
        applyCoreRelocations(p.instructions, p.coreRelocations, spec.btf, coreTarget ?? spec.btf, { program: p.name });
      }
    },
  });

  // USDT: an executable with <sys/sdt.h> probes (compiled now when a C compiler is here), its
  // notes parsed and every probe's arguments encoded; and argument spec text on its own.
  const usdtElves = usdtExecutables();
  list.push({
    name: 'usdt',
    allowed: (e) => e instanceof ElfError,
    seeds: usdtElves,
    run(b) {
      for (const p of readUsdtProbes(ElfFile.parse(b))) if (!p.argsError) encodeUsdtSpec(p.args, 1n);
    },
  });
  const argTexts = ['-4@%eax 8@-1204(%rbp) 1@$-56 2@(%r12w) -8@16(%rsp)', '8@%rbp 8@%r12 -4@%eax', '8@[x0, 16] -4@w1 8@#5 8@[sp]'];
  list.push({
    name: 'usdt-args',
    allowed: (e) => e instanceof UsdtError,
    seeds: argTexts.map((t) => new TextEncoder().encode(t)),
    run(b) {
      const text = new TextDecoder().decode(b);
      // arm64 syntax has brackets and #; SIB addressing is refused by libbpf 1.1's layout (a UsdtError too).
      encodeUsdtSpec(parseUsdtArgs(text, /[[#]/.test(text) ? 'aarch64' : 'x86_64'), 0n);
    },
  });
  return list;
}

function parses(object: Uint8Array): boolean {
  try {
    loadCollectionSpec(object);
    return true;
  } catch {
    return false;
  }
}

function coreTargetBtf(): Btf | undefined {
  try {
    return parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  } catch {
    return undefined;
  }
}

function usdtExecutables(): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-usdt-'));
  try {
    writeFileSync(
      join(dir, 'p.c'),
      `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short p_a_semaphore __attribute__((section(".probes"))), p_b_semaphore __attribute__((section(".probes")));
int main(int argc, char **argv) { long x = argc; STAP_PROBE3(p, a, x, argc, 7); STAP_PROBE1(p, b, argv[0]); return 0; }`,
    );
    execFileSync('cc', ['-O1', '-o', join(dir, 'p'), join(dir, 'p.c')], { stdio: 'ignore' });
    return [new Uint8Array(readFileSync(join(dir, 'p')))];
  } catch {
    return [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function netlinkReplies(): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  try {
    const r = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
      import { NetlinkSocket } from ${JSON.stringify(resolve('src/syscall/index.ts'))};
      const s = new NetlinkSocket();
      const m = Buffer.alloc(32); m.writeUInt32LE(32, 0); m.writeUInt16LE(18, 4); m.writeUInt16LE(1 | 4, 6); m.writeInt32LE(1, 20);
      s.send(m); const a = s.receive();
      const bad = Buffer.alloc(32); bad.writeUInt32LE(32, 0); bad.writeUInt16LE(18, 4); bad.writeUInt16LE(1 | 4, 6); bad.writeInt32LE(0x7ffffff0, 20);
      s.send(bad); const b = s.receive(); s.close();
      console.log(a.toString('hex') + ' ' + b.toString('hex'));`,
      ],
      { encoding: 'utf8' },
    );
    for (const h of r.trim().split(' ')) seeds.push(new Uint8Array(Buffer.from(h, 'hex')));
  } catch {
    // Without a netlink socket (not Linux?), a hand-made error reply seeds the target.
  }
  if (seeds.length === 0) {
    const ack = Buffer.alloc(36);
    ack.writeUInt32LE(36, 0);
    ack.writeUInt16LE(2, 4);
    ack.writeInt32LE(-19, 16);
    seeds.push(new Uint8Array(ack));
  }
  return seeds;
}
