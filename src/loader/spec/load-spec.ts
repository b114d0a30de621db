// loadCollectionSpec: an object file's bytes in, a CollectionSpec out. Pure: no file system, no
// system calls; everything that depends on the running kernel happens in ../load.
import { BtfError, parseBtf, parseBtfExt, type Btf, type BtfExt } from '../../btf/index.js';
import { ElfError, ElfFile, type ElfSymbol } from '../../elf/index.js';
import { errorContext, LoaderError, type ErrorContext } from '../../errors/index.js';
import { rememberRecordStrings } from './record-strings.js';
import { readFunctions, isProgramSection, type ObjectFunction } from './functions.js';
import { kconfigLayout } from './kconfig.js';
import { ksymExterns } from './ksyms.js';
import { fixKsymsBtf } from './ksyms-btf.js';
import { btfMaps, dataMaps, DATA_SECTION, legacyMaps } from './maps.js';
import { finishObjectBtf } from './object-btf.js';
import { linkProgram, programLayout } from './program-linker.js';
import { structOpsMaps } from './struct-ops.js';
import { KNOWN_SECTION_PREFIXES, programKindOf, type ProgramKind } from './section-names.js';
import { SymbolIndex } from './symbol-index.js';
import type { CollectionSpec, KsymExtern, MapSpecEntry, ProgramSpecEntry } from './types.js';
import { VariableSpec } from './variables.js';
import { ProgramType } from '../../uapi/bpf.js';

/** Options of loadCollectionSpec. */
export interface CollectionSpecOptions {
  /** Name used in errors (a path, usually). */
  readonly name?: string;
}

const EM_BPF = 247;
const ET_REL = 1;
const STT_SECTION = 3;
const STT_OBJECT = 1;

/** Parses a BPF ELF object (relocatable, EM_BPF) into a CollectionSpec without touching the kernel. Edit the spec, then load it with loadCollection. */
export function loadCollectionSpec(bytes: Uint8Array, options: CollectionSpecOptions = {}): CollectionSpec {
  const name = options.name ?? 'BPF object';
  const err = errorContext(name);
  try {
    return parse(bytes, name, err);
  } catch (e) {
    if (e instanceof LoaderError) throw e;
    if (e instanceof ElfError) throw err(`malformed ELF: ${e.message}`, { section: e.section, offset: e.offset }, e);
    if (e instanceof BtfError) throw err(`malformed BTF: ${e.message}`, { section: '.BTF', offset: e.offset }, e);
    throw e;
  }
}

