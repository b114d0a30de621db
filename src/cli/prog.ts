// `ebpf prog list|show`: the loaded programs, with the fields and names `bpftool prog show` uses
// (its JSON keys, so the two can be compared line by line).
import { programInfoFromFd, type ProgramInfo } from '../programs/info.js';
import { emitJson, runCommand, runVerb, type CommandSpec } from './command.js';
import { bootTimeToEpoch, idArgument, objectIds, programTypeName, withObjectFd } from './objects.js';

/** A program as `bpftool -j prog show` describes it (the fields both know). */
export function programRecord(info: ProgramInfo): Record<string, unknown> {
  return {
    id: info.id,
    type: programTypeName(info.type),
    name: info.name,
    tag: info.tag,
    gpl_compatible: info.gplCompatible,
    loaded_at: bootTimeToEpoch(info.loadTime),
    uid: info.createdByUid,
    bytes_xlated: info.xlatedSize,
    jited: info.jitedSize > 0,
    bytes_jited: info.jitedSize,
    ...(info.mapIds.length ? { map_ids: info.mapIds } : {}),
    ...(info.btfId ? { btf_id: info.btfId } : {}),
    verified_insns: info.verifiedInstructions,
    run_time_ns: info.runTimeNs,
    run_cnt: info.runCount,
  };
}

function printProgram(r: Record<string, unknown>): void {
  process.stdout.write(
    `${r.id}: ${r.type}  name ${r.name}  tag ${r.tag}${r.gpl_compatible ? '  gpl' : ''}\n` +
      `\tloaded_at ${new Date(Number(r.loaded_at) * 1000).toISOString()}  uid ${r.uid}\n` +
      `\txlated ${r.bytes_xlated}B  ${r.jited ? `jited ${r.bytes_jited}B` : 'not jited'}` +
      `${r.map_ids ? `  map_ids ${(r.map_ids as number[]).join(',')}` : ''}${r.btf_id ? `  btf_id ${r.btf_id}` : ''}\n`,
  );
}

const LIST: CommandSpec = {
  usage: 'ebpf prog list [--json]',
  summary: 'Lists every BPF program loaded in the kernel (bpftool prog show).',
};

const SHOW: CommandSpec = {
  usage: 'ebpf prog show ID [--json]',
  summary: 'Shows the loaded BPF program with id ID (bpftool prog show id ID).',
  positionals: { min: 1, max: 1, names: 'ID' },
};

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'prog',
    {
      list: {
        summary: LIST.summary,
        run: (a) =>
          runCommand(LIST, a, (inv) => {
            for (const id of objectIds('prog')) {
              const r = withObjectFd('prog', id, (fd) => programRecord(programInfoFromFd(fd)));
              if (r) (inv.json ? emitJson : printProgram)(r);
            }
            return 0;
          }),
      },
      show: {
        summary: SHOW.summary,
        run: (a) =>
          runCommand(SHOW, a, (inv) => {
            const id = idArgument(inv.positionals[0]);
            const r = withObjectFd('prog', id, (fd) => programRecord(programInfoFromFd(fd)), false)!;
            (inv.json ? emitJson : printProgram)(r);
            return 0;
          }),
      },
    },
    argv,
  );
}
