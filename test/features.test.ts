// Feature probes against the kernel and against `bpftool feature probe full -j` (Debian's bpftool
// 7.1, libbpf 1.1): every program type, map type, helper and misc feature bpftool reports must be
// reported the same by ours, except where bpftool's older probes are known to be wrong, and then
// the exception is checked, not assumed.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  attachType,
  btfKinds,
  clearFeatureCache,
  compareKernelVersions,
  FeatureProbeError,
  helper,
  helpers,
  linkType,
  linkTypes,
  isNotSupported,
  mapType,
  mapTypes,
  misc,
  miscFeatures,
  NotSupportedError,
  probeAll,
  programType,
  programTypes,
  requireFeature,
  type FeatureAnswer,
} from '../src/features/index.js';
import { BpfMap, MapType, ProgramType } from '../src/index.js';
import { Helper } from '../src/asm/index.js';
import { run as cli } from '../src/cli/feature.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { featureVerdict, haveFeature, KNOWN_ABSENT, runningKernel } from './support/features.js';

interface BpftoolFeatures {
  program_types: Record<string, boolean>;
  map_types: Record<string, boolean>;
  helpers: Record<string, string[]>;
  misc: Record<string, boolean>;
}

const answerOf = (name: string, supported: boolean, minimumKernel?: string): FeatureAnswer => ({
  name,
  supported,
  minimumKernel,
  detail: 'synthetic',
});