function parse(bytes: Uint8Array, name: string, err: ErrorContext): CollectionSpec {
  if (!(bytes instanceof Uint8Array)) throw err("expected the object file's bytes (a Uint8Array)");
  const elf = ElfFile.parse(bytes);
  if (elf.header.machine !== EM_BPF)
    throw err(`not a BPF object: ELF machine ${elf.header.machine}`, { hint: 'compile with clang -target bpf' });
  if (elf.header.type !== ET_REL)
    throw err(`not a relocatable object: ELF type ${elf.header.type}`, { hint: 'pass the .o clang -c produces' });
  const symbols = new SymbolIndex(elf.symbols());

  const rawBtf = readSection(elf, '.BTF', (d) => parseBtf(d), err);
  const license = cString(elf, 'license') ?? '';
  const version = readVersion(elf);

  // Global data and .kconfig layout first: the BTF fix-up needs their offsets.
  const kconfig = rawBtf ? kconfigLayout(rawBtf, symbols, err) : { externs: [], size: 0 };
  const kconfigOffsets = new Map<string, number>();
  for (const e of kconfig.externs) if (!kconfigOffsets.has(e.name)) kconfigOffsets.set(e.name, e.offset);
  const btf = rawBtf
    ? fixKsymsBtf(
        finishObjectBtf(rawBtf, {
          sectionSize: (section) => (section === '.kconfig' ? kconfig.size : elf.section(section)?.size),
          variableOffset: (section, variable) => {
            if (section === '.kconfig') return kconfigOffsets.get(variable);
            const sec = elf.section(section);
            if (sec === undefined) return undefined;
            for (const s of symbols.inSection(sec.index)) if (s.name === variable && s.type !== STT_SECTION) return s.value;
            return undefined;
          },
          hiddenFunction: (fn) => symbols.isHiddenFunction(fn),
        }),
      )
    : undefined;
  // .BTF.ext names strings of the BTF as compiled; type ids are the same in the finished one.
  const ext = rawBtf ? readSection(elf, '.BTF.ext', (d) => parseBtfExt(d, rawBtf), err) : undefined;
  // The finished BTF keeps the compiled one's strings where they were (fix-ups append only).
  if (btf && ext) rememberRecordStrings(btf, ext.stringOffsets);

  const maps: Record<string, MapSpecEntry> = {};
  const addMap = (m: MapSpecEntry, section: string): void => {
    if (maps[m.name]) throw err(`two maps are named ${m.name}`, { section, symbol: m.name });
    maps[m.name] = m;
  };
  for (const m of btfMaps(elf, btf, symbols, err)) addMap(m, '.maps');
  for (const m of legacyMaps(elf, symbols, err)) addMap(m, 'maps');
  for (const m of dataMaps(elf, btf, err)) addMap(m, m.section);
  for (const m of structOpsMaps(elf, btf, symbols, err)) addMap(m, m.section);
  if (kconfig.externs.length > 0) {
    addMap(
      {
        name: '.kconfig',
        section: '.kconfig',
        type: 2,
        keySize: 4,
        valueSize: Math.max(kconfig.size, 1),
        maxEntries: 1,
        flags: 1 << 7 /* BPF_F_RDONLY_PROG */,
        numaNode: undefined,
        mapExtra: undefined,
        pinning: 'none',
        btfKeyTypeId: 0,
        btfValueTypeId: btf?.findType('.kconfig', 'datasec')?.id ?? 0,
        innerMap: undefined,
        contents: { kind: 'data', bytes: new Uint8Array(Math.max(kconfig.size, 1)) },
        freeze: true,
      },
      '.kconfig',
    );
  }

  const ksyms = ksymExterns(rawBtf, symbols);
  const ksymsByName = new Map<string, KsymExtern>();
  for (const k of ksyms) if (!ksymsByName.has(k.name)) ksymsByName.set(k.name, k);
  const mapsIndex = new Set([elf.section('.maps')?.index, elf.section('maps')?.index]);
  const functions = readFunctions(
    elf,
    symbols,
    ext,
    {
      mapOf: (sym: ElfSymbol, addend: number) => {
        if (sym.type !== STT_SECTION) return maps[sym.name] && mapsIndex.has(sym.sectionIndex) ? sym.name : undefined;
        // Older compilers refer to legacy maps through the section symbol plus an offset.
        const at = sym.value + addend;
        for (const s of symbols.inSection(sym.sectionIndex)) if (s.type === STT_OBJECT && s.value === at) return s.name;
        return undefined;
      },
      kconfigOffset: (n) => kconfigOffsets.get(n),
      ksym: (n) => ksymsByName.get(n),
    },
    err,
  );

  const programs: Record<string, ProgramSpecEntry> = {};
  const called = new Set<string>();
  for (const f of functions.values()) for (const k of f.links.values()) called.add(k);
  // Every program's layout first, to know which functions more than one program includes.
  const entries: { f: ObjectFunction; kind: ProgramKind; layout: ObjectFunction[] }[] = [];
  const uses = new Map<ObjectFunction, number>();
  const seen = new Set<string>();
  for (const f of functions.values()) {
    if (f.section.name === '.text') continue;
    if (!f.global && called.has(f.key)) continue; // a static helper of its section, not a program
    const kind = programKindOf(f.section.name);
    if (!kind) {
      throw err('unknown program section name', {
        section: f.section.name,
        symbol: f.name,
        hint: `use one of the libbpf section prefixes: ${KNOWN_SECTION_PREFIXES.join(', ')}`,
      });
    }
    const layout = programLayout(f, functions, err);
    // (programs[...] as well: on the empty record it still finds what Object.prototype has, as before.)
    if (seen.has(f.name) || programs[f.name]) throw err(`two programs are named ${f.name}`, { section: f.section.name, symbol: f.name });
    seen.add(f.name);
    for (const g of layout) uses.set(g, (uses.get(g) ?? 0) + 1);
    entries.push({ f, kind, layout });
  }
  const shared = (g: ObjectFunction): boolean => uses.get(g)! > 1;
  for (const { f, kind, layout } of entries) {
    const linked = linkProgram(layout, functions, shared);
    programs[f.name] = {
      name: f.name,
      section: f.section.name,
      type: kind.type,
      expectedAttachType: kind.expectedAttachType,
      attachTo: kind.attachTo,
      btfTarget: kind.btfTarget,
      flags: kind.flags,
      license,
      kernelVersion: version,
      // Listed out rather than spread, in the LinkedProgram's order.
      instructions: linked.instructions,
      funcInfos: linked.funcInfos,
      lineInfos: linked.lineInfos,
      coreRelocations: linked.coreRelocations,
    };
  }
  checkReferences(programs, maps, err);

  const variables: Record<string, VariableSpec> = {};
  for (const m of Object.values(maps)) {
    if (m.contents?.kind !== 'data' || m.name === '.kconfig') continue;
    const sec = elf.section(m.section);
    const datasec = btf?.findType(m.section, 'datasec');
    if (datasec && btf) {
      for (const v of datasec.vars) {
        const varName = btf.nameOf(v.type);
        const varType = btf.typeById(v.type);
        variables[varName] = new VariableSpec(varName, m.section, v.offset, v.size, varType.kind === 'var' ? varType.type : 0, m, btf);
      }
    } else if (sec) {
      for (const s of symbols.inSection(sec.index)) {
        if (s.type === STT_OBJECT && s.name !== '') {
          variables[s.name] = new VariableSpec(s.name, m.section, s.value, s.size, 0, m, undefined);
        }
      }
    }
  }
  void DATA_SECTION;
  void isProgramSection;
  return {
    name,
    programs,
    maps,
    variables,
    kconfig: kconfig.externs,
    ksyms,
    btf,
    license,
    version,
    littleEndian: elf.header.byteOrder === 'little',
  };
}

