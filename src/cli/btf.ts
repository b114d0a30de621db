// `ebpf btf list|show|dump`: the kernel's BTF objects as `bpftool btf show` lists them, and any
// BTF (the kernel's, a loaded object's by id, a raw BTF file, or an ELF object's .BTF section)
// printed as a C header (vmlinux.h) or in bpftool's raw text format.
import { readFileSync } from 'node:fs';
import { parseBtf, formatVmlinuxHeader, type Btf, type BtfType } from '../btf/index.js';
import { ElfFile } from '../elf/index.js';
import { kernelBtf } from '../kernel/btf.js';
import { kernelBtfBlob } from '../kernel/btf-by-id.js';
import { mapInfoFromFd } from '../maps/info.js';
import { programInfoFromFd } from '../programs/info.js';
import { emitJson, runCommand, runVerb, stringOption, UsageError, type CommandSpec } from './command.js';
import { btfInfoFromFd, idArgument, objectIds, withObjectFd, type BtfObjectInfo } from './objects.js';

/** A BTF object as `bpftool -j btf show` describes it: which programs and maps use it. */
export function btfRecords(only?: number): Record<string, unknown>[] {
  const progIds = new Map<number, number[]>();
  const mapIds = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, btf: number, id: number): void => {
    if (!btf) return;
    const list = m.get(btf) ?? [];
    list.push(id);
    m.set(btf, list);
  };
  for (const id of objectIds('prog')) withObjectFd('prog', id, (fd) => add(progIds, programInfoFromFd(fd).btfId, id));
  for (const id of objectIds('map')) withObjectFd('map', id, (fd) => add(mapIds, mapInfoFromFd(fd).btfId, id));
  const ids = only === undefined ? objectIds('btf') : [only];
  const out: Record<string, unknown>[] = [];
  for (const id of ids) {
    const info = withObjectFd('btf', id, btfInfoFromFd, only === undefined) as BtfObjectInfo | undefined;
    if (!info) continue;
    out.push({
      id: info.id,
      size: info.size,
      prog_ids: progIds.get(id) ?? [],
      map_ids: mapIds.get(id) ?? [],
      ...(info.name ? { name: info.name } : {}),
      kernel: info.kernel,
    });
  }
  return out;
}

function printBtf(r: Record<string, unknown>): void {
  process.stdout.write(
    `${r.id}: ${r.name ? `name ${r.name}  ` : ''}size ${r.size}B${(r.prog_ids as number[]).length ? `  prog_ids ${(r.prog_ids as number[]).join(',')}` : ''}` +
      `${(r.map_ids as number[]).length ? `  map_ids ${(r.map_ids as number[]).join(',')}` : ''}${r.kernel ? '  kernel' : ''}\n`,
  );
}

/**
 * The BTF a dump argument names: nothing (the running kernel's), a decimal id (a BTF object in
 * the kernel; a module's is split BTF on top of vmlinux), or a file (raw BTF, or an ELF object
 * whose .BTF section is read).
 */
export function btfOf(target: string | undefined): Btf {
  if (target === undefined) return kernelBtf();
  if (/^\d+$/.test(target)) {
    const id = idArgument(target);
    const info = withObjectFd('btf', id, btfInfoFromFd, false)!;
    const blob = kernelBtfBlob(id);
    // Module BTF (kernel, not vmlinux) is split: its type ids continue vmlinux's.
    return info.kernel && info.name !== 'vmlinux' ? parseBtf(blob, { base: kernelBtf() }) : parseBtf(blob);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(target);
  } catch (e) {
    throw new UsageError(`cannot read ${target}: ${(e as Error).message}`);
  }
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const elf = ElfFile.parse(bytes);
    if (!elf.section('.BTF')) throw new Error(`${target}: this ELF file has no .BTF section (compile with clang -g)`);
    return parseBtf(elf.sectionData('.BTF'));
  }
  return parseBtf(bytes);
}

