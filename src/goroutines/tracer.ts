// Traces goroutine state changes of Go programs: a uprobe on runtime.casgstatus, a probe assembled
// for the target's Go version, records through a ring buffer.
import { existsSync, readFileSync } from 'node:fs';
import type { Instruction } from '../asm/index.js';
import { ElfError } from '../elf/index.js';
import { goBinaryInfo as goBinaryInfoFromImage, GoBinaryError, type GoBinaryInfo } from '../go/index.js';
import { attachUprobe, openElf, type PerfEventLink } from '../links/index.js';
import { LinkError } from '../links/link.js';
import { BpfMap } from '../maps/index.js';
import { Program } from '../programs/index.js';
import { RingBufferReader } from '../readers/index.js';
import { elfBinaryImage } from '../symbols/index.js';
import { dupFd, SyscallError } from '../syscall/index.js';
import { loadCollection, loadCollectionSpec, type Collection } from '../loader/index.js';
import { u32, u64 } from '../codec/index.js';
import { buildCasgstatusProbe, CONFIG, STATS } from './probe.js';
import { decodeTransition, stateMask, type GoroutineTransition } from './record.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

export class GoroutineTracerError extends EbpfError {
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_GOROUTINE_TRACER', message, options);
  }
}

/** Version, goid offset, calling convention and functions of the Go executable at `path`. */
export function inspectGoBinary(path: string): GoBinaryInfo {
  if (!existsSync(path)) throw new GoroutineTracerError(`${path} does not exist`);
  let elf;
  try {
    elf = openElf(path);
  } catch (e) {
    if (e instanceof ElfError) throw new GoBinaryError(`${path} is not a Go binary: not an ELF64 executable (${e.message})`, path);
    throw e;
  }
  try {
    return goBinaryInfoFromImage(elfBinaryImage(elf));
  } catch (e) {
    if (e instanceof GoBinaryError) throw new GoBinaryError(`${path}: ${e.message}`, path);
    throw e;
  }
}

export interface GoroutineTracerOptions {
  /** The Go executable. */
  binary: string;
  /** Only this process; without it, every process running the executable. */
  pid?: number;
  /** Only transitions into these states ("runnable", "running", "waiting", ...). */
  states?: readonly string[];
  /** Ring buffer size in bytes (a power of two, page multiple; default 8 MiB). */
  ringSize?: number;
  /**
   * Which probe: the program assembled here for this binary (default), or the C one compiled into
   * bpf/goroutines.o, loaded with its `volatile const` offsets set for this binary. Both write the
   * same records.
   */
  probe?: 'assembler' | 'c';
}

/** Builds the probe program for `info` (exposed so tests can compare it with the C probe). */
export function casgstatusProbe(info: GoBinaryInfo): Instruction[] {
  return buildCasgstatusProbe({ abi: info.abi, goidOffset: info.goidOffset });
}

const C_PROBE = new URL('../../bpf/goroutines.o', import.meta.url);

/** The C probe from bpf/goroutines.o, its offsets set for the binary `info` describes. */
function loadCProbe(info: GoBinaryInfo, ringSize?: number): Collection {
  const spec = loadCollectionSpec(readFileSync(C_PROBE), { name: 'goroutines.o' });
  const abi = info.abi;
  if (abi.kind === 'unsupported') throw new GoroutineTracerError(abi.reason);
  spec.variables.goid_offset.set(info.goidOffset);
  spec.variables.sp_reg.set(abi.sp.ptRegsOffset);
  if (abi.kind === 'stack') {
    spec.variables.stack_abi.set(1);
  } else {
    spec.variables.gp_reg.set(abi.gp.ptRegsOffset);
    spec.variables.old_reg.set(abi.old.ptRegsOffset);
    spec.variables.new_reg.set(abi.new.ptRegsOffset);
  }
  if (ringSize) spec.maps.events.maxEntries = ringSize;
  return loadCollection(spec);
}