function checkReferences(programs: Record<string, ProgramSpecEntry>, maps: Record<string, MapSpecEntry>, err: ErrorContext): void {
  for (const m of Object.values(maps)) {
    if (m.contents?.kind === 'programs') {
      for (const [i, p] of m.contents.slots) {
        if (!programs[p])
          throw err(`program array slot ${i} names ${p}, which is not a program of this object`, { section: '.maps', symbol: m.name });
      }
    }
    if (m.contents?.kind === 'maps') {
      for (const [i, inner] of m.contents.slots) {
        if (!maps[inner])
          throw err(`map-of-maps slot ${i} names ${inner}, which is not a map of this object`, { section: '.maps', symbol: m.name });
      }
    }
  }
  for (const m of Object.values(maps)) {
    if (m.contents?.kind !== 'struct_ops') continue;
    for (const member of m.contents.members) {
      const p = member.program === undefined ? undefined : programs[member.program];
      if (member.program !== undefined && p?.type !== ProgramType.STRUCT_OPS) {
        throw err(`${m.name}.${member.name} names ${member.program}, which is not a struct_ops program of this object`, {
          section: m.section,
          symbol: m.name,
          hint: 'put the function in a SEC("struct_ops/<name>") section',
        });
      }
    }
  }
  for (const p of Object.values(programs)) {
    const insns = p.instructions;
    for (let i = 0; i < insns.length; i++) {
      const insn = insns[i]!; // i < insns.length
      if (insn.opcode === 0x18 && (insn.src === 1 || insn.src === 2) && insn.reference !== undefined && !maps[insn.reference]) {
        throw err(`instruction ${i} references map ${insn.reference}, which is not defined`, { section: p.section, symbol: p.name });
      }
    }
  }
}

function readSection<T>(elf: ElfFile, section: string, parse: (d: Uint8Array) => T, err: ErrorContext): T | undefined {
  if (!elf.section(section)) return undefined;
  try {
    return parse(elf.sectionData(section));
  } catch (e) {
    if (e instanceof BtfError) throw err(e.message, { section, offset: e.offset }, e);
    throw e;
  }
}

function cString(elf: ElfFile, section: string): string | undefined {
  if (!elf.section(section)) return undefined;
  const data = elf.sectionData(section);
  const end = data.indexOf(0);
  return utf8.decode(data.subarray(0, end < 0 ? data.length : end));
}

/** One decoder for every parse: constructing one costs more than the license string's decoding. */
const utf8 = new TextDecoder();

function readVersion(elf: ElfFile): number {
  if (!elf.section('version')) return 0;
  const data = elf.sectionData('version');
  if (data.length < 4) return 0;
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, elf.header.byteOrder === 'little');
}

export type { Btf, BtfExt };
