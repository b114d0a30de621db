// USDT probes, compatible with libbpf's usdt.bpf.h: one uprobe per probe site (a probe may be
// inlined at several), its semaphore counted up through ref_ctr_offset while attached, and the
// site's argument spec written to the program's __bpf_usdt_specs map under a spec id that the
// uprobe carries as its cookie. Where a program cannot read cookies (LINUX_HAS_BPF_COOKIE false),
// usdt.bpf.h looks the spec id up by instruction address in __bpf_usdt_ip_to_spec_id; that map
// is filled too whenever the address is known (executables, or a given pid for PIE/libraries).
import { readFileSync, realpathSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import type { BpfMap } from '../maps/index.js';
import type { Program } from '../programs/index.js';
import { closeNames } from '../symbols/index.js';
import {
  encodeUsdtSpec,
  isPositionIndependent,
  LIBBPF_1_1_USDT_SPEC_LAYOUT,
  readUsdtProbes,
  usdtSpecLayoutFromBtf,
  type UsdtProbe,
  type UsdtSpecLayout,
} from '../usdt/index.js';
import { Link, LinkError, attaching } from './link.js';
import type { PerfEventLink } from './perf-event.js';
import { attachUprobeAtOffset } from './probes.js';
import { openElf, resolveBinaryPath } from './uprobe.js';

type AnyMap = BpfMap<unknown, unknown>;

/** The maps usdt.bpf.h reads, and the layout of its spec struct. */
export interface UsdtMaps {
  /** __bpf_usdt_specs: array of struct __bpf_usdt_spec by spec id. */
  readonly specs: AnyMap;
  /** __bpf_usdt_ip_to_spec_id: hash of probe address (long) to spec id (u32). */
  readonly ipToSpecId?: AnyMap;
  /** Default: the object's BTF layout via usdtMaps(), else libbpf 1.1's. */
  readonly layout?: UsdtSpecLayout;
}

/** The usdt.bpf.h maps of a loaded collection, with the spec layout from its BTF. */
export function usdtMaps(collection: {
  readonly maps: Readonly<Record<string, AnyMap>>;
  readonly spec?: { readonly btf?: Btf };
}): UsdtMaps {
  const specs = collection.maps.__bpf_usdt_specs;
  if (!specs) {
    throw new LinkError(
      'program',
      "the collection has no __bpf_usdt_specs map: USDT programs must include libbpf's <bpf/usdt.bpf.h> and call bpf_usdt_arg()/bpf_usdt_cookie() (or declare the map themselves)",
    );
  }
  const btf = collection.spec?.btf;
  return {
    specs,
    ipToSpecId: collection.maps.__bpf_usdt_ip_to_spec_id,
    layout: btf?.findType('__bpf_usdt_spec', 'struct') ? usdtSpecLayoutFromBtf(btf) : LIBBPF_1_1_USDT_SPEC_LAYOUT,
  };
}

/** The USDT probes of a binary (a path, or a library name such as "libc.so.6"). */
export function listUsdtProbes(binary: string): UsdtProbe[] {
  return readUsdtProbes(openElf(resolveBinaryPath(binary)));
}

/** Options of attachUsdt. */
export interface UsdtOptions {
  /** Only this process (needed for the address map of PIE executables and shared libraries). */
  pid?: number;
  /** What bpf_usdt_cookie() returns in the program. */
  cookie?: bigint;
}

/** One probe site: where the uprobe sits and the spec id its cookie carries. */
export interface UsdtSite {
  readonly address: number;
  readonly fileOffset: number;
  readonly specId: number;
  /** The address the ip map holds for it, when known. */
  readonly runtimeAddress: bigint | undefined;
  readonly link: PerfEventLink;
}

/** Spec ids in use per specs map (by the map object: ids are per map). */
const specIdsInUse = new WeakMap<object, Set<number>>();

/** All sites of one USDT probe, attached. Closing detaches every uprobe and frees the spec ids. */
export class UsdtLink extends Link {
  readonly path: string;
  readonly provider: string;
  readonly name: string;
  readonly sites: readonly UsdtSite[];
  readonly #maps: UsdtMaps;
  readonly #specIds: readonly number[];

  /** Wraps the uprobes of every site of one probe and the spec ids they use; attachUsdt makes these. */
  constructor(path: string, provider: string, name: string, sites: UsdtSite[], maps: UsdtMaps, specIds: number[], pid?: number) {
    super(`usdt/${path}:${provider}:${name}${pid ? ` (pid ${pid})` : ''}`);
    this.path = path;
    this.provider = provider;
    this.name = name;
    this.sites = sites;
    this.#maps = maps;
    this.#specIds = specIds;
  }

  protected release(): void {
    for (const s of this.sites) s.link.close();
    releaseSpecs(this.#maps, this.#specIds, this.sites);
  }
}

function releaseSpecs(maps: UsdtMaps, specIds: readonly number[], sites: readonly { runtimeAddress: bigint | undefined }[]): void {
  const used = specIdsInUse.get(maps.specs);
  for (const id of specIds) used?.delete(id);
  if (maps.ipToSpecId && !maps.ipToSpecId.closed) {
    for (const s of sites) if (s.runtimeAddress !== undefined) maps.ipToSpecId.delete(longKey(s.runtimeAddress));
  }
}

function longKey(address: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(address);
  return b;
}

/**
 * Attaches a program that uses usdt.bpf.h to every site of probe provider:name in `binary` (an
 * executable, PIE or not, or a shared library). The program is a KPROBE-type program (SEC("usdt")).
 */
export function attachUsdt(
  program: Program,
  maps: UsdtMaps,
  binary: string,
  provider: string,
  name: string,
  options: UsdtOptions = {},
): UsdtLink {
  return attaching(`attaching "${program.name}" to USDT probe ${provider}:${name}`, () => {
    const path = resolveBinaryPath(binary);
    const elf = openElf(path);
    const all = readUsdtProbes(elf);
    const probes = all.filter((p) => p.provider === provider && p.name === name);
    if (probes.length === 0) {
      const known = [...new Set(all.map((p) => `${p.provider}:${p.name}`))];
      const near = closeNames(`${provider}:${name}`, known);
      throw new LinkError(
        'target',
        all.length === 0
          ? `${path} has no USDT probes (no .note.stapsdt notes): was it built with <sys/sdt.h> probes enabled?`
          : `${path} has no USDT probe ${provider}:${name}; ${near.length ? `close names: ${near.join(', ')}; ` : ''}it has ${known.join(', ')}`,
      );
    }
    for (const p of probes)
      if (p.argsError)
        throw new LinkError(
          'target',
          `cannot attach to USDT probe ${provider}:${name} at 0x${p.address.toString(16)} in ${path}: ${p.argsError.message}`,
          { cause: p.argsError },
        );
    const layout = maps.layout ?? LIBBPF_1_1_USDT_SPEC_LAYOUT;
    if (maps.specs.valueSize !== layout.size) {
      throw new LinkError(
        'program',
        `map "${maps.specs.name}" has ${maps.specs.valueSize}-byte values but struct __bpf_usdt_spec is ${layout.size} bytes: pass the layout of the usdt.bpf.h the program was built with (usdtMaps(collection) reads it from BTF)`,
      );
    }
    const cookie = options.cookie ?? 0n;
    const pic = isPositionIndependent(elf);
    const runtimeBase = pic && options.pid !== undefined && maps.ipToSpecId ? executableMappings(options.pid, path) : undefined;

    const used = specIdsInUse.get(maps.specs) ?? new Set<number>();
    specIdsInUse.set(maps.specs, used);
    const specIds: number[] = [];
    const sites: UsdtSite[] = [];
    const idBySpec = new Map<string, number>();
    try {
      for (const p of probes) {
        const bytes = encodeUsdtSpec(p.args, cookie, layout);
        const key = Buffer.from(bytes).toString('hex');
        let specId = idBySpec.get(key);
        if (specId === undefined) {
          specId = freeSpecId(used, maps.specs.maxEntries, maps.specs.name);
          used.add(specId);
          specIds.push(specId);
          idBySpec.set(key, specId);
          maps.specs.update(specId, bytes);
        }
        const runtimeAddress = !maps.ipToSpecId
          ? undefined
          : !pic
            ? BigInt(p.address)
            : runtimeBase
              ? runtimeAddressOf(runtimeBase, p.fileOffset)
              : undefined;
        if (runtimeAddress !== undefined) {
          const value = Buffer.alloc(4);
          value.writeUInt32LE(specId);
          maps.ipToSpecId!.update(longKey(runtimeAddress), value);
        }
        // Pushed before attaching so a failure below still removes its ip map entry.
        const site = { address: p.address, fileOffset: p.fileOffset, specId, runtimeAddress, link: undefined as unknown as PerfEventLink };
        sites.push(site);
        site.link = attachUprobeAtOffset(program, {
          path,
          offset: p.fileOffset,
          pid: options.pid,
          cookie: BigInt(specId),
          refCtrOffset: p.semaphore?.fileOffset,
          symbol: `${provider}:${name}@0x${p.address.toString(16)}`,
        });
      }
    } catch (e) {
      for (const s of sites) s.link?.close();
      releaseSpecs(maps, specIds, sites);
      if (e instanceof LinkError) {
        const semaphoreHint =
          probes.some((p) => p.semaphore) && /EINVAL/.test(e.message)
            ? " (the probe has a semaphore: the kernel refuses a ref_ctr_offset that differs from another uprobe's on the same file offset, or one outside the file)"
            : '';
        throw new LinkError(
          'attach',
          `attaching "${program.name}" to USDT probe ${provider}:${name} in ${path} failed: ${e.message}${semaphoreHint}`,
          { cause: e },
        );
      }
      throw e;
    }
    return new UsdtLink(path, provider, name, sites, maps, specIds, options.pid);
  });
}

function freeSpecId(used: Set<number>, max: number, mapName: string): number {
  for (let id = 0; id < max; id++) if (!used.has(id)) return id;
  throw new LinkError(
    'attach',
    `all ${max} spec ids of map "${mapName}" are in use: close USDT links, or raise BPF_USDT_MAX_SPEC_CNT when compiling the program`,
  );
}

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
}

/** The executable mappings of `path` in process `pid`, from /proc/<pid>/maps. */
function executableMappings(pid: number, path: string): Mapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch (e) {
    throw new LinkError('target', `cannot read /proc/${pid}/maps to place USDT probes of ${path}: ${(e as Error).message}`, { cause: e });
  }
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // Keep the path as given.
  }
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || !m[3].includes('x') || (m[5] !== real && m[5] !== path)) continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[4]}`) });
  }
  return out;
}

function runtimeAddressOf(mappings: readonly Mapping[], fileOffset: number): bigint | undefined {
  const off = BigInt(fileOffset);
  for (const m of mappings) {
    if (off >= m.offset && off < m.offset + (m.end - m.start)) return m.start + off - m.offset;
  }
  return undefined;
}
