// libbpf as the oracle over every object in bpf/: each program is loaded alone by libbpf (Debian's
// libbpf-dev, through test/support/libbpf-oracle.c) and by this library; any program libbpf loads
// and this library does not fails the test, with both outcomes in the message.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCollectionSpec } from '../src/loader/index.js';
import { isRoot, need } from './support/env.js';
import { ensureBpffs } from './support/kernel.js';
import { libbpfAvailable, libbpfLoad, ourLoad } from './support/libbpf.js';

const dir = new URL('../bpf/', import.meta.url).pathname;
const LIBBPF_LOADS_NOTHING = new Set(['verifier_fail.o', 'collection.o', 'legacy_extra.o', 'fake_kernel.o', 'tcp_cc_link.o']);
const objects = readdirSync(dir)
  .filter((f) => f.endsWith('.o') && !f.endsWith('.bpfeb.o'))
  .sort();

describe.runIf(isRoot)('every program in bpf/ that libbpf loads, this library loads', () => {
  it.each(objects)(
    '%s',
    (file) => {
      need(libbpfAvailable(), 'gcc and libbpf-dev build the libbpf oracle');
      const path = join(dir, file);
      let spec;
      try {
        spec = loadCollectionSpec(new Uint8Array(readFileSync(path)), { name: path });
      } catch (e) {
        // An object this library refuses whole must be one libbpf refuses at open too.
        expect(libbpfLoad(path, '').error, (e as Error).message).toMatch(/^open:/);
        return;
      }
      ensureBpffs();
      const missing: string[] = [];
      let libbpfLoaded = 0;
      for (const p of Object.keys(spec.programs)) {
        // Pins (maps pinned by name) go to a directory of each side's own, removed afterwards.
        const pins = [mkdtempSync('/sys/fs/bpf/ebpf-oracle-'), mkdtempSync('/sys/fs/bpf/ebpf-ours-')];
        try {
          const theirs = libbpfLoad(path, p, { pinPath: pins[0] });
          const ours = ourLoad(path, p, { pinPath: pins[1] });
          if (theirs.loaded) libbpfLoaded++;
          if (theirs.loaded && !ours.loaded) missing.push(`${p}: ${ours.error}`);
        } finally {
          for (const d of pins) rmSync(d, { recursive: true, force: true });
        }
      }
      expect(missing).toEqual([]);
      // libbpf loads programs of every object here but these: verifier_fail.o is written to fail,
      // fake_kernel.o has no programs (only BTF), and collection.o and legacy_extra.o have a legacy
      // "maps" section, which libbpf 1.0 and later refuse outright. tcp_cc_link.o declares its
      // struct_ops in .struct_ops.link, which Debian's libbpf 1.1 predates (it came in 1.2): it
      // loads the programs without their struct, and the kernel refuses them (ENOTSUPP).
      if (!LIBBPF_LOADS_NOTHING.has(file)) expect(libbpfLoaded).toBeGreaterThan(0);
    },
    300_000,
  );
});
