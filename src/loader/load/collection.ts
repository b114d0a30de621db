// loadCollection: creates a spec's maps, loads its programs, writes initial contents, and hands
// back the live objects. Everything created is closed again if any step fails.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelBtf } from '../../kernel/btf.js';
import { BpfMap, possibleCpus, type MapSpec } from '../../maps/index.js';
import { Program, type LoadOptions } from '../../programs/index.js';
import { closeFd, SyscallError } from '../../syscall/index.js';
import { MapType, ProgramType } from '../../uapi/bpf.js';
import { programFunctionBtfId } from '../../links/freplace.js';
import { applyCoreRelocations } from '../../core/index.js';
import { LoaderError } from '../errors.js';
import { loadCollectionSpec } from '../spec/load-spec.js';
import type { CollectionSpec, MapSpecEntry, ProgramSpecEntry } from '../spec/types.js';
import { encodeVariable, type VariableValue } from '../spec/variables.js';
import { btfCodec } from '../../codec/btf.js';
import { kconfigValue } from './kconfig-values.js';
import { loadProgramBtf, type LoadedBtf } from './program-btf.js';
import { btfTargetId } from './btf-target.js';

export interface CollectionOptions {
  /** Directory (on a bpffs) for maps declared with pinning by name; they are reused when compatible. */
  readonly pinPath?: string;
  /** Verifier options for every program. */
  readonly program?: LoadOptions;
  /** Load only these programs (all by default). */
  readonly programs?: readonly string[];
  /** Load without the object's BTF (no func_info, line_info or typed maps). */
  readonly withoutBtf?: boolean;
  /** freplace programs: the loaded program whose function (named by the section) each replaces. */
  readonly extensionTargets?: Readonly<Record<string, Program>>;
}

/** Live global variables: read and written in their maps. */
export interface CollectionVariables {
  get(name: string): unknown;
  set(name: string, value: VariableValue): void;
  names(): string[];
}

export interface Collection {
  readonly spec: CollectionSpec;
  readonly programs: Record<string, Program>;
  readonly maps: Record<string, BpfMap<unknown, unknown>>;
  readonly variables: CollectionVariables;
  close(): void;
  [Symbol.dispose](): void;
}

/** Loads an object (a path, its bytes, or a spec from loadCollectionSpec, possibly edited). */
export function loadCollection(source: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Collection {
  const spec = typeof source === 'string'
    ? loadCollectionSpec(readFileSync(source), { name: source })
    : source instanceof Uint8Array ? loadCollectionSpec(source) : source;
  const opened: { close(): void }[] = [];
  let btf: LoadedBtf | undefined;
  try {
    const wanted = Object.values(spec.programs).filter((p) => !options.programs || options.programs.includes(p.name));
    if (spec.btf && !options.withoutBtf) btf = loadProgramBtf(spec.btf, wanted);
    if (spec.kconfig.length > 0 && spec.maps['.kconfig']?.contents?.kind === 'data' && spec.btf) {
      spec.maps['.kconfig'].contents.bytes = kconfigValue(spec.kconfig, spec.maps['.kconfig'].valueSize, spec.btf, spec.name);
    }

    const maps: Record<string, BpfMap<unknown, unknown>> = {};
    const reused = new Set<string>();
    for (const m of Object.values(spec.maps)) {
      const { map, fromPin } = openMap(spec, m, btf, options.pinPath);
      maps[m.name] = map;
      opened.push(map);
      if (fromPin) reused.add(m.name);
    }

    const programs: Record<string, Program> = {};
    for (const p of wanted) {
      programs[p.name] = loadProgram(spec, p, maps, btf, options.program, options.extensionTargets);
      opened.push(programs[p.name]);
    }

    // A map reused from a pin keeps what it holds.
    for (const m of Object.values(spec.maps)) if (!reused.has(m.name)) writeContents(spec, m, maps, programs);

    const collection: Collection = {
      spec, programs, maps, variables: liveVariables(spec, maps),
      close() {
        for (const o of opened.reverse()) o.close();
        opened.length = 0;
      },
      [Symbol.dispose]() {
        this.close();
      },
    };
    return collection;
  } catch (e) {
    for (const o of opened.reverse()) o.close();
    throw e;
  } finally {
    // Programs and maps hold their own references to the BTF object.
    if (btf) closeFd(btf.fd);
  }
}

function mapSpecOf(m: MapSpecEntry, btf: LoadedBtf | undefined): MapSpec {
  let maxEntries = m.maxEntries;
  // An unsized perf event array gets one slot per CPU, as libbpf does.
  if (m.type === MapType.PERF_EVENT_ARRAY && maxEntries === 0) maxEntries = possibleCpus();
  const useBtf = btf !== undefined && (m.btfKeyTypeId !== 0 || m.btfValueTypeId !== 0);
  return {
    type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries, flags: m.flags, name: m.name,
    ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: mapSpecOf(m.innerMap, undefined) } : {}),
    ...(useBtf ? { btfFd: btf.fd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId } : {}),
  };
}

