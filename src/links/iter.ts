// BPF iterators: a TRACING program loaded against bpf_iter_<kind> (expected attach type
// TRACE_ITER) is attached as an iterator link; every BPF_ITER_CREATE on the link gives a fresh
// file whose read() runs the program once per object (task, map, socket...) and returns what it
// wrote with bpf_seq_write/bpf_seq_printf. A link pinned in bpffs can be read with `cat`.
import { closeSync, openSync, read as readCallback, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { kernelBtf } from '../kernel/btf.js';
import { closeNames } from '../symbols/index.js';
import { iterCreate, linkCreate, objGetInfo, OwnedFd, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError, attaching } from './link.js';
import type { TracingTarget } from './tracing.js';

/** The iterator kinds of Linux 6.x; the running kernel may have fewer or more (see iteratorKinds()). */
export type IteratorKind =
  | 'task'
  | 'task_file'
  | 'task_vma'
  | 'bpf_map'
  | 'bpf_map_elem'
  | 'bpf_prog'
  | 'bpf_link'
  | 'bpf_sk_storage_map'
  | 'sockmap'
  | 'tcp'
  | 'udp'
  | 'unix'
  | 'ipv6_route'
  | 'netlink'
  | 'ksym'
  | 'cgroup'
  | 'kmem_cache'
  | 'dmabuf';

/** enum bpf_cgroup_iter_order. */
export const CgroupIterOrder = {
  /** The kernel's default: descendants, pre-order. */
  UNSPEC: 0,
  SELF_ONLY: 1,
  DESCENDANTS_PRE: 2,
  DESCENDANTS_POST: 3,
  ANCESTORS_UP: 4,
} as const;
export type CgroupIterOrder = (typeof CgroupIterOrder)[keyof typeof CgroupIterOrder];

/** The parameters of union bpf_iter_link_info; at most one group applies to a kind. */
export interface IterOptions {
  /** bpf_map_elem, bpf_sk_storage_map, sockmap: the map to walk (required for those). */
  map?: { readonly fd: number } | number;
  /** cgroup: where to start (a cgroup directory, an open fd or an id; default the v2 root) and the walk order (default DESCENDANTS_PRE: the kernel refuses UNSPEC). */
  cgroup?: { path?: string; fd?: number; id?: bigint; order?: CgroupIterOrder };
  /** task, task_file, task_vma: only this thread, this process, or the process of this pidfd. */
  task?: { tid?: number; pid?: number; pidFd?: number };
}

/** Size of union bpf_iter_link_info (its largest member, cgroup: u32 order, u32 fd, u64 id). */
export const ITER_LINK_INFO_SIZE = 16;

/** Encodes union bpf_iter_link_info, or undefined when no parameter is given. */
export function iterLinkInfo(o: IterOptions, cgroupFd = 0): Uint8Array | undefined {
  const groups = [o.map !== undefined, o.cgroup !== undefined, o.task !== undefined].filter(Boolean).length;
  if (groups === 0) return undefined;
  if (groups > 1)
    throw new LinkError(
      'options',
      'iterator options: give one of map, cgroup and task, not several (they share one union bpf_iter_link_info)',
    );
  const b = Buffer.alloc(ITER_LINK_INFO_SIZE);
  if (o.map !== undefined) {
    const fd = typeof o.map === 'number' ? o.map : o.map.fd;
    if (!Number.isInteger(fd) || fd < 0) throw new LinkError('options', `iterator option map: ${fd} is not a map fd`);
    b.writeUInt32LE(fd, 0);
  } else if (o.cgroup) {
    const c = o.cgroup;
    const fd = c.fd ?? cgroupFd;
    if (fd && c.id !== undefined) throw new LinkError('options', 'iterator option cgroup: give a cgroup fd (or path) or an id, not both');
    const order = c.order ?? CgroupIterOrder.DESCENDANTS_PRE;
    if (!Object.values(CgroupIterOrder).includes(order) || order === CgroupIterOrder.UNSPEC)
      throw new LinkError(
        'options',
        `iterator option cgroup.order: ${order} is not a walk order the kernel accepts (1-4: SELF_ONLY, DESCENDANTS_PRE, DESCENDANTS_POST, ANCESTORS_UP)`,
      );
    b.writeUInt32LE(order, 0);
    b.writeUInt32LE(fd, 4);
    b.writeBigUInt64LE(c.id ?? 0n, 8);
  } else if (o.task) {
    const t = o.task;
    const set = [t.tid, t.pid, t.pidFd].filter((v) => v !== undefined);
    if (set.length !== 1) throw new LinkError('options', 'iterator option task: give exactly one of tid, pid and pidFd');
    for (const v of set)
      if (!Number.isInteger(v) || (v as number) <= 0) throw new LinkError('options', `iterator option task: ${v} is not a positive id`);
    b.writeUInt32LE(t.tid ?? 0, 0);
    b.writeUInt32LE(t.pid ?? 0, 4);
    b.writeUInt32LE(t.pidFd ?? 0, 8);
  }
  return b;
}

/**
 * The iterator kinds the running kernel has: the functions bpf_iter_<kind> of its BTF whose first
 * parameter is a struct bpf_iter_meta pointer (the open-coded iterator kfuncs bpf_iter_num_new and
 * the like share the prefix but not that signature).
 */
export function iteratorKinds(): string[] {
  const btf = kernelBtf();
  const out: string[] = [];
  for (let id = 1; id <= btf.lastTypeId; id++) {
    if (btf.kindOf(id) !== 'func') continue;
    const name = btf.nameOf(id);
    if (!name.startsWith('bpf_iter_')) continue;
    if (firstParamStruct(id) === 'bpf_iter_meta') out.push(name.slice('bpf_iter_'.length));
  }
  return out.sort();
}

/** Name of the struct the first parameter of function `id` points to, if it is one. */
function firstParamStruct(funcId: number): string | undefined {
  const btf = kernelBtf();
  const fn = btf.typeById(funcId);
  if (fn.kind !== 'func') return undefined;
  const proto = btf.typeById(fn.type);
  // Targets take (meta, object pointers...); bpf_iter_get_info(meta, bool) is a helper, not a target.
  if (proto.kind !== 'func_proto' || proto.params.length < 2 || btf.resolve(proto.params[1].type).kind !== 'ptr') return undefined;
  const ptr = btf.resolve(proto.params[0].type);
  if (ptr.kind !== 'ptr') return undefined;
  return btf.nameOf(ptr.type);
}

/** What Program.load needs for an iterator program of `kind`. */
export function iteratorTarget(kind: IteratorKind | string): TracingTarget {
  const t = kernelBtf().findType(`bpf_iter_${kind}`, 'func');
  if (!t) {
    const kinds = iteratorKinds();
    const near = closeNames(kind, kinds);
    throw new LinkError(
      'target',
      `this kernel has no "${kind}" iterator (no bpf_iter_${kind} in its BTF); it has: ${kinds.join(', ')}` +
        (near.length ? `; close names: ${near.join(', ')}` : ''),
    );
  }
  return { type: ProgramType.TRACING, expectedAttachType: AttachType.TRACE_ITER, attachBtfId: t.id };
}

/** What the kernel reports about an iterator link. */
export interface IterLinkInfo {
  /** The kind, as the kernel names it ("task", "bpf_map_elem"). */
  targetName: string;
  /** bpf_map_elem and friends: the map walked. */
  mapId?: number;
  /** cgroup: the start cgroup's id and the order. */
  cgroupId?: bigint;
  order?: number;
  /** task kinds: the thread or process it was limited to (0 = all). */
  tid?: number;
  pid?: number;
}

// struct bpf_link_info, iter member (include/uapi/linux/bpf.h).
const LINK_INFO_SIZE = 48;
const ITER_TARGET_NAME = 16;
const ITER_TARGET_NAME_LEN = 24;
const ITER_MAP_ID = 28;
const ITER_CGROUP_ID = 32;
const ITER_CGROUP_ORDER = 40;
const ITER_TASK_TID = 32;
const ITER_TASK_PID = 36;
const BPF_LINK_TYPE_ITER = 4;

/** An iterator attachment. Each open() (or read()) runs the program over the objects afresh. */
export class IterLink extends BpfLink {
  readonly kind: string;

  /** Takes ownership of an iterator link fd of iterator `kind`; attachIter makes these. */
  constructor(fd: number, kind: string) {
    super(fd, `iter/${kind}`);
    this.kind = kind;
  }

  /** BPF_ITER_CREATE: a reader positioned at the first object. */
  open(): IteratorReader {
    if (this.closed) throw new LinkError('closed', `link ${this.target} is closed`);
    try {
      return new IteratorReader(iterCreate(this.fd), this.target);
    } catch (e) {
      if (e instanceof SyscallError) throw new LinkError('read', `cannot open iterator ${this.target}: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Runs the iterator to the end and returns all it wrote. */
  read(): Buffer {
    using reader = this.open();
    return reader.readAll();
  }

  /** read() as UTF-8 text, for iterators that bpf_seq_printf. */
  readText(): string {
    return this.read().toString('utf8');
  }

  /** A Node Readable over a fresh run of the iterator; its fd closes when the stream ends or is destroyed. */
  stream(): Readable {
    return this.open().toReadable();
  }

  /** The kernel's view of the iterator link: the iterator kind and its parameters (map, cgroup, task). */
  iterInfo(): IterLinkInfo {
    if (this.closed) throw new LinkError('closed', `link ${this.target} is closed`);
    const nameSize = 64;
    const { info, extra } = objGetInfo(this.fd, LINK_INFO_SIZE, nameSize, (b, address) => {
      b.writeBigUInt64LE(BigInt(address), ITER_TARGET_NAME);
      b.writeUInt32LE(nameSize, ITER_TARGET_NAME_LEN);
    });
    if (info.readUInt32LE(0) !== BPF_LINK_TYPE_ITER)
      throw new LinkError('target', `link ${this.target} is not an iterator link (type ${info.readUInt32LE(0)})`);
    const end = extra.indexOf(0);
    const targetName = extra.toString('utf8', 0, end < 0 ? nameSize : end);
    const out: IterLinkInfo = { targetName };
    if (targetName === 'bpf_map_elem' || targetName === 'bpf_sk_storage_map' || targetName === 'sockmap')
      out.mapId = info.readUInt32LE(ITER_MAP_ID);
    else if (targetName === 'cgroup') {
      out.cgroupId = info.readBigUInt64LE(ITER_CGROUP_ID);
      out.order = info.readUInt32LE(ITER_CGROUP_ORDER);
    } else if (targetName.startsWith('task')) {
      out.tid = info.readUInt32LE(ITER_TASK_TID);
      out.pid = info.readUInt32LE(ITER_TASK_PID);
    }
    return out;
  }
}

const CHUNK = 64 * 1024;

/**
 * One run of an iterator (a BPF_ITER_CREATE fd). Read it synchronously (readChunk, readAll), as an
 * async iterable of chunks, or as a Node Readable. Reads past the end return nothing.
 */
export class IteratorReader implements AsyncIterable<Buffer> {
  readonly #owned: OwnedFd;
  readonly #target: string;
  #busy = false;

  /** Takes ownership of a BPF_ITER_CREATE fd; `target` names it in messages. */
  constructor(fd: number, target: string) {
    this.#owned = new OwnedFd(fd, `iterator ${target}`, this);
    this.#target = target;
  }

  /** The file descriptor of this run of the iterator (the number, even after close). */
  get fd(): number {
    return this.#owned.raw;
  }

  /** Whether this run of the iterator has been closed. */
  get closed(): boolean {
    return this.#owned.closed;
  }

  #live(): number {
    if (this.#owned.closed) throw new LinkError('closed', `iterator ${this.#target} is closed`);
    return this.#owned.raw;
  }

  #fail(e: unknown): never {
    const code = (e as { code?: string }).code ?? '';
    throw new LinkError(
      'read',
      `reading iterator ${this.#target} failed: ${(e as Error).message}` +
        (code === 'E2BIG' ? ' (one object wrote more than a page of output: the kernel limits each to one seq_file page)' : ''),
      { cause: e },
    );
  }

  /** The next chunk (at most `size` bytes), or an empty buffer at the end. */
  readChunk(size = CHUNK): Buffer {
    const b = Buffer.allocUnsafe(size);
    let n: number;
    try {
      n = readSync(this.#live(), b, 0, size, null);
    } catch (e) {
      this.#fail(e);
    }
    return b.subarray(0, n);
  }

  /** Everything from here to the end. */
  readAll(): Buffer {
    const parts: Buffer[] = [];
    for (;;) {
      const c = this.readChunk();
      if (c.length === 0) return Buffer.concat(parts);
      parts.push(c);
    }
  }

  /** Chunks read on libuv's thread pool; the reader closes when the loop ends, however it ends. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    if (this.#busy) throw new LinkError('read', `iterator ${this.#target} is already being read`);
    this.#busy = true;
    try {
      for (;;) {
        const fd = this.#live();
        const chunk = await new Promise<Buffer>((resolve, reject) => {
          const b = Buffer.allocUnsafe(CHUNK);
          readCallback(fd, b, 0, CHUNK, null, (err, n) => (err ? reject(err) : resolve(b.subarray(0, n))));
        }).catch((e: unknown) => this.#fail(e));
        if (chunk.length === 0) return;
        yield chunk;
      }
    } finally {
      this.#busy = false;
      this.close();
    }
  }

  /** A Node Readable of the remaining output; destroying it closes the reader. */
  toReadable(): Readable {
    return Readable.from(this, { objectMode: false });
  }

  /** Closes this run of the iterator. Calling it again does nothing. */
  close(): void {
    this.#owned.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Attaches an iterator program (loaded with iteratorTarget(kind), or from an object's SEC("iter/kind"))
 * as an iterator link, with the kind's parameters.
 */
export function attachIter(program: Program, options: IterOptions = {}): IterLink {
  return attaching(`attaching iterator "${program.name}"`, () => {
    if (program.expectedAttachType !== undefined && program.expectedAttachType !== AttachType.TRACE_ITER) {
      throw new LinkError(
        'program',
        `program "${program.name}" was loaded with expected attach type ${program.expectedAttachType}, not TRACE_ITER (${AttachType.TRACE_ITER}); load it with iteratorTarget(kind) or from a SEC("iter/<kind>") section`,
      );
    }
    let cgroupFd = 0;
    if (options.cgroup?.path !== undefined) {
      if (options.cgroup.fd !== undefined) throw new LinkError('options', 'iterator option cgroup: give a path or an fd, not both');
      try {
        cgroupFd = openSync(options.cgroup.path, 'r');
      } catch (e) {
        throw new LinkError('target', `cannot open cgroup ${options.cgroup.path}: ${(e as Error).message}`, { cause: e });
      }
    }
    try {
      const info = iterLinkInfo(options, cgroupFd);
      let fd: number;
      try {
        fd = linkCreate({ progFd: program.fd, attachType: AttachType.TRACE_ITER, iterInfo: info });
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        const hint =
          e.code === 'EINVAL' && options.map === undefined
            ? ' (iterators of map elements need the map option; program types other than an iterator TRACING program are refused too)'
            : e.code === 'EACCES'
              ? " (the map's value is too small for what the program reads, or the program reads past the key or value)"
              : '';
        throw new LinkError('attach', `attaching iterator "${program.name}" failed: ${e.message}${hint}`, { cause: e });
      }
      const link = new IterLink(fd, program.name);
      try {
        const kind = link.iterInfo().targetName;
        Object.defineProperty(link, 'kind', { value: kind });
        Object.defineProperty(link, 'target', { value: `iter/${kind}` });
      } catch {
        // Kernels without iterator link info (before 5.9) keep the program's name.
      }
      return link;
    } finally {
      if (cgroupFd) closeSync(cgroupFd);
    }
  });
}
