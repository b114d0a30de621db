// Every probe at once, grouped as `bpftool feature probe` groups them (for `ebpf feature`).
import { ProgramType } from '../uapi/bpf.js';
import type { FeatureAnswer } from './feature.js';
import { btfKinds } from './btf-kinds.js';
import { helpers } from './helpers.js';
import { attachTypes, linkTypes } from './links.js';
import { mapTypes } from './map-types.js';
import { miscFeatures } from './misc.js';
import { programTypes, type ProgramTypeName } from './program-types.js';
import { runningKernelRelease } from './kernel-version.js';

/** Every feature probe of the running kernel, as probeAll returns it. */
export interface FeatureReport {
  kernel: string;
  programTypes: FeatureAnswer[];
  mapTypes: FeatureAnswer[];
  /** Per supported program type (lower-case name), the helpers it may call. */
  helpers: Record<string, string[]>;
  attachTypes: FeatureAnswer[];
  linkTypes: FeatureAnswer[];
  btf: FeatureAnswer[];
  misc: FeatureAnswer[];
}

/** Probes program types, map types, helpers per supported program type (unless `helpers` is false), attach types, link types, BTF kinds and misc features. */
export function probeAll(options: { helpers?: boolean } = {}): FeatureReport {
  const progs = programTypes();
  const helperLists: Record<string, string[]> = {};
  if (options.helpers !== false) {
    for (const p of progs) {
      if (!p.supported) continue;
      const key = p.name.slice('program_type/'.length);
      const type = ProgramType[key.toUpperCase() as ProgramTypeName];
      helperLists[key] = helpers(type)
        .filter((h) => h.supported)
        .map((h) => h.name.split('/')[2]);
    }
  }
  return {
    kernel: runningKernelRelease(),
    programTypes: progs,
    mapTypes: mapTypes(),
    helpers: helperLists,
    attachTypes: attachTypes(),
    linkTypes: linkTypes(),
    btf: btfKinds(),
    misc: miscFeatures(),
  };
}
