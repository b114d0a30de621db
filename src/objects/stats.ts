// BPF_ENABLE_STATS: while the returned fd is open the kernel counts each program's runs and their
// time (bpf_prog_info run_cnt and run_time_ns). It costs a clock read per run, so it is off by
// default and scoped: `using stats = enableStats()` turns it off again at the end of the block,
// unless someone else (another holder, or sysctl kernel.bpf_stats_enabled) keeps it on.
import { enableStats as enableStatsFd, OwnedFd, SyscallError } from '../syscall/index.js';
import { KernelObjectError } from './errors.js';

/** enum bpf_stats_type. */
export const StatsType = { RUN_TIME: 0 } as const;
/** Name of a statistics type: a key of StatsType. */
export type StatsTypeName = keyof typeof StatsType;

/** Statistics kept on for as long as this object is open. */
export class StatsScope {
  readonly type: StatsTypeName;
  readonly #owned: OwnedFd;

  /** Takes ownership of a BPF_ENABLE_STATS fd for statistics `type`. */
  constructor(fd: number, type: StatsTypeName) {
    this.type = type;
    this.#owned = new OwnedFd(fd, `BPF statistics (${type})`, this);
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** Closes the fd, which turns the statistics off unless another holder keeps them on. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Turns on run-time statistics for every program until the returned scope is closed (kernel 5.8+). */
export function enableStats(type: StatsTypeName = 'RUN_TIME'): StatsScope {
  const value = StatsType[type];
  if (value === undefined)
    throw new KernelObjectError(
      `unknown statistics type ${JSON.stringify(type)}; known: ${Object.keys(StatsType).join(', ')}`,
      'BAD_TARGET',
    );
  try {
    return new StatsScope(enableStatsFd(value), type);
  } catch (e) {
    if (e instanceof SyscallError && e.code === 'EINVAL') {
      throw new KernelObjectError('BPF_ENABLE_STATS is not supported by this kernel (it came in 5.8)', 'EINVAL', { cause: e });
    }
    throw e;
  }
}
