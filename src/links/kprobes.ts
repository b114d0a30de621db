// The kprobe family beyond one perf-event kprobe: kprobe.multi, kretprobe.multi and
// kprobe.session links (many kernel functions by symbols, addresses or a glob pattern, with a
// cookie each), ksyscall/kretsyscall (the arch's syscall entry name), and the tracefs
// kprobe_events fallback that also carries maxactive for kretprobes. A kernel without the feature
// gets a LinkNotSupportedError naming it and the kernel that introduced it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { linuxHasSyscallWrapper, syscallPrefix } from '../kernel/syscall-wrapper.js';
import type { Program } from '../programs/index.js';
import { linkCreate, SyscallError } from '../syscall/index.js';
import { AttachType } from '../uapi/bpf.js';
import { findCause, NotSupportedError, type EbpfErrorOptions } from '../errors/index.js';
import { BpfLink, LinkError, attaching } from './link.js';
import { attachPerfEvent, openPerfEvent, PerfEventLink } from './perf-event.js';
import { attachKprobe, type KprobeOptions } from './probes.js';
import { tracefsRoot } from './tracefs.js';

/**
 * The kernel lacks what an attachment needs: which feature, since which kernel, and why we think
 * so. A NotSupportedError (isNotSupported() finds it through wrappers).
 */
export class LinkNotSupportedError extends NotSupportedError {
  /** Creates the error for `feature` (Linux `minKernel`+); `reason` is appended to the message. */
  constructor(feature: string, minKernel: string, reason: string, options?: EbpfErrorOptions) {
    super(feature, minKernel, undefined, options);
    this.message = `${this.message}: ${reason}`;
  }

  /** The first kernel that has the feature (the same as minimumKernel). */
  get minKernel(): string {
    return this.minimumKernel ?? '';
  }
}

const BPF_F_KPROBE_MULTI_RETURN = 1;
const ENOTSUPP = 'ENOTSUPP';

// ---------------------------------------------------------------------------------------------
// Symbols and patterns

/** A libbpf-style glob ("tcp_*", "vfs_rea?") as an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  if (pattern.length === 0) throw new LinkError('options', 'empty kprobe pattern');
  let re = '^';
  for (const ch of pattern) re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return new RegExp(`${re}$`);
}

/**
 * Names matching `pattern` in a list of traceable functions: tracefs's available_filter_functions
 * ("name" or "name [module]" per line) or /proc/kallsyms ("addr type name [module]"; text symbols
 * only). Duplicates are kept once; compiler clones (".cold", ".isra.0") are left out, as libbpf does.
 */
export function matchKernelFunctions(pattern: string, listing: string, format: 'filter-functions' | 'kallsyms'): string[] {
  const re = globToRegExp(pattern);
  const out = new Set<string>();
  for (const line of listing.split('\n')) {
    let name: string | undefined;
    if (format === 'kallsyms') {
      const m = /^[0-9a-fA-F]+ ([tTwW]) (\S+)/.exec(line);
      name = m?.[2];
    } else {
      name = line.split(/\s+/)[0] || undefined;
    }
    if (name === undefined || name.includes('.') || name.startsWith('__pfx_')) continue;
    if (re.test(name)) out.add(name);
  }
  return [...out];
}

/** The running kernel's functions matching `pattern`, from tracefs when mounted, else /proc/kallsyms. */
export function kernelFunctionsMatching(pattern: string): string[] {
  let root: string | undefined;
  try {
    root = tracefsRoot();
  } catch {
    root = undefined;
  }
  const filter = root ? `${root}/available_filter_functions` : undefined;
  if (filter && existsSync(filter)) {
    try {
      return matchKernelFunctions(pattern, readFileSync(filter, 'utf8'), 'filter-functions');
    } catch {
      // Unreadable (lockdown refuses it with EPERM on some kernels): kallsyms lists them too.
    }
  }
  return matchKernelFunctions(pattern, readFileSync('/proc/kallsyms', 'utf8'), 'kallsyms');
}

/**
 * The kernel function a syscall enters through: "__x64_sys_openat" where syscalls go through
 * arch wrappers (LINUX_HAS_SYSCALL_WRAPPER), "sys_openat" on older kernels.
 */
export function syscallFunctionName(syscall: string, options: { wrapper?: boolean; arch?: string } = {}): string {
  if (!/^\w+$/.test(syscall)) throw new LinkError('options', `"${syscall}" is not a syscall name`);
  const wrapper = options.wrapper ?? linuxHasSyscallWrapper();
  return wrapper ? `__${syscallPrefix(options.arch)}_sys_${syscall}` : `sys_${syscall}`;
}

// ---------------------------------------------------------------------------------------------
// Single kprobes: PMU first, tracefs otherwise (and always for maxactive)

/** Options of attachKprobeAuto: those of attachKprobe, and tracefs-only choices. */
export interface KprobeAttachOptions extends KprobeOptions {
  /** Kretprobes: how many instances may be pending at once (tracefs only; the kernel's default is per-CPU based). */
  maxActive?: number;
  /** Use tracefs kprobe_events even when the kprobe PMU exists. */
  forceTracefs?: boolean;
}

