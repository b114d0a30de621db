// BTF parser against bpftool as the oracle, on the running kernel's BTF and on a clang-compiled
// object; round trips through the marshaller; .BTF.ext; malformed input.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Btf,
  BtfError,
  CORE_RELO_KIND,
  formatTypeDeclaration,
  formatVmlinuxHeader,
  marshalBtf,
  parseBtf,
  parseBtfExt,
  StringTableBuilder,
  type BtfKind,
  type BtfType,
} from '../src/btf/index.js';
import { hasCommand, need } from './support/env.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const FIXTURE = new URL('./fixtures/btf/prog.c', import.meta.url).pathname;
const haveKernelBtf = need(existsSync(VMLINUX), 'kernel BTF at /sys/kernel/btf/vmlinux');
const haveBpftool = need(hasCommand('bpftool'), 'bpftool as the BTF oracle');
const haveClang = need(hasCommand('clang'), 'clang to compile the BPF fixture');
const objcopy = hasCommand('llvm-objcopy-19') ? 'llvm-objcopy-19' : hasCommand('llvm-objcopy') ? 'llvm-objcopy' : undefined;
const haveObjcopy = need(objcopy !== undefined, 'llvm-objcopy to extract .BTF from the fixture');

let dir = '';
let objectPath = '';
let objectBtf: Uint8Array = new Uint8Array();
let objectExt: Uint8Array = new Uint8Array();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'btf-test-'));
  if (!haveClang || !haveObjcopy || objcopy === undefined) return;
  objectPath = join(dir, 'prog.o');
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', FIXTURE, '-o', objectPath]);
  execFileSync(objcopy, [
    `--dump-section`,
    `.BTF=${join(dir, 'prog.btf')}`,
    `--dump-section`,
    `.BTF.ext=${join(dir, 'prog.btf.ext')}`,
    objectPath,
    join(dir, 'discard.o'),
  ]);
  // Copies: a Buffer's slice() is a view into a shared pool, which the tests must not write.
  objectBtf = new Uint8Array(readFileSync(join(dir, 'prog.btf')));
  objectExt = new Uint8Array(readFileSync(join(dir, 'prog.btf.ext')));
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

// ---- bpftool's JSON form of a type, for comparison ----

interface OracleType {
  id: number;
  kind: string;
  name: string;
  [key: string]: unknown;
}

function bpftoolTypes(file: string, base?: string): OracleType[] {
  const args = ['-j', ...(base !== undefined ? ['-B', base] : []), 'btf', 'dump', 'file', file];
  const text = execFileSync('bpftool', args, { maxBuffer: 1 << 30 }).toString();
  // Enum values do not fit a double; keep them as strings.
  const json = JSON.parse(text.replace(/"val":\s*(-?\d+)/g, '"val":"$1"')) as { types: OracleType[] };
  return json.types;
}

function encoding(t: Extract<BtfType, { kind: 'int' }>): string {
  return t.signed ? 'SIGNED' : t.char ? 'CHAR' : t.bool ? 'BOOL' : '(none)';
}

/** Our type in bpftool's JSON shape; enum values as strings normalised to unsigned. */
function asOracle(t: BtfType): OracleType {
  const base = { id: t.id, kind: t.kind.toUpperCase(), name: t.name === '' ? '(anon)' : t.name };
  switch (t.kind) {
    case 'void':
      return base;
    case 'int':
      return { ...base, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: encoding(t) };
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return { ...base, type_id: t.type };
    case 'array':
      return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.length };
    case 'struct':
    case 'union':
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: m.name === '' ? '(anon)' : m.name,
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize > 0 ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case 'enum':
    case 'enum64':
      return {
        ...base,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: BigInt.asUintN(t.kind === 'enum' ? 32 : 64, BigInt(v.value)).toString() })),
      };
    case 'fwd':
      return { ...base, fwd_kind: t.fwdKind };
    case 'func':
      return { ...base, type_id: t.type, linkage: t.linkage };
    case 'func_proto':
      return {
        ...base,
        ret_type_id: t.returnType,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: p.name === '' ? '(anon)' : p.name, type_id: p.type })),
      };
    case 'var':
      return { ...base, type_id: t.type, linkage: t.linkage === 'global' ? 'global' : t.linkage };
    case 'datasec':
      return { ...base, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'float':
      return { ...base, size: t.size };
    case 'decl_tag':
      return { ...base, type_id: t.type, component_idx: t.componentIndex };
  }
}