describe("the test helper decides as cilium's testutils do", () => {
  it('runs a supported feature, skips one newer than the kernel, fails one the kernel should have', () => {
    expect(featureVerdict(answerOf('map_type/ringbuf', true, '5.8'), '5.4')).toEqual({ run: true });
    expect(featureVerdict(answerOf('map_type/ringbuf', false, '5.8'), '5.4')).toEqual({
      run: false,
      skip: 'map_type/ringbuf needs Linux 5.8; this kernel is 5.4',
    });
    const v = featureVerdict(answerOf('map_type/ringbuf', false, '5.8'), '6.18');
    expect('fail' in v && v.fail).toMatch(/came in Linux 5\.8, but this 6\.18 kernel lacks it/);
    expect(featureVerdict(answerOf('map_type/ringbuf', false, '5.8'), '5.10')).toHaveProperty('fail');
    expect(featureVerdict(answerOf('link_type/netkit', false, '6.7'), '6.18')).toEqual({
      run: false,
      skip: `link_type/netkit: ${KNOWN_ABSENT['link_type/netkit']}`,
    });
    expect(featureVerdict(answerOf('helper/xdp/x', false), '6.18')).toHaveProperty('skip');
    const restricted: FeatureAnswer = {
      name: 'helper/socket_filter/skb_store_bytes',
      supported: false,
      minimumKernel: '4.1',
      detail: 'EINVAL: program of this type cannot use helper',
    };
    expect(featureVerdict(restricted, '6.18')).toHaveProperty('skip');
    expect(featureVerdict({ ...restricted, detail: 'EINVAL: invalid func' }, '6.18')).toHaveProperty('fail');
  });

  it('compares kernel versions numerically', () => {
    expect(compareKernelVersions('5.10', '5.8')).toBeGreaterThan(0);
    expect(compareKernelVersions('5.8', '5.8')).toBe(0);
    expect(compareKernelVersions('4.19', '5.1')).toBeLessThan(0);
  });

  it('requireFeature throws NotSupportedError naming the feature and its kernel', () => {
    const e = (() => {
      try {
        requireFeature(answerOf('map_type/arena', false, '6.9'), 'creating map "a"');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(NotSupportedError);
    expect(e).toMatchObject({ feature: 'map_type/arena', minimumKernel: '6.9', code: 'ERR_NOT_SUPPORTED' });
    expect((e as Error).message).toBe('creating map "a": map_type/arena is not supported by this kernel (it came in Linux 6.9)');
    expect(isNotSupported(new Error('wrapped', { cause: new Error('again', { cause: e }) }))).toBe(true);
    expect(isNotSupported(new Error('other'))).toBe(false);
  });
});

describe.runIf(need(isRoot, 'feature probes load programs: they need root'))('feature probes on the running kernel', () => {
  it('every answer is named, cached, and every one the kernel lacks is explained by its version or by KNOWN_ABSENT', () => {
    const all = [...programTypes(), ...mapTypes(), ...linkTypes(), ...btfKinds(), ...miscFeatures()];
    for (const a of all) {
      expect(a.name).toMatch(/^(program_type|map_type|link_type|btf|misc)\/[a-z0-9_]+$/);
      expect(a.minimumKernel, a.name).toMatch(/^\d+\.\d+$/);
      const v = featureVerdict(a, runningKernel());
      expect('fail' in v ? v.fail : 'ok', a.name).toBe('ok');
    }
    for (const a of helpers('XDP')) expect('fail' in featureVerdict(a, runningKernel()) ? `${a.name}: ${a.detail}` : 'ok').toBe('ok');
    // Cached: the same frozen object; probed again only after clearing.
    expect(programType('XDP')).toBe(programType(ProgramType.XDP));
    clearFeatureCache();
    expect(programType('XDP')).not.toBe(all.find((a) => a.name === 'program_type/xdp'));
    expect(programType('XDP').supported).toBe(true);
  });

  it('the answers are true: a supported map type creates, ringbuf and bounded loops are here, arena is refused as the kernel refuses it', () => {
    expect(haveFeature(() => mapType('RINGBUF'))).toBe(true);
    expect(haveFeature(() => misc('bounded_loops'))).toBe(true);
    expect(haveFeature(() => misc('isa_v4'))).toBe(true);
    expect(haveFeature(() => linkType('tcx'))).toBe(true);
    expect(haveFeature(() => linkType('netfilter'))).toBe(true);
    expect(haveFeature(() => attachType('CGROUP_UNIX_CONNECT'))).toBe(true);
    using m = BpfMap.create({ type: 'BLOOM_FILTER', valueSize: 4, maxEntries: 8 });
    expect(mapType(MapType.BLOOM_FILTER).supported).toBe(true);
    expect(m.type).toBe(MapType.BLOOM_FILTER);
    const arena = mapType('ARENA');
    if (!arena.supported) expect(arena.detail).toMatch(/EPERM|EOPNOTSUPP|EINVAL/);
    // Helpers per type: the kernel's own distinctions.
    expect(helper('XDP', 'redirect').supported).toBe(true);
    expect(helper('SOCKET_FILTER', 'skb_store_bytes')).toMatchObject({
      supported: false,
      detail: expect.stringMatching(/cannot use helper/),
    });
    expect(helper('KPROBE', Helper.get_attach_cookie).minimumKernel).toBe('5.15');
    expect(() => helper('TRACING', 'map_lookup_elem')).toThrow(NotSupportedError);
    expect(() => attachType('SK_MSG_VERDICT')).toThrow(FeatureProbeError);
  });

  it.runIf(need(hasCommand('bpftool'), 'bpftool is the oracle'))(
    'agrees with bpftool feature probe full -j on program types, map types, helpers and misc',
    () => {
      const tool = JSON.parse(
        execFileSync('bpftool', ['feature', 'probe', 'full', '-j'], { encoding: 'utf8', maxBuffer: 1 << 26 }),
      ) as BpftoolFeatures;
      // Program types.
      const progDiff: string[] = [];
      for (const [key, has] of Object.entries(tool.program_types)) {
        const name = /^have_(.+)_prog_type$/.exec(key)![1];
        const ours = programType(name.toUpperCase() as keyof typeof ProgramType);
        if (ours.supported !== has) progDiff.push(`${name}: bpftool ${has}, ours ${ours.supported} (${ours.detail})`);
      }
      expect(progDiff).toEqual([]);
      expect(Object.keys(tool.program_types).length).toBeGreaterThan(25);
      // Map types (bpftool 7.1 knows up to user_ringbuf; ours probes the later ones too).
      const mapDiff: string[] = [];
      for (const [key, has] of Object.entries(tool.map_types)) {
        const name = /^have_(.+)_map_type$/.exec(key)![1];
        const ours = mapType(name.toUpperCase() as keyof typeof MapType);
        if (ours.supported !== has) mapDiff.push(`${name}: bpftool ${has}, ours ${ours.supported} (${ours.detail})`);
      }
      expect(mapDiff).toEqual([]);
      // Misc.
      expect({
        large: tool.misc.have_large_insn_limit,
        loops: tool.misc.have_bounded_loops,
        v2: tool.misc.have_v2_isa_extension,
        v3: tool.misc.have_v3_isa_extension,
      }).toEqual({
        large: misc('large_insn_limit').supported,
        loops: misc('bounded_loops').supported,
        v2: misc('isa_v2').supported,
        v3: misc('isa_v3').supported,
      });
      // Helpers. Exceptions, each checked: (1) libbpf 1.1 does not know the verifier's "program of
      // this type cannot use helper" refusal, so bpftool lists such helpers as available; (2) bpftool
      // cannot list helpers newer than its libbpf.
      const knownToBpftool = new Set(Object.values(tool.helpers).flat());
      let compared = 0;
      let refusedButListed = 0;
      for (const [key, listed] of Object.entries(tool.helpers)) {
        const typeName = /^(.+)_available_helpers$/.exec(key)![1].toUpperCase() as keyof typeof ProgramType;
        const type = ProgramType[typeName];
        if (!programType(type).supported || [ProgramType.STRUCT_OPS].includes(type as 27)) {
          expect(listed, `${typeName}: bpftool lists helpers for a type it cannot load`).toEqual([]);
          continue;
        }
        const theirs = new Set(listed);
        for (const a of helpers(type)) {
          const h = `bpf_${a.name.split('/')[2]}`;
          compared++;
          if (a.supported && !theirs.has(h)) {
            expect(knownToBpftool.has(h), `${typeName} ${h}: ours says available, bpftool does not list it though it knows it`).toBe(false);
          } else if (!a.supported && theirs.has(h)) {
            expect(a.detail, `${typeName} ${h}: bpftool says available, ours says ${a.detail}`).toMatch(
              /program of this type cannot use helper/,
            );
            refusedButListed++;
          }
        }
      }
      expect(compared).toBeGreaterThan(4000);
      console.info(`helpers compared: ${compared}; listed by bpftool 7.1 but refused by the verifier for the type: ${refusedButListed}`);
    },
  );

  it('probeAll and `ebpf feature --json` report every group; bad arguments exit 2', async () => {
    const r = probeAll({ helpers: false });
    expect(r.programTypes.length).toBe(Object.keys(ProgramType).length - 1);
    expect(r.mapTypes.length).toBe(Object.keys(MapType).length - 1);
    expect(r.misc.map((a) => a.name)).toContain('misc/kfuncs');
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      out.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await cli(['--json', '--no-helpers']);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const lines = out
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; supported: boolean; minimumKernel: string | null });
    expect(lines.find((l) => l.name === 'map_type/ringbuf')).toMatchObject({ supported: true, minimumKernel: '5.8' });
    expect(lines.length).toBe(
      r.programTypes.length + r.mapTypes.length + r.attachTypes.length + r.linkTypes.length + r.btf.length + r.misc.length,
    );
    const err = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await cli(['--bogus'])).toBe(2);
    } finally {
      process.stderr.write = err;
    }
  });
});