/** A kprobe made through tracefs kprobe_events: removed again when the link closes. */
export class TracefsKprobeLink extends PerfEventLink {
  readonly event: string;
  readonly #root: string;

  /** Takes over the fds of `inner`, a link to the tracefs kprobe event `event` under tracefs `root`. */
  constructor(inner: PerfEventLink, root: string, event: string) {
    super(...PerfEventLink.takeFds(inner), inner.target);
    this.#root = root;
    this.event = event;
  }

  protected override release(): void {
    super.release();
    try {
      writeFileSync(`${this.#root}/kprobe_events`, `-:${this.event}\n`, { flag: 'a' });
    } catch {
      // Already gone (another tool removed it, or the kernel did).
    }
  }
}

/** The kprobe_events line that defines a probe ("p:group/event sym+off", "r8:group/event sym"). */
export function kprobeEventLine(event: string, symbol: string, o: { ret?: boolean; offset?: number; maxActive?: number } = {}): string {
  if (!/^[\w.]+$/.test(symbol)) throw new LinkError('options', `"${symbol}" is not a kernel symbol name`);
  if (o.maxActive !== undefined && (!o.ret || !Number.isInteger(o.maxActive) || o.maxActive < 1 || o.maxActive > 4096)) {
    throw new LinkError('options', `maxActive ${o.maxActive}: only kretprobes take it, from 1 to 4096 (the kernel's limit)`);
  }
  const kind = o.ret ? `r${o.maxActive ?? ''}` : 'p';
  return `${kind}:${event} ${symbol}${o.offset ? `+${o.offset}` : ''}`;
}

let eventCounter = 0;

/**
 * Attaches a KPROBE program to a kernel function: through the kprobe PMU (kernel 4.17+), or
 * through tracefs kprobe_events where there is no PMU or `maxActive` asks for it.
 */
