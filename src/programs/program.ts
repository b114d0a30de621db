import { AttachType, BpfCommand, ProgramType, objectName } from '../uapi/bpf.js';
import {
  closeFd,
  getFdById,
  NativeMemory,
  objGet,
  objPin,
  OwnedFd,
  progLoadRaw,
  progLoadRawAsync,
  progTestRun,
  SyscallError,
  prepareProgLoad,
  startVerifierThread,
  VERIFIER_BATCH_CAPACITY,
  VerifierBatch,
  verifierThreadReady,
  type PreparedProgLoad,
  type ProgLoadRequest,
  type ProgLoadResult,
} from '../syscall/index.js';
import {
  AsmError,
  bindMapReferences,
  bindPrelinked,
  encodeInstructions,
  mapReferences,
  type Instruction,
  type PrelinkedInstructions,
} from '../asm/index.js';
import { programInfoFromFd, type ProgramInfo } from './info.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';
import { Errno } from '../errors/errno.js';
import { disassembleTranslated, jitedBytes, translatedBytes, translatedInstructions } from './code.js';
import { bpfCapable, missingProgramCapabilities } from '../syscall/capabilities.js';

/** Name of a program type: a key of ProgramType ("XDP", "KPROBE", ...). */
export type ProgramTypeName = keyof typeof ProgramType;

/** Anything that has a map fd: a BpfMap, or a bare fd. */
export type MapFdSource = { readonly fd: number } | number;

/** What Program.load loads: type, instructions, license, map references and attach details. */
export interface ProgramSpec {
  /** Program type, by number or name. */
  type: ProgramType | ProgramTypeName;
  /** Instructions from the builder or assembler, or already encoded bytecode. */
  instructions: readonly Instruction[] | Uint8Array;
  /** Defaults to "GPL", which every helper accepts. */
  license?: string;
  /** Program name the kernel shows: cut to 15 bytes, characters other than letters, digits, _ and . replaced by _. */
  name?: string;
  /** Maps that lddw references name, resolved to fds at load. */
  maps?: Readonly<Record<string, MapFdSource>>;
  /** expected_attach_type: the attach type the program is verified for. */
  expectedAttachType?: number;
  /** attach_btf_id: BTF id of the attach target (tracing, LSM, struct_ops, freplace). */
  attachBtfId?: number;
  /** fd of the BTF object attachBtfId refers to (a module's); vmlinux when left out. */
  attachBtfObjFd?: number;
  /** attach_prog_fd: the program an freplace or fentry/fexit program targets. */
  attachProgFd?: number;
  /** Network device for offloaded (or device-bound) programs. */
  ifindex?: number;
  /** BPF_F_* load flags (prog_flags). */
  flags?: number;
  /** kern_version (only old kernels check it, for kprobes). */
  kernelVersion?: number;
  /** fd of the program's BTF, which funcInfo and lineInfo refer to. */
  btfFd?: number;
  /** func_info records (struct bpf_func_info) and their size. */
  funcInfo?: { recSize: number; bytes: Uint8Array };
  /** line_info records (struct bpf_line_info) and their size. */
  lineInfo?: { recSize: number; bytes: Uint8Array };
  /** fd_array: module BTF fds that kfunc calls name by index (the call's offset). */
  fdArray?: Int32Array;
  /** A BPF token's fd (BpfToken, 6.9+), for a user namespace with delegated program loading. */
  tokenFd?: number;
}

/** Verifier and log options of Program.load. */
export interface LoadOptions {
  /** Verifier log level on the first attempt: 0 (default) loads without a log and asks for one only on failure. */
  logLevel?: number;
  /** Starting log buffer size in bytes; grown as the verifier needs. */
  logSize?: number;
  /** Upper bound for the grown log (default 256 MiB). */
  maxLogSize?: number;
  /**
   * Program.loadEach (and so loadCollection): false loads one program after another on the calling
   * thread, without the helper thread that verifies a second one at once (default true).
   */
  verifierThread?: boolean;
}

