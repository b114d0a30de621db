// loadCollection: creates a spec's maps, loads its programs, writes initial contents, and hands
// back the live objects. Everything created is closed again if any step fails.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelBtf } from '../../kernel/btf.js';
import { BpfMap, mapInfoFromFd, possibleCpus, type MapInfo, type MapSpec } from '../../maps/index.js';
import { Program, type LoadOptions, type ProgramSpec } from '../../programs/index.js';
import { linkPrelinked } from '../../programs/program.js';
import { prelinkInstructions, type Instruction, type PrelinkedInstructions } from '../../asm/index.js';
import { closeFd, residentAsyncCalls, SyscallError } from '../../syscall/index.js';
import { dupFd } from '../../syscall/fd.js';
import type { Btf } from '../../btf/index.js';
import { resolveExterns, type ResolvedExterns } from './externs.js';
import { MapType, ProgramType } from '../../uapi/bpf.js';
import { programFunctionBtfId } from '../../programs/function-btf.js';
import { applyCoreRelocations } from '../../core/index.js';
import { LoaderError } from '../../errors/index.js';
import { loadCollectionSpec } from '../spec/load-spec.js';
import type { CollectionSpec, MapSpecEntry, ProgramSpecEntry } from '../spec/types.js';
import { encodeVariable, type VariableValue } from '../spec/variables.js';
import { btfCodec } from '../../codec/btf.js';
import { lazyCodec } from '../../codec/lazy.js';
import type { Codec } from '../../codec/index.js';
import { kconfigValue } from './kconfig-values.js';
import { costlyToCreate } from './creation-cost.js';
import { loadProgramBtf, type LoadedBtf } from './program-btf.js';
import { findBtfTarget } from './btf-target.js';
import { kernelBtfObjectFd } from './module-btf.js';
import { BPF_F_MMAPABLE, GlobalDataMapping, isGlobalData, mmapableArrays } from './global-data.js';
import {
  createStructOpsMap,
  missingStructOpsPrograms,
  structOpsContents,
  structOpsProgramTargets,
  structOpsValue,
  type LoadedStructOps,
} from './struct-ops.js';

/** Options of loadCollection. */
export interface CollectionOptions {
  /** Directory (on a bpffs) for maps declared with pinning by name; they are reused when compatible. */
  readonly pinPath?: string;
  /** Verifier options for every program. */
  readonly program?: LoadOptions;
  /** Load only these programs (all by default), as libbpf's autoload = false leaves the others out. */
  readonly programs?: readonly string[];
  /** Load without the object's BTF (no func_info, line_info or typed maps). */
  readonly withoutBtf?: boolean;
  /**
   * Existing maps used in place of the ones the object defines, by map name (cilium's
   * MapReplacements, libbpf's bpf_map__reuse_fd): a BpfMap or a map fd. The collection holds its
   * own reference; the caller's map or fd stays the caller's. Type, key and value sizes, entries
   * and flags must match the definition.
   */
  readonly mapReplacements?: Readonly<Record<string, BpfMap<unknown, unknown> | number>>;
  /** Target BTF for CO-RE and attach targets (a BTFHub-style file, or a module's split BTF); the running kernel's by default. */
  readonly kernelBtf?: Btf;
  /** freplace programs: the loaded program whose function (named by the section) each replaces. */
  readonly extensionTargets?: Readonly<Record<string, Program>>;
}

/** Live global variables: read and written in their maps. */
export interface CollectionVariables {
  /** The current value of global variable `name`: decoded through BTF when it has a type, bytes otherwise. Throws LoaderError for an unknown name. */
  get(name: string): unknown;
  /** Writes global variable `name` in its map; throws LoaderError for an unknown name or a section frozen at load. */
  set(name: string, value: VariableValue): void;
  /** Names of the global variables. */
  names(): string[];
}

