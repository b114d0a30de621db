// Kernel features in tests, as cilium's testutils treat them: a feature the running kernel lacks
// skips the test, unless the kernel is at least the version the feature is declared to have come
// in: then either the probe or the declared version is wrong, and the test FAILS. Features this
// machine's kernel is known to be built without are listed, with the reason, so they skip.
import { release } from 'node:os';
import { compareKernelVersions, type FeatureAnswer } from '../../src/features/index.js';

/** Features the project's test kernel (6.18) lacks by configuration, not by version. */
export const KNOWN_ABSENT: Readonly<Record<string, string>> = {
  'program_type/tracing': 'this kernel refuses BPF trampolines (EPERM)',
  'program_type/ext': 'this kernel refuses BPF trampolines (EPERM)',
  'program_type/lsm': 'this kernel refuses BPF trampolines (EPERM)',
  'program_type/lirc_mode2': 'built without CONFIG_BPF_LIRC_MODE2',
  'attach_type/trace_fentry': 'this kernel refuses BPF trampolines (EPERM)',
  'attach_type/trace_fexit': 'this kernel refuses BPF trampolines (EPERM)',
  'attach_type/modify_return': 'this kernel refuses BPF trampolines (EPERM)',
  'attach_type/lsm_mac': 'this kernel refuses BPF trampolines (EPERM)',
  'attach_type/lsm_cgroup': 'this kernel refuses BPF trampolines (EPERM)',
  'attach_type/netkit_primary': 'built without CONFIG_NETKIT',
  'attach_type/netkit_peer': 'built without CONFIG_NETKIT',
  'link_type/netkit': 'built without CONFIG_NETKIT',
  'map_type/arena': 'this kernel refuses BPF arenas (EPERM, as it refuses trampolines)',
};

export type Verdict = { run: true } | { run: false; skip: string } | { run: false; fail: string };

/** Decides what a test needing `a` does on a kernel of `kernel` ("6.18"). */
export function featureVerdict(a: FeatureAnswer, kernel: string, knownAbsent: Readonly<Record<string, string>> = KNOWN_ABSENT): Verdict {
  if (a.supported) return { run: true };
  const why = knownAbsent[a.name];
  if (why) return { run: false, skip: `${a.name}: ${why}` };
  // A helper the kernel has but keeps from this program type: a restriction, not a missing feature.
  if (/cannot use helper|unknown func/.test(a.detail))
    return { run: false, skip: `${a.name}: the kernel keeps this helper from the program type (${a.detail})` };
  if (a.minimumKernel === undefined) return { run: false, skip: `${a.name} is not supported here (${a.detail})` };
  if (compareKernelVersions(kernel, a.minimumKernel) >= 0) {
    return {
      run: false,
      fail: `${a.name} came in Linux ${a.minimumKernel}, but this ${kernel} kernel lacks it (${a.detail}): the probe or the declared version is wrong, or list it in KNOWN_ABSENT with the reason`,
    };
  }
  return { run: false, skip: `${a.name} needs Linux ${a.minimumKernel}; this kernel is ${kernel}` };
}

export function runningKernel(): string {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? `${m[1]}.${m[2]}` : '0.0';
}

/**
 * For describe.runIf / it.runIf: true when the feature is there; false (with a warning) when the
 * kernel predates it; throws when the kernel should have it.
 */
export function haveFeature(probe: () => FeatureAnswer): boolean {
  const v = featureVerdict(probe(), runningKernel());
  if (v.run) return true;
  if ('fail' in v) throw new Error(v.fail);
  console.warn(`skipping: ${v.skip}`);
  return false;
}