export class GoroutineTracer {
  readonly info: GoBinaryInfo;
  readonly binary: string;
  /** Everything opened, closed in this order: link first, maps last. */
  readonly #owned: { close(): void }[];
  readonly #stats: BpfMap<number, bigint>;
  readonly #reader: RingBufferReader;
  #closed = false;

  private constructor(binary: string, info: GoBinaryInfo, parts: { owned: { close(): void }[]; stats: BpfMap<number, bigint>; reader: RingBufferReader }) {
    this.binary = binary;
    this.info = info;
    this.#owned = parts.owned;
    this.#stats = parts.stats;
    this.#reader = parts.reader;
  }

  /** Inspects the binary, loads the probe, attaches it to runtime.casgstatus. */
  static open(options: GoroutineTracerOptions): GoroutineTracer {
    const info = inspectGoBinary(options.binary);
    if (info.abi.kind === 'unsupported') throw new GoroutineTracerError(`${options.binary}: ${info.abi.reason}`);
    if (options.pid !== undefined && !existsSync(`/proc/${options.pid}`)) throw new GoroutineTracerError(`process ${options.pid} is gone (or never existed)`);
    const opened: { close(): void }[] = [];
    const keep = <T extends { close(): void }>(x: T): T => {
      opened.push(x);
      return x;
    };
    try {
      let events: BpfMap;
      let config: BpfMap<number, Buffer>;
      let stats: BpfMap<number, bigint>;
      let program: Program;
      if (options.probe === 'c') {
        const c = keep(loadCProbe(info, options.ringSize));
        events = c.maps.events as BpfMap;
        config = BpfMap.fromFd(dupFd((c.maps.config as BpfMap).fd), { key: u32 });
        stats = BpfMap.fromFd(dupFd((c.maps.stats as BpfMap).fd), { key: u32, value: u64 });
        keep(config);
        keep(stats);
        program = c.programs.casgstatus;
      } else {
        events = keep(BpfMap.create({ type: 'RINGBUF', maxEntries: options.ringSize ?? 8 * 1024 * 1024, name: 'go_events' }));
        config = keep(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: CONFIG.size, maxEntries: 1, name: 'go_config' }, { key: u32 }));
        stats = keep(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'go_stats' }, { key: u32, value: u64 }));
        program = keep(Program.load({ type: 'KPROBE', instructions: casgstatusProbe(info), maps: { events, config, stats }, name: 'casgstatus' }));
      }
      const value = Buffer.alloc(CONFIG.size);
      value.writeUInt32LE(options.pid ?? 0, CONFIG.pid);
      value.writeUInt32LE(stateMask(options.states ?? []), CONFIG.stateMask);
      config.update(0, value);
      let link: PerfEventLink;
      try {
        link = keep(attachUprobe(program, options.binary, { symbol: 'runtime.casgstatus', pid: options.pid }));
      } catch (e) {
        if (e instanceof LinkError && e.cause instanceof SyscallError && e.cause.code === 'ESRCH') {
          throw new GoroutineTracerError(`process ${options.pid} is gone`);
        }
        throw e;
      }
      const reader = keep(new RingBufferReader(events));
      return new GoroutineTracer(options.binary, info, { owned: opened.reverse(), stats, reader });
    } catch (e) {
      for (const x of opened.reverse()) x.close();
      throw e;
    }
  }

  /** Delivers the transitions recorded so far. */
  poll(onTransition: (t: GoroutineTransition) => void): number {
    return this.#reader.poll((r) => onTransition(decodeTransition(r)));
  }

  /** Waits for records (off the main thread); false on timeout or once closed. */
  wait(timeoutMs = -1): Promise<boolean> {
    return this.#reader.wait(timeoutMs);
  }

  /** Records the kernel could not place (ring full) and goid reads that failed. */
  stats(): { lost: bigint; goidReadFailures: bigint } {
    if (this.#closed) return { lost: 0n, goidReadFailures: 0n };
    return { lost: this.#stats.lookup(STATS.lost) ?? 0n, goidReadFailures: this.#stats.lookup(STATS.goidReadFailures) ?? 0n };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Detaches and frees everything; a pending wait resolves false. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const x of this.#owned) x.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
