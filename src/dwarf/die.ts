import type { Attribute } from './attribute-value.js';
import type { UnitHeader } from './unit-header.js';

/** A debugging information entry with its attributes decoded; children are read on request. */
export interface Die {
  /** Offset of the DIE in .debug_info. */
  readonly offset: number;
  readonly unit: UnitHeader;
  readonly tag: number;
  readonly hasChildren: boolean;
  readonly attributes: readonly Attribute[];
  /** Offset just past the attributes: where the first child starts when there are children. */
  readonly attributesEnd: number;
}

export function findAttribute(die: Die, at: number): Attribute | undefined {
  for (const a of die.attributes) if (a.at === at) return a;
  return undefined;
}
