// Counts and times the Python function calls of a script, through the USDT probes Debian builds
// into python3.11 (function__entry, function__return), with a BPF program written in C on
// libbpf's usdt.bpf.h (bpf/usdt.c).
//
//   npx tsx examples/python-calls.ts -- script.py [args...]     # runs the script and reports
//   npx tsx examples/python-calls.ts --pid 1234 --seconds 5      # a running python3.11
//   options: --python PATH (default /usr/bin/python3.11), --top N, --json
//
// CPython 3.11 fires function__entry only while a profile or trace function is set (it fires
// function__return always). To time calls, a script run by this example gets a no-op profile
// function first; a process given by --pid is counted by returns, and timed only if it profiles.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCollection, loadCollectionSpec } from '../src/index.js';
import { attachUsdt, usdtMaps, type Link } from '../src/links/index.js';

const OBJECT = join(import.meta.dirname, '../bpf/usdt.o');

interface Row {
  function: string;
  calls: number;
  timed: number;
  totalNs: number;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        pid: { type: 'string' },
        seconds: { type: 'string' },
        python: { type: 'string' },
        top: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    console.error(
      `${(e as Error).message}\nusage: python-calls.ts [--pid N --seconds S] [--python PATH] [--top N] [--json] [-- script.py args...]`,
    );
    return 2;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    console.log('usage: python-calls.ts [--pid N --seconds S] [--python PATH] [--top N] [--json] [-- script.py args...]');
    return 0;
  }
  const python = o.python ?? '/usr/bin/python3.11';
  const top = Number(o.top ?? 20);
  if ((o.pid === undefined) === (positionals.length === 0) || !(top > 0)) {
    console.error('give either --pid N or a script to run after --');
    return 2;
  }

  // Only the target process: set before load, so other Python processes cost one comparison.
  const spec = loadCollectionSpec(readFileSync(OBJECT), { name: 'usdt.o' });
  let child: ReturnType<typeof spawn> | undefined;
  let pid: number;
  if (o.pid !== undefined) {
    pid = Number(o.pid);
    if (!(pid > 0)) {
      console.error(`--pid ${o.pid} is not a process id`);
      return 2;
    }
  } else {
    // The script waits for a line on stdin, so the probes are in place before its first call.
    const [script, ...args] = positionals;
    const wrapper = `import sys, runpy\nsys.stdin.readline()\nsys.argv = ${JSON.stringify([script, ...args])}\nsys.setprofile(lambda *a: None)\nrunpy.run_path(${JSON.stringify(script)}, run_name="__main__")\n`;
    child = spawn(python, ['-c', wrapper], { stdio: ['pipe', 'inherit', 'inherit'] });
    pid = child.pid!;
  }
  spec.variables.target_pid.set(pid);
  const coll = loadCollection(spec, { programs: ['python_entry', 'python_return'] });
  const links: Link[] = [];
  try {
    const maps = usdtMaps(coll);
    links.push(attachUsdt(coll.programs.python_entry, maps, python, 'python', 'function__entry', { pid }));
    links.push(attachUsdt(coll.programs.python_return, maps, python, 'python', 'function__return', { pid }));
    const started = process.hrtime.bigint();
    if (child) {
      const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
      child.stdin!.end('go\n');
      await exited;
    } else {
      const seconds = Number(o.seconds ?? 5);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        process.once('SIGINT', () => {
          clearTimeout(timer);
          resolve();
        });
        process.once('SIGTERM', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const wallNs = Number(process.hrtime.bigint() - started);
    const rows: Row[] = [];
    const stats = coll.maps.stats;
    for (let key = stats.nextKey(); key !== undefined; key = stats.nextKey(key)) {
      const v = stats.lookup(key) as { count: bigint; total_ns: bigint; timed: bigint } | undefined;
      if (!v) continue;
      const name =
        typeof key === 'string'
          ? key
          : Buffer.from(key as Uint8Array)
              .toString('utf8')
              .replace(/\0[\s\S]*$/, '');
      rows.push({ function: name, calls: Number(v.count), timed: Number(v.timed), totalNs: Number(v.total_ns) });
    }
    rows.sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls);
    if (o.json) {
      console.log(JSON.stringify({ pid, wallNs, functions: rows }));
    } else {
      console.log(
        `${'function'.padEnd(32)} ${'calls'.padStart(10)} ${'timed'.padStart(10)} ${'total ms'.padStart(12)} ${'mean µs'.padStart(10)}`,
      );
      for (const r of rows.slice(0, top)) {
        const mean = r.timed ? (r.totalNs / r.timed / 1000).toFixed(1) : '-';
        console.log(
          `${r.function.slice(0, 32).padEnd(32)} ${String(r.calls).padStart(10)} ${String(r.timed).padStart(10)} ${(r.totalNs / 1e6).toFixed(3).padStart(12)} ${mean.padStart(10)}`,
        );
      }
      console.log(`${rows.length} functions, ${rows.reduce((n, r) => n + r.calls, 0)} calls in ${(wallNs / 1e9).toFixed(2)} s`);
    }
    return 0;
  } finally {
    for (const l of links) l.close();
    coll.close();
    child?.kill('SIGKILL');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await run(process.argv.slice(2));
}
