// The maps XDP programs redirect through with bpf_redirect_map: DEVMAP (another device, optionally
// running a second XDP program there), CPUMAP (another CPU, with its own queue and program) and
// XSKMAP (an AF_XDP socket). Their values are small structs the kernel defines; these codecs give
// them names. On update the program is given by fd; a lookup returns the program's id.
import type { Codec } from '../codec/index.js';
import { CodecError } from '../codec/index.js';
import { BpfMap, MapError } from './map.js';

/** A DEVMAP/DEVMAP_HASH entry (struct bpf_devmap_val): the device, and an XDP program to run there. */
export interface DevMapValue {
  ifindex: number;
  /** On update: a program loaded with expectedAttachType XDP_DEVMAP (33). */
  program?: { readonly fd: number };
  /** On lookup: the id of the program, 0 when none. */
  programId?: number;
}

/** A CPUMAP entry (struct bpf_cpumap_val): the queue size of the CPU's kthread, and an XDP program to run there. */
export interface CpuMapValue {
  qsize: number;
  /** On update: a program loaded with expectedAttachType XDP_CPUMAP (35). */
  program?: { readonly fd: number };
  programId?: number;
}

function pairCodec<T extends { program?: { readonly fd: number }; programId?: number }>(
  field: 'ifindex' | 'qsize',
  make: (first: number, id: number) => T,
): Codec<T> {
  return {
    size: 8,
    align: 4,
    encode(v, b, o) {
      const first = (v as unknown as Record<string, unknown>)[field];
      if (typeof first !== 'number' || !Number.isInteger(first) || first < 0 || first > 0xffff_ffff) {
        throw new CodecError(`${field}: expected an unsigned 32-bit integer, got ${String(first)}`);
      }
      b.writeUInt32LE(first, o);
      // fd 0 (or none) means no program: the kernel attaches one only for fd > 0.
      b.writeInt32LE(v.program ? v.program.fd : 0, o + 4);
    },
    decode: (b, o) => make(b.readUInt32LE(o), b.readUInt32LE(o + 4)),
  };
}

/** Codec of a DEVMAP value (struct bpf_devmap_val): target ifindex and an optional program run on the redirected frames. */
export const devMapValue: Codec<DevMapValue> = pairCodec<DevMapValue>('ifindex', (ifindex, programId) => ({ ifindex, programId }));
/** Codec of a CPUMAP value (struct bpf_cpumap_val): queue size and an optional program run on the target CPU. */
export const cpuMapValue: Codec<CpuMapValue> = pairCodec<CpuMapValue>('qsize', (qsize, programId) => ({ qsize, programId }));

const u32Key: Codec<number> = {
  size: 4,
  align: 4,
  encode(v, b, o) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new CodecError(`key: expected an unsigned 32-bit integer, got ${v}`);
    b.writeUInt32LE(v, o);
  },
  decode: (b, o) => b.readUInt32LE(o),
};

/** Size and name of a redirect map. */
export interface RedirectMapOptions {
  maxEntries: number;
  name?: string;
}

/**
 * A DEVMAP (slot → device), or with `hash: true` a DEVMAP_HASH (any u32 key, typically the ifindex).
 * The kernel resolves an entry's ifindex in the network namespace of the thread that updates the
 * map: update it from inside the devices' namespace (inNetns), or the index names another device.
 */
export function createDevMap(options: RedirectMapOptions & { hash?: boolean }): BpfMap<number, DevMapValue> {
  return BpfMap.create(
    { type: options.hash ? 'DEVMAP_HASH' : 'DEVMAP', keySize: 4, valueSize: 8, maxEntries: options.maxEntries, name: options.name },
    { key: u32Key, value: devMapValue },
  );
}

/** A CPUMAP: key = CPU number. */
export function createCpuMap(options: RedirectMapOptions): BpfMap<number, CpuMapValue> {
  return BpfMap.create(
    { type: 'CPUMAP', keySize: 4, valueSize: 8, maxEntries: options.maxEntries, name: options.name },
    { key: u32Key, value: cpuMapValue },
  );
}

/**
 * An XSKMAP: key = receive queue, value = an AF_XDP socket (anything with an fd: an XdpSocket).
 * User space can set and delete entries but not read them back (the kernel refuses lookups).
 */
export class XskMap {
  readonly map: BpfMap;
  /** Keys set from here: close() deletes them, because an entry holds its socket bound until the map itself is freed, which the kernel does later. */
  readonly #keys = new Set<number>();

  /** Creates an XSKMAP of `options.maxEntries` queues. */
  constructor(options: RedirectMapOptions) {
    this.map = BpfMap.create({ type: 'XSKMAP', keySize: 4, valueSize: 4, maxEntries: options.maxEntries, name: options.name });
  }

  /** The XSKMAP's file descriptor; throws once the map is closed. */
  get fd(): number {
    return this.map.fd;
  }

  /** Points `queue` at `socket`: frames an XDP program redirects there (bpf_redirect_map) reach it. */
  set(queue: number, socket: { readonly fd: number }): void {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.map.maxEntries) {
      throw new MapError('key-range', `XSKMAP "${this.map.name}": queue ${queue} is outside 0..${this.map.maxEntries - 1}`);
    }
    const k = Buffer.alloc(4);
    k.writeUInt32LE(queue, 0);
    const v = Buffer.alloc(4);
    v.writeUInt32LE(socket.fd, 0);
    this.map.update(k, v);
    this.#keys.add(queue);
  }

  /** Removes the socket at `queue`; false when there was none. */
  delete(queue: number): boolean {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(queue, 0);
    this.#keys.delete(queue);
    return this.map.delete(k);
  }

  /**
   * Deletes the entries set here, then closes the map: the sockets are released now, so a new
   * socket can bind their queues at once (a socket in a map stays bound after its own close()).
   */
  close(): void {
    if (this.map.closed) return;
    try {
      for (const q of [...this.#keys]) this.delete(q);
    } finally {
      this.map.close();
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
