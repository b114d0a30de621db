// Network namespace hooks: sk_lookup (picks the listening socket for a new connection or datagram,
// before the kernel's own lookup) and flow_dissector (replaces the kernel's packet header parser),
// attached to a whole network namespace through a bpf_link that holds the namespace.
import { closeFd, linkCreate, openPath, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError, attaching } from './link.js';

/** Program kinds attached to a network namespace. */
export type NetnsHook = 'sk_lookup' | 'flow_dissector';

/** A program attached to a network namespace (bpf_link type netns). */
export class NetnsLink extends BpfLink {
  readonly hook: NetnsHook;
  /** Takes ownership of netns link `fd` for `hook`; `where` names the namespace in messages. */
  constructor(fd: number, hook: NetnsHook, where: string) {
    super(fd, `${hook}/netns ${where}`);
    this.hook = hook;
  }
}

/**
 * Attaches an SK_LOOKUP or FLOW_DISSECTOR program to the network namespace at `netns` (a path such
 * as /var/run/netns/NAME or /proc/self/ns/net, or an open namespace fd). Several sk_lookup links
 * may share a namespace (they run in order); a namespace has one flow dissector.
 */
export function attachNetns(program: Program, netns: string | number): NetnsLink {
  return attaching(`attaching "${program.name}" to a network namespace`, () => {
    let hook: NetnsHook;
    let attachType: number;
    if (program.type === ProgramType.SK_LOOKUP) {
      hook = 'sk_lookup';
      attachType = AttachType.SK_LOOKUP;
    } else if (program.type === ProgramType.FLOW_DISSECTOR) {
      hook = 'flow_dissector';
      attachType = AttachType.FLOW_DISSECTOR;
    } else {
      throw new LinkError(
        'program',
        `program "${program.name}" has type ${program.type}; a network namespace takes SK_LOOKUP (${ProgramType.SK_LOOKUP}) or FLOW_DISSECTOR (${ProgramType.FLOW_DISSECTOR}) programs`,
      );
    }
    const where = typeof netns === 'number' ? `fd ${netns}` : netns;
    const fd = typeof netns === 'number' ? netns : openPath(netns);
    try {
      return new NetnsLink(linkCreate({ progFd: program.fd, targetFd: fd, attachType }), hook, where);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const hint =
        e.code === 'EINVAL' && hook === 'sk_lookup'
          ? 'an sk_lookup program must be loaded with expectedAttachType SK_LOOKUP (36)'
          : e.code === 'EEXIST' && hook === 'flow_dissector'
            ? "the namespace already has a flow dissector (a namespace has one; the root namespace's also blocks others)"
            : undefined;
      throw new SyscallError(`BPF_LINK_CREATE (attach ${hook} program "${program.name}" to netns ${where})`, e.errno, undefined, hint);
    } finally {
      if (typeof netns !== 'number') closeFd(fd);
    }
  });
}
