// tc: direct-action cls_bpf filters under the clsact qdisc (rtnetlink; they stay until deleted), and
// tcx links (kernel 6.6+, bpf_link; detached when the last fd closes).
import {
  CLSACT_EGRESS_PARENT,
  CLSACT_INGRESS_PARENT,
  encodeBpfFilter,
  encodeClsactQdisc,
  encodeFilterDelete,
  encodeFilterDump,
  getLink,
  type NetlinkClient,
  NetlinkError,
  NetlinkFlags,
  parseFilter,
  RouteMessageType,
  type Device,
  type DeviceRef,
  type KernelRefusal,
  type NetlinkMessage,
  type TcFilterEntry,
} from '../netlink/index.js';
import type { Program } from '../programs/index.js';
import { linkCreate, type NetlinkSocket, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramAttachFlags, ProgramType } from '../uapi/bpf.js';
import { BpfLink, Link, LinkError, attaching } from './link.js';
import { openRoute, withRoute } from './netlink-session.js';
import { Errno } from '../errors/errno.js';

/** Which side of a device a tc program runs on. */
export type TcDirection = 'ingress' | 'egress';

const PARENTS: Record<TcDirection, number> = { ingress: CLSACT_INGRESS_PARENT, egress: CLSACT_EGRESS_PARENT };

function checkDirection(direction: unknown): TcDirection {
  if (direction === 'ingress' || direction === 'egress') return direction;
  throw new LinkError('options', `bad tc direction ${JSON.stringify(direction)}: use 'ingress' or 'egress'`);
}

function checkSchedCls(program: Program): void {
  if (program.type !== ProgramType.SCHED_CLS) {
    const label = program.name ? `program "${program.name}"` : 'program';
    throw new LinkError(
      'program',
      `${label} has program type ${program.type}, not SCHED_CLS (${ProgramType.SCHED_CLS}); tc filters and tcx run SCHED_CLS programs`,
    );
  }
}

function checkU16(what: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || value > 0xffff)
    throw new LinkError('options', `bad tc ${what} ${value}: an integer from 1 to 65535 is expected`);
}

function programLabel(program: Program): string {
  return program.name ? `program "${program.name}"` : 'program';
}

/** A route netlink socket in the calling thread's current network namespace. */
function resolve(client: NetlinkClient, device: DeviceRef): Device {
  const link = getLink(client, device);
  return { index: link.info.index, name: link.name ?? String(link.info.index) };
}

// ---------------------------------------------------------------------------------------------
// clsact qdisc

function clsactHint(r: KernelRefusal, device: string): string | undefined {
  if (r.errno === Errno.EEXIST) return `${device} already has a clsact qdisc (pass ignoreExisting: true to accept it)`;
  if (r.errno === Errno.ENOENT || r.errno === Errno.EINVAL) return `${device} has no clsact qdisc to delete`;
  if (r.errno === Errno.EPERM) return 'changing qdiscs needs CAP_NET_ADMIN';
  return undefined;
}

function createClsactWith(client: NetlinkClient, dev: Device, ignoreExisting: boolean): boolean {
  try {
    client.request(RouteMessageType.NEWQDISC, NetlinkFlags.CREATE | NetlinkFlags.EXCL, encodeClsactQdisc(dev.index), {
      operation: `create clsact qdisc on ${dev.name}`,
      hint: (r) => clsactHint(r, dev.name),
    });
    return true;
  } catch (e) {
    if (ignoreExisting && e instanceof NetlinkError && e.errno === Errno.EEXIST) return false;
    throw e;
  }
}

/**
 * Adds the clsact qdisc (the hook tc ingress and egress filters hang from) to `device`. Returns
 * false when one was there already and `ignoreExisting` is set.
 */
export function createClsact(device: DeviceRef, options: { ignoreExisting?: boolean } = {}): boolean {
  return withRoute((client) => createClsactWith(client, resolve(client, device), options.ignoreExisting ?? false));
}

/**
 * Removes the clsact qdisc of `device` and every filter under it. Returns false when there was none
 * and `ignoreMissing` is set. tcx links are not affected.
 */