/** Input data and context, output sizes and repetition of Program.testRun (BPF_PROG_TEST_RUN). */
export interface TestRunOptions {
  /** Packet or input data. */
  data?: Uint8Array;
  /** Bytes offered for output data (default: input length + 256). */
  dataOutSize?: number;
  /** Context struct in (for example struct xdp_md or __sk_buff). */
  context?: Uint8Array;
  /** Bytes offered for the output context (default: the input context's length). */
  contextOutSize?: number;
  /** Times the kernel runs the program; the duration is the mean. */
  repeat?: number;
  /** BPF_F_TEST_RUN_* flags. */
  flags?: number;
  /** CPU to run on (with BPF_F_TEST_RUN_ON_CPU). */
  cpu?: number;
  /** Frames per batch in XDP live-frame mode. */
  batchSize?: number;
  /**
   * Called before a run that a signal interrupted is started again. The kernel stops a run of
   * many repetitions with Errno.EINTR when a signal is pending (a profiler's tick, a child exiting) and
   * reports nothing of it; what the program did in the repetitions that ran (map updates, records
   * written) stays, so undo it here when it matters.
   */
  reset?: () => void;
}

/** What Program.testRun returns. */
export interface TestRunResult {
  /** The program's return value (r0). */
  retval: number;
  /** Mean run time in nanoseconds as the kernel measured it. */
  duration: number;
  /** Output data (the packet as the program left it). */
  data: Buffer;
  /** Output context. */
  context: Buffer;
}

/**
 * What a ProgramError says failed, so callers can `switch (e.kind)`:
 * - `spec`: the spec cannot describe a program (unknown type, instructions not whole 8-byte units);
 * - `map-reference`: an instruction names a map the spec does not give;
 * - `btf`: the program was loaded without BTF where its BTF is needed (freplace targets);
 * - `function`: the program's BTF has no such function, or it is static (freplace targets);
 * - `closed`: the program was used after close();
 * - the kernel refused an operation on a loaded program (`cause` is the SyscallError): `pin`,
 *   `test-run`.
 * A load the kernel refuses fails with VerifierError (the log) or SyscallError, as before.
 */
export type ProgramErrorKind = 'spec' | 'map-reference' | 'btf' | 'function' | 'closed' | 'pin' | 'test-run';

/** A program that cannot be loaded or used as asked; `kind` says what failed. */
export class ProgramError extends EbpfError {
  /** What failed; `code` stays ERR_PROGRAM whatever the kind. */
  readonly kind: ProgramErrorKind;

  /** Creates the error of `kind` with `message`; `options.cause` is the underlying error. The code is ERR_PROGRAM. */
  constructor(kind: ProgramErrorKind, message: string, options?: EbpfErrorOptions) {
    super('ERR_PROGRAM', message, options);
    this.kind = kind;
  }
}

/** The verifier rejected the program. `log` is the whole log; the message ends with its last lines. */
export class VerifierError extends SyscallError {
  override name = 'VerifierError';
  readonly log: string;
  readonly truncated: boolean;

  /** Creates the error from the failed load: `log` is the verifier log, `truncated` whether it was cut short. */
  constructor(command: string, errno: number, programName: string, log: string, truncated: boolean) {
    const lines = log.trimEnd().split('\n');
    const tail = lines.slice(-8).join('\n  ');
    super(
      command,
      errno,
      `program "${programName}" rejected by the verifier${truncated ? ' (log truncated)' : ''}:\n  ${tail}`,
      errno === Errno.ENOSPC
        ? 'the verifier log was truncated: raise maxLogSize'
        : 'read the log: the last lines name the failing instruction and why',
    );
    this.log = log;
    this.truncated = truncated;
  }
}

/** The ProgramType number of a program type given by number or name; throws ProgramError for an unknown name. */
export function programTypeOf(t: ProgramType | ProgramTypeName): ProgramType {
  if (typeof t === 'number') return t;
  const v = ProgramType[t];
  if (v === undefined) throw new ProgramError('spec', `unknown program type "${t}"; known: ${Object.keys(ProgramType).join(', ')}`);
  return v;
}

/** Binds map references by name and encodes the instructions. */
export function linkInstructions(
  insns: readonly Instruction[],
  maps: Readonly<Record<string, MapFdSource>> = {},
  programName = '',
): Uint8Array {
  for (const ref of mapReferences(insns)) checkMapGiven(ref, maps, programName);
  return encodeInstructions(bindMapReferences(insns, (name) => mapFd(maps[name])));
}

/**
 * linkInstructions on instructions prelinked (encoded) before their maps existed: the same checks
 * and errors, the fds written into a copy of the bytes.
 */