function normaliseOracle(t: OracleType): OracleType {
  if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return t;
  const bits = t.kind === 'ENUM' ? 32 : 64;
  const values = (t.values as { name: string; val: string }[]).map((v) => ({
    name: v.name,
    val: BigInt.asUintN(bits, BigInt(v.val)).toString(),
  }));
  return { ...t, values };
}

function compareWithOracle(btf: Btf, oracle: OracleType[]): void {
  expect(btf.count).toBe(oracle.length + (btf.firstTypeId - 1));
  const mismatches: string[] = [];
  for (const want of oracle) {
    const got = asOracle(btf.typeById(want.id));
    const expected = normaliseOracle(want);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      mismatches.push(`${JSON.stringify(got).slice(0, 300)}\n  vs ${JSON.stringify(expected).slice(0, 300)}`);
      if (mismatches.length > 5) break;
    }
  }
  expect(mismatches).toEqual([]);
}

function typesEqual(a: Btf, b: Btf): void {
  expect(b.count).toBe(a.count);
  for (let id = 1; id <= a.count; id++) {
    const x = a.typeById(id);
    const y = b.typeById(id);
    if (JSON.stringify(x, bigintReplacer) !== JSON.stringify(y, bigintReplacer)) expect(y).toEqual(x);
  }
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

// ---- tests ----

describe.runIf(haveKernelBtf)('kernel BTF', () => {
  let bytes: Uint8Array;
  let btf: Btf;
  beforeAll(() => {
    bytes = readFileSync(VMLINUX);
    const t0 = performance.now();
    btf = parseBtf(bytes);
    const t1 = performance.now();
    btf.findType('task_struct', 'struct');
    const t2 = performance.now();
    console.log(`vmlinux: ${btf.count} types, parse ${(t1 - t0).toFixed(1)} ms, first name lookup ${(t2 - t1).toFixed(1)} ms`);
  });

  it.runIf(haveBpftool)('decodes every type as bpftool does', () => {
    compareWithOracle(btf, bpftoolTypes(VMLINUX));
  });

  it.runIf(haveBpftool)('finds types by name as bpftool lists them, the first lookups by a scan and the later ones by the index', () => {
    const oracle = bpftoolTypes(VMLINUX);
    const byName = new Map<string, { id: number; kind: string }[]>();
    for (const t of oracle)
      if (t.name !== '(anon)') byName.set(t.name, [...(byName.get(t.name) ?? []), { id: t.id, kind: t.kind.toLowerCase() }]);
    const shared = [...byName].filter(([, ts]) => ts.length > 1).map(([n]) => n);
    const names = [...byName.keys()];
    // Names near the start, the middle and the end of the blob, and names several types share.
    const sample = [
      names[0],
      names[1],
      names[Math.floor(names.length / 2)],
      names[names.length - 1],
      ...shared.slice(0, 6),
      ...shared.slice(-6),
      ...names.slice(-10),
      'no_such_type_anywhere',
    ];
    const fresh = parseBtf(bytes);
    for (const name of sample) {
      const want = byName.get(name) ?? [];
      expect([name, fresh.typesByName(name).map((t) => t.id)]).toEqual([name, want.map((t) => t.id)]);
      const kind = want.at(-1)?.kind as BtfKind | undefined;
      if (kind !== undefined) expect([name, fresh.findType(name, kind)?.id]).toEqual([name, want.find((t) => t.kind === kind)!.id]);
    }
  });

  it('looks types up by name and kind, and lays them out', () => {
    const task = btf.findType('task_struct', 'struct');
    expect(task).toBeDefined();
    expect(btf.typesByName('task_struct').some((t) => t.kind === 'struct')).toBe(true);
    expect(btf.typesByName('no_such_type_anywhere')).toEqual([]);
    expect(btf.sizeOf(task!.id)).toBe(task!.size);
    expect(btf.alignOf(task!.id)).toBeGreaterThanOrEqual(8);
    const pid = btf.findMember(task!.id, 'pid');
    expect(pid?.bitOffset).toBeGreaterThan(0);
    expect(btf.sizeOf(pid!.member.type)).toBe(4);
    const u64 = btf.findType('u64', 'typedef')!;
    expect(btf.resolve(u64.id)).toMatchObject({ kind: 'int', size: 8 });
    const skb = btf.findType('__sk_buff', 'struct')!;
    // A member inside an anonymous union of __sk_buff.
    expect(btf.findMember(skb.id, 'sk')).toBeDefined();
    const ptr = [...btf].find((t) => t.kind === 'ptr')!;
    expect(btf.sizeOf(ptr.id)).toBe(8);
    const arr = [...btf].find((t) => t.kind === 'array' && t.length > 1)! as Extract<BtfType, { kind: 'array' }>;
    expect(btf.sizeOf(arr.id)).toBe(arr.length * btf.sizeOf(arr.type));
    expect(() => btf.sizeOf(btf.findType('bpf_prog_run', 'func')?.id ?? btf.findType('schedule', 'func')!.id)).toThrow(BtfError);
    expect(btf.findType('perf_callchain_context', 'enum64')?.values[0].value).toBe(2n ** 64n - 32n);
  });

  it('round-trips through the marshaller, type by type', () => {
    const again = parseBtf(marshalBtf(btf));
    typesEqual(btf, again);
  });

  it('reads the other byte order', () => {
    const host = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    const swapped = marshalBtf(btf, undefined, { littleEndian: !host });
    expect(swapped[0]).toBe(host ? 0xeb : 0x9f);
    const other = parseBtf(swapped);
    expect(other.littleEndian).toBe(!host);
    typesEqual(btf, other);
  });

  it.runIf(haveClang)('writes a vmlinux.h that clang compiles for BPF', () => {
    const t0 = performance.now();
    const header = formatVmlinuxHeader(btf);
    console.log(`vmlinux.h: ${header.length} bytes in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(header.startsWith('#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n')).toBe(true);
    expect(header).toContain('#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)');
    writeFileSync(join(dir, 'vmlinux.h'), header);
    writeFileSync(
      join(dir, 'uses-vmlinux.c'),
      [
        '#include "vmlinux.h"',
        '#define SEC(n) __attribute__((section(n), used))',
        '_Static_assert(sizeof(struct xdp_md) == 24, "xdp_md");',
        `_Static_assert(sizeof(struct task_struct) == ${btf.findType('task_struct', 'struct')!.size}, "task_struct");`,
        `_Static_assert(sizeof(struct sk_buff) == ${btf.findType('sk_buff', 'struct')!.size}, "sk_buff");`,
        `_Static_assert(__builtin_offsetof(struct task_struct, pid) * 8 == ${btf.findMember(btf.findType('task_struct', 'struct')!.id, 'pid')!.bitOffset}, "pid");`,
        'SEC("xdp") int prog(struct xdp_md *ctx) {',
        '  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;',
        '  struct ethhdr *eth = data;',
        '  if ((void *)(eth + 1) > end) return XDP_PASS;',
        '  return eth->h_proto == 8 ? XDP_PASS : XDP_DROP;',
        '}',
        'SEC("tp_btf/sched_switch") int on_switch(unsigned long long *ctx) {',
        '  struct task_struct *t = (struct task_struct *)ctx[1];',
        '  return t->pid + (int)PERF_CONTEXT_MAX;',
        '}',
        'char LICENSE[] SEC("license") = "GPL";',
      ].join('\n'),
    );
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(dir, 'uses-vmlinux.c'), '-o', join(dir, 'uses-vmlinux.o')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (haveBpftool) {
      const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { maxBuffer: 1 << 30 }).toString();
      const heads = [
        'struct task_struct',
        'struct xdp_md',
        'struct __sk_buff',
        'struct sk_buff',
        'union bpf_attr',
        'struct mm_struct',
        'enum perf_callchain_context',
        'enum bpf_func_id',
      ];
      for (const head of heads) {
        const want = cBlock(theirs, head);
        expect(want, head).toBeDefined();
        expect(normaliseC(cBlock(header, head) ?? ''), head).toBe(normaliseC(want!));
      }
    }
  });

  it.runIf(haveBpftool)('parses split BTF on top of the kernel base', () => {
    // A module-style blob: ids continue after vmlinux, names shared with the base.
    const int = btf.findType('int', 'int')!;
    const task = btf.findType('task_struct', 'struct')!;
    const first = btf.count + 1;
    const own: BtfType[] = [
      { kind: 'ptr', id: first, name: '', type: task.id },
      {
        kind: 'struct',
        id: first + 1,
        name: 'my_module_state',
        size: 16,
        members: [
          { name: 'task', type: first, bitOffset: 0, bitfieldSize: 0 },
          { name: 'pid', type: int.id, bitOffset: 64, bitfieldSize: 0 },
          { name: 'flag', type: int.id, bitOffset: 96, bitfieldSize: 1 },
        ],
      },
      { kind: 'typedef', id: first + 2, name: 'task_struct', type: task.id },
    ];
    const strings = new StringTableBuilder(btf.strings.end);
    const split = marshalBtf(own, strings);
    const file = join(dir, 'split.btf');
    writeFileSync(file, split);
    const spec = parseBtf(split, { base: btf });
    expect(spec.firstTypeId).toBe(first);
    expect(spec.count).toBe(btf.count + 3);
    expect(spec.typeById(first + 1)).toMatchObject({ name: 'my_module_state', size: 16 });
    expect(spec.typeById(task.id)).toBe(task);
    expect(spec.typesByName('task_struct').map((t) => t.kind)).toEqual(['struct', 'typedef']);
    expect(spec.findType('my_module_state')?.id).toBe(first + 1);
    const oracle = bpftoolTypes(file, VMLINUX).filter((t) => t.id >= first);
    expect(oracle).toHaveLength(3);
    for (const want of oracle) expect(asOracle(spec.typeById(want.id))).toEqual(want);
  });
});

describe.runIf(haveClang && haveObjcopy)('object BTF', () => {
  let btf: Btf;
  beforeAll(() => {
    btf = parseBtf(objectBtf);
  });

  it.runIf(haveBpftool)('decodes every type as bpftool does', () => {
    compareWithOracle(btf, bpftoolTypes(objectPath));
  });

  it('has the kinds the fixture declares', () => {
    const kinds = new Set([...btf].map((t) => t.kind));
    for (const k of [
      'int',
      'ptr',
      'array',
      'struct',
      'union',
      'enum',
      'typedef',
      'volatile',
      'const',
      'restrict',
      'func',
      'func_proto',
      'var',
      'datasec',
      'decl_tag',
      'type_tag',
    ] as const) {
      expect(kinds, k).toContain(k);
    }
    const outer = btf.findType('outer', 'struct')!;
    expect(outer.members.slice(0, 2)).toEqual([
      { name: 'a', type: btf.findType('u32')!.id, bitOffset: 0, bitfieldSize: 3 },
      { name: 'b', type: btf.findType('u32')!.id, bitOffset: 3, bitfieldSize: 5 },
    ]);
    expect(btf.sizeOf(outer.id)).toBe(112);
    expect(btf.alignOf(outer.id)).toBe(8);
    expect(btf.findMember(outer.id, 'y')).toMatchObject({ bitOffset: 128 });
    const tags = [...btf].filter((t) => t.kind === 'decl_tag').map((t) => [t.name, t.componentIndex]);
    expect(tags).toEqual(
      expect.arrayContaining([
        ['struct_tag', -1],
        ['member_tag', 12],
        ['param_tag', 0],
      ]),
    );
    const data = btf.findType('.data', 'datasec')!;
    expect(btf.typeById(data.vars[0].type)).toMatchObject({ kind: 'var', name: 'counter', linkage: 'global' });
  });

  it('prints declarations as C', () => {
    const decl = (name: string): string => formatTypeDeclaration(btf, btf.findType(name)!.id);
    const outer = decl('outer');
    expect(outer).toContain('\tu32 a: 3;\n\tu32 b: 5;\n');
    expect(outer).toContain('\tstruct inner in[2];\n');
    expect(outer).toContain('\tunion {\n\t\tint x;\n\t\tlong y;\n\t};\n');
    expect(outer).toContain('\tstruct {\n\t\tshort p;\n\t\tshort q;\n\t} anon;\n');
    expect(outer).toContain('\tvoid (*handlers[4])(int);\n');
    expect(outer).toContain('\tvolatile const int *restrict cvp;\n');
    expect(outer).toContain('\tint __attribute__((btf_type_tag("user"))) *uptr;\n');
    expect(outer).toContain('\tchar tail[0];\n');
    expect(decl('callback_t')).toBe('typedef int (*callback_t)(const char *, volatile u64 *, ...);');
    expect(decl('color')).toBe('enum color {\n\tRED = 0,\n\tGREEN = 5,\n\tBLUE = 4294967295,\n};');
    expect(decl('helper')).toBe('int helper(struct outer *o, int k);');
    expect(decl('config')).toBe('volatile const int config;');
  });

  it.runIf(haveBpftool)('prints named types like bpftool format c', () => {
    const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', objectPath, 'format', 'c']).toString();
    for (const head of ['struct outer', 'struct inner', 'enum color', 'union u']) {
      const want = cBlock(theirs, head);
      if (want === undefined) continue; // not every type reaches BTF
      expect(normaliseC(formatTypeDeclaration(btf, btf.findType(head.split(' ')[1])!.id)), head).toBe(normaliseC(want));
    }
  });

  it('round-trips through the marshaller', () => {
    typesEqual(btf, parseBtf(marshalBtf(btf)));
  });

  it('rewrites kinds an old kernel lacks, keeping ids', () => {
    const old = parseBtf(
      marshalBtf(btf, undefined, {
        features: { enum64: false, declTag: false, typeTag: false, float: false, funcLinkage: false, datasec: false },
      }),
    );
    expect(old.count).toBe(btf.count);
    const kinds = new Set([...old].map((t) => t.kind));
    for (const k of ['decl_tag', 'type_tag', 'var', 'datasec', 'float', 'enum64']) expect(kinds).not.toContain(k);
    expect([...old].filter((t) => t.kind === 'func').every((t) => t.kind === 'func' && t.linkage === 'static')).toBe(true);
    const tag = [...btf].find((t) => t.kind === 'type_tag')!;
    expect(old.typeById(tag.id)).toMatchObject({ kind: 'const' });
    const sec = btf.findType('.data', 'datasec')!;
    expect(old.typeById(sec.id)).toMatchObject({ kind: 'struct', name: '_data' });
  });

  it('parses .BTF.ext: func info, line info and CO-RE relocations', () => {
    const ext = parseBtfExt(objectExt, btf);
    const funcs = [...ext.funcInfos.entries()].flatMap(([sec, list]) =>
      list.map((f) => `${sec}:${btf.typeById(f.typeId).name}@${f.insnOffset}`),
    );
    expect(funcs).toEqual(expect.arrayContaining(['.text:helper@0', 'xdp:prog@0']));
    const lines = ext.lineInfos.get('xdp')!;
    expect(lines.length).toBeGreaterThan(2);
    expect(lines[0].fileName).toMatch(/prog\.c$/);
    expect(lines.some((l) => l.line.includes('__builtin_preserve_field_info(ctx->c, 2)'))).toBe(true);
    expect(lines.every((l) => l.lineNumber > 0)).toBe(true);
    const relos = ext.coreRelocations.get('xdp')!;
    const outer = btf.findType('outer', 'struct')!;
    expect(relos.map((r) => [r.accessor, r.kind])).toEqual(
      expect.arrayContaining([
        ['0:2', CORE_RELO_KIND.FIELD_EXISTS],
        ['0:1', CORE_RELO_KIND.FIELD_BYTE_OFFSET],
        ['0:3:1:1', CORE_RELO_KIND.FIELD_BYTE_OFFSET],
      ]),
    );
    expect(relos.every((r) => r.typeId === outer.id)).toBe(true);
  });

  it('accepts .BTF.ext records larger than it knows', () => {
    const widened = widenExtRecords(objectExt, 4);
    const a = parseBtfExt(objectExt, btf);
    const b = parseBtfExt(widened, btf);
    expect(b).toEqual(a);
  });
});

describe('malformed input', () => {
  const small = (): Uint8Array =>
    marshalBtf([
      { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false },
      { kind: 'typedef', id: 2, name: 'a', type: 3 },
      { kind: 'typedef', id: 3, name: 'b', type: 2 },
      { kind: 'array', id: 4, name: '', type: 4, indexType: 1, length: 2 },
      { kind: 'struct', id: 5, name: 's', size: 4, members: [{ name: 'x', type: 1, bitOffset: 0, bitfieldSize: 0 }] },
    ]);

  it('reports reference cycles instead of looping', () => {
    const btf = parseBtf(small());
    expect(() => btf.resolve(2)).toThrow(BtfError);
    expect(() => btf.sizeOf(3)).toThrow(/cyclic/);
    expect(() => btf.sizeOf(4)).toThrow(BtfError);
    expect(() => btf.alignOf(4)).toThrow(BtfError);
    expect(() => formatTypeDeclaration(btf, 4)).toThrow(BtfError);
    expect(btf.sizeOf(5)).toBe(4);
    expect(formatTypeDeclaration(btf, 5)).toBe('struct s {\n\tint x;\n};');
  });

  it('rejects bad headers and truncation with BtfError', () => {
    const good = small();
    expect(() => parseBtf(new Uint8Array([1, 2, 3]))).toThrow(/magic/);
    expect(() => parseBtf(good.subarray(0, 20))).toThrow(BtfError);
    expect(() => parseBtf(good.subarray(0, good.length - 4))).toThrow(/string section/);
    const badKind = good.slice();
    badKind[24 + 7] = 31; // kind of the first type
    expect(() => parseBtf(badKind)).toThrow(/unknown BTF kind 31/);
    const badRef = good.slice();
    new DataView(badRef.buffer).setUint32(24 + 16 + 8, 99, true);
    expect(() => parseBtf(badRef).typeById(2)).toThrow(expect.objectContaining({ typeId: 2 }));
    expect(() => parseBtf(good).typeById(6)).toThrow(/no type with id 6/);
    expect(() => parseBtfExt(new Uint8Array(8), parseBtf(good))).toThrow(BtfError);
  });

  it('never fails with anything but BtfError on corrupted bytes', () => {
    const inputs: Uint8Array[] = [small()];
    if (objectBtf.length > 0) inputs.push(objectBtf);
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const original of inputs) {
      for (let round = 0; round < 400; round++) {
        const bytes = original.slice();
        const flips = 1 + Math.floor(random() * 8);
        for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
        exerciseOnlyBtfErrors(cut);
      }
    }
    for (let round = 0; round < 200; round++) {
      const bytes = new Uint8Array(24 + Math.floor(random() * 200)).map(() => Math.floor(random() * 256));
      bytes.set([0x9f, 0xeb, 1, 0]);
      exerciseOnlyBtfErrors(bytes);
    }
  });
});

function exerciseOnlyBtfErrors(bytes: Uint8Array): void {
  const attempt = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  };
  let btf: Btf | undefined;
  attempt(() => {
    btf = parseBtf(bytes);
  });
  if (btf === undefined) return;
  const spec = btf;
  for (let id = 0; id <= spec.count; id++) {
    attempt(() => spec.typeById(id));
    attempt(() => spec.sizeOf(id));
    attempt(() => spec.alignOf(id));
    attempt(() => spec.resolve(id));
    attempt(() => formatTypeDeclaration(spec, id));
  }
  attempt(() => spec.typesByName('outer'));
  attempt(() => parseBtf(marshalBtf(spec)));
  if (objectExt.length > 0) attempt(() => parseBtfExt(bytes, spec));
}

/** Rebuilds a .BTF.ext with every record `extra` bytes longer (zero tail). */
function widenExtRecords(ext: Uint8Array, extra: number): Uint8Array {
  const v = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const hdrLen = v.getUint32(4, true);
  const blocks: Uint8Array[] = [];
  const header = ext.slice(0, hdrLen);
  const hv = new DataView(header.buffer);
  let offset = 0;
  for (const field of [8, 16, 24]) {
    if (field + 8 > hdrLen) break;
    const off = v.getUint32(field, true);
    const len = v.getUint32(field + 4, true);
    const out: number[] = [];
    const push32 = (x: number): void => {
      out.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24);
    };
    if (len > 0) {
      const start = hdrLen + off;
      const rec = v.getUint32(start, true);
      push32(rec + extra);
      let at = start + 4;
      while (at < start + len) {
        push32(v.getUint32(at, true));
        const n = v.getUint32(at + 4, true);
        push32(n);
        at += 8;
        for (let i = 0; i < n; i++, at += rec) {
          out.push(...ext.subarray(at, at + rec));
          for (let j = 0; j < extra; j++) out.push(0);
        }
      }
    }
    hv.setUint32(field, offset, true);
    hv.setUint32(field + 4, out.length, true);
    offset += out.length;
    blocks.push(Uint8Array.from(out));
  }
  const total = new Uint8Array(hdrLen + offset);
  total.set(header);
  let at = hdrLen;
  for (const b of blocks) {
    total.set(b, at);
    at += b.length;
  }
  return total;
}

export function cBlock(source: string, head: string): string | undefined {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${head} {`));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('}'));
  return lines.slice(start, end + 1).join('\n');
}

/** Whitespace collapsed; unnamed padding bitfields and attributes dropped (spelled differently). */
export function normaliseC(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*(long|int|short|char): \d+;\s*$/.test(l))
    .map((l) => l.replace(/\s+/g, ' ').replace(/\* /g, '*').trim())
    .join('\n');
}
