// `ebpf map list|show|dump`: the kernel's maps as `bpftool map show` names them, and their
// contents decoded from the BTF the map was created with (bpftool prints hex for maps it cannot
// pretty-print; here any map with BTF is decoded). A map without BTF is dumped as hex strings.
import { mapInfoFromFd, type MapInfo } from '../maps/info.js';
import { BpfMap } from '../maps/map.js';
import { openTypedMap } from '../maps/typed.js';
import { MapType } from '../uapi/bpf.js';
import { emitJson, runCommand, runVerb, toJson, UsageError, type CommandSpec } from './command.js';
import { idArgument, mapTypeName, objectIds, withObjectFd } from './objects.js';

/** A map as `bpftool -j map show` describes it (the fields both know). */
export function mapRecord(info: MapInfo): Record<string, unknown> {
  return {
    id: info.id,
    type: mapTypeName(info.type),
    name: info.name,
    flags: info.flags,
    bytes_key: info.keySize,
    bytes_value: info.valueSize,
    max_entries: info.maxEntries,
    ...(info.btfId ? { btf_id: info.btfId } : {}),
  };
}

function printMap(r: Record<string, unknown>): void {
  process.stdout.write(
    `${r.id}: ${r.type}  name ${r.name}  flags 0x${Number(r.flags).toString(16)}\n` +
      `\tkey ${r.bytes_key}B  value ${r.bytes_value}B  max_entries ${r.max_entries}${r.btf_id ? `  btf_id ${r.btf_id}` : ''}\n`,
  );
}

/** Map types whose elements cannot be listed by key. */
const NOT_DUMPABLE = new Set<number>([
  MapType.RINGBUF,
  MapType.USER_RINGBUF,
  MapType.BLOOM_FILTER,
  MapType.QUEUE,
  MapType.STACK,
  MapType.PERF_EVENT_ARRAY,
  MapType.STRUCT_OPS,
  MapType.ARENA,
]);

/** The map named by a dump argument: a decimal id, or a path in bpffs where it is pinned. */
function mapIdOf(target: string): number {
  if (/^\d+$/.test(target)) return idArgument(target);
  if (!target.startsWith('/'))
    throw new UsageError(`expected a map id or the absolute path of a pinned map, got ${JSON.stringify(target)}`);
  using pinned = BpfMap.fromPin(target);
  return pinned.info().id;
}

/** Every entry of map `id`, decoded from its BTF when it has some, else as hex bytes. */
export function dumpMap(id: number, emit: (entry: { key: unknown; value?: unknown; values?: unknown[] }) => void): void {
  const info = withObjectFd('map', id, mapInfoFromFd, false)!;
  if (NOT_DUMPABLE.has(info.type)) throw new Error(`map ${id} (${info.name}) is a ${mapTypeName(info.type)} map: it has no keys to dump`);
  using map = info.btfId && info.btfValueTypeId ? openTypedMap(id) : BpfMap.fromId<unknown, unknown>(id);
  if (map.isPerCpu) {
    for (const [key, values] of map.entriesPerCpu()) emit({ key, values });
  } else {
    for (const [key, value] of map.entries()) emit({ key, value });
  }
}

function printEntry(e: { key: unknown; value?: unknown; values?: unknown[] }): void {
  process.stdout.write(`key: ${toJson(e.key)}  ${e.values ? `values: ${toJson(e.values)}` : `value: ${toJson(e.value)}`}\n`);
}

const LIST: CommandSpec = { usage: 'ebpf map list [--json]', summary: 'Lists every BPF map in the kernel (bpftool map show).' };
const SHOW: CommandSpec = {
  usage: 'ebpf map show ID [--json]',
  summary: 'Shows the BPF map with id ID (bpftool map show id ID).',
  positionals: { min: 1, max: 1, names: 'ID' },
};
const DUMP: CommandSpec = {
  usage: 'ebpf map dump ID|PIN [--json]',
  summary: 'Prints every entry of a map (by id or bpffs pin path), keys and values decoded from its BTF.',
  details:
    'JSON lines: {"key":K,"value":V}, per-CPU maps {"key":K,"values":[V per possible CPU]}.\n' +
    'Integers up to 32 bits are numbers; wider ones numbers when exact, else decimal strings; enums by name;\n' +
    'char arrays as strings. A map without BTF gives keys and values as hex strings.',
  positionals: { min: 1, max: 1, names: 'ID|PIN' },
};

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'map',
    {
      list: {
        summary: LIST.summary,
        run: (a) =>
          runCommand(LIST, a, (inv) => {
            for (const id of objectIds('map')) {
              const r = withObjectFd('map', id, (fd) => mapRecord(mapInfoFromFd(fd)));
              if (r) (inv.json ? emitJson : printMap)(r);
            }
            return 0;
          }),
      },
      show: {
        summary: SHOW.summary,
        run: (a) =>
          runCommand(SHOW, a, (inv) => {
            const r = withObjectFd('map', idArgument(inv.positionals[0]), (fd) => mapRecord(mapInfoFromFd(fd)), false)!;
            (inv.json ? emitJson : printMap)(r);
            return 0;
          }),
      },
      dump: {
        summary: DUMP.summary,
        run: (a) =>
          runCommand(DUMP, a, (inv) => {
            dumpMap(mapIdOf(inv.positionals[0]), inv.json ? emitJson : printEntry);
            return 0;
          }),
      },
    },
    argv,
  );
}
