// What users of libbpf and cilium/ebpf rely on when loading (issue 13): partial loads, a spec that
// loading never changes, and existing maps used in place of the object's.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { BpfMap } from '../src/maps/index.js';
import { parseBtf } from '../src/btf/index.js';
import { ElfFile } from '../src/elf/index.js';
import { loadCollection, loadCollectionSpec, LoaderError } from '../src/loader/index.js';
import { isRoot } from './support/env.js';
import { kernelBtfObjectFd } from '../src/loader/load/module-btf.js';
import { closeFd } from '../src/syscall/index.js';
import { execFileSync } from 'node:child_process';

const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../bpf/${name}.o`, import.meta.url)));
const packet = Buffer.alloc(64, 0xab);
const openFds = (): number => readdirSync('/proc/self/fd').length;

/** Everything a spec holds that loading could change: map definitions, data bytes, instructions. */
function snapshot(spec: ReturnType<typeof loadCollectionSpec>): string {
  return JSON.stringify(
    {
      maps: Object.values(spec.maps).map((m) => ({
        ...m,
        contents: m.contents?.kind === 'data' ? Buffer.from(m.contents.bytes).toString('hex') : m.contents?.kind,
      })),
      programs: Object.values(spec.programs).map((p) => ({
        ...p,
        instructions: p.instructions.map((i) => ({ ...i, imm64: i.imm64?.toString() })),
      })),
      kconfig: spec.kconfig,
      ksyms: spec.ksyms,
    },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );
}

describe('legacy map definitions', () => {
  it('refuses non-zero bytes past the known fields, naming the map and the byte', () => {
    expect(() => loadCollectionSpec(bytesOf('legacy_extra'), { name: 'legacy_extra.o' })).toThrow(
      /legacy map definition has non-zero bytes past its known fields \(byte 32 of 36\).*symbol "set_tail", offset 0x44/,
    );
  });
});

describe.runIf(isRoot)('loadCollection options', () => {
  it('relocates CO-RE against a caller-supplied BTF (a BTFHub-style file) instead of the running kernel', () => {
    // bpf/fake_kernel.o's BTF stands for another kernel: sock_common laid out differently.
    const elf = ElfFile.parse(bytesOf('fake_kernel'));
    const kernelBtf = parseBtf(Uint8Array.from(elf.sectionData('.BTF')));
    const spec = loadCollectionSpec(bytesOf('core_anon'), { name: 'core_anon.o' });
    const programs = ['offset_num', 'offset_dport', 'offset_hash', 'offset_rcv_saddr', 'size_flags', 'exists_bogus'];
    const run = (c: ReturnType<typeof loadCollection>) =>
      Object.fromEntries(programs.map((p) => [p, c.programs[p].testRun({ data: packet }).retval]));
    const custom = loadCollection(spec, { programs, kernelBtf });
    try {
      expect(run(custom)).toEqual({
        offset_num: 34,
        offset_dport: 32,
        offset_hash: 42,
        offset_rcv_saddr: 12,
        size_flags: 8,
        exists_bogus: 10,
      });
    } finally {
      custom.close();
    }
    const running = loadCollection(spec, { programs });
    try {
      expect(run(running)).toMatchObject({ offset_num: 14, offset_dport: 12 });
    } finally {
      running.close();
    }
  });

  it('loads only the chosen programs; a refused one is named and nothing it made stays open', () => {
    const spec = loadCollectionSpec(bytesOf('rodata_prune'), { name: 'rodata_prune.o' });
    const c = loadCollection(spec, { programs: ['old_kernel_branch', 'mode_branch'] });
    try {
      expect(Object.keys(c.programs).sort()).toEqual(['mode_branch', 'old_kernel_branch']);
      expect(c.programs.mode_branch.testRun({ data: packet }).retval).toBe(2);
    } finally {
      c.close();
    }
    const before = openFds();
    let error: unknown;
    try {
      loadCollection(spec);
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(/program "threshold_branch" rejected by the verifier/);
    expect(openFds()).toBe(before);
    expect(() => loadCollection(spec, { programs: ['nope'] })).toThrow(/no program named nope/);
  });

  it('never changes the spec: the same spec loads twice, .kconfig values and all', () => {
    for (const name of ['kconfig_virtual', 'ksyms', 'core_anon', 'rodata_prune']) {
      const spec = loadCollectionSpec(bytesOf(name), { name });
      const before = snapshot(spec);
      const programs = Object.keys(spec.programs).filter((p) => p !== 'typed_ksym' && p !== 'threshold_branch');
      for (let i = 0; i < 2; i++) loadCollection(spec, { programs }).close();
      expect(snapshot(spec)).toBe(before);
    }
    // The .kconfig value was all zeroes in the spec and stays so.
    const spec = loadCollectionSpec(bytesOf('kconfig_virtual'));
    const kconfig = spec.maps['.kconfig'].contents;
    loadCollection(spec).close();
    expect(kconfig?.kind === 'data' && [...kconfig.bytes].every((b) => b === 0)).toBe(true);
  });

  it('creates .data, .bss and .rodata mmap-able and reads and writes variables through the mapping', () => {
    const spec = loadCollectionSpec(bytesOf('collection'), { name: 'collection.o' });
    spec.maps.pinned_counts.pinning = 'none';
    const c = loadCollection(spec, { programs: ['tc_prog'] });
    try {
      for (const section of ['.data', '.bss', '.rodata', '.data.custom']) {
        expect((c.maps[section].info().flags & (1 << 10)) !== 0, section).toBe(true); // BPF_F_MMAPABLE
      }
      expect(c.maps['.kconfig']?.flags ?? 0).toBe(spec.maps['.kconfig']?.flags ?? 0);
      // A write to the mapping is the map's value at once: the kernel's lookup and the program see it.
      c.variables.set('tc_verdict', 2);
      expect(c.maps['.data'].lookup(0)).toBeInstanceOf(Uint8Array);
      const offset = spec.variables.tc_verdict.offset;
      expect((c.maps['.data'].lookup(0) as Buffer).readUInt32LE(offset)).toBe(2);
      expect(c.programs.tc_prog.testRun({ data: packet }).retval).toBe(2);
      // What the program writes is read back through the mapping.
      const before = c.variables.get('custom_counter') as bigint;
      c.programs.tc_prog.testRun({ data: packet });
      expect(c.variables.get('custom_counter')).toBe(before + 1n);
      // .rodata is mapped read-only after freezing; setting it after load says why not.
      expect(() => c.variables.set('xdp_verdict', 1)).toThrow(/frozen at load.*before loading/);
    } finally {
      c.close();
    }
    expect(() => c.variables.get('tc_verdict')).toThrow();
  });

  it('finds a kernel BTF object by name, as module kfuncs and attach targets need (vmlinux here: no module has BTF)', () => {
    const fd = kernelBtfObjectFd('vmlinux');
    expect(fd).toBeGreaterThan(0);
    try {
      // bpftool, independently: the object with that fd's id is the kernel's own BTF named vmlinux.
      const id = Number(/btf_id:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]);
      const shown = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
        name?: string;
        kernel?: boolean;
      };
      expect(shown).toMatchObject({ name: 'vmlinux' });
    } finally {
      closeFd(fd!);
    }
    expect(kernelBtfObjectFd('ebpf_no_such_module')).toBeUndefined();
  });

  it('names what it cannot resolve: an unknown .kconfig extern, a missing attach target', () => {
    const spec = loadCollectionSpec(bytesOf('kconfig_virtual'), { name: 'kconfig_virtual.o' });
    const renamed = {
      ...spec,
      kconfig: spec.kconfig.map((k) => (k.name === 'LINUX_HAS_BPF_COOKIE' ? { ...k, name: 'LINUX_NO_SUCH_THING', weak: true } : k)),
    };
    expect(() => loadCollection(renamed)).toThrow(/unknown \.kconfig extern LINUX_NO_SUCH_THING.*LINUX_HAS_SYSCALL_WRAPPER/);
    const hidden = loadCollectionSpec(bytesOf('hidden_func'), { name: 'hidden_func.o' });
    Object.assign(hidden.programs.global_call, {
      type: 26 /* TRACING */,
      expectedAttachType: 24 /* TRACE_FENTRY */,
      attachTo: 'ebpf_no_such_function',
      btfTarget: 'fentry',
    });
    expect(() => loadCollection(hidden, { programs: ['global_call'] })).toThrow(
      /cannot find the attach target of global_call: no kernel function ebpf_no_such_function in the kernel's BTF or any module's/,
    );
  });

  it('uses an existing map (a BpfMap or an fd) instead of creating one', () => {
    const spec = loadCollectionSpec(bytesOf('xdp_counter'), { name: 'xdp_counter.o' });
    const config = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'my_config' });
    try {
      config.update(Buffer.alloc(4), Buffer.from([1, 0, 0, 0])); // XDP_DROP
      for (const given of [config, config.fd]) {
        const c = loadCollection(spec, { mapReplacements: { config: given } });
        try {
          expect(c.maps.config.info().id).toBe(config.info().id);
          expect(c.programs.xdp_counter.testRun({ data: packet }).retval).toBe(1);
        } finally {
          c.close();
        }
        // The caller's map stays open and usable.
        expect(config.lookup(Buffer.alloc(4))).toEqual(Buffer.from([1, 0, 0, 0]));
      }
      // Without the replacement the object's own map decides (zeroed: verdict 0).
      const own = loadCollection(spec);
      try {
        expect(own.programs.xdp_counter.testRun({ data: packet }).retval).toBe(0);
      } finally {
        own.close();
      }
    } finally {
      config.close();
    }
    const wrong = BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 1 });
    try {
      const before = openFds();
      expect(() => loadCollection(spec, { mapReplacements: { config: wrong } })).toThrow(LoaderError);
      expect(() => loadCollection(spec, { mapReplacements: { config: wrong } })).toThrow(
        /replacement for map config does not match its definition: type 1 \(want 2\), value size 8 \(want 4\)/,
      );
      expect(() => loadCollection(spec, { mapReplacements: { nope: wrong } })).toThrow(/nope, which is not a map of this object/);
      expect(openFds()).toBe(before);
    } finally {
      wrong.close();
    }
  });
});
