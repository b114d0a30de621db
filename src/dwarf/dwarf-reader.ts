import { parseAbbrevTable, type AbbrevTable } from './abbrev.js';
import type { AttributeValue } from './attribute-value.js';
import { ByteCursor, stringAt } from './byte-cursor.js';
import { DW_AT, DW_FORM, DW_TAG } from './constants.js';
import { findAttribute, type Die } from './die.js';
import { DwarfError } from './errors.js';
import { readFormValue } from './form-reader.js';
import { skipFormValue } from './form-skip.js';
import { hashCString, hashName, hashStringAt } from './name-hash.js';
import type { DwarfSections } from './sections.js';
import { readUnitHeader, type UnitHeader } from './unit-header.js';

interface UnitBases {
  strOffsetsBase: number;
  addrBase: number;
}

/** A DIE found by a walk, with its nesting depth below the unit's root (the root is 0). */
export interface WalkEntry {
  die: Die;
  depth: number;
}

/**
 * Reads .debug_info lazily: unit headers are scanned on first use, DIEs are decoded only when a
 * walk, a children() call or a reference reaches them. Every loop advances through the section,
 * so lying or cyclic data ends in a DwarfError or a finite answer, never a hang.
 */
export class DwarfReader {
  private readonly littleEndian: boolean;
  private unitList: UnitHeader[] | undefined;
  private readonly abbrevTables = new Map<number, AbbrevTable>();
  private readonly bases = new Map<number, UnitBases>();
  // Top-level DIE offsets by the hash of their name's bytes (hashName): filled unit by unit.
  private readonly nameIndex = new Map<number, number[]>();
  private unitsIndexed = 0;

  /** A reader over the DWARF sections of one file. */
  constructor(readonly sections: DwarfSections) {
    this.littleEndian = sections.littleEndian ?? true;
  }

  /** All units of .debug_info, in section order. */
  units(): readonly UnitHeader[] {
    if (this.unitList) return this.unitList;
    const list: UnitHeader[] = [];
    let offset = 0;
    const info = this.sections.info;
    while (offset < info.length) {
      const header = readUnitHeader(info, offset, this.littleEndian);
      list.push(header);
      offset = header.end;
    }
    this.unitList = list;
    return list;
  }