export function linkPrelinked(prelinked: PrelinkedInstructions, maps: Readonly<Record<string, MapFdSource>>, programName = ''): Uint8Array {
  for (const site of prelinked.sites) checkMapGiven(site, maps, programName);
  return bindPrelinked(prelinked, (name) => {
    const fd = mapFd(maps[name]);
    // As bindMapReferences checks the fds it writes.
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new AsmError(`no map fd for map reference '${name}'`);
    return fd;
  });
}

function checkMapGiven(ref: { index: number; name: string }, maps: Readonly<Record<string, MapFdSource>>, programName: string): void {
  if (maps[ref.name] !== undefined) return;
  const known = Object.keys(maps);
  throw new ProgramError(
    'map-reference',
    `program "${programName}": instruction ${ref.index} references map "${ref.name}", which was not given; ` +
      (known.length ? `maps given: ${known.join(', ')}` : 'pass it in spec.maps'),
  );
}

const mapFd = (m: MapFdSource): number => (typeof m === 'number' ? m : m.fd);

/** A loaded BPF program held by a file descriptor. */
export class Program {
  /** The program type. */
  readonly type: ProgramType;
  /** The program name. */
  readonly name: string;
  /** The expected attach type it was loaded with (unknown for programs opened by id or pin). */
  readonly expectedAttachType: number | undefined;
  readonly #owned: OwnedFd;

  /** Takes ownership of program `fd`; use load, fromFd, fromId or fromPin. */
  protected constructor(fd: number, type: ProgramType, name: string, expectedAttachType?: number) {
    this.#owned = new OwnedFd(fd, `program "${name}"`, this);
    this.type = type;
    this.name = name;
    this.expectedAttachType = expectedAttachType;
  }

  /**
   * Loads a program. The first attempt runs without a verifier log (fast); if the kernel refuses,
   * it loads again with a log, grown until the verifier's whole output fits, and throws
   * VerifierError holding it.
   */
  static load(spec: ProgramSpec, options: LoadOptions = {}): Program {
    const { type, name, request } = loadRequest(spec);
    const fd = loadWithLog(request, name, options);
    return new Program(fd, type, name, spec.expectedAttachType);
  }

  /**
   * Loads `count` programs, the spec of each made by `specOf(i)` when its turn comes, as many
   * load() calls one after another would, except that while this thread makes the next specs and
   * lays out their requests a helper thread verifies those laid out already, and this thread then
   * verifies what is left: two programs at once, on two CPUs (see src/syscall/verifier-thread.ts).
   * The helper starts on the second call in a thread that loads several programs, and is used once
   * it runs (some tens of ms later); `verifierThread: false` keeps it out.
   * Returns, in order, each Program or what load() (or `specOf`) would have thrown for it; the
   * caller owns every Program returned. Without the helper (not started yet, or a first attempt
   * with a log asked for) the programs load one after another and, as with load() in a loop,
   * none after the first failure is tried (its slot holds `undefined`). A program refused by the
   * kernel is loaded again here with a log, as load() does.
   */
  static loadEach(
    count: number,
    specOf: (i: number) => ProgramSpec,
    options: LoadOptions = {},
  ): (Program | ProgramLoadFailure | undefined)[] {
    const out = new Array<Program | ProgramLoadFailure | undefined>(count).fill(undefined);
    const parallel = count > 1 && firstAttempt(options).logSize === 0 && options.verifierThread !== false;
    // The helper costs a thread (tens of ms of CPU to start, some MB): a process that loads once
    // (a tool, the goroutine tracer) never starts it; one that loads again does.
    if (parallel && ++parallelLoads >= 2) startVerifierThread();
    if (!parallel || !verifierThreadReady()) {
      for (let i = 0; i < count; i++) {
        try {
          out[i] = Program.load(specOf(i), options);
        } catch (error) {
          out[i] = { error };
          break;
        }
      }
      return out;
    }
    for (let first = 0; first < count; first += VERIFIER_BATCH_CAPACITY) {
      const last = Math.min(count, first + VERIFIER_BATCH_CAPACITY);
      const queued: { i: number; slot: number; request: ReturnType<typeof loadRequest>; prepared: PreparedProgLoad; spec: ProgramSpec }[] =
        [];
      const here: { i: number; request: ReturnType<typeof loadRequest>; spec: ProgramSpec }[] = [];
      const batch = new VerifierBatch();
      let results: number[] = [];
      try {
        for (let i = first; i < last; i++) {
          try {
            const spec = specOf(i);
            const request = loadRequest(spec);
            // A device-bound program names its device by ifindex, which the kernel looks up in the
            // calling thread's network namespace: it loads on this thread, after the batch.
            if (request.request.ifindex) {
              here.push({ i, request, spec });
              continue;
            }
            const prepared = prepareProgLoad(request.request);
            queued.push({ i, slot: batch.add(prepared.address, prepared.size), request, prepared, spec });
          } catch (error) {
            out[i] = { error };
          }
        }
      } finally {
        // Every request handed to the helper is made and waited for before its memory is freed.
        results = batch.finish();
      }
      for (const { i, slot, request, prepared, spec } of queued) {
        const done = prepared.result(results[slot]);
        prepared.free();
        try {
          // A refusal is loaded again here with a log, as load() does; a success returns at once.
          const fd = loadWithLog(request.request, request.name, options, done);
          out[i] = new Program(fd, request.type, request.name, spec.expectedAttachType);
        } catch (error) {
          out[i] = { error };
        }
      }
      for (const { i, request, spec } of here) {
        try {
          out[i] = new Program(loadWithLog(request.request, request.name, options), request.type, request.name, spec.expectedAttachType);
        } catch (error) {
          out[i] = { error };
        }
      }
    }
    return out;
  }

