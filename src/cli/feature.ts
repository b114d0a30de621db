// `ebpf feature [--json] [--no-helpers]`: what the running kernel supports, probed as
// `bpftool feature probe` does, each answer with the kernel version it came in.
import { parseArgs } from 'node:util';
import { FeatureProbeError, probeAll, type FeatureAnswer, type FeatureReport } from '../features/index.js';

const USAGE =
  'usage: ebpf feature [--json] [--no-helpers]\n' +
  '  Probes program types, map types, helpers per program type, attach and link types, BTF kinds\n' +
  '  and instruction-set features of the running kernel (needs root or CAP_BPF).\n' +
  '  --json        one JSON object per line: {name, supported, minimumKernel, detail}; then one\n' +
  '                line per program type: {name: "helpers/<type>", helpers: [...]}\n' +
  '  --no-helpers  skip the helper probes (thousands of loads)\n';

const GROUPS: [keyof FeatureReport, string][] = [
  ['programTypes', 'Program types'],
  ['mapTypes', 'Map types'],
  ['attachTypes', 'Attach types'],
  ['linkTypes', 'Link types'],
  ['btf', 'BTF'],
  ['misc', 'Miscellaneous'],
];

export async function run(argv: string[]): Promise<number> {
  let values: { json?: boolean; 'no-helpers'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, 'no-helpers': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`ebpf feature: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let report: FeatureReport;
  try {
    report = probeAll({ helpers: !values['no-helpers'] });
  } catch (e) {
    if (e instanceof FeatureProbeError) {
      process.stderr.write(`ebpf feature: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (values.json) {
    for (const [group] of GROUPS) {
      for (const a of report[group] as FeatureAnswer[]) {
        process.stdout.write(
          `${JSON.stringify({ name: a.name, supported: a.supported, minimumKernel: a.minimumKernel ?? null, detail: a.detail })}\n`,
        );
      }
    }
    for (const [type, list] of Object.entries(report.helpers))
      process.stdout.write(`${JSON.stringify({ name: `helpers/${type}`, helpers: list })}\n`);
    return 0;
  }
  const out: string[] = [`Kernel ${report.kernel}`];
  for (const [group, title] of GROUPS) {
    out.push('', `${title}:`);
    for (const a of report[group] as FeatureAnswer[]) {
      const label = a.name.slice(a.name.indexOf('/') + 1);
      out.push(
        `  ${a.supported ? 'yes' : 'no '}  ${label.padEnd(32)} ${a.minimumKernel ? `since ${a.minimumKernel}` : ''}${a.supported ? '' : `  (${a.detail})`}`,
      );
    }
  }
  if (Object.keys(report.helpers).length) {
    out.push('', 'Helpers per program type:');
    for (const [type, list] of Object.entries(report.helpers)) out.push(`  ${type}: ${list.length} helpers`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