  /** The unit whose bytes contain `offset`, found by binary search. */
  unitContaining(offset: number): UnitHeader {
    const units = this.units();
    let lo = 0;
    let hi = units.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = units[mid]!; // lo <= mid <= hi < units.length
      if (offset < u.offset) hi = mid - 1;
      else if (offset >= u.end) lo = mid + 1;
      else {
        if (offset < u.dieOffset) throw new DwarfError('offset points into a unit header, not at a DIE', '.debug_info', offset);
        return u;
      }
    }
    throw new DwarfError('offset is outside every unit', '.debug_info', offset);
  }

  /** The abbreviation table of `unit`, parsed once and cached. */
  abbrevs(unit: UnitHeader): AbbrevTable {
    let table = this.abbrevTables.get(unit.abbrevOffset);
    if (!table) {
      table = parseAbbrevTable(this.sections.abbrev, unit.abbrevOffset);
      this.abbrevTables.set(unit.abbrevOffset, table);
    }
    return table;
  }

  private cursor(unit: UnitHeader, offset: number): ByteCursor {
    return new ByteCursor(this.sections.info, '.debug_info', offset, this.littleEndian, unit.end);
  }

  /** Decodes the DIE at the cursor; returns null for a null entry (the end of a sibling list). */
  private readDie(c: ByteCursor, unit: UnitHeader, table: AbbrevTable): Die | null {
    const offset = c.offset;
    const code = c.uleb();
    if (code === 0) return null;
    const abbrev = table.get(code);
    if (!abbrev) throw c.error(`abbreviation code ${code} not in the table at .debug_abbrev+0x${unit.abbrevOffset.toString(16)}`, offset);
    const attributes = abbrev.attributes.map((spec) => ({
      at: spec.at,
      form: spec.form,
      value: readFormValue(c, spec.form, unit, spec.implicitConst),
    }));
    return { offset, unit, tag: abbrev.tag, hasChildren: abbrev.hasChildren, attributes, attributesEnd: c.offset };
  }

  /** The DIE at an absolute .debug_info offset. */
  dieAt(offset: number): Die {
    const unit = this.unitContaining(offset);
    const die = this.readDie(this.cursor(unit, offset), unit, this.abbrevs(unit));
    if (!die) throw new DwarfError('offset points at a null entry, not a DIE', '.debug_info', offset);
    return die;
  }

  /** The unit's first DIE (DW_TAG_compile_unit or similar). */
  root(unit: UnitHeader): Die {
    if (unit.dieOffset >= unit.end) throw new DwarfError('unit has no DIEs', '.debug_info', unit.offset);
    return this.dieAt(unit.dieOffset);
  }

  /** All DIEs of a unit in order, with their depth; decodes as it goes. */
  *walk(unit: UnitHeader): Generator<WalkEntry> {
    const table = this.abbrevs(unit);
    const c = this.cursor(unit, unit.dieOffset);
    let depth = 0;
    while (c.offset < unit.end) {
      const die = this.readDie(c, unit, table);
      if (!die) {
        // Null entries past the root's children are padding; do not go negative.
        if (depth > 0) depth--;
        continue;
      }
      yield { die, depth };
      if (die.hasChildren) depth++;
    }
  }

  /** Where the entries following `die` and its whole subtree start. */
  private afterSubtree(die: Die, c: ByteCursor, table: AbbrevTable): number {
    if (!die.hasChildren) return die.attributesEnd;
    const sibling = findAttribute(die, DW_AT.sibling)?.value;
    // Trust DW_AT_sibling only when it moves forward inside the unit.
    if (sibling?.kind === 'reference' && sibling.offset > die.attributesEnd && sibling.offset <= die.unit.end) {
      return sibling.offset;
    }
    c.offset = die.attributesEnd;
    let depth = 1;
    while (depth > 0 && c.offset < die.unit.end) {
      const child = this.readDie(c, die.unit, table);
      if (!child) depth--;
      else if (child.hasChildren) depth++;
    }
    return c.offset;
  }

  /** The direct children of `die`, decoded; grandchildren are skipped without keeping them. */
  children(die: Die): Die[] {
    if (!die.hasChildren) return [];
    const unit = die.unit;
    const table = this.abbrevs(unit);
    const c = this.cursor(unit, die.attributesEnd);
    const out: Die[] = [];
    while (c.offset < unit.end) {
      const child = this.readDie(c, unit, table);
      if (!child) break;
      out.push(child);
      c.offset = this.afterSubtree(child, c, table);
    }
    return out;
  }

  private unitBases(unit: UnitHeader): UnitBases {
    let b = this.bases.get(unit.offset);
    if (!b) {
      const root = this.root(unit);
      // DWARF 5 bases point past the contribution header; without the attribute, assume the
      // first contribution (header 8 bytes in 32-bit DWARF, 16 in 64-bit).
      const fallback = unit.version >= 5 ? 2 * unit.offsetSize : 0;
      const so = findAttribute(root, DW_AT.str_offsets_base)?.value;
      const ab = findAttribute(root, DW_AT.addr_base)?.value ?? findAttribute(root, DW_AT.GNU_addr_base)?.value;
      b = {
        strOffsetsBase: so?.kind === 'secOffset' ? so.offset : fallback,
        addrBase: ab?.kind === 'secOffset' ? ab.offset : fallback,
      };
      this.bases.set(unit.offset, b);
    }
    return b;
  }

  private requireSection(bytes: Uint8Array | undefined, name: string, unit: UnitHeader): Uint8Array {
    if (!bytes) throw new DwarfError(`a form needs ${name}, which was not provided`, '.debug_info', unit.offset);
    return bytes;
  }

  /** Resolves a string-class value; undefined when it is not a string or lives in another file. */
  stringOf(value: AttributeValue, unit: UnitHeader): string | undefined {
    switch (value.kind) {
      case 'string':
        return value.value;
      case 'strp':
        return stringAt(this.requireSection(this.sections.str, '.debug_str', unit), '.debug_str', value.offset);
      case 'lineStrp':
        return stringAt(this.requireSection(this.sections.lineStr, '.debug_line_str', unit), '.debug_line_str', value.offset);
      case 'strx': {
        const table = this.requireSection(this.sections.strOffsets, '.debug_str_offsets', unit);
        const at = this.unitBases(unit).strOffsetsBase + value.index * unit.offsetSize;
        const c = new ByteCursor(table, '.debug_str_offsets', at, this.littleEndian);
        if (at < 0 || at > table.length) throw c.error(`string index ${value.index} outside the section`);
        const offset = c.uN(unit.offsetSize);
        return stringAt(this.requireSection(this.sections.str, '.debug_str', unit), '.debug_str', offset);
      }
      default:
        return undefined;
    }
  }

  /** Resolves an address-class value (DW_FORM_addr or an index into .debug_addr). */
  addressOf(value: AttributeValue, unit: UnitHeader): bigint | undefined {
    if (value.kind === 'address') return value.value;
    if (value.kind !== 'addressIndex') return undefined;
    const table = this.requireSection(this.sections.addr, '.debug_addr', unit);
    const at = this.unitBases(unit).addrBase + value.index * unit.addressSize;
    const c = new ByteCursor(table, '.debug_addr', at, this.littleEndian);
    if (at < 0 || at > table.length) throw c.error(`address index ${value.index} outside the section`);
    return c.address(unit.addressSize);
  }

  /** The raw value of attribute `at` (a DW_AT code) of `die`, if present. */
  attribute(die: Die, at: number): AttributeValue | undefined {
    return findAttribute(die, at)?.value;
  }

  /** Attribute `at` of `die` as a string, if present and string-valued. */
  stringAttribute(die: Die, at: number): string | undefined {
    const v = findAttribute(die, at)?.value;
    return v ? this.stringOf(v, die.unit) : undefined;
  }

  /** The DW_AT_name of `die`, if any. */
  name(die: Die): string | undefined {
    return this.stringAttribute(die, DW_AT.name);
  }

  /** A constant-class attribute as bigint; sdata and implicit_const come back signed. */
  constantAttribute(die: Die, at: number): bigint | undefined {
    const v = findAttribute(die, at)?.value;
    return v?.kind === 'constant' ? v.value : undefined;
  }

  /** Follows a reference attribute (e.g. DW_AT_type) to its DIE; undefined for none or another file. */
  referencedDie(die: Die, at: number): Die | undefined {
    const v = findAttribute(die, at)?.value;
    if (v?.kind !== 'reference') return undefined;
    return this.dieAt(v.offset);
  }

  /**
   * Indexes the names of the next unit's top-level DIEs (and those inside namespaces). Only the
   * DW_AT_name values are looked at, hashed as bytes (nameHash); every other value is stepped over
   * by its form's size (skipFormValue) without decoding it: no DIE object and no string is made
   * for the thousands of DIEs a lookup passes by.
   */
  private indexNextUnit(): boolean {
    const units = this.units();
    const unit = units[this.unitsIndexed];
    if (unit === undefined) return false;
    this.unitsIndexed++;
    const table = this.abbrevs(unit);
    const info = this.sections.info;
    const end = unit.end;
    const littleEndian = this.littleEndian;
    // Types and globals sit at depth 1; C++-style namespaces nest them deeper, so look inside those.
    // namespaceAt[d]: whether the last DIE with children at depth d, the parent of what follows at
    // d + 1, is a visible namespace.
    const namespaceAt: boolean[] = [];
    let depth = 0;
    let at = unit.dieOffset;
    while (at < end) {
      const dieOffset = at;
      let code = 0;
      let mult = 1;
      for (let i = 0; ; i++) {
        if (at >= end || i >= 10) throw new DwarfError('abbreviation code runs past the end of its unit', '.debug_info', dieOffset);
        const b = info[at++]!; // at < end <= length
        code += (b & 0x7f) * mult;
        if ((b & 0x80) === 0) break;
        mult *= 128;
      }
      if (code === 0) {
        // Null entries past the root's children are padding; do not go negative.
        if (depth > 0) depth--;
        continue;
      }
      const abbrev = table.get(code);
      if (!abbrev) {
        throw new DwarfError(
          `abbreviation code ${code} not in the table at .debug_abbrev+0x${unit.abbrevOffset.toString(16)}`,
          '.debug_info',
          dieOffset,
        );
      }
      const visible = depth === 1 || (depth > 1 && namespaceAt[depth - 1] === true);
      for (const spec of abbrev.attributes) {
        if (visible && spec.at === DW_AT.name) {
          const hash = this.nameHash(spec.form, at, unit);
          if (hash !== undefined) {
            const list = this.nameIndex.get(hash);
            if (list) list.push(dieOffset);
            else this.nameIndex.set(hash, [dieOffset]);
          }
        }
        at = skipFormValue(info, at, end, spec.form, unit, littleEndian);
      }
      if (abbrev.hasChildren) {
        namespaceAt[depth] = visible && abbrev.tag === DW_TAG.namespace;
        depth++;
      }
    }
    return true;
  }

  /**
   * The hash (hashName) of the string-class value of `form` at `at`, read where it lives, or
   * undefined for a form that is no string this reader resolves (as stringOf).
   */
  private nameHash(form: number, at: number, unit: UnitHeader, depth = 0): number | undefined {
    const info = this.sections.info;
    switch (form) {
      case DW_FORM.indirect: {
        // The form is in the data, as readFormValue reads it (whose cap on chains applies too).
        if (depth >= 4) return undefined;
        const c = new ByteCursor(info, '.debug_info', at, this.littleEndian, unit.end);
        const actual = c.uleb();
        return this.nameHash(actual, c.offset, unit, depth + 1);
      }
      case DW_FORM.string:
        return hashCString(info, at, unit.end, '.debug_info');
      case DW_FORM.strp:
      case DW_FORM.line_strp: {
        const name = form === DW_FORM.strp ? '.debug_str' : '.debug_line_str';
        const section = this.requireSection(form === DW_FORM.strp ? this.sections.str : this.sections.lineStr, name, unit);
        const offset = new ByteCursor(info, '.debug_info', at, this.littleEndian, unit.end).uN(unit.offsetSize);
        return hashStringAt(section, name, offset);
      }
      case DW_FORM.strx:
      case DW_FORM.GNU_str_index:
      case DW_FORM.strx1:
      case DW_FORM.strx2:
      case DW_FORM.strx3:
      case DW_FORM.strx4: {
        const value = readFormValue(new ByteCursor(info, '.debug_info', at, this.littleEndian, unit.end), form, unit);
        if (value.kind !== 'strx') return undefined;
        const table = this.requireSection(this.sections.strOffsets, '.debug_str_offsets', unit);
        const where = this.unitBases(unit).strOffsetsBase + value.index * unit.offsetSize;
        const c = new ByteCursor(table, '.debug_str_offsets', where, this.littleEndian);
        if (where < 0 || where > table.length) throw c.error(`string index ${value.index} outside the section`);
        return hashStringAt(this.requireSection(this.sections.str, '.debug_str', unit), '.debug_str', c.uN(unit.offsetSize));
      }
      default:
        return undefined;
    }
  }

  /**
   * The first top-level DIE named `name` for which `accept` holds. Units are indexed one at a
   * time and only as far as needed, so a hit in an early unit does not decode the rest.
   */
  findNamed(name: string, accept: (die: Die) => boolean = () => true): Die | undefined {
    const hash = hashName(name);
    let checked = 0;
    for (;;) {
      const list = this.nameIndex.get(hash) ?? [];
      for (; checked < list.length; checked++) {
        const die = this.dieAt(list[checked]!); // checked < list.length
        // The index holds hashes: a DIE whose name only shares the hash is passed by here.
        if (this.name(die) === name && accept(die)) return die;
      }
      if (!this.indexNextUnit()) return undefined;
    }
  }

  /** Every top-level DIE named `name` (indexes all units). */
  allNamed(name: string): Die[] {
    while (this.indexNextUnit()) {
      // Index everything.
    }
    return (this.nameIndex.get(hashName(name)) ?? []).map((o) => this.dieAt(o)).filter((d) => this.name(d) === name);
  }
}