/** The maps and programs loaded from one object, and its live global variables. */
export interface Collection {
  readonly spec: CollectionSpec;
  readonly programs: Record<string, Program>;
  readonly maps: Record<string, BpfMap<unknown, unknown>>;
  readonly variables: CollectionVariables;
  /**
   * struct_ops variables (.struct_ops, .struct_ops.link) by name: their maps (also in `maps`) and
   * the values that register them. Register one with attachStructOps(collection, name).
   */
  readonly structOps: Record<string, LoadedStructOps>;
  /** Closes every program, map and mapping of the collection, in reverse order of opening. */
  close(): void;
  /** Same as close(), for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Loads an object (a path, its bytes, or a spec from loadCollectionSpec, possibly edited). The
 * spec is only read, never changed, so one spec can be loaded many times. As libbpf does, maps are
 * created and global data written (read-only sections frozen) before any program loads, so the
 * verifier sees `const volatile` values as constants and prunes the branches they decide.
 */
export function loadCollection(source: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Collection {
  const load = new CollectionLoad(source, options);
  try {
    load.createMaps();
    return load.finish(load.loadPrograms());
  } catch (e) {
    load.abort();
    throw e;
  } finally {
    load.release();
  }
}

/** Options of loadCollectionAsync: those of loadCollection, and how many programs verify at once. */
export interface AsyncCollectionOptions extends CollectionOptions {
  /**
   * Most program loads pending at once. libuv's pool (UV_THREADPOOL_SIZE threads, 4 by default,
   * shared with fs calls and readers' waits) verifies as many at once as it has threads and takes
   * the next pending one itself when one ends, so the default keeps more pending than it has
   * threads: as many as koffi runs without allocating memory per call (its resident_async_pools,
   * 8 by default). A smaller number keeps pool threads free for other work; 1 verifies one program
   * at a time, still off the event loop. After a failure no further load starts. While every pool
   * thread is blocked elsewhere (in as many readers' waits without a timeout, say), the loads wait
   * for one to come free.
   */
  readonly concurrency?: number;
}

/**
 * loadCollection with the programs verified concurrently, off the event loop: the kernel's
 * verifier, most of a load's time, runs for several programs at once on several CPUs (root, or
 * CAP_BPF, verifies without the global lock unprivileged loads take), while this thread lays out
 * the next program. Maps are created (those that take the kernel long to create on the pool too,
 * while this thread prepares the programs), and global data written and frozen, before any
 * program that uses them loads, as in loadCollection; a program whose maps are ready starts while
 * others are still being created. What it resolves to is the same collection, with `programs` and
 * `maps` in the object's order. On failure it rejects with the error loadCollection would throw
 * (a map's first, then the first program in the object's order that failed, with its verifier
 * log), once every creation and load already started has ended, and everything it opened is
 * closed. Program fds are numbered in the order the kernel finished them.
 */
export async function loadCollectionAsync(
  source: string | Uint8Array | CollectionSpec,
  options: AsyncCollectionOptions = {},
): Promise<Collection> {
  const concurrency = options.concurrency ?? residentAsyncCalls();
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new LoaderError(`concurrency must be a whole number of at least 1, not ${concurrency}`, {
      hint: "leave it out for the default (koffi's resident async pools, 8)",
    });
  }
  const load = new CollectionLoad(source, options);
  const wanted = load.wanted;
  const prepared: PreparedProgram[] = [];
  // Per program, in the object's order: the pending maps it waits for when it was prepared, or
  // 'all' (a name the object does not define: the error then lists every map, as the sync load's).
  const waitsFor: (readonly string[] | 'all')[] = [];
  const loaded: (Program | undefined)[] = new Array(wanted.length);
  const failures: unknown[] = new Array(wanted.length);
  let programFailed = false;
  // Prepared and not started, in the object's order.
  const queued: number[] = [];
  let running = 0;
  let underway: MapsUnderway | undefined;
  let idle: (() => void) | undefined;
  const stopped = (): boolean => programFailed || underway!.failed();
  const ready = (i: number): boolean => {
    const w = waitsFor[i];
    return w === 'all' ? underway!.allReady() : w.every((name) => !underway!.pending.has(name));
  };
  // Starts the ready programs, first in the object's order first, while fewer than `concurrency`
  // run; after a failure none starts, and those started run to their end (closed below).
  const pump = (): void => {
    if (underway === undefined) return;
    for (let k = 0; k < queued.length && running < concurrency && !stopped();) {
      const i = queued[k];
      if (!ready(i)) {
        k++;
        continue;
      }
      queued.splice(k, 1);
      running++;
      void load.loadPreparedAsync(prepared[i]).then(
        (program) => {
          loaded[i] = program;
          running--;
          pump();
        },
        (e: unknown) => {
          failures[i] = e;
          programFailed = true;
          running--;
          pump();
        },
      );
    }
    if (idle !== undefined && running === 0 && (queued.length === 0 || stopped())) {
      const resolve = idle;
      idle = undefined;
      resolve();
    }
  };
  try {
    // The maps are created (the costly ones on libuv's pool) while this thread prepares every
    // program (CO-RE, externs, BTF line and function info, the encoded instructions with their map
    // fds left blank); each program starts as soon as it is prepared and the maps it uses are
    // ready, so that the verifier works while the rest is being made.
    underway = load.startMapsAsync(pump);
    for (let i = 0; i < wanted.length && !stopped(); i++) {
      let p: PreparedProgram;
      try {
        p = load.prepareProgram(wanted[i]);
      } catch (e) {
        failures[i] = e;
        programFailed = true;
        break;
      }
      prepared.push(p);
      waitsFor.push(waitedMaps(p, load.spec, underway.pending));
      queued.push(i);
      pump();
    }
    // Every creation ends before anything is decided, then every load started.
    const mapFailure = await underway.settled;
    await new Promise<void>((resolve) => {
      idle = resolve;
      pump();
    });
    const programs: Record<string, Program> = {};
    wanted.forEach((p, i) => {
      const program = loaded[i];
      if (program === undefined) return;
      programs[p.name] = program;
      load.opened.push(program);
    });
    // As loadCollection would fail: a map first, then the first program in the object's order.
    if (mapFailure !== undefined) throw mapFailure;
    const first = failures.findIndex((_, i) => i in failures);
    if (first >= 0) throw failures[first];
    return load.finish(programs);
  } catch (e) {
    load.abort();
    throw e;
  } finally {
    for (const p of prepared) p.release();
    load.release();
  }
}

/** The maps in `pending` that prepared program `p` uses, or 'all' when it names a map the object does not define. */
function waitedMaps(p: PreparedProgram, spec: CollectionSpec, pending: ReadonlySet<string>): readonly string[] | 'all' {
  const names: string[] = [];
  for (const site of p.instructions.sites) {
    if (spec.maps[site.name] === undefined) return 'all';
    if (pending.has(site.name) && !names.includes(site.name)) names.push(site.name);
  }
  return names;
}

/** Maps being created by loadCollectionAsync (CollectionLoad.startMapsAsync). */
interface MapsUnderway {
  /** Maps not yet ready for programs: being created on the pool, or waiting to be written. */
  readonly pending: ReadonlySet<string>;
  /** Resolves once every creation and write has ended: to undefined, or to the failure to report. */
  readonly settled: Promise<unknown>;
  /** Whether a creation or a write has failed so far. */
  failed(): boolean;
  /** Whether every map is ready: every creation and write has ended, none failed. */
  allReady(): boolean;
}

/** A program made ready to load before the maps it uses exist (loadCollectionAsync). */
interface PreparedProgram {
  readonly entry: ProgramSpecEntry;
  /** The spec Program.load gets, but for its instructions. */
  readonly spec: ProgramSpec;
  readonly instructions: PrelinkedInstructions;
  /** Closes the module BTF fd the spec may hold; once. */
  release(): void;
}

/**
 * One load of a spec, in the steps loadCollection and loadCollectionAsync share: checks and the
 * object's BTF (constructor), maps and their contents (createMaps), programs one by one
 * (loadPrograms, loadProgramAsync), the collection (finish); abort closes what was opened and
 * release what only the load needed.
 */
class CollectionLoad {
  readonly spec: CollectionSpec;
  readonly opened: { close(): void }[] = [];
  readonly wanted: ProgramSpecEntry[];
  readonly maps: Record<string, BpfMap<unknown, unknown>> = {};
  readonly #options: CollectionOptions;
  readonly #reused = new Set<string>();
  // loadCollectionAsync: the maps ready for programs so far (startMapsAsync), and whether every
  // creation has ended (`maps` then holds them all, in the object's order).
  readonly #available: Record<string, BpfMap<unknown, unknown>> = {};
  #mapsSettled = false;
  readonly #structOpsTargets: ReturnType<typeof structOpsProgramTargets>;
  #btf: LoadedBtf | undefined;
  #externs: ResolvedExterns | undefined;

