// Which programs run at a hook: BPF_PROG_QUERY for cgroups, tcx (by device) and network
// namespaces (flow dissector, sk_lookup), as `bpftool cgroup show`, `bpftool net` do.
import { closeFd, openPath, progQuery, SyscallError } from '../syscall/index.js';
import { resolveDevice } from '../netlink/index.js';
import { withRoute } from '../links/netlink-session.js';
import { AttachType } from '../uapi/bpf.js';
import { KernelObjectError } from './errors.js';

/** Name of an attach type: a key of AttachType. */
export type AttachTypeName = keyof typeof AttachType;

/** Where to query: a cgroup v2 directory, a device (tcx), or a network namespace file. */
export type QueryTarget = { cgroup: string } | { device: string | number } | { netns: string };

/** Options of a program query. */
export interface QueryOptions {
  /** Cgroups: the programs that take effect there, inherited ones included (BPF_F_QUERY_EFFECTIVE). */
  effective?: boolean;
}

/** The programs attached at a hook (BPF_PROG_QUERY). */
export interface ProgramQuery {
  /** Program ids in run order. */
  programIds: number[];
  /** Per program, the flags it was attached with (cgroups; zeros elsewhere). */
  programAttachFlags: number[];
  /** Per program, the id of the bpf_link that holds it, or 0 (tcx, kernel 6.6+). */
  linkIds: number[];
  /** The hook's attach flags (cgroups). */
  attachFlags: number;
  /** The hook's revision, for tcx's expectedRevision (0n elsewhere). */
  revision: bigint;
}

const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const BPF_F_QUERY_EFFECTIVE = 1;

function attachTypeNumber(t: number | AttachTypeName): number {
  if (typeof t === 'number') return t;
  const v = AttachType[t];
  if (v === undefined)
    throw new KernelObjectError(`unknown attach type "${t}"; known: ${Object.keys(AttachType).join(', ')}`, 'BAD_TARGET');
  return v;
}

function describe(target: QueryTarget): string {
  if ('cgroup' in target) return `cgroup ${target.cgroup}`;
  if ('device' in target) return `device ${target.device}`;
  return `network namespace ${target.netns}`;
}

/** Lists the programs attached at `attachType` on `target`. */
export function queryPrograms(target: QueryTarget, attachType: number | AttachTypeName, options: QueryOptions = {}): ProgramQuery {
  const type = attachTypeNumber(attachType);
  const flags = options.effective ? BPF_F_QUERY_EFFECTIVE : 0;
  const where = describe(target);
  let fd = -1;
  let targetFd: number;
  try {
    if ('device' in target) {
      targetFd = typeof target.device === 'number' ? target.device : withRoute((c) => resolveDevice(c, target.device).index);
    } else if ('cgroup' in target) {
      fd = targetFd = openPath(target.cgroup, O_RDONLY | O_DIRECTORY);
    } else if ('netns' in target) {
      fd = targetFd = openPath(target.netns, O_RDONLY);
    } else {
      throw new KernelObjectError('queryPrograms needs { cgroup: path }, { device: name or ifindex } or { netns: path }', 'BAD_TARGET');
    }
  } catch (e) {
    if (e instanceof KernelObjectError) throw e;
    throw new KernelObjectError(`cannot open ${where}: ${(e as Error).message}`, (e as { code?: string }).code ?? 'BAD_TARGET', {
      cause: e,
    });
  }
  try {
    const r = progQuery(targetFd, type, 64, flags);
    return {
      programIds: r.ids,
      programAttachFlags: r.programAttachFlags,
      linkIds: r.linkIds,
      attachFlags: r.attachFlags,
      revision: r.revision,
    };
  } catch (e) {
    if (e instanceof SyscallError) {
      throw new KernelObjectError(
        `querying ${where} at attach type ${type} failed: ${e.message}` +
          (e.code === 'EINVAL' ? ' (the attach type does not belong to this kind of target, or this kernel cannot query it)' : ''),
        e.code,
        { cause: e },
      );
    }
    throw e;
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}