function openMap(spec: CollectionSpec, m: MapSpecEntry, btf: LoadedBtf | undefined, pinPath: string | undefined): { map: BpfMap<unknown, unknown>; fromPin: boolean } {
  const codecs = typedCodecs(spec, m);
  if (m.pinning === 'by-name') {
    if (!pinPath) throw new LoaderError(`map ${m.name} is pinned by name but no pinPath was given`, { file: spec.name, section: m.section, symbol: m.name, hint: 'pass { pinPath: "/sys/fs/bpf/<dir>" }' });
    const path = join(pinPath, m.name);
    if (existsSync(path)) {
      const pinned = BpfMap.fromPin<unknown, unknown>(path, codecs);
      const want = mapSpecOf(m, undefined);
      if (pinned.type !== m.type || pinned.keySize !== m.keySize || pinned.valueSize !== m.valueSize || pinned.maxEntries !== want.maxEntries || pinned.flags !== m.flags) {
        pinned.close();
        throw new LoaderError(`the map pinned at ${path} is not compatible with the definition of ${m.name}`, { file: spec.name, section: m.section, symbol: m.name, hint: 'remove the stale pin or rename the map' });
      }
      return { map: pinned, fromPin: true };
    }
  }
  let map: BpfMap<unknown, unknown>;
  try {
    map = BpfMap.create<unknown, unknown>(mapSpecOf(m, btf), codecs);
  } catch (e) {
    // Some map types refuse BTF for their key or value; they work without it.
    if (!(e instanceof SyscallError) || !btf) throw wrapMapError(spec, m, e);
    try {
      map = BpfMap.create<unknown, unknown>(mapSpecOf(m, undefined), codecs);
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

function wrapMapError(spec: CollectionSpec, m: MapSpecEntry, e: unknown): Error {
  if (!(e instanceof Error)) return new LoaderError(String(e));
  return new LoaderError(`creating map ${m.name} failed: ${e.message}`, { file: spec.name, section: m.section, symbol: m.name }, { cause: e });
}

/** BTF-typed key and value codecs, when the object describes them (data maps are read whole). */
function typedCodecs(spec: CollectionSpec, m: MapSpecEntry): { key?: ReturnType<typeof btfCodec>; value?: ReturnType<typeof btfCodec> } {
  const btf = spec.btf;
  if (!btf || m.contents?.kind === 'data' || m.name === '.kconfig') return {};
  const out: { key?: ReturnType<typeof btfCodec>; value?: ReturnType<typeof btfCodec> } = {};
  try {
    if (m.btfKeyTypeId !== 0 && btf.sizeOf(m.btfKeyTypeId) === m.keySize) out.key = btfCodec(btf, m.btfKeyTypeId);
    if (m.btfValueTypeId !== 0 && btf.sizeOf(m.btfValueTypeId) === m.valueSize) out.value = btfCodec(btf, m.btfValueTypeId);
  } catch {
    return {};
  }
  return out;
}

function loadProgram(
  spec: CollectionSpec, p: ProgramSpecEntry, maps: Record<string, BpfMap<unknown, unknown>>, btf: LoadedBtf | undefined, options: LoadOptions | undefined,
  extensionTargets?: Readonly<Record<string, Program>>,
): Program {
  let instructions = p.instructions;
  if (p.coreRelocations.length > 0) {
    if (!spec.btf) throw new LoaderError('CO-RE relocations without BTF', { file: spec.name, section: p.section, symbol: p.name });
    instructions = applyCoreRelocations(instructions, p.coreRelocations, spec.btf, kernelBtf(), { object: spec.name, section: p.section, program: p.name });
  }
  let attachBtfId = p.btfTarget && p.attachTo ? btfTargetId(p.btfTarget, p.attachTo, spec.name, p) : undefined;
  let attachProgFd: number | undefined;
  if (p.type === ProgramType.EXT) {
    const target = extensionTargets?.[p.name];
    if (!target || !p.attachTo) {
      throw new LoaderError(`freplace program ${p.name} replaces "${p.attachTo}" of a loaded program`, { file: spec.name, section: p.section, symbol: p.name, hint: `pass it as extensionTargets: { ${p.name}: program } (or leave ${p.name} out of programs)` });
    }
    attachBtfId = programFunctionBtfId(target, p.attachTo);
    attachProgFd = target.fd;
  }
  const funcInfo = btf?.funcInfo(p);
  const lineInfo = btf?.lineInfo(p);
  return Program.load({
    type: p.type, instructions, license: p.license || 'GPL', name: p.name, maps,
    ...(p.expectedAttachType !== undefined ? { expectedAttachType: p.expectedAttachType } : {}),
    ...(attachBtfId !== undefined ? { attachBtfId } : {}),
    ...(attachProgFd !== undefined ? { attachProgFd } : {}),
    ...(p.flags ? { flags: p.flags } : {}),
    ...(p.kernelVersion ? { kernelVersion: p.kernelVersion } : {}),
    ...(btf && funcInfo ? { btfFd: btf.fd, funcInfo, ...(lineInfo ? { lineInfo } : {}) } : {}),
  }, options);
}

function writeContents(spec: CollectionSpec, m: MapSpecEntry, maps: Record<string, BpfMap<unknown, unknown>>, programs: Record<string, Program>): void {
  const map = maps[m.name];
  const c = m.contents;
  if (!c) return;
  if (c.kind === 'data') {
    map.update(0, Buffer.from(c.bytes));
    if (m.freeze) map.freeze();
    return;
  }
  for (const [index, name] of c.slots) {
    const target = c.kind === 'programs' ? programs[name] : maps[name];
    if (!target) {
      if (c.kind === 'programs') continue; // not loaded (options.programs)
      throw new LoaderError(`map-of-maps slot ${index} names ${name}, which was not created`, { file: spec.name, section: m.section, symbol: m.name });
    }
    map.update(index, target.fd);
  }
}

function liveVariables(spec: CollectionSpec, maps: Record<string, BpfMap<unknown, unknown>>): CollectionVariables {
  const find = (name: string) => {
    const v = spec.variables[name];
    if (!v) throw new LoaderError(`no global variable named ${name}`, { file: spec.name, hint: `variables: ${Object.keys(spec.variables).join(', ')}` });
    return v;
  };
  const valueOf = (section: string): Buffer => {
    const raw = maps[section].lookup(0);
    if (!(raw instanceof Uint8Array)) throw new LoaderError(`map ${section} has no value at key 0`, { file: spec.name, section });
    return Buffer.from(raw);
  };
  return {
    names: () => Object.keys(spec.variables),
    get(name) {
      const v = find(name);
      const bytes = valueOf(v.section);
      if (!spec.btf || v.typeId === 0) return bytes.subarray(v.offset, v.offset + v.size);
      return btfCodec(spec.btf, v.typeId).decode(bytes, v.offset);
    },
    set(name, value) {
      const v = find(name);
      const bytes = valueOf(v.section);
      bytes.set(encodeVariable(v, value, spec.btf), v.offset);
      maps[v.section].update(0, bytes);
    },
  };
}