  constructor(source: string | Uint8Array | CollectionSpec, options: CollectionOptions) {
    const spec =
      typeof source === 'string'
        ? loadCollectionSpec(readFileSync(source), { name: source })
        : source instanceof Uint8Array
          ? loadCollectionSpec(source)
          : source;
    this.spec = spec;
    this.#options = options;
    if (options.programs) {
      for (const name of options.programs) {
        if (!spec.programs[name])
          throw new LoaderError(`no program named ${name}`, {
            file: spec.name,
            hint: `programs: ${Object.keys(spec.programs).join(', ')}`,
          });
      }
    }
    if (options.mapReplacements) {
      for (const name of Object.keys(options.mapReplacements)) {
        if (!spec.maps[name])
          throw new LoaderError(`mapReplacements names ${name}, which is not a map of this object`, {
            file: spec.name,
            hint: `maps: ${Object.keys(spec.maps).join(', ')}`,
          });
      }
    }
    // A struct_ops program is loaded for the slot a struct_ops variable puts it in; one no variable
    // uses has no slot, and is left out, as libbpf leaves it.
    this.#structOpsTargets = structOpsProgramTargets(spec);
    this.wanted = Object.values(spec.programs).filter(
      (p) =>
        (!options.programs || options.programs.includes(p.name)) &&
        (p.type !== ProgramType.STRUCT_OPS || this.#structOpsTargets.has(p.name)),
    );
  }

  /** The object's BTF, the maps with their initial contents (read-only data frozen), the externs. */
  createMaps(): void {
    const { spec } = this;
    const options = this.#options;
    if (spec.btf && !options.withoutBtf) this.#btf = loadProgramBtf(spec.btf, this.wanted);
    // What data maps start with: the spec's bytes, and .kconfig filled from the running kernel
    // (into a copy: the spec stays as it was).
    const initial = new Map<string, Uint8Array>();
    for (const m of Object.values(spec.maps)) if (m.contents?.kind === 'data') initial.set(m.name, m.contents.bytes);
    if (spec.kconfig.length > 0 && spec.maps['.kconfig'] && spec.btf) {
      initial.set('.kconfig', kconfigValue(spec.kconfig, spec.maps['.kconfig'].valueSize, spec.btf, spec.name));
    }
    for (const m of Object.values(spec.maps)) {
      const replacement = options.mapReplacements?.[m.name];
      const { map, fromPin } =
        replacement !== undefined
          ? replaceMap(spec, m, replacement)
          : structOpsContents(m)
            ? { map: createStructOpsMap(spec, m), fromPin: false }
            : openMap(spec, m, this.#btf, options.pinPath);
      this.maps[m.name] = map;
      this.opened.push(map);
      if (fromPin || replacement !== undefined) this.#reused.add(m.name);
    }
    // Global data and maps of maps before the programs, read-only data frozen; a map reused from
    // a pin or given by the caller keeps what it holds.
    for (const m of Object.values(spec.maps)) {
      if (this.#reused.has(m.name) || m.contents?.kind === 'programs' || m.contents?.kind === 'struct_ops') continue;
      writeContents(spec, m, this.maps, {}, initial.get(m.name));
    }
    this.#externs = resolveExterns(spec);
  }

  /**
   * createMaps for loadCollectionAsync, begun here and ended on libuv's pool: the maps that take
   * the kernel long to create (costlyToCreate: per-CPU entries, preallocated elements, large
   * storage) are handed to the pool first, all at once (as createAsync), and the rest are made
   * here meanwhile, in order, with the BTF, the externs and the maps a plain creation does not
   * make (pinned, given by the caller, struct_ops, maps of maps), as createMaps makes them. A map
   * is ready for programs once it exists and holds its initial contents: those made here at once,
   * a map made on the pool when its creation ends, a map of maps (its slots name other maps) when
   * every creation has ended. `onReady` is called each time more maps are. `settled` resolves,
   * once every creation and write has ended, to undefined or to the failure to report: the first
   * creation failure in the object's order, else the first failed write (every map made is in
   * `opened` by then, and `maps` holds them in the object's order).
   */
  startMapsAsync(onReady: () => void): MapsUnderway {
    const { spec } = this;
    const options = this.#options;
    if (spec.btf && !options.withoutBtf) this.#btf = loadProgramBtf(spec.btf, this.wanted);
    this.#externs = resolveExterns(spec);
    const initial = new Map<string, Uint8Array>();
    for (const m of Object.values(spec.maps)) if (m.contents?.kind === 'data') initial.set(m.name, m.contents.bytes);
    if (spec.kconfig.length > 0 && spec.maps['.kconfig'] && spec.btf) {
      initial.set('.kconfig', kconfigValue(spec.kconfig, spec.maps['.kconfig'].valueSize, spec.btf, spec.name));
    }
    const entries = Object.values(spec.maps);
    const made: ({ map: BpfMap<unknown, unknown>; fromPin: boolean } | undefined)[] = new Array(entries.length);
    const creationFailures: unknown[] = new Array(entries.length);
    const writeFailures: unknown[] = new Array(entries.length);
    const available = this.#available;
    const pending = new Set<string>();
    // A failed creation stops the writes not yet made (the load fails: nothing is worth writing); a
    // failed write stops nothing, so that the first failure in the object's order is known.
    let creationFailed = false;
    // Contents a map can take as soon as it exists; a map of maps waits for every creation (its
    // slots may name any map), the rest are written by finish or attachStructOps.
    const writesAtOnce = (m: MapSpecEntry, i: number): boolean =>
      m.contents?.kind !== 'maps' || this.#reused.has(m.name) || made[i] === undefined;
    const write = (m: MapSpecEntry, i: number): void => {
      if (this.#reused.has(m.name) || m.contents?.kind === 'programs' || m.contents?.kind === 'struct_ops') return;
      try {
        writeContents(spec, m, available, {}, initial.get(m.name));
      } catch (e) {
        writeFailures[i] = e;
      }
    };
    const onPool = (m: MapSpecEntry): boolean =>
      options.mapReplacements?.[m.name] === undefined &&
      !structOpsContents(m) &&
      m.pinning !== 'by-name' &&
      m.innerMap === undefined &&
      costlyToCreate(m);
    // The costly creations start first, so that the longest of them begins before anything else runs here.
    const creations: Promise<void>[] = [];
    entries.forEach((m, i) => {
      if (!onPool(m)) return;
      pending.add(m.name);
      creations.push(
        openMapAsync(spec, m, this.#btf).then(
          (map) => {
            made[i] = { map, fromPin: false };
            available[m.name] = map;
            if (!creationFailed) write(m, i);
            pending.delete(m.name);
            onReady();
          },
          (error: unknown) => {
            creationFailures[i] = error;
            creationFailed = true;
          },
        ),
      );
    });
    entries.forEach((m, i) => {
      if (onPool(m) || creationFailed) return;
      const replacement = options.mapReplacements?.[m.name];
      try {
        made[i] =
          replacement !== undefined
            ? replaceMap(spec, m, replacement)
            : structOpsContents(m)
              ? { map: createStructOpsMap(spec, m), fromPin: false }
              : openMap(spec, m, this.#btf, options.pinPath);
      } catch (error) {
        creationFailures[i] = error;
        creationFailed = true;
        return;
      }
      available[m.name] = made[i].map;
      if (made[i].fromPin || replacement !== undefined) this.#reused.add(m.name);
      if (m.contents?.kind === 'maps') pending.add(m.name);
    });
    entries.forEach((m, i) => {
      if (!creationFailed && made[i] !== undefined && !onPool(m) && m.contents?.kind !== 'maps') write(m, i);
    });
    const settled = Promise.all(creations).then(() => {
      // Every creation has ended: the maps made go into `maps` and `opened` in the object's order.
      entries.forEach((m, i) => {
        const r = made[i];
        if (r === undefined) return;
        this.maps[m.name] = r.map;
        this.opened.push(r.map);
      });
      const firstCreationFailure = creationFailures.findIndex((_, i) => i in creationFailures);
      if (firstCreationFailure >= 0) return creationFailures[firstCreationFailure];
      entries.forEach((m, i) => {
        if (!writesAtOnce(m, i)) write(m, i);
      });
      const firstWriteFailure = writeFailures.findIndex((_, i) => i in writeFailures);
      if (firstWriteFailure >= 0) return writeFailures[firstWriteFailure];
      pending.clear();
      this.#mapsSettled = true;
      onReady();
      return undefined;
    });
    return {
      pending,
      settled,
      failed: () => creationFailed || writeFailures.some(() => true),
      allReady: () => this.#mapsSettled,
    };
  }

  /** What loadPreparedAsync loads for `p`, made before the maps exist; release() closes what it holds. */
  prepareProgram(p: ProgramSpecEntry): PreparedProgram {
    const { spec, instructions, release } = this.#programSpec(p);
    try {
      return { entry: p, spec, instructions: prelinkInstructions(instructions), release: once(release) };
    } catch (e) {
      release();
      throw this.#programError(p, e);
    }
  }

  async loadPreparedAsync(p: PreparedProgram): Promise<Program> {
    try {
      // Before every map exists, only those `p` waits for are needed; after, `maps` names them all
      // in the object's order, as the sync load's error for a map not given does.
      const instructions = linkPrelinked(p.instructions, this.#mapsSettled ? this.maps : this.#available, p.entry.name);
      return await Program.loadAsync({ ...p.spec, instructions }, this.#options.program);
    } catch (e) {
      throw this.#programError(p.entry, e);
    } finally {
      p.release();
    }
  }

  /**
   * The wanted programs, loaded as many loadProgram calls would be (each opened program in
   * `opened`; the first failure in the object's order thrown), with two verified at once by
   * Program.loadEach once its helper thread runs.
   */
  loadPrograms(): Record<string, Program> {
    const wanted = this.wanted;
    const releases: (() => void)[] = [];
    // A failure to make a program's spec is thrown as it is, a failure to load it named after it
    // (loadProgram's errors).
    const specErrors = new Map<number, unknown>();
    let results: ReturnType<typeof Program.loadEach>;
    try {
      results = Program.loadEach(
        wanted.length,
        (i) => {
          try {
            const { spec, release } = this.#programSpec(wanted[i]);
            releases.push(release);
            return spec;
          } catch (e) {
            specErrors.set(i, e);
            throw e;
          }
        },
        this.#options.program,
      );
    } finally {
      for (const release of releases) release();
    }
    const programs: Record<string, Program> = {};
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < wanted.length; i++) {
      const r = results[i];
      if (r instanceof Program) {
        this.opened.push(r);
        programs[wanted[i].name] = r;
      } else if (r !== undefined && failure === undefined) {
        failure = { error: specErrors.has(i) ? r.error : this.#programError(wanted[i], r.error) };
      }
    }
    if (failure) throw failure.error;
    return programs;
  }

  async loadProgramAsync(p: ProgramSpecEntry): Promise<Program> {
    const { spec, release } = this.#programSpec(p);
    try {
      return await Program.loadAsync(spec, this.#options.program);
    } catch (e) {
      throw this.#programError(p, e);
    } finally {
      release();
    }
  }

  /** Program arrays filled, global data mapped, struct_ops values made: the collection. */
  finish(programs: Record<string, Program>): Collection {
    const { spec, maps, opened } = this;
    for (const m of Object.values(spec.maps)) {
      if (!this.#reused.has(m.name) && m.contents?.kind === 'programs') writeContents(spec, m, maps, programs, undefined);
    }

    // Mapped after freezing: a frozen map cannot be mapped writable, nor frozen while it is.
    const mappings = new Map<string, GlobalDataMapping>();
    for (const m of Object.values(spec.maps)) {
      const map = maps[m.name];
      if (!isGlobalData(m) || (map.flags & BPF_F_MMAPABLE) === 0) continue;
      const mapping = new GlobalDataMapping(map, !m.freeze);
      mappings.set(m.name, mapping);
      opened.push(mapping);
    }

    const structOps: Record<string, LoadedStructOps> = {};
    for (const m of Object.values(spec.maps)) {
      if (!structOpsContents(m) || missingStructOpsPrograms(m, programs).length > 0) continue;
      structOps[m.name] = structOpsValue(spec, m, maps[m.name], programs);
    }

    return {
      spec,
      programs,
      maps,
      structOps,
      variables: liveVariables(spec, maps, mappings),
      close() {
        for (const o of opened.reverse()) o.close();
        opened.length = 0;
      },
      [Symbol.dispose]() {
        this.close();
      },
    };
  }

  /** Closes everything opened so far, newest first. */
  abort(): void {
    for (const o of this.opened.reverse()) o.close();
    this.opened.length = 0;
  }

  /** Drops what only loading needed: programs and maps hold their own references to the BTF objects. */
  release(): void {
    if (this.#btf) closeFd(this.#btf.fd);
    this.#btf = undefined;
    this.#externs?.close();
    this.#externs = undefined;
  }

  /** What Program.load gets for `p`; release() closes the module BTF fd it may hold. */
  #programSpec(p: ProgramSpecEntry): { spec: ProgramSpec; instructions: readonly Instruction[]; release(): void } {
    const { spec, maps } = this;
    const options = this.#options;
    const btf = this.#btf;
    const structOps = this.#structOpsTargets.get(p.name);
    let instructions = p.instructions;
    if (p.coreRelocations.length > 0) {
      if (!spec.btf) throw new LoaderError('CO-RE relocations without BTF', { file: spec.name, section: p.section, symbol: p.name });
      instructions = applyCoreRelocations(instructions, p.coreRelocations, spec.btf, options.kernelBtf ?? kernelBtf(), {
        object: spec.name,
        section: p.section,
        program: p.name,
      });
    }
    const linked = this.#externs!.apply(instructions, p);
    // freplace: the target is a function of a loaded program, named by its BTF id in that program's BTF.
    let extension: { attachBtfId: number; attachProgFd: number } | undefined;
    if (p.type === ProgramType.EXT) {
      const target = options.extensionTargets?.[p.name];
      if (!target || !p.attachTo) {
        throw new LoaderError(`freplace program ${p.name} replaces "${p.attachTo}" of a loaded program`, {
          file: spec.name,
          section: p.section,
          symbol: p.name,
          hint: `pass it as extensionTargets: { ${p.name}: program } (or leave ${p.name} out of programs)`,
        });
      }
      extension = { attachBtfId: programFunctionBtfId(target, p.attachTo), attachProgFd: target.fd };
    }
    const attach =
      !extension && p.btfTarget && p.attachTo ? findBtfTarget(p.btfTarget, p.attachTo, spec.name, p, options.kernelBtf) : undefined;
    const funcInfo = btf?.funcInfo(p);
    const lineInfo = btf?.lineInfo(p);
    const attachObjFd = attach?.module !== undefined ? kernelBtfObjectFd(attach.module) : undefined;
    return {
      spec: {
        type: p.type,
        instructions: linked.instructions,
        license: p.license || 'GPL',
        name: p.name,
        maps,
        ...(p.expectedAttachType !== undefined ? { expectedAttachType: p.expectedAttachType } : {}),
        ...(attach !== undefined ? { attachBtfId: attach.id, ...(attachObjFd !== undefined ? { attachBtfObjFd: attachObjFd } : {}) } : {}),
        ...(extension ?? {}),
        ...(structOps ?? {}),
        ...(p.flags ? { flags: p.flags } : {}),
        ...(p.kernelVersion ? { kernelVersion: p.kernelVersion } : {}),
        ...(btf && funcInfo ? { btfFd: btf.fd, funcInfo, ...(lineInfo ? { lineInfo } : {}) } : {}),
        ...(linked.fdArray ? { fdArray: linked.fdArray } : {}),
      },
      instructions: linked.instructions,
      release() {
        if (attachObjFd !== undefined) closeFd(attachObjFd);
      },
    };
  }

  /** The verifier's error names the program already; others get the object and section too. */
  #programError(p: ProgramSpecEntry, e: unknown): unknown {
    if (e instanceof Error && !e.message.includes(`"${p.name}"`)) {
      return new LoaderError(
        `loading program ${p.name} failed: ${e.message}`,
        { file: this.spec.name, section: p.section, symbol: p.name },
        { cause: e },
      );
    }
    return e;
  }
}

function mapSpecOf(m: MapSpecEntry, btf: LoadedBtf | undefined, extraFlags = 0): MapSpec {
  let maxEntries = m.maxEntries;
  // An unsized perf event array gets one slot per CPU, as libbpf does.
  if (m.type === MapType.PERF_EVENT_ARRAY && maxEntries === 0) maxEntries = possibleCpus();
  const useBtf = btf !== undefined && (m.btfKeyTypeId !== 0 || m.btfValueTypeId !== 0);
  return {
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries,
    flags: m.flags | extraFlags,
    name: m.name,
    ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: mapSpecOf(m.innerMap, undefined) } : {}),
    ...(useBtf ? { btfFd: btf.fd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId } : {}),
  };
}

function openMap(
  spec: CollectionSpec,
  m: MapSpecEntry,
  btf: LoadedBtf | undefined,
  pinPath: string | undefined,
): { map: BpfMap<unknown, unknown>; fromPin: boolean } {
  const codecs = typedCodecs(spec, m);
  if (m.pinning === 'by-name') {
    if (!pinPath)
      throw new LoaderError(`map ${m.name} is pinned by name but no pinPath was given`, {
        file: spec.name,
        section: m.section,
        symbol: m.name,
        hint: 'pass { pinPath: "/sys/fs/bpf/<dir>" }',
      });
    const path = join(pinPath, m.name);
    if (existsSync(path)) {
      const pinned = BpfMap.fromPin<unknown, unknown>(path, codecs);
      const want = mapSpecOf(m, undefined);
      if (
        pinned.type !== m.type ||
        pinned.keySize !== m.keySize ||
        pinned.valueSize !== m.valueSize ||
        pinned.maxEntries !== want.maxEntries ||
        pinned.flags !== m.flags
      ) {
        pinned.close();
        throw new LoaderError(`the map pinned at ${path} is not compatible with the definition of ${m.name}`, {
          file: spec.name,
          section: m.section,
          symbol: m.name,
          hint: 'remove the stale pin or rename the map',
        });
      }
      return { map: pinned, fromPin: true };
    }
  }
  let map: BpfMap<unknown, unknown>;
  const extraFlags = isGlobalData(m) && mmapableArrays() ? BPF_F_MMAPABLE : 0;
  try {
    map = BpfMap.create<unknown, unknown>(mapSpecOf(m, btf, extraFlags), codecs);
  } catch (e) {
    // Some map types refuse BTF for their key or value; they work without it.
    if (!(e instanceof SyscallError) || !btf) throw wrapMapError(spec, m, e);
    try {
      map = BpfMap.create<unknown, unknown>(mapSpecOf(m, undefined, extraFlags), codecs);
    } catch (e2) {
      throw wrapMapError(spec, m, e2);
    }
  }
  if (m.pinning === 'by-name' && pinPath) {
    try {
      map.pin(join(pinPath, m.name));
    } catch (e) {
      map.close();
      throw e;
    }
  }
  return { map, fromPin: false };
}

/** A caller's map in place of a definition: checked against it, and opened again so the collection owns its own fd. */
/** openMap for a map created anew (no pin to reuse), with the creation on libuv's pool. */
async function openMapAsync(spec: CollectionSpec, m: MapSpecEntry, btf: LoadedBtf | undefined): Promise<BpfMap<unknown, unknown>> {
  const codecs = typedCodecs(spec, m);
  const extraFlags = isGlobalData(m) && mmapableArrays() ? BPF_F_MMAPABLE : 0;
  try {
    return await BpfMap.createAsync<unknown, unknown>(mapSpecOf(m, btf, extraFlags), codecs);
  } catch (e) {
    // Some map types refuse BTF for their key or value; they work without it (as openMap).
    if (!(e instanceof SyscallError) || !btf) throw wrapMapError(spec, m, e);
    try {
      return await BpfMap.createAsync<unknown, unknown>(mapSpecOf(m, undefined, extraFlags), codecs);
    } catch (e2) {
      throw wrapMapError(spec, m, e2);
    }
  }
}

/** `f` made safe to call more than once: the first call runs it. */
function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

function replaceMap(
  spec: CollectionSpec,
  m: MapSpecEntry,
  given: BpfMap<unknown, unknown> | number,
): { map: BpfMap<unknown, unknown>; fromPin: boolean } {
  const where = { file: spec.name, section: m.section, symbol: m.name };
  let info: MapInfo;
  try {
    info = mapInfoFromFd(typeof given === 'number' ? given : given.fd);
  } catch (e) {
    throw new LoaderError(`the replacement for map ${m.name} is not a usable map: ${(e as Error).message}`, where, { cause: e });
  }
  const want = mapSpecOf(m, undefined);
  const diffs: string[] = [];
  if (info.type !== m.type) diffs.push(`type ${info.type} (want ${m.type})`);
  if (info.keySize !== m.keySize) diffs.push(`key size ${info.keySize} (want ${m.keySize})`);
  if (info.valueSize !== m.valueSize) diffs.push(`value size ${info.valueSize} (want ${m.valueSize})`);
  if (info.maxEntries !== want.maxEntries) diffs.push(`max entries ${info.maxEntries} (want ${want.maxEntries})`);
  if ((info.flags & ~MMAPABLE) !== (m.flags & ~MMAPABLE)) diffs.push(`flags 0x${info.flags.toString(16)} (want 0x${m.flags.toString(16)})`);
  if (diffs.length > 0) {
    throw new LoaderError(`the replacement for map ${m.name} does not match its definition: ${diffs.join(', ')}`, {
      ...where,
      hint: 'pass a map created from the same definition',
    });
  }
  const map = BpfMap.fromFd<unknown, unknown>(dupFd(typeof given === 'number' ? given : given.fd), typedCodecs(spec, m));
  return { map, fromPin: false };
}

const MMAPABLE = 1 << 10;

function wrapMapError(spec: CollectionSpec, m: MapSpecEntry, e: unknown): Error {
  if (!(e instanceof Error)) return new LoaderError(String(e));
  return new LoaderError(
    `creating map ${m.name} failed: ${e.message}`,
    { file: spec.name, section: m.section, symbol: m.name },
    { cause: e },
  );
}

/**
 * BTF-typed key and value codecs, when the object describes them (data maps are read whole),
 * made when first used (lazyCodec): a load does not pay for the codecs of maps whose values
 * JavaScript never reads or writes.
 */
function typedCodecs(spec: CollectionSpec, m: MapSpecEntry): { key?: Codec<unknown>; value?: Codec<unknown> } {
  const btf = spec.btf;
  if (!btf || m.contents?.kind === 'data' || m.name === '.kconfig') return {};
  const out: { key?: Codec<unknown>; value?: Codec<unknown> } = {};
  // The ids as they are now: the spec may be edited after the load.
  const { btfKeyTypeId: keyType, btfValueTypeId: valueType, keySize, valueSize } = m;
  try {
    if (keyType !== 0 && btf.sizeOf(keyType) === keySize) out.key = lazyCodec(keySize, () => btfCodec(btf, keyType));
    if (valueType !== 0 && btf.sizeOf(valueType) === valueSize) out.value = lazyCodec(valueSize, () => btfCodec(btf, valueType));
  } catch {
    return {};
  }
  return out;
}

function writeContents(
  spec: CollectionSpec,
  m: MapSpecEntry,
  maps: Record<string, BpfMap<unknown, unknown>>,
  programs: Record<string, Program>,
  data: Uint8Array | undefined,
): void {
  const map = maps[m.name];
  const c = m.contents;
  if (!c || c.kind === 'struct_ops') return; // written by attachStructOps: writing registers it
  if (c.kind === 'data') {
    map.update(0, Buffer.from(data ?? c.bytes));
    if (m.freeze) map.freeze();
    return;
  }
  for (const [index, name] of c.slots) {
    const target = c.kind === 'programs' ? programs[name] : maps[name];
    if (!target) {
      if (c.kind === 'programs') continue; // not loaded (options.programs)
      throw new LoaderError(`map-of-maps slot ${index} names ${name}, which was not created`, {
        file: spec.name,
        section: m.section,
        symbol: m.name,
      });
    }
    map.update(index, target.fd);
  }
}

function liveVariables(
  spec: CollectionSpec,
  maps: Record<string, BpfMap<unknown, unknown>>,
  mappings: ReadonlyMap<string, GlobalDataMapping>,
): CollectionVariables {
  const find = (name: string) => {
    const v = spec.variables[name];
    if (!v)
      throw new LoaderError(`no global variable named ${name}`, {
        file: spec.name,
        hint: `variables: ${Object.keys(spec.variables).join(', ')}`,
      });
    return v;
  };
  const valueOf = (section: string): Buffer => {
    const mapped = mappings.get(section);
    if (mapped) return mapped.bytes;
    const raw = maps[section].lookup(0);
    if (!(raw instanceof Uint8Array)) throw new LoaderError(`map ${section} has no value at key 0`, { file: spec.name, section });
    return Buffer.from(raw);
  };
  return {
    names: () => Object.keys(spec.variables),
    get(name) {
      const v = find(name);
      const bytes = valueOf(v.section);
      if (!spec.btf || v.typeId === 0) return Buffer.from(bytes.subarray(v.offset, v.offset + v.size)); // a copy: the mapping goes at close
      return btfCodec(spec.btf, v.typeId).decode(bytes, v.offset);
    },
    set(name, value) {
      const v = find(name);
      const encoded = encodeVariable(v, value, spec.btf);
      const mapped = mappings.get(v.section);
      if (mapped?.writable) {
        mapped.bytes.set(encoded, v.offset); // the program sees it at once
        return;
      }
      if (spec.maps[v.section]?.freeze) {
        throw new LoaderError(`variable ${name} is in ${v.section}, which was frozen at load`, {
          file: spec.name,
          section: v.section,
          symbol: name,
          hint: 'set it on the spec (spec.variables[name].set) before loading',
        });
      }
      const bytes = valueOf(v.section);
      bytes.set(encoded, v.offset);
      maps[v.section].update(0, bytes);
    },
  };
}