export function attachKprobeAuto(program: Program, symbol: string, options: KprobeAttachOptions = {}): PerfEventLink {
  return attaching(`attaching "${program.name}" to kprobe ${symbol}`, () => {
    const pmu = existsSync('/sys/bus/event_source/devices/kprobe');
    if (pmu && options.maxActive === undefined && !options.forceTracefs) return attachKprobe(program, symbol, options);
    let root: string;
    try {
      root = tracefsRoot();
    } catch (e) {
      throw new LinkNotSupportedError(
        'kprobe',
        '2.6.33 (tracefs kprobe_events; the kprobe PMU in 4.17)',
        `there is no kprobe PMU and tracefs is unavailable: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const events = `${root}/kprobe_events`;
    if (!existsSync(events)) {
      throw new LinkNotSupportedError(
        'kprobe',
        '2.6.33 (tracefs kprobe_events; the kprobe PMU in 4.17)',
        `neither /sys/bus/event_source/devices/kprobe nor ${events} exists: the kernel was built without CONFIG_KPROBES (or CONFIG_KPROBE_EVENTS)`,
      );
    }
    const event = `ebpf_${process.pid}_${symbol.replace(/\W/g, '_')}_${eventCounter++}`;
    const group = 'ebpf';
    const line = kprobeEventLine(`${group}/${event}`, symbol, options);
    try {
      writeFileSync(events, `${line}\n`, { flag: 'a' });
    } catch (e) {
      throw new LinkError(
        'attach',
        `tracefs refused kprobe "${line}": ${(e as Error).message} (is ${symbol} a traceable function? see ${root}/available_filter_functions)`,
        { cause: e },
      );
    }
    const target = `${options.ret ? 'kretprobe' : 'kprobe'}/${symbol} (tracefs)`;
    try {
      const id = Number(readFileSync(`${root}/events/${group}/${event}/id`, 'utf8').trim());
      const fd = openPerfEvent(
        { type: 2 /* PERF_TYPE_TRACEPOINT */, config: BigInt(id), samplePeriod: 1n, wakeupEvents: 1 },
        -1,
        0,
        target,
      );
      return new TracefsKprobeLink(attachPerfEvent(program, fd, target, options.cookie), root, `${group}/${event}`);
    } catch (e) {
      writeFileSync(events, `-:${group}/${event}\n`, { flag: 'a' });
      throw e;
    }
  });
}

/** Options of attachKsyscall. */
export interface KsyscallOptions {
  /** kretsyscall: fire on return. */
  ret?: boolean;
  cookie?: bigint;
  maxActive?: number;
}

/**
 * ksyscall/kretsyscall: a kprobe on the function that enters syscall `name`. With syscall
 * wrappers (x86-64 4.17+) the program's context is the wrapper's: its first argument is the user's
 * struct pt_regs, read with PT_REGS_PARM*_CORE_SYSCALL (BPF_KSYSCALL does this).
 */
export function attachKsyscall(program: Program, name: string, options: KsyscallOptions = {}): PerfEventLink {
  return attaching(`attaching "${program.name}" to syscall ${name}`, () => {
    const fn = syscallFunctionName(name);
    try {
      return attachKprobeAuto(program, fn, options);
    } catch (e) {
      // attachKprobeAuto wraps the refusal in a LinkError: name the syscall in the feature instead.
      const missing = findCause(e, LinkNotSupportedError);
      if (missing) {
        throw new LinkNotSupportedError(
          `${options.ret ? 'kretsyscall' : 'ksyscall'}/${name} (a kprobe on ${fn})`,
          missing.minKernel,
          missing.message.replace(/^.*?: /, ''),
          { cause: missing },
        );
      }
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// kprobe.multi and kprobe.session

/** Options of attachKprobeMulti: which kernel functions to probe, by name, address or glob. */
export interface KprobeMultiOptions {
  /** Kernel function names. */
  symbols?: readonly string[];
  /** Kernel addresses (from /proc/kallsyms), instead of names. */
  addresses?: readonly bigint[];
  /** A glob ("vfs_*") matched against the kernel's traceable functions. */
  pattern?: string;
  /** One per function, in the order of symbols/addresses (or of the pattern's matches). */
  cookies?: readonly bigint[];
  /** kretprobe.multi. */
  ret?: boolean;
  /** kprobe.session (6.10+): one program on entry and return; it returns non-zero at entry to skip the return. */
  session?: boolean;
}

/**
 * Attaches one KPROBE program to many kernel functions through one link (kernel 5.18+, built with
 * fprobe). Load the program with expectedAttachType TRACE_KPROBE_MULTI (SEC("kprobe.multi")),
 * or TRACE_KPROBE_SESSION for a session.
 */
export function attachKprobeMulti(program: Program, o: KprobeMultiOptions): BpfLink {
  return attaching(`attaching "${program.name}" as kprobe.multi`, () => {
    const given = [o.symbols !== undefined, o.addresses !== undefined, o.pattern !== undefined].filter(Boolean).length;
    if (given !== 1) throw new LinkError('options', 'attachKprobeMulti needs exactly one of symbols, addresses and pattern');
    if (o.session && o.ret)
      throw new LinkError('options', 'a kprobe session fires on entry and return already: ret and session exclude each other');
    const symbols = o.pattern !== undefined ? kernelFunctionsMatching(o.pattern) : o.symbols;
    const count = symbols?.length ?? o.addresses!.length;
    if (count === 0)
      throw new LinkError(
        'target',
        o.pattern !== undefined ? `no traceable kernel function matches "${o.pattern}"` : 'attachKprobeMulti: no functions given',
      );
    if (o.cookies && o.cookies.length !== count) throw new LinkError('options', `${o.cookies.length} cookies for ${count} functions`);
    const attachType = o.session ? AttachType.TRACE_KPROBE_SESSION : AttachType.TRACE_KPROBE_MULTI;
    const kind = o.session ? 'kprobe.session' : o.ret ? 'kretprobe.multi' : 'kprobe.multi';
    if (program.expectedAttachType !== undefined && program.expectedAttachType !== attachType) {
      throw new LinkError(
        'program',
        `program "${program.name}" was loaded with expected attach type ${program.expectedAttachType}; ${kind} needs ${attachType} (${o.session ? 'TRACE_KPROBE_SESSION' : 'TRACE_KPROBE_MULTI'})`,
      );
    }
    const target = `${kind}/${o.pattern ?? (symbols ? symbols.slice(0, 3).join(',') : `${count} addresses`)}${count > 3 ? ` (${count} functions)` : ''}`;
    try {
      return new BpfLink(
        linkCreate({
          progFd: program.fd,
          attachType,
          kprobeMulti: {
            symbols,
            addresses: o.addresses ? BigUint64Array.from(o.addresses) : undefined,
            cookies: o.cookies ? BigUint64Array.from(o.cookies) : undefined,
            flags: o.ret ? BPF_F_KPROBE_MULTI_RETURN : 0,
          },
        }),
        target,
      );
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.code === 'EOPNOTSUPP' || e.code === ENOTSUPP) {
        throw new LinkNotSupportedError(
          kind,
          o.session ? '6.10' : '5.18',
          `BPF_LINK_CREATE answered ${e.code}: the kernel has no fprobe (CONFIG_FPROBE) to put ${kind} links on`,
          { cause: e },
        );
      }
      if (e.code === 'EINVAL' && o.session && !sessionKnown()) {
        throw new LinkNotSupportedError(kind, '6.10', 'the kernel does not know attach type BPF_TRACE_KPROBE_SESSION (EINVAL)', {
          cause: e,
        });
      }
      const hint =
        e.code === 'ESRCH' || e.code === 'ENOENT' ? ' (a symbol is not a traceable kernel function: see available_filter_functions)' : '';
      throw new LinkError('attach', `attaching "${program.name}" to ${target} failed: ${e.message}${hint}`, { cause: e });
    }
  });
}

function sessionKnown(): boolean {
  try {
    return /\bbpf_session_cookie\b/.test(readFileSync('/proc/kallsyms', 'utf8'));
  } catch {
    return false;
  }
}
