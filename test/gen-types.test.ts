// `ebpf gen types`: bindings are generated for every object in bpf/, then type-checked by tsc
// together with code that uses them. Misuse must not compile (each `@ts-expect-error` fails the
// type check if its line compiles). Then the same code runs against the kernel and checks that
// the values the loader's BTF codecs return have the types the bindings declare.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadCollectionSpec, LoaderError } from '../src/loader/index.js';
import { join, resolve } from 'node:path';
import { isRoot, need } from './support/env.js';

const root = resolve('.');
// Every object in bpf/ the loader takes; the loader's negative fixtures (a legacy map definition with
// bytes it refuses) have no bindings to generate, and say so through LoaderError.
const objects = readdirSync('bpf')
  .filter((f) => f.endsWith('.o'))
  .filter((f) => {
    try {
      loadCollectionSpec(readFileSync(join('bpf', f)));
      return true;
    } catch (e) {
      if (e instanceof LoaderError) return false;
      throw e;
    }
  });
let dir = '';

/** The bindings' module name for bpf/NAME.o. */
const moduleOf = (file: string): string => file.replace(/\.o$/, '').replace(/\./g, '-');

// Code using the bindings of goroutines.o, xdp_counter.o and core.o: typed maps, variables,
// enums, and lines that must not compile. Run as a script, it checks the runtime values.
const USAGE = `
import { readFileSync } from 'node:fs';
import { btfCodec } from ${JSON.stringify(join(root, 'src/codec/index.js'))};
import { loadGoroutines, loadGoroutinesSpec, type config, type GoroutinesMaps } from './goroutines.js';
import { loadXdpCounter } from './xdp_counter.js';
import { pid_type } from './core.js';

// The lines that must not compile are never run.
const misuse = process.env.NEVER_SET_THIS === 'yes';

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error('runtime value does not match its declared type: ' + what);
}

const spec = loadGoroutinesSpec(readFileSync('bpf/goroutines.o'));
spec.variables.goid_offset.set(152);
const offset: number = spec.variables.goid_offset.get();
check(offset === 152, 'spec variable goid_offset');
if (misuse) {
  // @ts-expect-error goid_offset is a C int: a string is refused
  spec.variables.goid_offset.set('152');
}
if (misuse) {
  // @ts-expect-error no such variable
  spec.variables.no_such_variable;
}

{
  using coll = loadGoroutines(spec);
  const maps: GoroutinesMaps = coll.maps;
  maps.config.update(0, { pid: 77, state_mask: 5, wakeup_bytes: 0, pad: 0 });
  const c: config | undefined = maps.config.lookup(0);
  check(c !== undefined && typeof c.pid === 'number' && typeof c.state_mask === 'number' && c.pid === 77, 'config value');
  if (misuse) {
    // @ts-expect-error the key of an array map is a number, not a string
    maps.config.lookup('zero');
  }
  if (misuse) {
    // @ts-expect-error the key is a u32, not a struct
    maps.stats.lookup({ pid: 1 });
  }
  if (misuse) {
    // @ts-expect-error pid is a number
    maps.config.update(0, { pid: 'x', state_mask: 0, wakeup_bytes: 0, pad: 0 });
  }
  if (misuse) {
    // @ts-expect-error a field the struct does not have
    maps.config.update(0, { pid: 1, state_mask: 0, wakeup_bytes: 0, pad: 0, extra: 1 });
  }
  maps.stats.update(1, 5n);
  const s: bigint | undefined = maps.stats.lookup(1);
  check(typeof s === 'bigint' && s === 5n, 'stats value is a u64: bigint');
  // The same bytes through the BTF codec of the object: equal values.
  const btf = coll.spec.btf!;
  const m = coll.spec.maps.config;
  const raw = Buffer.alloc(btfCodec(btf, m.btfValueTypeId).size);
  btfCodec(btf, m.btfValueTypeId).encode({ pid: 77, state_mask: 5, wakeup_bytes: 0, pad: 0 }, raw, 0);
  check(JSON.stringify(btfCodec(btf, m.btfValueTypeId).decode(raw, 0)) === JSON.stringify(c), 'config through btfCodec');
  const live: number = coll.variables.get('goid_offset');
  check(live === 152, 'live variable');
  if (misuse) {
    // @ts-expect-error no such variable in the live collection
    coll.variables.get('nope');
  }
  coll.programs.casgstatus.info();
  if (misuse) {
    // @ts-expect-error no such program
    coll.programs.nope.info();
  }
}
{
  using coll = loadXdpCounter('bpf/xdp_counter.o');
  coll.maps.config.update(0, 1);
  const verdict: number | undefined = coll.maps.config.lookup(0);
  check(verdict === 1, 'xdp config value');
  const perCpu: bigint[] | undefined = coll.maps.counters.lookupPerCpu(3);
  check(Array.isArray(perCpu) && perCpu.every((v) => typeof v === 'bigint'), 'per-CPU u64 values are bigints');
  if (misuse) {
    // @ts-expect-error the counters are u64: a string is refused
    coll.maps.counters.updatePerCpu(3, 'many');
  }
}
// Enums: the union of names and a const object of values.
const p: pid_type = 'PIDTYPE_TGID';
check(pid_type.PIDTYPE_TGID === 1 && p === 'PIDTYPE_TGID', 'enum');
if (misuse) {
  // @ts-expect-error not a name of enum pid_type
  const q: pid_type = 'PIDTYPE_NOPE';
  void q;
}
console.log('ok');
`;

describe('ebpf gen types', () => {
  beforeAll(() => {
    mkdirSync(join(root, 'tmp'), { recursive: true });
    dir = mkdtempSync(join(root, 'tmp', 'gen-types-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generates bindings for every object in bpf/ that tsc accepts, with code using them and misuse refused', () => {
    for (const f of objects) {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'gen', 'types', `bpf/${f}`, '--import-from', join(root, 'src/index.js')],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^\/\/ Generated by `ebpf gen types bpf\//);
      writeFileSync(join(dir, `${moduleOf(f)}.ts`), r.stdout);
    }
    writeFileSync(join(dir, 'usage.ts'), USAGE);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'ESNext.Disposable'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
          noUnusedLocals: false,
        },
        include: ['*.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 600_000);

  it('a wrong key type is a compile error (the check behind each @ts-expect-error)', () => {
    writeFileSync(
      join(dir, 'wrong.ts'),
      `import { loadXdpCounter } from './xdp_counter.js';\nusing c = loadXdpCounter('x');\nc.maps.config.lookup('zero');\n`,
    );
    try {
      const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(tsc.status).not.toBe(0);
      expect(tsc.stdout.trim()).toMatch(
        /^tmp\/gen-types-\w+\/wrong\.ts\(3,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'RawInput'\.$/,
      );
    } finally {
      rmSync(join(dir, 'wrong.ts'));
    }
  }, 600_000);

  it.runIf(need(isRoot, 'running the bindings loads objects: root'))(
    "runs: the loaded maps and variables hold values of the declared types, equal to the BTF codecs'",
    () => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'usage.ts')], { encoding: 'utf8', timeout: 120_000 });
      expect(out.trim()).toBe('ok');
    },
    300_000,
  );
});
