// Socket maps: programs that run on the sockets held in a SOCKMAP or SOCKHASH, attached to the map
// itself through a bpf_link (kernel 6.10+; BPF_PROG_ATTACH before that). sk_msg runs on every
// sendmsg of a socket in the map and may redirect the data to another socket; sk_skb runs on
// received data: the stream parser cuts the byte stream into messages, the stream verdict (or the
// verdict without a parser) passes, drops or redirects each one. And sk_reuseport, which picks the
// socket of a SO_REUSEPORT group that gets a new connection or datagram.
import { dupFd, linkCreate, OwnedFd, progAttach, progDetach, setsockoptInt, SyscallError } from '../syscall/index.js';
import { AttachType, MapType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, Link, LinkError, attaching } from './link.js';

/** Which hook of a sockmap or sockhash a program attaches to. */
export type SockMapProgramKind = 'sk_msg' | 'stream_parser' | 'stream_verdict' | 'skb_verdict';

const KINDS: Record<SockMapProgramKind, { attachType: number; programType: number; typeName: string }> = {
  sk_msg: { attachType: AttachType.SK_MSG_VERDICT, programType: ProgramType.SK_MSG, typeName: 'SK_MSG' },
  stream_parser: { attachType: AttachType.SK_SKB_STREAM_PARSER, programType: ProgramType.SK_SKB, typeName: 'SK_SKB' },
  stream_verdict: { attachType: AttachType.SK_SKB_STREAM_VERDICT, programType: ProgramType.SK_SKB, typeName: 'SK_SKB' },
  skb_verdict: { attachType: AttachType.SK_SKB_VERDICT, programType: ProgramType.SK_SKB, typeName: 'SK_SKB' },
};

interface MapLike {
  readonly fd: number;
  readonly type: number;
  readonly name: string;
}

/** A program attached to a socket map; closing it detaches. */
export class SockMapLink extends BpfLink {
  readonly kind: SockMapProgramKind;
  /** Takes ownership of sockmap link `fd`; attachSockMap makes these. */
  constructor(fd: number, kind: SockMapProgramKind, mapName: string) {
    super(fd, `${kind}/sockmap "${mapName}"`);
    this.kind = kind;
  }
}

/**
 * A program attached to a socket map with BPF_PROG_ATTACH (kernels before 6.10): the map holds it
 * until close() detaches it or the map is freed; it does not die with the process while the map lives.
 */
export class SockMapAttachment extends Link {
  readonly kind: SockMapProgramKind;
  // Duplicates of the map's and the program's fds, owned here: detaching needs both, and the
  // caller's numbers may be closed (and reused by other objects) before this attachment is.
  readonly #map: OwnedFd;
  readonly #program: OwnedFd;
  readonly #attachType: number;
  /** Wraps a BPF_PROG_ATTACH attachment of `programFd` to map `mapFd` (both dup'd, the caller keeps its own); attachSockMap makes these. */
  constructor(mapFd: number, programFd: number, kind: SockMapProgramKind, mapName: string) {
    super(`${kind}/sockmap "${mapName}" (prog_attach)`);
    this.kind = kind;
    this.#map = new OwnedFd(dupFd(mapFd), `socket map of ${this.target}`, this);
    try {
      this.#program = new OwnedFd(dupFd(programFd), `program of ${this.target}`, this);
    } catch (e) {
      this.#map.close();
      throw e;
    }
    this.#attachType = KINDS[kind].attachType;
  }

