// loadCollection with its helper thread (src/syscall/verifier-thread.ts): while the calling thread
// lays out program requests, the helper verifies those laid out already, then both verify the
// rest. The oracles are the kernel (the tags it computes for the loaded programs, its fd table)
// and the same load made one program after another (verifierThread: false), whose results and
// errors the helper must not change.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadCollection, loadCollectionSpec, type Collection, type CollectionSpec } from '../src/loader/index.js';
import { Program, VerifierError } from '../src/programs/index.js';
import { startVerifierThread, verifierThreadStats } from '../src/syscall/index.js';
import { assemble } from '../src/asm/index.js';
import { track } from './support/track.js';

const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../bpf/${name}.o`, import.meta.url)));
const collectionSpec = (): CollectionSpec => {
  const s = loadCollectionSpec(bytesOf('collection'), { name: 'collection.o' });
  s.maps.pinned_counts.pinning = 'none';
  return s;
};
const sequential = { program: { verifierThread: false } };
/** fds of kernel BPF objects this process holds. */
const bpfFds = (): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return /prog_type|map_type|btf_id/.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')) ? [fd] : [];
    } catch {
      return [];
    }
  });
const errorOf = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
};
// Kernel addresses in a verifier log differ from one load to the next.
const plain = (m: string): string => m.replace(/0xffff[0-9a-f]+/g, '<kernel address>');

/** Starts this thread's helper and waits until it has bound libc (it starts in some tens of ms). */
async function helperReady(): Promise<void> {
  startVerifierThread();
  for (let i = 0; i < 500 && !verifierThreadStats().ready; i++) await new Promise((r) => setTimeout(r, 10));
  expect(verifierThreadStats().ready).toBe(true);
}

describe('loadCollection with the verifier helper thread', () => {
  it('a process that loads one collection starts no helper; a second load of several programs starts it', () => {
    // A process of its own: in this one the test setup has started the helper already.
    const script = `
      import { readFileSync } from 'node:fs';
      import { loadCollection, loadCollectionSpec } from './src/loader/index.js';
      import { verifierThreadStats } from './src/syscall/index.js';
      const spec = loadCollectionSpec(readFileSync('bpf/collection.o'));
      spec.maps.pinned_counts.pinning = 'none';
      const seen = [];
      for (let i = 0; i < 2; i++) {
        loadCollection(spec).close();
        seen.push(verifierThreadStats().started);
      }
      console.log(JSON.stringify(seen));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    expect(JSON.parse(out)).toEqual([false, true]);
  });

  it('the helper verifies part of every collection, and the programs are those of a load one after another', async () => {
    await helperReady();
    const spec = collectionSpec();
    const names = Object.keys(spec.programs);
    const one = track(loadCollection(spec, sequential));
    const before = verifierThreadStats();
    let helped = 0;
    for (let i = 0; i < 5; i++) {
      const c = track(loadCollection(spec));
      expect(Object.keys(c.programs)).toEqual(names);
      for (const name of names) expect(c.programs[name].info().tag, name).toBe(one.programs[name].info().tag);
      c.close();
      const after = verifierThreadStats();
      // Every program went through the batch, made by one thread or the other.
      expect(after.byHelper + after.byCallingThread - (before.byHelper + before.byCallingThread)).toBe((i + 1) * names.length);
      helped = after.byHelper - before.byHelper;
    }
    // The helper takes each request as soon as it is laid out: it cannot have been idle throughout.
    expect(helped).toBeGreaterThan(0);
    one.close();
  });

  it("when several programs fail, throws the first of them in the object's order, as one after another, and leaks nothing", async () => {
    await helperReady();
    const spec = collectionSpec();
    const names = Object.keys(spec.programs);
    // Two programs broken (a lone mov, no exit): the helper may well refuse the later one first.
    const [early, late] = [names[3], names[names.length - 2]];
    for (const name of [early, late])
      spec.programs[name] = { ...spec.programs[name], instructions: spec.programs[name].instructions.slice(0, 1) };
    const expected = errorOf(() => track(loadCollection(spec, sequential)));
    expect(expected).toBeInstanceOf(VerifierError);
    expect(expected.message).toContain(`"${early}"`);
    for (let i = 0; i < 3; i++) {
      const before = bpfFds();
      const error = errorOf(() => track(loadCollection(spec)));
      expect(error).toBeInstanceOf(VerifierError);
      expect(error.message).toBe(expected.message);
      expect(bpfFds()).toEqual(before);
    }
  });

  it('a program that cannot be prepared throws as one after another would, and leaks nothing of what the helper loaded meanwhile', async () => {
    await helperReady();
    const spec = collectionSpec();
    const name = Object.keys(spec.programs)[5];
    const insns = spec.programs[name].instructions;
    const at = insns.findIndex((i) => i.reference !== undefined && spec.maps[i.reference] !== undefined);
    expect(at).toBeGreaterThanOrEqual(0);
    spec.programs[name] = {
      ...spec.programs[name],
      instructions: insns.map((insn, i) => (i === at ? { ...insn, reference: 'no_such_map' } : insn)),
    };
    const expected = errorOf(() => track(loadCollection(spec, sequential)));
    expect(expected.message).toContain('no_such_map');
    const before = bpfFds();
    expect(errorOf(() => track(loadCollection(spec))).message).toBe(expected.message);
    expect(bpfFds()).toEqual(before);
  });

  it('every object in bpf/ loads as it does one program after another (same programs, tags, maps) or fails the same way', async () => {
    await helperReady();
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
      let one: Collection | undefined;
      let oneError: Error | undefined;
      try {
        one = track(loadCollection(spec, sequential));
      } catch (e) {
        oneError = e as Error;
      }
      const before = bpfFds();
      let result: Collection | Error;
      try {
        result = track(loadCollection(spec));
      } catch (e) {
        result = e as Error;
      }
      if (oneError) {
        expect(result, file).toBeInstanceOf(Error);
        expect(plain((result as Error).message), file).toBe(plain(oneError.message));
        expect(bpfFds(), file).toEqual(before);
        continue;
      }
      const c = result as Collection;
      expect(Object.keys(c.programs), file).toEqual(Object.keys(one!.programs));
      expect(Object.keys(c.maps), file).toEqual(Object.keys(one!.maps));
      for (const [name, p] of Object.entries(c.programs)) expect(p.info().tag, `${file} ${name}`).toBe(one!.programs[name].info().tag);
      c.close();
      one!.close();
      loaded++;
    }
    expect(loaded).toBeGreaterThan(5);
  });

  it('Program.loadEach: results in order, a refusal in its slot with the verifier log, the others loaded', async () => {
    await helperReady();
    const good = assemble('r0 = 2\nexit');
    const bad = assemble('r0 = r2\nexit'); // reads r2 before anything wrote it
    const specs = [good, good, bad, good, bad, good].map((instructions, i) => ({ type: 'XDP' as const, instructions, name: `each_${i}` }));
    const before = bpfFds();
    const out = Program.loadEach(specs.length, (i) => specs[i]);
    try {
      expect(out.map((r) => (r instanceof Program ? 'program' : r === undefined ? 'none' : 'failure'))).toEqual([
        'program',
        'program',
        'failure',
        'program',
        'failure',
        'program',
      ]);
      for (const i of [2, 4]) {
        const { error } = out[i] as { error: unknown };
        expect(error).toBeInstanceOf(VerifierError);
        expect((error as VerifierError).log).toMatch(/R2 !read_ok/);
        expect((error as VerifierError).message).toContain(`"each_${i}"`);
      }
      for (const i of [0, 1, 3, 5]) expect((out[i] as Program).testRun({ data: Buffer.alloc(64) }).retval).toBe(2);
    } finally {
      for (const r of out) if (r instanceof Program) r.close();
    }
    expect(bpfFds()).toEqual(before);
    // One after another, loading stops at the first failure, as load() in a loop would.
    const one = Program.loadEach(specs.length, (i) => specs[i], { verifierThread: false });
    for (const r of one) if (r instanceof Program) r.close();
    expect(one.map((r) => (r instanceof Program ? 'program' : r === undefined ? 'none' : 'failure'))).toEqual([
      'program',
      'program',
      'failure',
      'none',
      'none',
      'none',
    ]);
  });
});