/** bpftool's raw text form of one type (`bpftool btf dump ... format raw`). */
export function rawTypeLines(btf: Btf, t: BtfType): string[] {
  const name = t.name === '' ? '(anon)' : t.name;
  const head = `[${t.id}] ${t.kind.toUpperCase()} '${name}'`;
  switch (t.kind) {
    case 'void':
      return [head];
    case 'int': {
      const encoding = t.bool ? 'BOOL' : t.char ? 'CHAR' : t.signed ? 'SIGNED' : '(none)';
      return [`${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${encoding}`];
    }
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
      return [`${head} type_id=${t.type}`];
    case 'type_tag':
      return [`${head} type_id=${t.type}`];
    case 'array':
      return [`${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.length}`];
    case 'struct':
    case 'union':
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) =>
            `\t'${m.name === '' ? '(anon)' : m.name}' type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`,
        ),
      ];
    case 'enum':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${v.name}' val=${t.signed ? v.value | 0 : v.value >>> 0}`),
      ];
    case 'enum64':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${v.name}' val=${t.signed ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`}`),
      ];
    case 'fwd':
      return [`${head} fwd_kind=${t.fwdKind}`];
    case 'func':
      return [`${head} type_id=${t.type} linkage=${t.linkage}`];
    case 'func_proto':
      return [
        `${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t'${p.name === '' ? '(anon)' : p.name}' type_id=${p.type}`),
      ];
    case 'var':
      return [`${head} type_id=${t.type}, linkage=${t.linkage}`];
    case 'datasec':
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => {
          const target = btf.typeById(v.type);
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${target.kind.toUpperCase()} '${target.name}')`;
        }),
      ];
    case 'float':
      return [`${head} size=${t.size}`];
    case 'decl_tag':
      return [`${head} type_id=${t.type} component_idx=${t.componentIndex}`];
  }
}

/** A type as a JSON value: its decoded form, kind and name included. */
function typeJson(t: BtfType): unknown {
  return t;
}

const LIST: CommandSpec = { usage: 'ebpf btf list [--json]', summary: 'Lists the BTF objects in the kernel (bpftool btf show).' };
const SHOW: CommandSpec = {
  usage: 'ebpf btf show ID [--json]',
  summary: 'Shows the BTF object with id ID (bpftool btf show id ID).',
  positionals: { min: 1, max: 1, names: 'ID' },
};
const DUMP: CommandSpec = {
  usage: 'ebpf btf dump [--format c|raw] [FILE|ID] [--json]',
  summary:
    "Prints BTF as a C header (vmlinux.h) or in bpftool's raw format: the running kernel's by default, a BTF object by id, or a file (raw BTF or an ELF object's .BTF).",
  details:
    'Examples:\n  ebpf btf dump > vmlinux.h\n  ebpf btf dump --format raw bpf/goroutines.o\n' +
    'With --json: one line per type, {"id","kind","name",...} as the library decodes it (--format is then ignored).',
  options: {
    format: {
      type: 'string',
      short: 'f',
      value: 'c|raw',
      help: 'c (default): a header clang compiles; raw: one entry per type, as bpftool prints it',
    },
  },
  positionals: { min: 0, max: 1, names: 'FILE|ID' },
};

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'btf',
    {
      list: {
        summary: LIST.summary,
        run: (a) =>
          runCommand(LIST, a, (inv) => {
            for (const r of btfRecords()) (inv.json ? emitJson : printBtf)(r);
            return 0;
          }),
      },
      show: {
        summary: SHOW.summary,
        run: (a) =>
          runCommand(SHOW, a, (inv) => {
            for (const r of btfRecords(idArgument(inv.positionals[0]))) (inv.json ? emitJson : printBtf)(r);
            return 0;
          }),
      },
      dump: {
        summary: DUMP.summary,
        run: (a) =>
          runCommand(DUMP, a, (inv) => {
            const format = stringOption(inv, 'format') ?? 'c';
            if (format !== 'c' && format !== 'raw') throw new UsageError(`--format must be c or raw, got ${JSON.stringify(format)}`);
            const btf = btfOf(inv.positionals[0]);
            if (inv.json) {
              for (const t of btf.ownTypes()) emitJson(typeJson(t));
              return 0;
            }
            if (format === 'c') {
              process.stdout.write(formatVmlinuxHeader(btf));
              return 0;
            }
            const chunk: string[] = [];
            for (const t of btf.ownTypes()) {
              chunk.push(...rawTypeLines(btf, t));
              if (chunk.length > 4096) {
                process.stdout.write(`${chunk.join('\n')}\n`);
                chunk.length = 0;
              }
            }
            if (chunk.length) process.stdout.write(`${chunk.join('\n')}\n`);
            return 0;
          }),
      },
    },
    argv,
  );
}
