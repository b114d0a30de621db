// Public surface of the DWARF reader: bytes of the .debug_* sections in, types and layouts out.
export { DwarfError } from './errors.js';
export type { DwarfSections } from './sections.js';
export { DwarfReader, type WalkEntry } from './dwarf-reader.js';
export type { Die } from './die.js';
export type { Attribute, AttributeValue } from './attribute-value.js';
export type { UnitHeader } from './unit-header.js';
export type { Abbrev, AbbrevAttribute, AbbrevTable } from './abbrev.js';
export { parseAbbrevTable } from './abbrev.js';
export { readUnitHeader } from './unit-header.js';
export { DW_AT, DW_FORM, DW_OP, DW_TAG, DW_UT } from './constants.js';
export { evaluateMemberLocation } from './location-expression.js';
export { findStruct, membersOf, structMembers, structMemberOffset, typeSize, type StructMember } from './struct-layout.js';
export { findType, sizeOfType, typeName, stripTypedefs, arrayDimensions } from './type-resolution.js';
export { inflateZdebug, inflateElfCompressed, type CompressedSectionOptions } from './decompress.js';
