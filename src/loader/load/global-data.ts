// Global data (.data, .bss, .rodata and their custom variants) as libbpf skeletons and cilium's
// Variable use it: where the kernel supports BPF_F_MMAPABLE arrays (5.5+), each section's map is
// created mmap-able and mapped into this process once, and variables are read and written through
// that mapping, with no syscall and no whole-section update per access. Read-only sections are
// mapped read-only after they are frozen.
import { BpfMap } from '../../maps/index.js';
import { MappedRegion, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../syscall/index.js';
import { MapType } from '../../uapi/bpf.js';
import type { MapSpecEntry } from '../spec/types.js';

export const BPF_F_MMAPABLE = 1 << 10;
let supported: boolean | undefined;

/** Whether this kernel creates mmap-able arrays, probed once. */
export function mmapableArrays(): boolean {
  if (supported !== undefined) return supported;
  try {
    BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: BPF_F_MMAPABLE, name: 'probe_mmap' }).close();
    supported = true;
  } catch {
    supported = false;
  }
  return supported;
}

/** A global data section's map (not .kconfig, which libbpf keeps unmapped too). */
export function isGlobalData(m: MapSpecEntry): boolean {
  return m.contents?.kind === 'data' && m.name !== '.kconfig' && m.type === MapType.ARRAY && m.maxEntries === 1;
}

/** The section's value in this process's memory: writable for .data/.bss, read-only for frozen ones. */
export class GlobalDataMapping {
  readonly #region: MappedRegion;
  readonly writable: boolean;

  constructor(map: BpfMap<unknown, unknown>, writable: boolean) {
    this.#region = new MappedRegion(
      map.fd,
      Math.ceil(Math.max(map.valueSize, 1) / PAGE_SIZE) * PAGE_SIZE,
      writable ? PROT_READ | PROT_WRITE : PROT_READ,
    );
    this.writable = writable;
  }

  /** The live bytes (a view of the mapping; valid until close). */
  get bytes(): Buffer {
    if (this.#region.unmapped) throw new Error('the global data mapping is closed');
    return this.#region.buffer;
  }

  close(): void {
    this.#region.unmap();
  }
}