  /**
   * Program.load with the kernel's work off the event loop: the first attempt (the verifier, which
   * is most of a load's time) runs on a worker thread of libuv's pool, so the verification of
   * several programs loaded at once runs on several CPUs. Everything else is as in load(): a refused
   * program is loaded again with a log (on this thread) and rejects with VerifierError holding it.
   * The fds of programs loaded at once are numbered in the order the kernel finishes them. Each
   * pending load holds one of the pool's threads (UV_THREADPOOL_SIZE, 4 by default), which it
   * shares with fs and with readers' waits.
   */
  static async loadAsync(spec: ProgramSpec, options: LoadOptions = {}): Promise<Program> {
    const { type, name, request } = loadRequest(spec);
    const first = firstAttempt(options);
    const log = first.logSize > 0 ? new NativeMemory(first.logSize) : undefined;
    let result: ProgLoadResult;
    try {
      result = await progLoadRawAsync({ ...request, log, logLevel: first.logLevel });
    } finally {
      log?.free();
    }
    const fd = loadWithLog(request, name, options, result);
    return new Program(fd, type, name, spec.expectedAttachType);
  }

  /** Takes ownership of a program fd and reads its type and name from the kernel. */
  static fromFd(fd: number): Program {
    try {
      const info = programInfoFromFd(fd);
      return new Program(fd, info.type, info.name);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** Opens the program with kernel id `id` (BPF_PROG_GET_FD_BY_ID). */
  static fromId(id: number): Program {
    return Program.fromFd(getFdById(BpfCommand.PROG_GET_FD_BY_ID, id));
  }

  /** Opens the program pinned at `path` in bpffs. */
  static fromPin(path: string): Program {
    return Program.fromFd(objGet(path));
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  /** The kernel's view of the program (BPF_OBJ_GET_INFO_BY_FD). */
  info(): ProgramInfo {
    return programInfoFromFd(this.#live());
  }

  /** Pins the program at `path` in bpffs, so it outlives this process. */
  pin(path: string): void {
    const fd = this.#live();
    try {
      objPin(fd, path);
    } catch (e) {
      if (e instanceof SyscallError)
        throw new ProgramError('pin', `program "${this.name}": pin at ${path} failed: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** The program as the kernel runs it, after the verifier's rewrites (`bpftool prog dump xlated`). */
  translated(): Instruction[] {
    return translatedInstructions(this.#live());
  }

  /** The translated program's raw bytes (`bpftool prog dump xlated ... file`). */
  translatedBytes(): Buffer {
    return translatedBytes(this.#live());
  }

  /** The translated program as text, one instruction a line. */
  disassemble(): string {
    return disassembleTranslated(this.#live());
  }

  /** The JIT's machine code (`bpftool prog dump jited ... file`); empty when the kernel has no JIT. */
  jited(): Buffer {
    return jitedBytes(this.#live());
  }

  /** Runs the program once or `repeat` times in the kernel on the given input (BPF_PROG_TEST_RUN). */
  testRun(options: TestRunOptions = {}): TestRunResult {
    const request = {
      fd: this.#live(),
      dataIn: options.data,
      dataOutSize: options.dataOutSize ?? (options.data ? options.data.length + 256 : 0),
      ctxIn: options.context,
      ctxOutSize: options.contextOutSize ?? (options.context ? options.context.length : 0),
      repeat: options.repeat,
      flags: options.flags,
      cpu: options.cpu,
      batchSize: options.batchSize,
    };
    for (let interrupted = 0; ;) {
      try {
        const r = progTestRun(request);
        return { retval: r.retval, duration: r.duration, data: r.dataOut, context: r.ctxOut };
      } catch (e) {
        // A pending signal ends a run of many repetitions with Errno.EINTR: nothing is wrong with the
        // run, so it starts again (cilium/ebpf does the same).
        if (!(e instanceof SyscallError)) throw e;
        if (e.errno !== Errno.EINTR)
          throw new ProgramError('test-run', `program "${this.name}": test run failed: ${e.message}`, { cause: e });
        if (++interrupted >= MAX_INTERRUPTED_RUNS) {
          const cause = new SyscallError(
            'BPF_PROG_TEST_RUN',
            Errno.EINTR,
            `program "${this.name}": ${options.repeat ?? 1} repetitions were interrupted by signals ${interrupted} times in a row`,
            'run fewer repetitions per call, or run when the process receives fewer signals (a profiler or a tight timer sending them)',
          );
          throw new ProgramError('test-run', `program "${this.name}": test run failed: ${cause.message}`, { cause });
        }
        options.reset?.();
        request.fd = this.#live(); // reset may have closed it
      }
    }
  }

  /** Closes the program's fd; the kernel frees it once nothing else holds it. Calling it again does nothing. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The program's file descriptor; throws once the program is closed. */
  get fd(): number {
    return this.#live();
  }

  #live(): number {
    if (this.#owned.closed) throw new ProgramError('closed', `program "${this.name}" is closed`);
    return this.#owned.raw;
  }
}

/** Program.loadEach calls that could use the helper thread, so far in this thread. */
let parallelLoads = 0;

/** A program Program.loadEach could not load: what load() would have thrown. */
export interface ProgramLoadFailure {
  readonly error: unknown;
}

/** Test runs tried when signals interrupt them before giving up with Errno.EINTR. */
const MAX_INTERRUPTED_RUNS = 10;

/** Loads tried when the verifier is interrupted by signals before giving up with Errno.EAGAIN. */
const MAX_INTERRUPTED_LOADS = 10;

/** The kernel request of a program spec: its type, name and encoded instructions, checked. */
function loadRequest(spec: ProgramSpec): { type: ProgramType; name: string; request: ProgLoadRequest } {
  const type = programTypeOf(spec.type);
  const name = spec.name ?? '';
  const insns = spec.instructions instanceof Uint8Array ? spec.instructions : linkInstructions(spec.instructions, spec.maps, name);
  if (insns.length === 0 || insns.length % 8 !== 0)
    throw new ProgramError('spec', `program "${name}": ${insns.length} bytes of instructions is not a whole number of 8-byte instructions`);
  const request: ProgLoadRequest = {
    type,
    insns,
    license: spec.license ?? 'GPL',
    name: objectName(name),
    flags: spec.flags,
    ifindex: spec.ifindex,
    expectedAttachType: spec.expectedAttachType,
    attachBtfId: spec.attachBtfId,
    attachBtfObjFd: spec.attachBtfObjFd,
    attachProgFd: spec.attachProgFd,
    kernVersion: spec.kernelVersion,
    btfFd: spec.btfFd,
    funcInfo: spec.funcInfo,
    lineInfo: spec.lineInfo,
    fdArray: spec.fdArray,
    tokenFd: spec.tokenFd,
  };
  return { type, name, request };
}

/** Log level and buffer size of the first attempt: no log unless the caller asked for one. */
function firstAttempt(options: LoadOptions): { logLevel: number; logSize: number } {
  const logLevel = options.logLevel ?? 0;
  return { logLevel, logSize: logLevel > 0 ? (options.logSize ?? 64 * 1024) : 0 };
}

/**
 * Loads until the kernel takes the program or a rejection is explained: without a log first, then
 * with one, grown until the verifier's output fits. `done` is the outcome of a first attempt made
 * already (by loadAsync, with firstAttempt's settings); the loop goes on from it.
 */
function loadWithLog(request: ProgLoadRequest, name: string, options: LoadOptions, done?: ProgLoadResult): number {
  const maxLog = options.maxLogSize ?? 256 * 1024 * 1024;
  let { logLevel, logSize } = firstAttempt(options);
  let interrupted = 0;
  for (;;) {
    const log = logSize > 0 && !done ? new NativeMemory(logSize) : undefined;
    try {
      const r = done ?? progLoadRaw({ ...request, log, logLevel });
      const hadLog = done ? logSize > 0 : log !== undefined;
      done = undefined;
      if (r.ret >= 0) return r.ret;
      const errno = -r.ret;
      // The verifier gives up with Errno.EAGAIN when a signal is pending (a child exiting, a profiler's
      // tick): nothing is wrong with the program, so load it again, as libbpf does.
      if (errno === Errno.EAGAIN) {
        if (++interrupted < MAX_INTERRUPTED_LOADS) continue;
        throw new SyscallError(
          'BPF_PROG_LOAD',
          errno,
          `program "${name}": the verifier was interrupted ${interrupted} times in a row`,
          'signals kept arriving while the verifier ran; load again when the process receives fewer (a profiler or a tight timer sending them)',
        );
      }
      if (!hadLog) {
        // Without a log there is nothing to explain a rejection; privilege errors need no log.
        if (errno === Errno.EPERM) throw new SyscallError('BPF_PROG_LOAD', errno, `program "${name}"`, permissionHint(request));
        logLevel = 1;
        logSize = options.logSize ?? 64 * 1024;
        continue;
      }
      if (errno === Errno.ENOSPC && logSize < maxLog) {
        logSize = Math.min(maxLog, Math.max(r.logTrueSize + 1, logSize * 4));
        continue;
      }
      if (r.log.length === 0)
        throw new SyscallError(
          'BPF_PROG_LOAD',
          errno,
          `program "${name}" (the verifier wrote no log)`,
          request.ifindex ? OFFLOAD_HINT : undefined,
        );
      throw new VerifierError('BPF_PROG_LOAD', errno, name, r.log, errno === Errno.ENOSPC);
    } finally {
      log?.free();
    }
  }
}

const OFFLOAD_HINT =
  "a program loaded with ifindex is offloaded or device-bound: only a driver that registered for BPF offload (Netronome nfp, netdevsim) accepts it, and the ifindex is looked up in this thread's network namespace";

const TRAMPOLINE_ATTACH_TYPES = new Set<number>([AttachType.TRACE_FENTRY, AttachType.TRACE_FEXIT, AttachType.MODIFY_RETURN]);

/** EPERM with the capabilities in hand is the kernel refusing the feature, not a missing privilege. */
function permissionHint(request: ProgLoadRequest): string | undefined {
  // First the capabilities the kernel checks for this program type (CAP_BPF, plus CAP_PERFMON
  // for tracing or CAP_NET_ADMIN for networking): a missing one is named.
  const missing = missingProgramCapabilities(request.type);
  if (missing !== undefined) return missing;
  if (!bpfCapable()) return undefined;
  if (request.type === ProgramType.TRACING && TRAMPOLINE_ATTACH_TYPES.has(request.expectedAttachType ?? -1)) {
    return 'this process has CAP_BPF and CAP_PERFMON, so the kernel itself refuses fentry/fexit/fmod_ret programs here: it cannot build BPF trampolines (a kernel configuration or lockdown restriction); use a kprobe, a tracepoint or tp_btf instead';
  }
  if (request.type === ProgramType.EXT || request.type === ProgramType.STRUCT_OPS) {
    const what = request.type === ProgramType.EXT ? 'freplace (EXT) programs' : 'struct_ops programs';
    return `this process has CAP_BPF, so the kernel itself refuses ${what} here: they run through BPF trampolines, which this kernel cannot build (as it refuses fentry/fexit); this needs a kernel with BPF trampolines (x86-64/arm64 5.5+ for freplace, 5.6+ for struct_ops)`;
  }
  if (request.type === ProgramType.TRACING && request.expectedAttachType === AttachType.TRACE_ITER) {
    return 'this process has CAP_BPF, so the kernel itself refuses this iterator kind here (kernels that refuse BPF trampolines refuse the map-element iterators bpf_map_elem, bpf_sk_storage_map and sockmap too; libbpf gets the same EPERM); other iterator kinds load';
  }
  return 'this process has the capabilities this program type needs, so the refusal comes from the kernel or a security module (lockdown, SELinux, a BPF LSM program), not from missing privileges';
}
