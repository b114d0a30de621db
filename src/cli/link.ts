// `ebpf link list|show`: the kernel's bpf_links, as `bpftool link show` names them.
import { LinkInfoLayout as L } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import { emitJson, runCommand, runVerb, type CommandSpec } from './command.js';
import { idArgument, linkTypeName, objectIds, withObjectFd } from './objects.js';

/** A link as `bpftool -j link show` describes it (the fields common to every link type). */
export function linkRecord(fd: number): Record<string, unknown> {
  const { info } = objGetInfo(fd, L.size);
  return { id: info.readUInt32LE(L.id), type: linkTypeName(info.readUInt32LE(L.type)), prog_id: info.readUInt32LE(L.prog_id) };
}

function printLink(r: Record<string, unknown>): void {
  process.stdout.write(`${r.id}: ${r.type}  prog ${r.prog_id}\n`);
}

const LIST: CommandSpec = { usage: 'ebpf link list [--json]', summary: 'Lists every bpf_link in the kernel (bpftool link show).' };
const SHOW: CommandSpec = {
  usage: 'ebpf link show ID [--json]',
  summary: 'Shows the bpf_link with id ID (bpftool link show id ID).',
  positionals: { min: 1, max: 1, names: 'ID' },
};

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'link',
    {
      list: {
        summary: LIST.summary,
        run: (a) =>
          runCommand(LIST, a, (inv) => {
            for (const id of objectIds('link')) {
              const r = withObjectFd('link', id, linkRecord);
              if (r) (inv.json ? emitJson : printLink)(r);
            }
            return 0;
          }),
      },
      show: {
        summary: SHOW.summary,
        run: (a) =>
          runCommand(SHOW, a, (inv) => {
            const r = withObjectFd('link', idArgument(inv.positionals[0]), linkRecord, false)!;
            (inv.json ? emitJson : printLink)(r);
            return 0;
          }),
      },
    },
    argv,
  );
}
