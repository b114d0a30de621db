// AF_XDP receive in Node against the same receive loop in C on libxdp (and a raw AF_PACKET socket),
// by bench/afxdp.ts, which sets up its own namespace and veth pair; run as a child so that its
// network namespace and sockets never touch this process.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quick } from '../lib/measure.js';
import { rows } from '../lib/table.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'afxdp.ts');

export function benchAfxdp(): void {
  const args = ['--import', 'tsx', SCRIPT, '--json', ...(quick ? ['--rounds', '3', '--warmup', '5'] : [])];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { oursPps: number; libxdpPps: number; notes: string; afxdp: { ok: boolean } };
  rows.push({
    metric: 'AF_XDP receive in Node, 64 B frames',
    unit: 'pkt/s',
    better: 'higher',
    ours: r.oursPps,
    libbpf: r.libxdpPps,
    cilium: undefined,
    target: 1.0,
    extra: { ok: r.afxdp.ok, text: 'every frame received with the right bytes' },
    note: r.notes,
  });
}
