// loadCollectionAsync and Program.loadAsync: programs verified on libuv's pool, several at once.
// The oracles are the kernel (program tags it computes, test runs, errno of the same request made
// synchronously) and the synchronous loader, whose guarantees the async one must keep.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import {
  loadCollection,
  loadCollectionAsync,
  loadCollectionSpec,
  LoaderError,
  type Collection,
  type CollectionSpec,
} from '../src/loader/index.js';
import { Program, VerifierError } from '../src/programs/index.js';
import { progLoadRaw, progLoadRawAsync } from '../src/syscall/bpf.js';
import { encodeInstructions } from '../src/asm/index.js';
import { BPF_ALU64, BPF_EXIT, BPF_JMP, BPF_K, BPF_MOV, BPF_X } from '../src/asm/opcodes.js';
import { ProgramType } from '../src/uapi/bpf.js';
import { Errno } from '../src/errors/errno.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import { bpftool } from './support/kernel.js';
import type { BpfMap } from '../src/maps/index.js';
import { MapType } from '../src/uapi/bpf.js';
import { costlyToCreate } from '../src/loader/load/creation-cost.js';

const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../bpf/${name}.o`, import.meta.url)));
const collectionSpec = (): CollectionSpec => {
  const s = loadCollectionSpec(bytesOf('collection'), { name: 'collection.o' });
  s.maps.pinned_counts.pinning = 'none';
  return s;
};
const packet = Buffer.alloc(64, 0xab);
/** What loadCollection throws for `spec`, which must fail. */
const syncLoadError = (spec: CollectionSpec): Error => {
  try {
    track(loadCollection(spec));
  } catch (e) {
    return e as Error;
  }
  throw new Error('the sync load should have failed');
};
/** fds of kernel BPF objects this process holds. */
const bpfFds = (): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      return /prog_type|map_type|btf_id/.test(target) ? [fd] : [];
    } catch {
      return [];
    }
  });

const RETURN_2 = [
  { opcode: BPF_ALU64 | BPF_MOV | BPF_K, dst: 0, src: 0, offset: 0, imm: 2 },
  { opcode: BPF_JMP | BPF_EXIT, dst: 0, src: 0, offset: 0, imm: 0 },
];
// Reads r2 before anything wrote it: the verifier refuses with "R2 !read_ok".
const READS_UNSET_REGISTER = [
  { opcode: BPF_ALU64 | BPF_MOV | BPF_X, dst: 0, src: 2, offset: 0, imm: 0 },
  { opcode: BPF_JMP | BPF_EXIT, dst: 0, src: 0, offset: 0, imm: 0 },
];

describe('costlyToCreate: which maps loadCollectionAsync creates on the pool', () => {
  const def = (type: MapType, maxEntries: number, valueSize = 8, flags = 0) => ({ type, maxEntries, valueSize, flags });
  it('per-CPU entries from 96, preallocated hash elements from 2048, 256 KiB of values or ring', () => {
    // The kernel allocates each per-CPU entry at creation (~0.7 µs each on the test machine).
    expect(costlyToCreate(def(MapType.PERCPU_HASH, 1024))).toBe(true);
    expect(costlyToCreate(def(MapType.PERCPU_ARRAY, 96))).toBe(true);
    expect(costlyToCreate(def(MapType.PERCPU_ARRAY, 8))).toBe(false);
    expect(costlyToCreate(def(MapType.LRU_PERCPU_HASH, 128, 8, 1))).toBe(true); // LRU maps are always preallocated
    // Without preallocation a per-CPU hash map allocates its entries as they are added.
    expect(costlyToCreate(def(MapType.PERCPU_HASH, 1024, 8, 1))).toBe(false);
    expect(costlyToCreate(def(MapType.HASH, 4096))).toBe(true);
    expect(costlyToCreate(def(MapType.LRU_HASH, 4096))).toBe(true);
    expect(costlyToCreate(def(MapType.HASH, 1024))).toBe(false);
    expect(costlyToCreate(def(MapType.HASH, 4096, 8, 1))).toBe(false);
    expect(costlyToCreate(def(MapType.ARRAY, 4096, 64))).toBe(true);
    expect(costlyToCreate(def(MapType.ARRAY, 256, 8))).toBe(false);
    expect(costlyToCreate(def(MapType.RINGBUF, 1 << 20, 0))).toBe(true);
    expect(costlyToCreate(def(MapType.RINGBUF, 1 << 16, 0))).toBe(false);
    expect(costlyToCreate(def(MapType.PERF_EVENT_ARRAY, 0, 4))).toBe(false);
  });
});

describe.runIf(need(isRoot, 'loading programs needs root'))('loadCollectionAsync', () => {
  it('loads what loadCollection loads: the same programs in the same order, with the tags the kernel computes for the sync load', async () => {
    const spec = collectionSpec();
    const sync = track(loadCollection(spec));
    for (const concurrency of [1, 2, 4, undefined]) {
      const c = track(await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }));
      expect(Object.keys(c.programs)).toEqual(Object.keys(sync.programs));
      expect(Object.keys(c.maps)).toEqual(Object.keys(sync.maps));
      for (const [name, p] of Object.entries(c.programs)) {
        // The tag is the kernel's SHA-1 of the instructions it was given (map fds masked): the
        // same bytes reached the verifier either way.
        expect(p.info().tag, name).toBe(sync.programs[name].info().tag);
        expect(p.info().name).toBe(sync.programs[name].info().name);
      }
      c.close();
    }
  });

  it('a program starts while a map it does not use is still being created; those that use it wait for it', async () => {
    // lru made costly to create (a per-CPU LRU hash of 65,536 entries: tens of ms in the kernel) and
    // used by one program. The kernel stamps each program's load_time as its load begins: every
    // other program began before any that uses lru (they did not wait for it); loading all in the
    // object's order once every map exists, as before, fails this.
    const spec = collectionSpec();
    spec.maps.lru = { ...spec.maps.lru, type: MapType.LRU_PERCPU_HASH, maxEntries: 65536 };
    expect(costlyToCreate(spec.maps.lru)).toBe(true);
    const names = Object.keys(spec.programs);
    const users = names.filter((n) => spec.programs[n].instructions.some((i) => i.reference === 'lru'));
    expect(users.length).toBeGreaterThan(0);
    expect(names.indexOf(users[users.length - 1])).toBeLessThan(names.length - 1);
    const c = track(await loadCollectionAsync(spec));
    expect(Object.keys(c.programs)).toEqual(names);
    const began = (n: string): bigint => c.programs[n].info().loadTime;
    const lastOther = names.filter((n) => !users.includes(n)).reduce((t, n) => (began(n) > t ? began(n) : t), 0n);
    for (const n of users) expect(began(n), n).toBeGreaterThan(lastOther);
    // And the map a program waited for is the one it uses.
    expect(c.maps.lru.info().maxEntries).toBe(65536);
    c.close();
  });

  it('creates the maps loadCollection creates: bpftool shows the same definitions and BTF types', async () => {
    const spec = collectionSpec();
    const sync = track(loadCollection(spec));
    // What bpftool says of a map, less what differs between two maps of one definition.
    const shown = (m: BpfMap<unknown, unknown>): Record<string, unknown> => {
      const { id: _id, btf_id: btfId, ...rest } = bpftool<Record<string, unknown>>('map', 'show', 'id', String(m.info().id));
      return { ...rest, hasBtf: btfId !== undefined, keyType: m.info().btfKeyTypeId, valueType: m.info().btfValueTypeId };
    };
    for (const concurrency of [1, 3, undefined]) {
      const c = track(await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }));
      expect(Object.keys(c.maps)).toEqual(Object.keys(sync.maps));
      for (const [name, m] of Object.entries(c.maps)) expect([name, shown(m)]).toEqual([name, shown(sync.maps[name])]);
      // Contents written after creation, as in the sync load: the tail call finds its program.
      expect(c.programs.xdp_jump.testRun({ data: packet }).retval).toBe(sync.programs.xdp_jump.testRun({ data: packet }).retval);
      c.close();
    }
  });

  it('a map the kernel refuses rejects as the sync load throws, naming that map, at any concurrency, and leaks nothing', async () => {
    // Two definitions broken: the earlier in the object's order is the one both loaders name. One
    // is created on the pool (costly: 4096 preallocated entries), the other here, in both orders.
    const costly = { keySize: 0, valueSize: 0, type: MapType.HASH, flags: 0, maxEntries: 4096 };
    const cheap = { ...costly, maxEntries: 4 };
    expect([costlyToCreate(costly), costlyToCreate(cheap)]).toEqual([true, false]);
    for (const [earlyDef, lateDef] of [
      [costly, cheap],
      [cheap, costly],
    ]) {
      const spec = collectionSpec();
      const names = Object.keys(spec.maps);
      const [early, late] = [names[1], names[names.length - 1]];
      spec.maps[early] = { ...spec.maps[early], ...earlyDef };
      spec.maps[late] = { ...spec.maps[late], ...lateDef };
      const syncError = syncLoadError(spec);
      expect(syncError).toBeInstanceOf(LoaderError);
      expect(syncError.message).toContain(early);
      for (const concurrency of [undefined, 1, 2, 64]) {
        const before = bpfFds();
        const error = await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }).then(track, (e: unknown) => e);
        expect(error).toBeInstanceOf(LoaderError);
        expect((error as Error).message, `concurrency ${concurrency}`).toBe(syncError.message);
        expect(bpfFds()).toEqual(before);
      }
    }
  });

  it('a map of maps whose inner map is created on the pool holds that map once the load resolves', async () => {
    // inner_one made costly (256 KiB of values), so created on the pool; outer's slot is written
    // once every creation has ended, before any program that uses outer loads.
    const spec = collectionSpec();
    spec.maps.inner_one = { ...spec.maps.inner_one, maxEntries: 65536 };
    spec.maps.outer = { ...spec.maps.outer, innerMap: { ...spec.maps.outer.innerMap!, maxEntries: 65536 } };
    expect(costlyToCreate(spec.maps.inner_one)).toBe(true);
    const c = track(await loadCollectionAsync(spec));
    expect((c.maps.outer.lookup(1) as Buffer).readUInt32LE(0)).toBe(c.maps.inner_one.info().id);
    c.close();
  });

  it('a map refused on the pool while programs that do not use it load: rejects as the sync load throws, and leaks nothing', async () => {
    // Only the costly map is broken: the creations made here succeed, so programs start before the
    // pool's refusal comes back; the load ends with the map's error, and those programs closed.
    const spec = collectionSpec();
    const name = 'lru'; // used by one program, a plain definition (not pinned, no inner map)
    spec.maps[name] = { ...spec.maps[name], keySize: 0, valueSize: 0, type: MapType.HASH, flags: 0, maxEntries: 4096 };
    expect(costlyToCreate(spec.maps[name])).toBe(true);
    const syncError = syncLoadError(spec);
    expect(syncError.message).toContain(name);
    for (const concurrency of [undefined, 1, 64]) {
      const before = bpfFds();
      const error = await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }).then(track, (e: unknown) => e);
      expect((error as Error).message, `concurrency ${concurrency}`).toBe(syncError.message);
      expect(bpfFds()).toEqual(before);
    }
  });

  it('the loaded collection works: .rodata set before load, a tail call through the program array', async () => {
    const spec = collectionSpec();
    spec.variables.xdp_verdict.set(3);
    const c = track(await loadCollectionAsync(spec, { concurrency: 3 }));
    expect(c.programs.xdp_verdict_prog.testRun({ data: packet }).retval).toBe(3);
    expect(c.programs.xdp_jump.testRun({ data: packet }).retval).toBe(3);
    expect(c.maps.hits.lookup(2)).toBe(1n);
  });

  it('leaves the event loop running while the kernel verifies', async () => {
    let ran = false;
    setImmediate(() => (ran = true));
    const pending = loadCollectionAsync(collectionSpec(), { concurrency: 2 });
    expect(ran).toBe(false);
    const c = track(await pending);
    // At least one load was waited for on the pool, so the loop went round before it resolved.
    expect(ran).toBe(true);
    expect(Object.keys(c.programs)).toHaveLength(26);
  });

  it('a verifier failure rejects with the log naming the C line, and closes everything it opened', async () => {
    const before = bpfFds();
    const error = await loadCollectionAsync(bytesOf('verifier_fail')).then(track, (e: unknown) => e);
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).log).toMatch(/return \*value == 42 \? 2 : 1;/);
    expect((error as VerifierError).log).toMatch(/invalid mem access 'map_value_or_null'/);
    expect(bpfFds()).toEqual(before);
  });

  it("when several programs fail, rejects with the first of them in the object's order, at any concurrency, and leaks nothing", async () => {
    const spec = collectionSpec();
    const names = Object.keys(spec.programs);
    // Two programs broken (a lone mov, no exit): the earlier one is what the sync loader reports.
    const [early, late] = [names[3], names[names.length - 2]];
    for (const name of [early, late])
      spec.programs[name] = { ...spec.programs[name], instructions: spec.programs[name].instructions.slice(0, 1) };
    const syncError = syncLoadError(spec);
    expect(syncError.message).toContain(`"${early}"`);
    // With 64 every program is handed over at once: both broken ones are verified, and the later
    // one may well be refused first.
    for (const concurrency of [undefined, 1, 2, 4, 8, 64]) {
      const before = bpfFds();
      const error = await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }).then(track, (e: unknown) => e);
      expect(error).toBeInstanceOf(VerifierError);
      expect((error as Error).message, `concurrency ${concurrency}`).toBe(syncError.message);
      expect(bpfFds()).toEqual(before);
    }
  });

  it('every object in bpf/ loads as loadCollection loads it (same programs, tags and maps) or fails with the same message', async () => {
    // The maps are created on the pool while the programs are prepared: whatever the object holds
    // (global data, .kconfig, ksyms, struct_ops, maps of maps, pins), the result is the sync one's.
    const objects = readdirSync(new URL('../bpf/', import.meta.url)).filter((f) => f.endsWith('.o') && !f.endsWith('.bpfeb.o'));
    expect(objects.length).toBeGreaterThan(10);
    let loaded = 0;
    for (const file of objects) {
      let spec: CollectionSpec;
      try {
        spec = loadCollectionSpec(bytesOf(file.slice(0, -2)), { name: file });
      } catch {
        continue; // an object made to be refused when parsed: nothing to load
      }
      for (const m of Object.values(spec.maps)) if (m.pinning === 'by-name') m.pinning = 'none';
      let sync: Collection | undefined;
      let syncError: Error | undefined;
      try {
        sync = track(loadCollection(spec));
      } catch (e) {
        syncError = e as Error;
      }
      const before = bpfFds();
      const result = await loadCollectionAsync(spec).then(track, (e: unknown) => e as Error);
      if (syncError) {
        expect(result, file).toBeInstanceOf(Error);
        // Kernel addresses in a verifier log differ from one load to the next.
        const plain = (m: string): string => m.replace(/0xffff[0-9a-f]+/g, '<kernel address>');
        expect(plain((result as Error).message), file).toBe(plain(syncError.message));
        expect(bpfFds(), file).toEqual(before);
        continue;
      }
      const c = result as Collection;
      expect(Object.keys(c.programs), file).toEqual(Object.keys(sync!.programs));
      expect(Object.keys(c.maps), file).toEqual(Object.keys(sync!.maps));
      for (const [name, p] of Object.entries(c.programs)) expect(p.info().tag, `${file} ${name}`).toBe(sync!.programs[name].info().tag);
      for (const [name, m] of Object.entries(c.maps)) {
        const [a, b] = [m.info(), sync!.maps[name].info()];
        expect([name, a.type, a.keySize, a.valueSize, a.maxEntries, a.flags], file).toEqual([
          name,
          b.type,
          b.keySize,
          b.valueSize,
          b.maxEntries,
          b.flags,
        ]);
      }
      c.close();
      sync!.close();
      loaded++;
    }
    expect(loaded).toBeGreaterThan(5);
  });

  it('a program that cannot be prepared while the maps are being created rejects as the sync load throws, and leaks nothing', async () => {
    const spec = collectionSpec();
    const name = Object.keys(spec.programs)[2];
    // A reference to a map the object does not define: found while the maps are still being made.
    const insns = spec.programs[name].instructions;
    const at = insns.findIndex((i) => i.reference !== undefined && spec.maps[i.reference] !== undefined);
    expect(at).toBeGreaterThanOrEqual(0);
    spec.programs[name] = {
      ...spec.programs[name],
      instructions: insns.map((insn, i) => (i === at ? { ...insn, reference: 'no_such_map' } : insn)),
    };
    const syncError = await Promise.resolve()
      .then(() => track(loadCollection(spec)))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(syncError?.message).toContain('no_such_map');
    for (const concurrency of [undefined, 1, 64]) {
      const before = bpfFds();
      const error = await loadCollectionAsync(spec, concurrency === undefined ? {} : { concurrency }).then(track, (e: unknown) => e);
      expect((error as Error).message, `concurrency ${concurrency}`).toBe(syncError!.message);
      expect(bpfFds()).toEqual(before);
    }
  });

  it('a refused program among loaded ones (partial loads, rodata_prune.o) is named; nothing stays open', async () => {
    const spec = loadCollectionSpec(bytesOf('rodata_prune'), { name: 'rodata_prune.o' });
    const c = track(await loadCollectionAsync(spec, { programs: ['old_kernel_branch', 'mode_branch'] }));
    // In the object's order, whatever order they were asked for in.
    expect(Object.keys(c.programs)).toEqual(Object.keys(spec.programs).filter((n) => n === 'old_kernel_branch' || n === 'mode_branch'));
    expect(c.programs.mode_branch.testRun({ data: packet }).retval).toBe(2);
    c.close();
    const before = bpfFds();
    await expect(loadCollectionAsync(spec)).rejects.toThrow(/program "threshold_branch" rejected by the verifier/);
    expect(bpfFds()).toEqual(before);
  });

  it('refuses a concurrency that is not a whole number of at least 1, and bad options as loadCollection does', async () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      await expect(loadCollectionAsync(collectionSpec(), { concurrency })).rejects.toThrow(LoaderError);
    }
    await expect(loadCollectionAsync(collectionSpec(), { programs: ['nope'] })).rejects.toThrow(/no program named nope/);
  });
});

describe.runIf(need(isRoot, 'loading programs needs root'))('Program.loadAsync', () => {
  it('loads a program that runs', async () => {
    const p = track(await Program.loadAsync({ type: 'XDP', instructions: RETURN_2, name: 'async_ret2' }));
    expect(p.testRun({ data: packet }).retval).toBe(2);
    expect(p.info().name).toBe('async_ret2');
  });

  it('with a log asked for on the first attempt, loads as well', async () => {
    const p = track(await Program.loadAsync({ type: 'XDP', instructions: RETURN_2, name: 'async_logged' }, { logLevel: 1, logSize: 4096 }));
    expect(p.testRun({ data: packet }).retval).toBe(2);
  });

  it('a refused program rejects with VerifierError holding the verifier log', async () => {
    const error = await Program.loadAsync({ type: 'XDP', instructions: READS_UNSET_REGISTER, name: 'async_bad' }).then(
      track,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).log).toMatch(/R2 !read_ok/);
    expect((error as VerifierError).message).toMatch(/program "async_bad" rejected by the verifier/);
  });

  it("the worker thread's errno comes back: the same refused request gives the same -errno as the synchronous call", async () => {
    const request = { type: ProgramType.XDP, insns: encodeInstructions(READS_UNSET_REGISTER), license: 'GPL', name: 'errno_check' };
    const sync = progLoadRaw(request);
    const async = await progLoadRawAsync(request);
    expect(sync.ret).toBe(-Errno.EACCES);
    expect(async.ret).toBe(sync.ret);
    // A request the kernel refuses before verifying (an unknown program type): EINVAL both ways.
    const bogus = { ...request, type: 0x7fff };
    expect((await progLoadRawAsync(bogus)).ret).toBe(-Errno.EINVAL);
    expect(progLoadRaw(bogus).ret).toBe(-Errno.EINVAL);
  });
});
