// The five causes by which the loader failed where libbpf loads (issue 13), each with a fixture of
// its own in bpf/. libbpf (Debian's libbpf-dev, through test/support/libbpf-oracle.c) loads each
// program alone and test-runs it; this library must load the same programs and return the same.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadCollectionSpec } from '../src/loader/index.js';
import { isRoot, need } from './support/env.js';
import { libbpfAvailable, libbpfLoad, ourLoad, type OracleOutcome } from './support/libbpf.js';

const object = (name: string): string => new URL(`../bpf/${name}.o`, import.meta.url).pathname;

/** Loads every program of the object alone with both, and returns both outcomes by program. */
function compare(name: string, set?: Record<string, number>): Record<string, { libbpf: OracleOutcome; ours: OracleOutcome }> {
  const path = object(name);
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(path)), { name: path });
  const out: Record<string, { libbpf: OracleOutcome; ours: OracleOutcome }> = {};
  for (const p of Object.keys(spec.programs)) {
    out[p] = {
      libbpf: libbpfLoad(path, p, { run: true, ...(set ? { set } : {}) }),
      ours: ourLoad(path, p, { run: true, ...(set ? { set } : {}) }),
    };
  }
  return out;
}

/** Same programs load, and the loaded ones return the same. */
function expectSame(results: ReturnType<typeof compare>): void {
  for (const [p, { libbpf, ours }] of Object.entries(results)) {
    expect({ program: p, loaded: ours.loaded, retval: ours.retval, error: ours.loaded ? undefined : ours.error }).toMatchObject({
      program: p,
      loaded: libbpf.loaded,
      retval: libbpf.retval,
    });
  }
}

const retvals = (r: ReturnType<typeof compare>): Record<string, number | undefined> =>
  Object.fromEntries(Object.entries(r).map(([p, o]) => [p, o.ours.retval]));

describe.runIf(isRoot)('loader against libbpf, one cause at a time', () => {
  it('has the libbpf oracle', () => {
    expect(need(libbpfAvailable(), 'gcc and libbpf-dev build the libbpf oracle')).toBe(true);
  });

  it('cause 1: CO-RE field relocations through later anonymous members, at any depth, every field kind', () => {
    const r = compare('core_anon');
    expectSame(r);
    for (const o of Object.values(r)) expect(o.libbpf.loaded).toBe(true);
    // Independent of both loaders: the kernel's own layout, as bpftool prints it.
    expect(retvals(r)).toMatchObject({
      offset_num: 14,
      offset_dport: 12,
      offset_hash: 10,
      offset_rcv_saddr: 4,
      offset_flat_num: 14,
      offset_flat_saddr: 4,
      size_dport: 2,
      size_flags: 8,
      exists_num: 1,
      exists_bogus: 10,
      signed_flags: 20,
      offset_dev: 16,
    });
    // A relocated load through two anonymous members reads the frame's EtherType (0x0800, big-endian).
    expect(r.read_protocol.ours.retval).toBe(0x0008);
  });

  it('cause 1: an iterator context read through its second anonymous union verifies', () => {
    const path = object('iter_anon');
    expect(libbpfLoad(path, 'count_tasks')).toEqual({ loaded: true });
    expect(ourLoad(path, 'count_tasks')).toEqual({ loaded: true });
  });

  it('cause 2: .rodata and .kconfig are frozen before programs load, so dead branches are pruned', () => {
    const r = compare('rodata_prune');
    expectSame(r);
    expect(r.old_kernel_branch.ours).toEqual({ loaded: true, retval: 1 });
    expect(r.mode_branch.ours).toEqual({ loaded: true, retval: 2 });
    // threshold = 200 takes the branch with the invalid call: refused by both.
    expect(r.threshold_branch.libbpf.loaded).toBe(false);
    expect(r.threshold_branch.ours.loaded).toBe(false);
    expect(r.threshold_branch.ours.error).toMatch(/invalid func|unknown func|999/);
    // A const volatile set before load is folded: the branch is gone, the value returned.
    const set = compare('rodata_prune', { threshold: 77 });
    expectSame(set);
    expect(set.threshold_branch.ours).toEqual({ loaded: true, retval: 77 });
  });

  it('cause 3: LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER probed; weak CONFIG_* the kernel lacks read 0', () => {
    const r = compare('kconfig_virtual');
    expectSame(r);
    for (const o of Object.values(r)) expect(o.ours.loaded).toBe(true);
    expect(r.weak_config.ours.retval).toBe(30);
    expect(r.weak_unknown.ours.retval).toBe(40);
    // This kernel has bpf_get_attach_cookie (5.15+).
    expect(r.has_cookie.ours.retval).toBe(11);
  });

  it('cause 4: a __hidden global function is verified as a static subprogram', () => {
    const r = compare('hidden_func');
    expectSame(r);
    expect(r.hidden_call.ours).toEqual({ loaded: true, retval: 30 });
    expect(r.global_call.ours).toEqual({ loaded: true, retval: 42 });
  });

  it('cause 5: kfunc calls, typed and typeless ksyms, and weak externs the kernel lacks', () => {
    const r = compare('ksyms');
    expectSame(r);
    // bpf_cast_to_kern_ctx: the kernel sk_buff's len of the 64-byte frame (past the Ethernet header).
    expect(r.kfunc_len.ours).toEqual({ loaded: true, retval: 50 });
    // The address libbpf and the kernel's kallsyms give.
    const line = readFileSync('/proc/kallsyms', 'utf8')
      .split('\n')
      .find((l) => l.endsWith(' __x64_sys_bpf'));
    if (line) expect(r.typeless_ksym.ours.retval).toBe(Number(BigInt(`0x${line.split(' ')[0]}`) & 0xffffffffn));
    expect(r.weak_ksyms.ours).toEqual({ loaded: true, retval: 7 });
    expect(r.kfunc_exists.ours).toEqual({ loaded: true, retval: 1 });
    // A typed variable: the kernel got its BTF id and looked its address up in kallsyms, which
    // on this kernel (no CONFIG_KALLSYMS_ALL) lacks per-CPU variables: refused, for libbpf too.
    if (!r.typed_ksym.libbpf.loaded)
      expect(r.typed_ksym.ours.error).toMatch(/failed to find the address for kernel symbol 'bpf_prog_active'/);
  });

  it('cause 5: a kfunc the kernel lacks, not __weak, fails only the programs that call it, naming it', () => {
    const path = object('ksyms');
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(path)), { name: path });
    // Made non-weak: the program using it fails with a typed error; the others still load.
    const weak = spec.ksyms.find((k) => k.name === 'ebpf_no_such_symbol');
    expect(weak).toMatchObject({ kind: 'var', typeless: true, weak: true });
    (spec as unknown as { ksyms: unknown[] }).ksyms = spec.ksyms.map((k) => (k.name === 'ebpf_no_such_symbol' ? { ...k, weak: false } : k));
    const failed = ourLoad(path, 'weak_ksyms', { run: true, spec });
    expect(failed.loaded).toBe(false);
    expect(failed.error).toMatch(/ebpf_no_such_symbol is not in \/proc\/kallsyms.*weak_ksyms/s);
    expect(ourLoad(path, 'kfunc_len', { run: true, spec })).toEqual({ loaded: true, retval: 50 });
  });
});
