import { GoBinaryError } from './errors.js';
import type { SourceLine } from './line-table.js';

/** Name lookups made by scanning (FunctionTable.lookup) before the table indexes every name. */
const SCANS_BEFORE_INDEX = 4;
const encoder = new TextEncoder();

/** A pc's function and, when the line tables know it, its file and line. */
export interface SourcePosition {
  function: string;
  /** Entry address of the function. */
  entry: number;
  file?: string;
  line?: number;
}

/** One function of the pclntab: its name and address range [entry, end). */
export interface GoFunction {
  name: string;
  /** Entry virtual address. */
  entry: number;
  /** First address past the function (the next function's entry, or the table's end). */
  end: number;
}

/** Function lookups over a pclntab: by name, by address, or all of them. */
export interface GoFunctions {
  readonly count: number;
  /**
   * Entry virtual address of the function named `name`. A few names occur twice (an assembly
   * function and its ABI wrapper, e.g. runtime.reflectcall); the lower address is returned.
   */
  lookup(name: string): number | undefined;
  /** Name of the function whose [entry, end) holds `addr`. */
  nameAt(addr: number): string | undefined;
  /**
   * Function, file and line of the instruction at `addr`. For a return address (a call site seen
   * from the callee, like g.gopc) pass addr - 1, as Go's traceback does, so the call's line is found.
   */
  positionAt(addr: number): SourcePosition | undefined;
  /** Every function, in entry order. */
  all(): GoFunction[];
}

/**
 * Functions sorted by entry; names are decoded on first use. `entries` has one more element than
 * there are functions: the end of the last one.
 */
export class FunctionTable implements GoFunctions {
  private byName: Map<string, number> | undefined;
  private scans = 0;
  private readonly names: (string | undefined)[];

  /**
   * `entries` are sorted entry addresses plus the end of the last function; `nameOf(i)` decodes
   * the name of function i; `where` names the table in errors; `nameIs(i, utf8)`, when given,
   * tells whether function i's name is those bytes without decoding it. Throws a GoBinaryError
   * when `entries` are not sorted.
   */
  constructor(
    private readonly entries: readonly number[],
    private readonly nameOf: (index: number) => string,
    private readonly where: string,
    private readonly sourceLine?: (index: number, entry: number, pc: number) => SourceLine | undefined,
    private readonly nameIs?: (index: number, utf8: Uint8Array) => boolean,
  ) {
    let i = 0;
    let previous = -Infinity;
    for (const entry of entries) {
      if (entry < previous) {
        throw new GoBinaryError(`function table not sorted: entry ${i} (0x${entry.toString(16)}) precedes entry ${i - 1}`, where);
      }
      previous = entry;
      i++;
    }
    this.names = new Array<string | undefined>(Math.max(0, entries.length - 1));
  }

  /** Number of functions. */
  get count(): number {
    return this.names.length;
  }

  /** Entry address of function i; i = count gives the end of the last function. */
  private entry(i: number): number {
    const entry = this.entries[i];
    if (entry === undefined) throw new GoBinaryError(`function index ${i} outside the table of ${this.count} functions`, this.where);
    return entry;
  }

  private name(i: number): string {
    let n = this.names[i];
    if (n === undefined) {
      n = this.nameOf(i);
      this.names[i] = n;
    }
    return n;
  }

  lookup(name: string): number | undefined {
    // A lookup or two (a tracer's: runtime.casgstatus) compare the name's bytes where each name
    // lies, decoding none; more build the index of every name once.
    if (!this.byName && this.nameIs && this.scans < SCANS_BEFORE_INDEX) {
      this.scans++;
      const utf8 = encoder.encode(name);
      for (let i = 0; i < this.count; i++) if (this.nameIs(i, utf8)) return this.entry(i);
      return undefined;
    }
    if (!this.byName) {
      const map = new Map<string, number>();
      for (let i = 0; i < this.count; i++) {
        const n = this.name(i);
        // Keep the first: a later duplicate would be a lie or a linker artifact.
        if (!map.has(n)) map.set(n, i);
      }
      this.byName = map;
    }
    const i = this.byName.get(name);
    return i === undefined ? undefined : this.entry(i);
  }

  private indexAt(addr: number): number | undefined {
    if (this.count === 0 || !(addr >= this.entry(0)) || addr >= this.entry(this.count)) return undefined;
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.entry(mid) <= addr) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  nameAt(addr: number): string | undefined {
    const i = this.indexAt(addr);
    return i === undefined ? undefined : this.name(i);
  }

  positionAt(addr: number): SourcePosition | undefined {
    const i = this.indexAt(addr);
    if (i === undefined) return undefined;
    const entry = this.entry(i);
    const src = this.sourceLine?.(i, entry, addr);
    return src ? { function: this.name(i), entry, file: src.file, line: src.line } : { function: this.name(i), entry };
  }

  /** Every function, in entry order. */
  all(): GoFunction[] {
    const out: GoFunction[] = [];
    for (let i = 0; i < this.count; i++) out.push({ name: this.name(i), entry: this.entry(i), end: this.entry(i + 1) });
    return out;
  }
}
