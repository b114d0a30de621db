// Map definitions of an object: BTF-defined maps in ".maps", legacy struct bpf_map_def records in
// "maps", and one single-element array per global data section.
import type { Btf, StructType } from '../../btf/index.js';
import type { ElfFile, ElfSection } from '../../elf/index.js';
import { MapFlags, MapType } from '../../uapi/bpf.js';
import type { ErrorContext } from '../../errors/index.js';
import type { SymbolIndex } from './symbol-index.js';
import type { MapSpecEntry } from './types.js';

const LEGACY_MAP_FIELDS = ['type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'inner_map_idx', 'numa_node'] as const;
const PIN_BY_NAME = 1;
/** The global data sections: ".data", ".rodata", ".bss" and custom ".data.*" / ".rodata.*". */
export const DATA_SECTION = /^\.(data|rodata|bss)(\..+)?$/;
const R_BPF_64_ABS64 = 2;

function newMap(name: string, section: string, type: number): MapSpecEntry {
  return {
    name,
    section,
    type: type as MapType,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: undefined,
    mapExtra: undefined,
    pinning: 'none',
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    innerMap: undefined,
    contents: undefined,
    freeze: false,
  };
}

/** Legacy "maps" section: consecutive struct bpf_map_def records, one per symbol. */
export function legacyMaps(elf: ElfFile, symbols: SymbolIndex, err: ErrorContext): MapSpecEntry[] {
  const section = elf.section('maps');
  if (!section) return [];
  const data = elf.sectionData(section);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = elf.header.byteOrder === 'little';
  const defs = symbols.inSection(section.index).filter((s) => s.name !== '' && s.type !== 3 /* STT_SECTION */);
  const out: MapSpecEntry[] = [];
  for (const sym of defs) {
    const size = sym.size || 20;
    if (size < 16 || sym.value + size > data.length) {
      throw err(`legacy map definition of ${size} bytes at ${sym.value} does not fit the section`, {
        section: 'maps',
        symbol: sym.name,
        offset: sym.value,
      });
    }
    const field = (i: number): number => (i * 4 + 4 <= size ? view.getUint32(sym.value + i * 4, le) : 0);
    // Bytes past the fields this loader knows would be settings it ignores: refused, as cilium does.
    for (let at = LEGACY_MAP_FIELDS.length * 4; at < size; at++) {
      if (data[sym.value + at] !== 0) {
        throw err(`legacy map definition has non-zero bytes past its known fields (byte ${at} of ${size})`, {
          section: 'maps',
          symbol: sym.name,
          offset: sym.value + at,
          hint: `known fields: ${LEGACY_MAP_FIELDS.join(', ')}; use a BTF map definition in ".maps" for anything else`,
        });
      }
    }
    const m = newMap(sym.name, 'maps', field(0));
    m.keySize = field(1);
    m.valueSize = field(2);
    m.maxEntries = field(3);
    m.flags = field(4);
    if (size >= LEGACY_MAP_FIELDS.length * 4 && field(6) !== 0) m.numaNode = field(6);
    out.push(m);
  }
  return out;
}

/** Reads `int (*name)[N]` members: the number is the array's length. */
function arrayLength(btf: Btf, typeId: number): number | undefined {
  const ptr = btf.resolve(typeId);
  if (ptr.kind !== 'ptr') return undefined;
  const arr = btf.resolve(ptr.type);
  return arr.kind === 'array' ? arr.length : undefined;
}

/** BTF-defined maps: the VARs of DATASEC ".maps", each a struct of __uint/__type/__array members. */
export function btfMaps(elf: ElfFile, btf: Btf | undefined, symbols: SymbolIndex, err: ErrorContext): MapSpecEntry[] {
  const section = elf.section('.maps');
  if (!section) return [];
  if (!btf)
    throw err('the object has a .maps section but no .BTF to describe it', {
      section: '.maps',
      hint: 'compile with -g so clang emits BTF',
    });
  const datasec = btf.findType('.maps', 'datasec');
  if (!datasec) throw err('no DATASEC ".maps" in the object\'s BTF', { section: '.BTF' });
  const out: MapSpecEntry[] = [];
  const bySymbolOffset = new Map<number, MapSpecEntry>();
  for (const v of datasec.vars) {
    const name = btf.nameOf(v.type);
    const variable = btf.typeById(v.type);
    if (variable.kind !== 'var') throw err(`.maps entry ${v.type} is a ${variable.kind}, not a variable`, { section: '.BTF' });
    const def = btf.resolve(variable.type);
    if (def.kind !== 'struct') throw err(`map definition is a ${def.kind}, not a struct`, { section: '.maps', symbol: name });
    const map = mapFromDefinition(btf, name, def, err);
    out.push(map);
    const sym = symbols.inSection(section.index).find((s) => s.name === name);
    if (sym) bySymbolOffset.set(sym.value, map);
  }
  initialSlots(elf, section, btf, symbols, bySymbolOffset, err);
  return out;
}

function memberNumber(btf: Btf, m: StructType['members'][number], name: string, err: ErrorContext): number {
  const n = arrayLength(btf, m.type);
  if (n === undefined) throw err(`map member "${m.name}" must be declared with __uint(${m.name}, N)`, { section: '.maps', symbol: name });
  return n;
}

function memberPointee(btf: Btf, m: StructType['members'][number], name: string, err: ErrorContext): number {
  const p = btf.resolve(m.type);
  if (p.kind !== 'ptr') throw err(`map member "${m.name}" must be declared with __type(${m.name}, T)`, { section: '.maps', symbol: name });
  return p.type;
}

function mapFromDefinition(btf: Btf, name: string, def: StructType, err: ErrorContext): MapSpecEntry {
  const map = newMap(name, '.maps', 0);
  let haveType = false;
  for (const m of def.members) {
    // (Functions of the module rather than two closures per member: those cost more than the rest.)
    switch (m.name) {
      case 'type':
        map.type = memberNumber(btf, m, name, err) as MapType;
        haveType = true;
        break;
      case 'max_entries':
        map.maxEntries = memberNumber(btf, m, name, err);
        break;
      case 'map_flags':
        map.flags = memberNumber(btf, m, name, err);
        break;
      case 'numa_node':
        map.numaNode = memberNumber(btf, m, name, err);
        break;
      case 'map_extra':
        map.mapExtra = BigInt(memberNumber(btf, m, name, err));
        break;
      case 'key_size':
        map.keySize = memberNumber(btf, m, name, err);
        break;
      case 'value_size':
        map.valueSize = memberNumber(btf, m, name, err);
        break;
      case 'pinning': {
        const p = memberNumber(btf, m, name, err);
        if (p !== 0 && p !== PIN_BY_NAME)
          throw err(`pinning ${p} is not supported (only LIBBPF_PIN_BY_NAME)`, { section: '.maps', symbol: name });
        map.pinning = p === PIN_BY_NAME ? 'by-name' : 'none';
        break;
      }
      case 'key': {
        const id = memberPointee(btf, m, name, err);
        map.btfKeyTypeId = id;
        map.keySize = btf.sizeOf(id);
        break;
      }
      case 'value': {
        const id = memberPointee(btf, m, name, err);
        map.btfValueTypeId = id;
        map.valueSize = btf.sizeOf(id);
        break;
      }
      case 'values': {
        // __array(values, T): a flexible array of pointers; T is the inner map's definition for
        // maps of maps, a function prototype for program arrays.
        const arr = btf.resolve(m.type);
        if (arr.kind !== 'array')
          throw err('map member "values" must be declared with __array(values, T)', { section: '.maps', symbol: name });
        const element = btf.resolve(arr.type);
        if (element.kind !== 'ptr') throw err('"values" must be an array of pointers', { section: '.maps', symbol: name });
        const target = btf.resolve(element.type);
        if (target.kind === 'struct') map.innerMap = mapFromDefinition(btf, `${name}.inner`, target, err);
        map.valueSize = 4;
        break;
      }
      default:
        throw err(`unknown map definition member "${m.name}"`, {
          section: '.maps',
          symbol: name,
          hint: 'known: type, key, value, key_size, value_size, max_entries, map_flags, numa_node, map_extra, pinning, values',
        });
    }
  }
  if (!haveType) throw err('map definition has no type', { section: '.maps', symbol: name });
  if (map.type === MapType.ARRAY_OF_MAPS || map.type === MapType.HASH_OF_MAPS) {
    map.valueSize = 4;
    if (map.keySize === 0) map.keySize = 4;
    if (!map.innerMap)
      throw err('a map of maps needs __array(values, struct {...}) to describe its inner map', { section: '.maps', symbol: name });
  }
  return map;
}

/** ".rel.maps": `values = { [i] = &prog_or_map }` initialisers of program arrays and maps of maps. */
function initialSlots(
  elf: ElfFile,
  mapsSection: ElfSection,
  btf: Btf,
  symbols: SymbolIndex,
  byOffset: Map<number, MapSpecEntry>,
  err: ErrorContext,
): void {
  const slots = new Map<MapSpecEntry, Map<number, string>>();
  for (const rel of elf.relocationSectionsFor(mapsSection)) {
    for (const r of elf.relocations(rel)) {
      if (r.type !== R_BPF_64_ABS64)
        throw err(`relocation type ${r.type} in .maps is not R_BPF_64_ABS64`, { section: rel.name, offset: r.offset });
      let owner: MapSpecEntry | undefined;
      let start = 0;
      for (const [offset, map] of byOffset) {
        if (offset <= r.offset && offset >= start) {
          owner = map;
          start = offset;
        }
      }
      if (!owner || !r.symbol) throw err('relocation in .maps points at no map definition', { section: rel.name, offset: r.offset });
      const def = btf.resolve((btf.findType(owner.name, 'var') ?? { type: 0 }).type);
      const values = def.kind === 'struct' ? def.members.find((m) => m.name === 'values') : undefined;
      if (!values)
        throw err(`map ${owner.name} is initialised but has no "values" member`, {
          section: '.maps',
          symbol: owner.name,
          offset: r.offset,
        });
      const index = (r.offset - start - values.bitOffset / 8) / 8;
      if (!Number.isInteger(index) || index < 0)
        throw err('misaligned "values" initialiser', { section: '.maps', symbol: owner.name, offset: r.offset });
      const list = slots.get(owner) ?? new Map<number, string>();
      list.set(index, r.symbol.name);
      slots.set(owner, list);
    }
  }
  for (const [map, list] of slots) {
    map.contents = map.type === MapType.PROG_ARRAY ? { kind: 'programs', slots: list } : { kind: 'maps', slots: list };
    if (map.type !== MapType.PROG_ARRAY && map.type !== MapType.ARRAY_OF_MAPS && map.type !== MapType.HASH_OF_MAPS) {
      throw err(`map ${map.name} has initial values but is neither a program array nor a map of maps`, {
        section: '.maps',
        symbol: map.name,
      });
    }
  }
  void symbols;
}

/**
 * The largest .bss this loader allocates. A NOBITS section's size is not bounded by the file, so a
 * corrupt one could ask for any amount of memory; no kernel takes an array value this big anyway
 * (KMALLOC_MAX_SIZE: 4 MiB with 4 KiB pages, 512 MiB with 64 KiB ones).
 */
const MAX_NOBITS_SIZE = 512 << 20;

/** One array map per global data section, its single value the section's bytes. */
export function dataMaps(elf: ElfFile, btf: Btf | undefined, err?: ErrorContext): MapSpecEntry[] {
  const out: MapSpecEntry[] = [];
  for (const s of elf.sections) {
    if ((s.flags & 0x2) === 0 /* SHF_ALLOC */ || !DATA_SECTION.test(s.name)) continue;
    if (s.type === 8 /* SHT_NOBITS */ && s.size > MAX_NOBITS_SIZE) {
      const e = err ?? ((message: string) => new Error(message));
      throw e(`${s.name} claims ${s.size} bytes, more than any map value can hold`, { section: s.name, hint: 'the object is corrupt' });
    }
    const m = newMap(s.name, s.name, MapType.ARRAY);
    const readonly = s.name.startsWith('.rodata');
    // Read first: the file bounds what a section with contents may claim.
    const bytes = s.type !== 8 /* SHT_NOBITS */ ? Uint8Array.from(elf.sectionData(s)) : new Uint8Array(s.size);
    m.keySize = 4;
    m.valueSize = Math.max(s.size, 1);
    m.maxEntries = 1;
    m.flags = readonly ? MapFlags.RDONLY_PROG : 0;
    m.btfValueTypeId = btf?.findType(s.name, 'datasec')?.id ?? 0;
    m.contents = { kind: 'data', bytes: s.size === 0 ? new Uint8Array(1) : bytes };
    out.push({ ...m, freeze: readonly });
  }
  return out;
}
