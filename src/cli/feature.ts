// `ebpf feature`: what the running kernel supports. A minimal version (the kernel release and the
// BTF kinds it accepts); the full feature probes replace this module.
import { release } from 'node:os';
import { btfFeatures } from '../loader/index.js';
import { emitJson, runCommand, type CommandSpec } from './command.js';

const SPEC: CommandSpec = {
  usage: 'ebpf feature [--json]',
  summary: 'Probes what the running kernel supports.',
};

export async function run(argv: string[]): Promise<number> {
  return runCommand(SPEC, argv, (inv) => {
    const record = { kernel: release(), btf: btfFeatures() };
    if (inv.json) emitJson(record);
    else {
      process.stdout.write(`kernel ${record.kernel}\n`);
      for (const [k, v] of Object.entries(record.btf)) process.stdout.write(`  btf ${k.padEnd(16)} ${v ? 'yes' : 'no'}\n`);
    }
    return 0;
  });
}
