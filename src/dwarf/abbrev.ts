import { ByteCursor } from './byte-cursor.js';
import { DW_FORM } from './constants.js';
import { DwarfError } from './errors.js';

/** One attribute specification of an abbreviation: its DW_AT name and DW_FORM. */
export interface AbbrevAttribute {
  at: number;
  form: number;
  /** Only for DW_FORM_implicit_const: the value lives in the abbreviation, not in the DIE. */
  implicitConst?: bigint;
}

/** One .debug_abbrev entry: the DW_TAG, whether DIEs using it have children, and their attributes. */
export interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  attributes: AbbrevAttribute[];
}

/** An abbreviation table, keyed by abbreviation code. */
export type AbbrevTable = Map<number, Abbrev>;

// Abbreviation codes in practice stay small; a cap keeps a lying table from building huge maps.
const MAX_ABBREVS = 1 << 20;

/** Parses the abbreviation table starting at `offset` of .debug_abbrev, up to its 0 code. */
export function parseAbbrevTable(section: Uint8Array, offset: number): AbbrevTable {
  if (!Number.isInteger(offset) || offset < 0 || offset >= section.length) {
    throw new DwarfError(`abbreviation table offset outside the section (size 0x${section.length.toString(16)})`, '.debug_abbrev', offset);
  }
  const c = new ByteCursor(section, '.debug_abbrev', offset);
  const table: AbbrevTable = new Map();
  for (;;) {
    const at = c.offset;
    const code = c.uleb();
    if (code === 0) return table;
    if (table.size >= MAX_ABBREVS) throw c.error(`more than ${MAX_ABBREVS} abbreviations`, at);
    const tag = c.uleb();
    const children = c.u8();
    if (children > 1) throw c.error(`children flag ${children} is neither 0 nor 1`, at);
    const attributes: AbbrevAttribute[] = [];
    for (;;) {
      const name = c.uleb();
      const form = c.uleb();
      if (name === 0 && form === 0) break;
      if (form === DW_FORM.implicit_const) attributes.push({ at: name, form, implicitConst: c.slebBig() });
      else attributes.push({ at: name, form });
    }
    // First definition wins, as for a lookup that stops at the first match.
    if (!table.has(code)) table.set(code, { code, tag, hasChildren: children === 1, attributes });
  }
}