  protected release(): void {
    try {
      progDetach(this.#map.value, this.#attachType, this.#program.value);
    } catch (e) {
      // Detached already (the map freed its programs): nothing is left to undo.
      if (!(e instanceof SyscallError) || (e.code !== 'ENOENT' && e.code !== 'EINVAL')) throw e;
    } finally {
      this.#program.close();
      this.#map.close();
    }
  }
}

/** Options of attachSockMap. */
export interface SockMapAttachOptions {
  /** 'link' (default): a bpf_link, kernel 6.10+; 'attach': BPF_PROG_ATTACH, for older kernels. */
  via?: 'link' | 'attach';
}

export function attachSockMap(
  program: Program,
  map: MapLike,
  kind: SockMapProgramKind,
  options: SockMapAttachOptions & { via: 'attach' },
): SockMapAttachment;
export function attachSockMap(
  program: Program,
  map: MapLike,
  kind: SockMapProgramKind,
  options?: SockMapAttachOptions & { via?: 'link' },
): SockMapLink;
/**
 * Attaches `program` to the SOCKMAP or SOCKHASH `map` as `kind`: it then runs for every socket in
 * the map. A map has at most one program of each kind; stream_verdict and skb_verdict exclude each other.
 */
export function attachSockMap(
  program: Program,
  map: MapLike,
  kind: SockMapProgramKind,
  options: SockMapAttachOptions = {},
): SockMapLink | SockMapAttachment {
  return attaching(`attaching ${kind} program "${program.name}" to socket map "${map.name}"`, () => {
    const k = KINDS[kind];
    if (!k)
      throw new LinkError(
        'options',
        `bad socket map program kind ${JSON.stringify(kind)}: use ${Object.keys(KINDS)
          .map((x) => `'${x}'`)
          .join(', ')}`,
      );
    if (map.type !== MapType.SOCKMAP && map.type !== MapType.SOCKHASH) {
      throw new LinkError(
        'target',
        `map "${map.name}" has type ${map.type}; ${kind} programs attach to a SOCKMAP (${MapType.SOCKMAP}) or SOCKHASH (${MapType.SOCKHASH})`,
      );
    }
    if (program.type !== k.programType) {
      throw new LinkError(
        'program',
        `program "${program.name}" has type ${program.type}; a ${kind} program is ${k.typeName} (${k.programType})`,
      );
    }
    if (options.via !== undefined && options.via !== 'link' && options.via !== 'attach') {
      throw new LinkError(
        'options',
        `bad socket map attach method ${JSON.stringify(options.via)}: use 'link' (6.10+) or 'attach' (BPF_PROG_ATTACH)`,
      );
    }
    if (options.via === 'attach') {
      try {
        progAttach({ targetFd: map.fd, progFd: program.fd, attachType: k.attachType });
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        throw new SyscallError(
          `BPF_PROG_ATTACH (attach ${kind} program "${program.name}" to socket map "${map.name}")`,
          e.errno,
          undefined,
          e.code === 'EBUSY' ? 'stream_verdict and skb_verdict exclude each other on one map' : undefined,
        );
      }
      try {
        return new SockMapAttachment(map.fd, program.fd, kind, map.name);
      } catch (e) {
        // No fd left to hold the map and program by (EMFILE): undo the attachment rather than leave it behind.
        progDetach(map.fd, k.attachType, program.fd);
        throw e;
      }
    }
    let fd: number;
    try {
      fd = linkCreate({ progFd: program.fd, targetFd: map.fd, attachType: k.attachType });
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const hint =
        e.code === 'EBUSY'
          ? `map "${map.name}" already has a ${kind === 'skb_verdict' || kind === 'stream_verdict' ? 'verdict' : kind} program; close its link first (stream_verdict and skb_verdict exclude each other)`
          : e.code === 'EINVAL'
            ? "socket map links need Linux 6.10 or later; on older kernels attach with { via: 'attach' }"
            : undefined;
      throw new SyscallError(
        `BPF_LINK_CREATE (attach ${kind} program "${program.name}" to socket map "${map.name}")`,
        e.errno,
        undefined,
        hint,
      );
    }
    return new SockMapLink(fd, kind, map.name);
  });
}

const SOL_SOCKET = 1;
const SO_ATTACH_REUSEPORT_EBPF = 52;
const SO_DETACH_REUSEPORT_BPF = 68;

/** An SK_REUSEPORT program attached to a SO_REUSEPORT group through one of its sockets. */
export class ReuseportAttachment extends Link {
  readonly #socketFd: number;
  /** Wraps an attachment made through `socketFd` (the socket stays the caller's); attachReuseport makes these. */
  constructor(socketFd: number) {
    super(`sk_reuseport/socket fd ${socketFd}`);
    this.#socketFd = socketFd;
  }

  protected release(): void {
    try {
      setsockoptInt(this.#socketFd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, 0, 'setsockopt(SO_DETACH_REUSEPORT_BPF)');
    } catch (e) {
      // The socket (and with it the group's program, once its last socket goes) may be closed already.
      if (!(e instanceof SyscallError) || (e.code !== 'EBADF' && e.code !== 'ENOENT' && e.code !== 'ENOTSOCK')) throw e;
    }
  }
}

/**
 * Attaches an SK_REUSEPORT program to the SO_REUSEPORT group of socket `socketFd` (set on one
 * socket, it applies to the whole group). The program picks a socket with
 * bpf_sk_select_reuseport from a REUSEPORT_SOCKARRAY.
 */
export function attachReuseport(program: Program, socketFd: number): ReuseportAttachment {
  if (program.type !== ProgramType.SK_REUSEPORT) {
    throw new LinkError(
      'program',
      `program "${program.name}" has type ${program.type}; attaching to a SO_REUSEPORT group needs SK_REUSEPORT (${ProgramType.SK_REUSEPORT})`,
    );
  }
  const progFd = program.fd; // a closed Program throws its own ProgramError (kind 'closed')
  try {
    setsockoptInt(socketFd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, progFd, 'setsockopt(SO_ATTACH_REUSEPORT_EBPF)');
  } catch (e) {
    throw new LinkError(
      'attach',
      `attaching sk_reuseport program "${program.name}" to socket fd ${socketFd} failed: ${(e as Error).message}` +
        ((e as SyscallError).code === 'EINVAL' ? '; the socket needs SO_REUSEPORT set before bind' : ''),
      { cause: e },
    );
  }
  return new ReuseportAttachment(socketFd);
}
