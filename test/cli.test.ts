// The `ebpf` command, run as a user runs it (a child process of src/cli/main.ts): every
// subcommand's --help, bad arguments (usage on stderr, exit code 2), --json parsed back, and each
// output compared with an independent oracle: bpftool for prog/map/link/btf list, show and dump,
// clang for the C header of btf dump, llvm-objdump-19 for disasm, llvm-mc-19 for asm, and Go's own
// tools (go version, go tool nm) for go inspect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollection, Program, type Collection } from '../src/index.js';
import { assemble } from '../src/asm/index.js';
import { Link, type BpfLink } from '../src/links/index.js';
import { SUBCOMMANDS } from '../src/cli/main.js';
import { buildGoVariants, goToolNm } from './go-support.js';
import { hasCommand, isRoot, need } from './support/env.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ebpf(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and expects exit code 0; returns the JSON lines of stdout, each parsed. */
function ebpfJson(...args: string[]): Record<string, unknown>[] {
  const r = ebpf(...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function bpftoolJson(...args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

const VERBS: Record<string, string[]> = {
  prog: ['list', 'show'],
  map: ['list', 'show', 'dump'],
  link: ['list', 'show'],
  btf: ['list', 'show', 'dump'],
  go: ['inspect'],
  gen: ['types'],
};

/** Every subcommand (and verb) as it is typed, e.g. ['map', 'dump']. */
const COMMANDS: string[][] = Object.keys(SUBCOMMANDS).flatMap((name) => (VERBS[name] ? VERBS[name].map((v) => [name, v]) : [[name]]));

describe('ebpf --help and bad arguments', () => {
  it('ebpf --help lists every subcommand and exits 0', () => {
    const r = ebpf('--help');
    expect(r.status).toBe(0);
    for (const name of Object.keys(SUBCOMMANDS)) expect(r.stdout).toContain(`  ${name} `);
  });

  it('every subcommand and verb prints its usage on --help, exit code 0, nothing on stderr', () => {
    for (const cmd of [...COMMANDS, ...Object.keys(VERBS).map((g) => [g])]) {
      const r = ebpf(...cmd, '--help');
      expect(r.status, `${cmd.join(' ')} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout, cmd.join(' ')).toMatch(new RegExp(`^usage: ebpf ${cmd.join(' ')}`));
      expect(r.stderr).toBe('');
    }
  }, 300_000);

  it('an unknown option fails at once: usage line on stderr, exit code 2, nothing on stdout', () => {
    for (const cmd of COMMANDS) {
      const r = ebpf(...cmd, '--no-such-option');
      expect(r.status, `${cmd.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/usage: ebpf /);
      expect(r.stdout).toBe('');
    }
  }, 300_000);

  it('missing values, missing and extra arguments, unknown subcommands and verbs exit 2', () => {
    const bad: string[][] = [
      [],
      ['nope'],
      ['prog'],
      ['prog', 'frobnicate'],
      ['prog', 'show'],
      ['prog', 'show', 'abc'],
      ['prog', 'show', '1', '2'],
      ['map', 'dump'],
      ['map', 'dump', 'relative/pin'],
      ['btf', 'dump', '--format', 'yaml'],
      ['btf', 'dump', '--format'],
      ['syscount', '--pid'],
      ['syscount', '--pid', 'x'],
      ['syscount', '--pid', '--json'],
      ['syscount', '--seconds', '-1'],
      ['syscount', '--pid', '1', '--', 'true'],
      ['syscount', '--'],
      ['goroutines', '--pid'],
      ['goroutines', '--pid', '1', '--binary', '/bin/sh'],
      ['xdp-modes', '--repeat', '0'],
      ['xdp-modes', '--dev'],
      ['asm'],
      ['asm', '/no/such/file'],
      ['asm', 'a', '--order', 'middle'],
      ['disasm'],
      ['disasm', '1', '--section', 'xdp'],
      ['go', 'inspect'],
      ['gen', 'types'],
      ['gen', 'types', 'bpf/goroutines.o', '--name', '1x'],
      ['feature', 'extra'],
    ];
    for (const args of bad) {
      const r = ebpf(...args);
      expect(r.status, `ebpf ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage: ebpf/);
    }
  }, 300_000);
});

describe.runIf(need(isRoot && hasCommand('bpftool'), 'the object subcommands need root and bpftool (the oracle)'))(
  'ebpf prog|map|link|btf against bpftool',
  () => {
    let coll: Collection;
    let link: BpfLink;
    let tp: Program;
    beforeAll(() => {
      // goroutines.o has BTF, an array of structs, an array of u64 and a ring buffer.
      coll = loadCollection('bpf/goroutines.o');
      coll.maps.config.update(0, { pid: 4242, state_mask: 0x16 });
      coll.maps.stats.update(1, 123456789012n);
      tp = Program.load({ type: 'RAW_TRACEPOINT', instructions: assemble('r0 = 0\nexit'), name: 'cli_test_tp' });
      link = Link.rawTracepoint(tp, 'sys_enter');
    });
    afterAll(() => {
      link?.close();
      tp?.close();
      coll?.close();
    });

    const PROG_FIELDS = ['id', 'type', 'name', 'tag', 'gpl_compatible', 'uid', 'bytes_xlated', 'jited', 'bytes_jited', 'map_ids', 'btf_id'];
    const MAP_FIELDS = ['id', 'type', 'name', 'flags', 'bytes_key', 'bytes_value', 'max_entries', 'btf_id'];
    const pick = (o: Record<string, unknown>, fields: string[]): Record<string, unknown> =>
      Object.fromEntries(
        fields.filter((f) => o[f] !== undefined).map((f) => [f, f === 'map_ids' ? [...(o[f] as number[])].sort((a, b) => a - b) : o[f]]),
      );

    it('prog list and show --json give what bpftool -j prog show gives for the same programs', () => {
      const id = coll.programs.casgstatus.info().id;
      const ours = ebpfJson('prog', 'list');
      const theirs = bpftoolJson('prog', 'show') as Record<string, unknown>[];
      for (const mine of [id, link.info().programId]) {
        const a = ours.find((p) => p.id === mine)!;
        const b = theirs.find((p) => p.id === mine)!;
        expect(a, `program ${mine} in ebpf prog list`).toBeDefined();
        expect(pick(a, PROG_FIELDS)).toEqual(pick(b, PROG_FIELDS));
        expect(Math.abs(Number(a.loaded_at) - Number(b.loaded_at))).toBeLessThanOrEqual(2);
      }
      // Every program bpftool lists that still exists is in our list too (others come and go meanwhile).
      const after = new Set((bpftoolJson('prog', 'show') as { id: number }[]).map((p) => p.id));
      for (const p of theirs)
        if (after.has(p.id as number))
          expect(
            ours.some((o) => o.id === p.id),
            `program ${p.id}`,
          ).toBe(true);
      const [shown] = ebpfJson('prog', 'show', String(id));
      expect(pick(shown, PROG_FIELDS)).toEqual(pick(bpftoolJson('prog', 'show', 'id', String(id)) as Record<string, unknown>, PROG_FIELDS));
    });

    it('map list and show --json give what bpftool -j map show gives', () => {
      const ours = ebpfJson('map', 'list');
      for (const name of ['config', 'stats', 'events']) {
        const id = coll.maps[name].info().id;
        const b = bpftoolJson('map', 'show', 'id', String(id)) as Record<string, unknown>;
        expect(
          pick(
            ours.find((m) => m.id === id)!,
            MAP_FIELDS,
          ),
        ).toEqual(pick(b, MAP_FIELDS));
        expect(pick(ebpfJson('map', 'show', String(id))[0], MAP_FIELDS)).toEqual(pick(b, MAP_FIELDS));
      }
    });

    it("map dump decodes values from the map's BTF as bpftool's formatted dump does, by id and by pin", () => {
      const config = coll.maps.config.info().id;
      const theirs = bpftoolJson('map', 'dump', 'id', String(config)) as { formatted: { key: unknown; value: unknown } }[];
      const ours = ebpfJson('map', 'dump', String(config));
      expect(ours).toEqual(theirs.map((e) => ({ key: e.formatted.key, value: e.formatted.value })));
      expect(ours[0]).toMatchObject({ key: 0, value: { pid: 4242, state_mask: 0x16 } });

      const stats = coll.maps.stats.info().id;
      const statsTheirs = bpftoolJson('map', 'dump', 'id', String(stats)) as { formatted: { key: unknown; value: unknown } }[];
      expect(ebpfJson('map', 'dump', String(stats))).toEqual(statsTheirs.map((e) => ({ key: e.formatted.key, value: e.formatted.value })));

      const pinDir = mkdtempSync('/sys/fs/bpf/ebpf-cli-');
      try {
        coll.maps.config.pin(join(pinDir, 'config'));
        expect(ebpfJson('map', 'dump', join(pinDir, 'config'))).toEqual(ours);
      } finally {
        rmSync(pinDir, { recursive: true, force: true });
      }
      // A ring buffer has no keys: a clear error, exit code 1.
      const r = ebpf('map', 'dump', String(coll.maps.events.info().id));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/ringbuf map: it has no keys to dump/);
    });

    it("map dump of a per-CPU map gives one value per possible CPU, as bpftool's formatted dump", () => {
      using xdp = loadCollection('bpf/xdp_counter.o');
      xdp.maps.config.update(0, 2);
      xdp.programs.xdp_counter.testRun({ data: Buffer.alloc(64), repeat: 7 });
      const id = xdp.maps.counters.info().id;
      const theirs = bpftoolJson('map', 'dump', 'id', String(id)) as {
        formatted: { key: unknown; values: { cpu: number; value: unknown }[] };
      }[];
      const ours = ebpfJson('map', 'dump', String(id));
      expect(ours).toEqual(theirs.map((e) => ({ key: e.formatted.key, values: e.formatted.values.map((v) => v.value) })));
      expect((ours[2].values as number[]).reduce((a, b) => a + b, 0)).toBe(7); // slot 2: XDP_PASS verdicts
    });

    it('link list and show --json give what bpftool -j link show gives', () => {
      const id = link.info().id;
      const want = bpftoolJson('link', 'show', 'id', String(id)) as Record<string, unknown>;
      const fields = ['id', 'type', 'prog_id'];
      expect(
        pick(
          ebpfJson('link', 'list').find((l) => l.id === id)!,
          fields,
        ),
      ).toEqual(pick(want, fields));
      expect(pick(ebpfJson('link', 'show', String(id))[0], fields)).toEqual(pick(want, fields));
    });

    it('btf list and show --json give what bpftool -j btf show gives', () => {
      const progId = coll.programs.casgstatus.info().id;
      const btfId = (bpftoolJson('prog', 'show', 'id', String(progId)) as { btf_id: number }).btf_id;
      const fields = ['id', 'size', 'name', 'kernel'];
      const want = bpftoolJson('btf', 'show', 'id', String(btfId)) as Record<string, unknown>;
      const [shown] = ebpfJson('btf', 'show', String(btfId));
      expect(pick(shown, fields)).toEqual(pick(want, fields));
      expect([...(shown.prog_ids as number[])].sort()).toEqual([...(want.prog_ids as number[])].sort());
      expect([...(shown.map_ids as number[])].sort()).toEqual([...(want.map_ids as number[])].sort());
      const vmlinux = ebpfJson('btf', 'list').find((b) => b.id === 1)!;
      expect(pick(vmlinux, fields)).toEqual(pick(bpftoolJson('btf', 'show', 'id', '1') as Record<string, unknown>, fields));
    });

    it("disasm ID prints the kernel's xlated instructions of a loaded program", () => {
      const code = assemble('r0 = 0x2\nr1 = r0\nr1 += 0x3\nexit');
      using prog = Program.load({ type: 'XDP', instructions: code, name: 'cli_disasm' });
      const id = prog.info().id;
      const lines = ebpfJson('disasm', String(id));
      expect(lines.map((l) => l.text)).toEqual(['r0 = 0x2', 'r1 = r0', 'r1 += 0x3', 'exit']);
      expect(lines.map((l) => l.bytes).join('')).toBe(Buffer.from(code).toString('hex'));
      const xlated = (bpftoolJson('prog', 'show', 'id', String(id)) as { bytes_xlated: number }).bytes_xlated;
      expect(lines.length * 8).toBe(xlated);
      // The real program of an object: as many slots as bpftool says the kernel holds.
      const big = coll.programs.casgstatus.info();
      const slots = ebpfJson('disasm', String(big.id));
      const last = slots[slots.length - 1];
      expect((Number(last.slot) + String(last.bytes).length / 16) * 8).toBe(
        (bpftoolJson('prog', 'show', 'id', String(big.id)) as { bytes_xlated: number }).bytes_xlated,
      );
    });
  },
);

describe.runIf(need(hasCommand('bpftool'), 'btf dump is compared with bpftool'))('ebpf btf dump', () => {
  it('--format raw prints exactly what bpftool btf dump ... format raw prints, for every object in bpf/ and the kernel', () => {
    const files = [
      ...readdirSync('bpf')
        .filter((f) => f.endsWith('.o'))
        .map((f) => `bpf/${f}`),
      '/sys/kernel/btf/vmlinux',
    ];
    for (const f of files) {
      const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', f, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 256 << 20 });
      const r = ebpf('btf', 'dump', '--format', 'raw', f);
      expect(r.status, r.stderr).toBe(0);
      if (r.stdout !== theirs) {
        const a = r.stdout.split('\n');
        const b = theirs.split('\n');
        const i = a.findIndex((l, n) => l !== b[n]);
        expect(`${f} line ${i + 1}: ${a[i]}`).toBe(`${f} line ${i + 1}: ${b[i]}`);
      }
    }
  }, 300_000);

  it.runIf(need(hasCommand('clang'), 'the C header is checked by compiling it with clang'))(
    "--format c gives headers clang compiles: the kernel's vmlinux.h and an object's types",
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ebpf-cli-btf-'));
      try {
        for (const [name, source] of [
          ['vmlinux.h', undefined],
          ['goroutines.h', 'bpf/goroutines.o'],
        ] as const) {
          const r = ebpf('btf', 'dump', ...(source ? [source] : []));
          expect(r.status, r.stderr).toBe(0);
          writeFileSync(join(dir, name), r.stdout);
        }
        writeFileSync(join(dir, 'use.c'), '#include "vmlinux.h"\nint f(struct task_struct *t) { return t->pid; }\n');
        writeFileSync(join(dir, 'use2.c'), '#include "goroutines.h"\nunsigned f(struct config *c) { return c->pid + c->state_mask; }\n');
        for (const c of ['use.c', 'use2.c'])
          execFileSync('clang', ['-target', 'bpf', '-fsyntax-only', '-Wno-everything', join(dir, c)], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    300_000,
  );

  it('--json writes one decoded type per line', () => {
    const lines = ebpfJson('btf', 'dump', 'bpf/xdp_counter.o');
    const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', 'bpf/xdp_counter.o', 'format', 'raw'], { encoding: 'utf8' });
    expect(lines.length).toBe(theirs.split('\n').filter((l) => l.startsWith('[')).length);
    expect(lines.find((t) => t.name === 'xdp_md')).toMatchObject({ kind: 'struct', size: 24 });
  });
});

describe.runIf(need(hasCommand('llvm-objdump-19') && hasCommand('llvm-mc-19'), 'asm and disasm are compared with llvm-19'))(
  'ebpf asm and disasm against LLVM',
  () => {
    it('disasm OBJ.o prints the instructions llvm-objdump-19 -d prints, for every object in bpf/', () => {
      for (const f of readdirSync('bpf').filter((x) => x.endsWith('.o'))) {
        const theirs = execFileSync('llvm-objdump-19', ['-d', '--mcpu=v4', `bpf/${f}`], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => /^\s+\d+:\t/.test(l))
          .map((l) => l.replace(/ <[^>]+>$/, ''));
        const r = ebpf('disasm', `bpf/${f}`);
        expect(r.status, r.stderr).toBe(0);
        // bpf-to-bpf calls: LLVM prints `call -0x1` as for a helper; ours says `call pc-0x1` (src/asm/disassemble.ts).
        const ours = r.stdout
          .split('\n')
          .filter((l) => /^\s+\d+:\t/.test(l))
          .map((l) => l.replace(/\tcall pc([+-])/, (_m, s: string) => `\tcall ${s === '+' ? '' : '-'}`));
        expect(ours, f).toEqual(theirs);
        const json = ebpfJson('disasm', `bpf/${f}`);
        expect(json.length).toBe(theirs.length);
        expect(json.every((l) => typeof l.section === 'string' && typeof l.text === 'string')).toBe(true);
      }
    }, 300_000);

    it('asm FILE encodes what llvm-mc-19 encodes; -o writes the raw bytecode', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ebpf-cli-asm-'));
      try {
        const text = 'r1 = 0x1234\nr2 = r1\nw3 = *(u32 *)(r1 + 0x8)\nif r2 > 0x5 goto +0x1\nr0 = 0x0 ll\nexit\n';
        writeFileSync(join(dir, 'p.s'), text);
        const lines = ebpfJson('asm', join(dir, 'p.s'));
        const mc = execFileSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '--show-encoding'], { input: text, encoding: 'utf8' });
        const encodings = [...mc.matchAll(/encoding: \[([^\]]+)\]/g)].map((m) => m[1].split(',').map((b) => Number(b.trim())));
        expect(lines.map((l) => l.bytes)).toEqual(encodings.map((e) => Buffer.from(e).toString('hex')));
        const r = ebpf('asm', join(dir, 'p.s'), '-o', join(dir, 'p.bin'));
        expect(r.status, r.stderr).toBe(0);
        expect(readFileSync(join(dir, 'p.bin')).toString('hex')).toBe(lines.map((l) => l.bytes).join(''));
        // A syntax error is reported with its line, exit code 1.
        writeFileSync(join(dir, 'bad.s'), 'r0 = 1\nr11 = 2\n');
        const bad = ebpf('asm', join(dir, 'bad.s'));
        expect(bad.status).toBe(1);
        expect(bad.stderr).toMatch(/2:1: unknown instruction 'r11'/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe.runIf(need(hasCommand('go'), 'go inspect is compared with the Go toolchain'))('ebpf go inspect', () => {
  let dir = '';
  let binary = '';
  beforeAll(async () => {
    const built = await buildGoVariants([{ name: 'app', args: [] }]);
    dir = built.dir;
    binary = built.builds.get('app')!;
  }, 300_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the version `go version` reads and the casgstatus address `go tool nm` lists', async () => {
    const [r] = ebpfJson('go', 'inspect', binary);
    const goVersion = execFileSync('go', ['version', binary], { encoding: 'utf8' }).trim().split(' ').pop();
    expect(r.version).toBe(goVersion);
    const nm = await goToolNm(binary);
    expect((r.casgstatus as { address: string }).address).toBe(`0x${nm.get('runtime.casgstatus')!.toString(16)}`);
    expect(r.goidOffset).toBe(152); // go1.19: from DWARF, the table agrees
    expect(r.goidOffsetSource).toBe('dwarf');
    expect((r.abi as { kind: string }).kind).toBe('registers');
    const text = ebpf('go', 'inspect', binary);
    expect(text.stdout).toContain(`Go version       ${goVersion}`);
  });

  it('a file that is not a Go program fails with a clear message, exit code 1', () => {
    const r = ebpf('go', 'inspect', 'bpf/goroutines.o');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bpf\/goroutines\.o/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe.runIf(need(isRoot, 'syscount and feature need root'))('ebpf syscount and feature', () => {
  it('syscount --json: one JSON line on stdout even when the command prints; the shell wrapper is not counted', () => {
    const r = ebpf('syscount', '--json', '--', 'dd', 'if=/dev/zero', 'bs=1', 'count=300', 'status=none');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as { exitCode: number; syscalls: { name: string; count: number }[] };
    expect(out.exitCode).toBe(0);
    const count = (n: string): number => out.syscalls.find((s) => s.name === n)?.count ?? 0;
    // dd copies 300 one-byte blocks (its output went to stderr). The wrapper's reads of the go line
    // and its PATH search are not counted: one execve, and only the dynamic loader's few extra reads.
    expect(count('execve')).toBe(1);
    expect(count('write')).toBe(300);
    expect(count('read')).toBeGreaterThanOrEqual(300);
    expect(count('read')).toBeLessThan(306);
  });

  it('feature --json is one JSON line', () => {
    const lines = ebpfJson('feature', '--no-helpers');
    expect(lines.length).toBeGreaterThan(30);
    for (const l of lines) expect(typeof l.name === 'string' && typeof l.supported === 'boolean', JSON.stringify(l)).toBe(true);
    expect(lines.find((l) => l.name === 'program_type/xdp')?.supported).toBe(true);
  });
});