export function deleteClsact(device: DeviceRef, options: { ignoreMissing?: boolean } = {}): boolean {
  return withRoute((client) => {
    const dev = resolve(client, device);
    try {
      client.request(RouteMessageType.DELQDISC, 0, encodeClsactQdisc(dev.index), {
        operation: `delete clsact qdisc of ${dev.name}`,
        hint: (r) => clsactHint(r, dev.name),
      });
      return true;
    } catch (e) {
      if (options.ignoreMissing && e instanceof NetlinkError && (e.errno === Errno.ENOENT || e.errno === Errno.EINVAL)) return false;
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// cls_bpf filters

/** A tc filter as the kernel lists it. */
export interface TcFilter {
  priority: number;
  handle: number;
  /** Ethernet protocol in host order (3 = ETH_P_ALL). */
  protocol: number;
  kind: string;
  chain: number | undefined;
  /** cls_bpf only. */
  programId?: number;
  name?: string;
  directAction?: boolean;
  tag?: string;
}

function toFilter(e: TcFilterEntry): TcFilter {
  const f: TcFilter = { priority: e.priority, handle: e.handle, protocol: e.protocol, kind: e.kind ?? '', chain: e.chain };
  if (e.bpf) {
    if (e.bpf.programId !== undefined) f.programId = e.bpf.programId;
    if (e.bpf.name !== undefined) f.name = e.bpf.name;
    f.directAction = e.bpf.directAction;
    if (e.bpf.tag !== undefined) f.tag = e.bpf.tag;
  }
  return f;
}

function dumpFilters(client: NetlinkClient, dev: Device, direction: TcDirection): TcFilter[] {
  let replies: NetlinkMessage[];
  try {
    replies = client.dump(RouteMessageType.GETTFILTER, encodeFilterDump(dev.index, PARENTS[direction]), {
      operation: `list tc ${direction} filters of ${dev.name}`,
    });
  } catch (e) {
    // No clsact qdisc: no filters (the kernel says Errno.EINVAL, "Parent Qdisc doesn't exists", or Errno.ENOENT).
    if (e instanceof NetlinkError && (e.errno === Errno.EINVAL || e.errno === Errno.ENOENT)) return [];
    throw e;
  }
  return (
    replies
      .filter((m) => m.type === RouteMessageType.NEWTFILTER)
      .map((m) => parseFilter(m.payload, m.offset))
      // The dump also reports each priority's classifier itself, with handle 0 and no options.
      .filter((e) => e.handle !== 0)
      .map(toFilter)
  );
}

/** The filters under clsact's ingress or egress hook of `device` (RTM_GETTFILTER dump). */
export function listTcFilters(device: DeviceRef, direction: TcDirection): TcFilter[] {
  const dir = checkDirection(direction);
  return withRoute((client) => dumpFilters(client, resolve(client, device), dir));
}

/** Options of attachTcFilter (a netlink tc filter on the clsact qdisc). */
export interface TcFilterOptions {
  /** 1 to 65535, lower runs first. Left out, the kernel picks one. */
  priority?: number;
  /** Filter handle within the priority. Left out, the kernel picks one. */
  handle?: number;
  /** Swap the program of the filter at `priority`/`handle` (created if absent) instead of failing when it exists. */
  replace?: boolean;
  /** TCA_BPF_NAME, shown by `tc filter show`. Default: the program's name. */
  name?: string;
  /** Create the clsact qdisc if the device has none (default true). It stays after the filter goes. */
  createQdisc?: boolean;
}

interface FilterPlace {
  dev: Device;
  direction: TcDirection;
  priority: number;
  handle: number;
}

function filterHint(r: KernelRefusal, p: { dev: Device; direction: TcDirection; priority?: number; handle?: number }): string | undefined {
  const where = `${p.dev.name} ${p.direction}`;
  switch (r.errno) {
    case Errno.EEXIST:
      return `a filter with priority ${p.priority ?? '?'} and handle ${p.handle ?? '?'} already exists on ${where}; pass replace: true to swap its program, or choose another priority or handle`;
    case Errno.EINVAL:
    case Errno.ENOENT:
      if (/qdisc|parent|block/i.test(r.extack ?? ''))
        return `${p.dev.name} has no clsact qdisc: create one with createClsact() (or leave createQdisc on)`;
      if (/protocol|kind/i.test(r.extack ?? ''))
        return `priority ${p.priority ?? '?'} on ${where} already holds filters of another kind or protocol; choose another priority`;
      return undefined;
    case Errno.EOPNOTSUPP:
      return 'this kernel has no cls_bpf classifier (CONFIG_NET_CLS_BPF)';
    case Errno.EPERM:
      return 'changing tc filters needs CAP_NET_ADMIN';
    default:
      return undefined;
  }
}

/**
 * A direct-action cls_bpf filter. It stays on the device until deleted: close() deletes it, but only
 * if the filter at its priority and handle still runs our program.
 */
export class TcFilterLink extends Link {
  readonly device: string;
  readonly ifindex: number;
  readonly direction: TcDirection;
  readonly priority: number;
  readonly handle: number;
  #programId: number;
  // Opened in the device's namespace: close() works from wherever the caller is by then.
  readonly #socket: NetlinkSocket;
  readonly #client: NetlinkClient;

  /** @internal use attachTcFilter(). */
  constructor(socket: NetlinkSocket, client: NetlinkClient, place: FilterPlace, programId: number) {
    super(`tc/${place.dev.name} ${place.direction} (priority ${place.priority}, handle ${place.handle})`);
    this.#socket = socket;
    this.#client = client;
    this.device = place.dev.name;
    this.ifindex = place.dev.index;
    this.direction = place.direction;
    this.priority = place.priority;
    this.handle = place.handle;
    this.#programId = programId;
  }

  /** Kernel id of the program the filter runs (changes when the program is replaced). */
  get programId(): number {
    return this.#programId;
  }

  #place(): FilterPlace {
    return { dev: { index: this.ifindex, name: this.device }, direction: this.direction, priority: this.priority, handle: this.handle };
  }

  /** Runs `program` in this filter from now on (NLM_F_REPLACE): no gap in which no program runs. */
  replace(program: Program, name = program.name): void {
    if (this.closed) throw new LinkError('closed', `tc filter ${this.target} is closed`);
    checkSchedCls(program);
    this.#programId = writeFilter(this.#client, this.#place(), program, name, true).programId;
  }

  protected release(): void {
    try {
      let current: TcFilter | undefined;
      try {
        current = dumpFilters(this.#client, this.#place().dev, this.direction).find(
          (f) => f.priority === this.priority && f.handle === this.handle,
        );
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return; // device gone, filters with it
        throw e;
      }
      // Someone replaced or removed it: it is not ours to delete.
      if (!current || current.programId !== this.#programId) return;
      try {
        deleteFilter(this.#client, this.#place());
      } catch (e) {
        if (!(e instanceof NetlinkError && (e.errno === Errno.ENOENT || e.errno === Errno.ENODEV))) throw e;
      }
    } finally {
      this.#socket.close();
    }
  }
}

function writeFilter(
  client: NetlinkClient,
  p: { dev: Device; direction: TcDirection; priority?: number; handle?: number },
  program: Program,
  name: string,
  replace: boolean,
): { priority: number; handle: number; programId: number } {
  const flags = NetlinkFlags.CREATE | NetlinkFlags.ECHO | (replace ? NetlinkFlags.REPLACE : NetlinkFlags.EXCL);
  const payload = encodeBpfFilter(
    { ifindex: p.dev.index, parent: PARENTS[p.direction], priority: p.priority ?? 0, handle: p.handle ?? 0 },
    { fd: program.fd, name },
  );
  const at = p.priority !== undefined ? ` (priority ${p.priority}${p.handle !== undefined ? `, handle ${p.handle}` : ''})` : '';
  const { replies } = client.request(RouteMessageType.NEWTFILTER, flags, payload, {
    operation: `${replace ? 'replace' : 'add'} tc ${p.direction} filter on ${p.dev.name}${at} running ${programLabel(program)}`,
    hint: (r) => filterHint(r, p),
  });
  const programId = program.info().id;
  // The echo tells which priority and handle the kernel picked; if there is none, find our program.
  const echoed = replies
    .filter((m) => m.type === RouteMessageType.NEWTFILTER)
    .map((m) => parseFilter(m.payload, m.offset))
    .find((e) => e.handle !== 0);
  if (echoed) return { priority: echoed.priority, handle: echoed.handle, programId };
  const found = dumpFilters(client, p.dev, p.direction).find(
    (f) =>
      f.programId === programId &&
      (p.priority === undefined || f.priority === p.priority) &&
      (p.handle === undefined || f.handle === p.handle),
  );
  if (!found)
    throw new LinkError('attach', `the kernel accepted the tc filter on ${p.dev.name} ${p.direction} but it is not in the filter list`);
  return { priority: found.priority, handle: found.handle, programId };
}

function deleteFilter(client: NetlinkClient, p: { dev: Device; direction: TcDirection; priority: number; handle: number }): void {
  client.request(
    RouteMessageType.DELTFILTER,
    0,
    encodeFilterDelete({ ifindex: p.dev.index, parent: PARENTS[p.direction], priority: p.priority, handle: p.handle }),
    {
      operation: `delete tc ${p.direction} filter on ${p.dev.name} (priority ${p.priority}, handle ${p.handle})`,
      hint: (r) =>
        r.errno === Errno.ENOENT || r.errno === Errno.EINVAL
          ? `no such filter on ${p.dev.name} ${p.direction} (tc filter show dev ${p.dev.name} ${p.direction} lists them)`
          : undefined,
    },
  );
}

/**
 * Attaches a SCHED_CLS program as a direct-action cls_bpf filter on `device`'s ingress or egress,
 * creating the clsact qdisc if needed. The program's return value is the verdict (TC_ACT_OK 0,
 * TC_ACT_SHOT 2, ...). close() on the result deletes the filter.
 */
export function attachTcFilter(program: Program, device: DeviceRef, direction: TcDirection, options: TcFilterOptions = {}): TcFilterLink {
  return attaching(`attaching "${program.name}" as a tc filter (${String(direction)} of ${device})`, () => {
    const dir = checkDirection(direction);
    checkSchedCls(program);
    checkU16('priority', options.priority);
    if (options.handle !== undefined && (!Number.isInteger(options.handle) || options.handle < 1 || options.handle > 0xffff_ffff)) {
      throw new LinkError('options', `bad tc handle ${options.handle}: a positive 32-bit integer is expected`);
    }
    if (options.replace && (options.priority === undefined || options.handle === undefined)) {
      throw new LinkError('options', 'replace needs priority and handle, to say which filter to replace');
    }
    const { socket, client } = openRoute();
    let keep = false;
    try {
      const dev = resolve(client, device);
      if (options.createQdisc ?? true) createClsactWith(client, dev, true);
      const r = writeFilter(
        client,
        { dev, direction: dir, priority: options.priority, handle: options.handle },
        program,
        options.name ?? program.name,
        options.replace ?? false,
      );
      keep = true;
      return new TcFilterLink(socket, client, { dev, direction: dir, priority: r.priority, handle: r.handle }, r.programId);
    } finally {
      if (!keep) socket.close();
    }
  });
}

/** Deletes a filter by place, whoever added it (cleanup of filters that outlived their process). */
export function detachTcFilter(device: DeviceRef, direction: TcDirection, where: { priority: number; handle: number }): void {
  const dir = checkDirection(direction);
  checkU16('priority', where.priority);
  withRoute((client) =>
    deleteFilter(client, { dev: resolve(client, device), direction: dir, priority: where.priority, handle: where.handle }),
  );
}

// ---------------------------------------------------------------------------------------------
// tcx

/** Options of attachTcx: where the program goes in the device's tcx chain. */
export interface TcxOptions {
  /** Run before this program or link (BPF_F_BEFORE); by default the new one goes last. */
  before?: Program | BpfLink;
  /** Run after this program or link (BPF_F_AFTER). */
  after?: Program | BpfLink;
  /** Fail with ESTALE unless the hook's revision is still this (from an earlier query). */
  expectedRevision?: bigint;
}

/** A program attached to a device's tcx ingress or egress hook (kernel 6.6+). */
export class TcxLink extends BpfLink {
  readonly device: string;
  readonly ifindex: number;
  readonly direction: TcDirection;

  /** Takes ownership of tcx link `fd` on `dev` in `direction`; attachTcx makes these. */
  constructor(fd: number, dev: Device, direction: TcDirection) {
    super(fd, `tcx/${dev.name} ${direction}`);
    this.device = dev.name;
    this.ifindex = dev.index;
    this.direction = direction;
  }
}

function tcxHint(errno: number, dev: string, relative: boolean): string | undefined {
  switch (errno) {
    case Errno.EINVAL:
      return 'tcx needs kernel 6.6 or later and a SCHED_CLS program';
    case Errno.ENOENT:
      return relative ? `the program or link given as before/after is not attached to ${dev}'s tcx hook in this direction` : undefined;
    case Errno.EEXIST:
      return 'this program is already attached to that tcx hook';
    case Errno.ESTALE:
      return 'the hook changed since expectedRevision was read; query again';
    case Errno.EPERM:
      return 'tcx needs CAP_NET_ADMIN and CAP_BPF';
    default:
      return undefined;
  }
}

/** Attaches a SCHED_CLS program to `device`'s tcx hook through a bpf_link; close() detaches it. */
export function attachTcx(program: Program, device: DeviceRef, direction: TcDirection, options: TcxOptions = {}): TcxLink {
  return attaching(`attaching "${program.name}" to tcx (${String(direction)} of ${device})`, () => {
    const dir = checkDirection(direction);
    checkSchedCls(program);
    if (options.before && options.after) throw new LinkError('options', 'give before or after, not both');
    const dev = withRoute((client) => resolve(client, device));
    const relative = options.before ?? options.after;
    let flags = options.before ? ProgramAttachFlags.BEFORE : options.after ? ProgramAttachFlags.AFTER : 0;
    if (relative instanceof BpfLink) flags |= ProgramAttachFlags.LINK;
    try {
      const fd = linkCreate({
        progFd: program.fd,
        targetIfindex: dev.index,
        attachType: dir === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS,
        flags,
        relativeFd: relative?.fd,
        expectedRevision: options.expectedRevision,
      });
      return new TcxLink(fd, dev, dir);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      throw new SyscallError(
        `BPF_LINK_CREATE (attach ${programLabel(program)} to tcx ${dir} of ${dev.name})`,
        e.errno,
        undefined,
        tcxHint(e.errno, dev.name, relative !== undefined) ?? '',
      );
    }
  });
}
