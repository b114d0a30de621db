// `ebpf go inspect BINARY`: what the goroutine tracer reads out of a Go executable, without
// running it: the Go version, where goid sits in runtime.g, the calling convention of
// runtime.casgstatus, and that function's address and file offset (what a uprobe takes).
import { openElf } from '../links/uprobe.js';
import { inspectGoBinary } from '../goroutines/index.js';
import { emitJson, runCommand, runVerb, type CommandSpec } from './command.js';

const INSPECT: CommandSpec = {
  usage: 'ebpf go inspect BINARY [--json]',
  summary: 'Reads a Go executable (stripped or not): Go version, goid offset in runtime.g, ABI of runtime.casgstatus and its address.',
  positionals: { min: 1, max: 1, names: 'BINARY' },
};

/** The facts `ebpf go inspect` prints, as one JSON-ready object. */
export function inspectRecord(path: string): Record<string, unknown> {
  const info = inspectGoBinary(path);
  const address = info.functions.lookup('runtime.casgstatus');
  const fileOffset = address === undefined ? undefined : openElf(path).fileOffsetOf(address);
  return {
    binary: path,
    version: info.version.raw,
    versionSource: info.versionSource,
    goidOffset: info.goidOffset,
    goidOffsetSource: info.goidOffsetSource,
    abi: info.abi,
    casgstatus:
      address === undefined
        ? null
        : { address: `0x${address.toString(16)}`, fileOffset: fileOffset === undefined ? null : `0x${fileOffset.toString(16)}` },
    functions: info.functions.count,
    pclntab: { format: info.pclntab.format, magic: `0x${info.pclntab.magic.toString(16)}`, where: info.pclntab.where },
    warnings: info.warnings,
  };
}

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'go',
    {
      inspect: {
        summary: INSPECT.summary,
        run: (a) =>
          runCommand(INSPECT, a, (inv) => {
            const r = inspectRecord(inv.positionals[0]);
            if (inv.json) {
              emitJson(r);
              return 0;
            }
            const abi = r.abi as { kind: string; arch?: string };
            const cas = r.casgstatus as { address: string; fileOffset: string | null } | null;
            process.stdout.write(
              `${r.binary}\n  Go version       ${r.version} (from ${r.versionSource})\n` +
                `  goid offset      +${r.goidOffset} in runtime.g (from ${r.goidOffsetSource})\n` +
                `  ABI              ${abi.kind}${abi.arch ? ` (${abi.arch})` : ''}\n` +
                `  casgstatus       ${cas ? `${cas.address} (file offset ${cas.fileOffset ?? 'unmapped'})` : 'not found'}\n` +
                `  functions        ${r.functions} (pclntab ${(r.pclntab as { format: string }).format})\n` +
                (r.warnings as string[]).map((w) => `  note: ${w}\n`).join(''),
            );
            return 0;
          }),
      },
    },
    argv,
  );
}
