// CO-RE: bpf/core.o declares task_struct with fields in another order and missing, so it reads
// the right bytes only if its relocations are answered by the running kernel's BTF.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { applyCoreRelocations, CoreKind, essentialName, POISON_HELPER, typesMatch, type CoreOutcome } from '../src/core/index.js';
import { marshalBtf, parseBtf, type BtfType } from '../src/btf/index.js';
import { kernelBtf } from '../src/kernel/btf.js';
import { attachTracepoint } from '../src/links/index.js';
import { loadCollection, loadCollectionSpec, LoaderError } from '../src/loader/index.js';
import { isRoot } from './support/env.js';
import { track } from './support/track.js';

const object = new URL('../bpf/core.o', import.meta.url).pathname;
const spec = () => loadCollectionSpec(new Uint8Array(readFileSync(object)), { name: 'core.o' });

describe('CO-RE relocations against the kernel BTF', () => {
  it('answers every relocation of core.o as the kernel layout says', () => {
    const s = spec();
    const p = s.programs.record_exit;
    const outcomes: CoreOutcome[] = [];
    applyCoreRelocations(p.instructions, p.coreRelocations, s.btf!, kernelBtf(), {}, outcomes);
    const k = kernelBtf();
    const task = k.findType('task_struct', 'struct')!;
    const member = (name: string) => k.findMember(task.id, name)!;
    const answers = new Map<string, bigint | undefined>();
    for (const o of outcomes) answers.set(`${o.relocation.kind}:${o.relocation.accessor}:${s.btf!.nameOf(o.relocation.typeId)}`, o.value);
    const offsets = outcomes.filter((o) => o.relocation.kind === CoreKind.FIELD_BYTE_OFFSET).map((o) => o.value);
    expect(offsets).toEqual(
      expect.arrayContaining([
        BigInt(member('pid').bitOffset / 8),
        BigInt(member('tgid').bitOffset / 8),
        BigInt(member('comm').bitOffset / 8),
      ]),
    );
    const byKind = (kind: number) => outcomes.filter((o) => o.relocation.kind === kind).map((o) => o.value);
    expect(byKind(CoreKind.FIELD_EXISTS)).toEqual(expect.arrayContaining([1n, 0n]));
    expect(byKind(CoreKind.TYPE_SIZE)).toEqual([BigInt(k.sizeOf(task.id))]);
    expect(byKind(CoreKind.ENUMVAL_VALUE)).toEqual([1n]);
    expect(byKind(CoreKind.ENUMVAL_EXISTS).sort()).toEqual([0n, 1n]);
    expect(outcomes.every((o) => o.value !== undefined)).toBe(true);
    void answers;
  });

  it('strips flavors to find candidates', () => {
    expect(essentialName('task_struct___old')).toBe('task_struct');
    expect(essentialName('task_struct')).toBe('task_struct');
  });

  it('poisons what no kernel type answers, or fails in strict mode naming the type and field', () => {
    const s = spec();
    const p = s.programs.record_exit;
    // A target BTF with no task_struct at all.
    const int: BtfType = { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false };
    const empty = parseBtf(marshalBtf([int]));
    const offsetRelo = p.coreRelocations.find((r) => r.kind === CoreKind.FIELD_BYTE_OFFSET)!;
    const patched = applyCoreRelocations(p.instructions, [offsetRelo], s.btf!, empty);
    expect(patched[offsetRelo.instruction]).toMatchObject({ opcode: 0x85, src: 0, imm: POISON_HELPER });
    expect(() =>
      applyCoreRelocations(p.instructions, [offsetRelo], s.btf!, empty, {
        strict: true,
        object: 'core.o',
        section: p.section,
        program: p.name,
      }),
    ).toThrow(LoaderError);
    try {
      applyCoreRelocations(p.instructions, [offsetRelo], s.btf!, empty, {
        strict: true,
        object: 'core.o',
        section: p.section,
        program: p.name,
      });
    } catch (e) {
      expect((e as Error).message).toMatch(/task_struct/);
      expect((e as Error).message).toMatch(/\.(pid|tgid|comm|real_parent)/);
      expect((e as LoaderError).section).toBe(p.section);
      expect((e as LoaderError).offset).toBe(offsetRelo.instruction * 8);
    }
    // Existence questions still have an answer: no.
    const exists = p.coreRelocations.filter((r) => r.kind === CoreKind.FIELD_EXISTS || r.kind === CoreKind.TYPE_EXISTS);
    const outcomes: CoreOutcome[] = [];
    applyCoreRelocations(p.instructions, exists, s.btf!, empty, {}, outcomes);
    expect(outcomes.map((o) => o.value)).toEqual(exists.map(() => 0n));
    // A poisoned lddw (enum value) keeps its two slots.
    const enumRelo = p.coreRelocations.find((r) => r.kind === CoreKind.ENUMVAL_VALUE)!;
    const poisoned = applyCoreRelocations(p.instructions, [enumRelo], s.btf!, empty);
    expect(poisoned).toHaveLength(p.instructions.length + 1);
    expect(poisoned[enumRelo.instruction].imm).toBe(POISON_HELPER);
    expect(poisoned[enumRelo.instruction + 1].imm).toBe(POISON_HELPER);
  });

  it('type matching compares shapes, not names of the root', () => {
    const k = kernelBtf();
    const s = spec();
    const local = s.btf!.findType('pid_type', 'enum')!;
    expect(typesMatch(s.btf!, local.id, k, k.findType('pid_type', 'enum')!.id)).toBe(true);
    const localTask = s.btf!.findType('task_struct', 'struct')!;
    expect(typesMatch(s.btf!, localTask.id, k, k.findType('task_struct', 'struct')!.id)).toBe(true);
    const fictional = s.btf!.findType('task_struct___fictional', 'struct')!;
    expect(typesMatch(s.btf!, fictional.id, k, k.findType('task_struct', 'struct')!.id)).toBe(false);
  });
});

describe.runIf(isRoot)('CO-RE program in the kernel', () => {
  it('reads the pid, tgid, comm and parent of an exiting child', () => {
    const c = track(loadCollection(object));
    const link = track(attachTracepoint(c.programs.record_exit, 'sched', 'sched_process_exit'));
    const child = spawnSync('true');
    link.close();
    expect(child.pid).toBeGreaterThan(0);
    const info = c.maps.tasks.lookup(child.pid) as Record<string, unknown> | undefined;
    expect(info).toBeDefined();
    const k = kernelBtf();
    const task = k.findType('task_struct', 'struct')!;
    expect(info).toMatchObject({
      pid: child.pid,
      tgid: child.pid,
      parent_tgid: process.pid,
      comm: 'true',
      comm_offset: k.findMember(task.id, 'comm')!.bitOffset / 8,
      pid_size: 4,
      pid_exists: 1,
      fictional_exists: 0,
      pid_signed: 1,
      pid_lshift: 32,
      pid_rshift: 32,
      tgid_enum_value: 1,
      tgid_enum_exists: 1,
      fake_enum_exists: 0,
      task_size: k.sizeOf(task.id),
      task_exists: 1,
    });
  });
});
