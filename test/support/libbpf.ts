// libbpf as an oracle: test/support/libbpf-oracle.c, built once per process with gcc -lbpf,
// loads one program of an object alone (and test-runs it) the way libbpf does, and this module
// does the same with this library, so tests compare the two on the same object.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollection, loadCollectionSpec, type CollectionSpec } from '../../src/loader/index.js';

export interface OracleOutcome {
  loaded: boolean;
  retval?: number;
  error?: string;
}

/** The 64-byte IPv4-over-Ethernet frame both sides test-run programs on. */
export function oraclePacket(): Buffer {
  const p = Buffer.alloc(64);
  p[12] = 0x08;
  p[14] = 0x45;
  return p;
}

let binary: string | undefined;

/** Whether gcc and libbpf-dev are there to build the oracle. */
export function libbpfAvailable(): boolean {
  return existsSync('/usr/include/bpf/libbpf.h') && existsSync('/usr/bin/gcc');
}

function oracleBinary(): string {
  if (binary) return binary;
  const source = new URL('./libbpf-oracle.c', import.meta.url).pathname;
  const out = join(mkdtempSync(join(tmpdir(), 'ebpf-libbpf-oracle-')), 'libbpf-oracle');
  execFileSync('gcc', ['-O1', '-Wall', '-o', out, source, '-lbpf'], { stdio: 'pipe' });
  binary = out;
  return out;
}

/** libbpf loads `program` of `object` alone, sets u32 .rodata variables first, and test-runs it when `run`. */
export function libbpfLoad(
  object: string,
  program: string,
  options: { run?: boolean; set?: Record<string, number>; pinPath?: string } = {},
): OracleOutcome {
  const args = [object, program];
  if (options.run) args.push('--run');
  if (options.pinPath) args.push('--pin-root', options.pinPath);
  for (const [k, v] of Object.entries(options.set ?? {})) args.push('--set', `${k}=${v}`);
  const out = execFileSync(oracleBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim()) as OracleOutcome;
}

/** This library loads `program` of `object` alone, the same way. */
export function ourLoad(
  object: string,
  program: string,
  options: { run?: boolean; set?: Record<string, number>; spec?: CollectionSpec; pinPath?: string } = {},
): OracleOutcome {
  let c;
  try {
    const spec = options.spec ?? loadCollectionSpec(new Uint8Array(readFileSync(object)), { name: object });
    for (const [k, v] of Object.entries(options.set ?? {})) spec.variables[k].set(v);
    c = loadCollection(spec, { programs: [program], ...(options.pinPath ? { pinPath: options.pinPath } : {}) });
  } catch (e) {
    return { loaded: false, error: (e as Error).message };
  }
  try {
    if (!options.run) return { loaded: true };
    return { loaded: true, retval: c.programs[program].testRun({ data: oraclePacket() }).retval };
  } finally {
    c.close();
  }
}

/** libbpf_prog_type_by_name() for each name: program type and expected attach type, or undefined when libbpf does not know it. */
export function libbpfSectionKinds(names: readonly string[]): Map<string, { type: number; attach: number } | undefined> {
  const out = execFileSync(oracleBinary(), ['--sections', ...names], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const result = new Map<string, { type: number; attach: number } | undefined>();
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { name: string; type?: number; attach?: number };
    result.set(r.name, r.type === undefined ? undefined : { type: r.type, attach: r.attach! });
  }
  return result;
}
