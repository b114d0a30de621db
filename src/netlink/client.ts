// Request/response over a netlink transport: one request at a time, matched by sequence number.
// The transport does the I/O (NetlinkSocket in src/syscall); this file only builds and reads bytes.
import { parseAcknowledgement, parseDone, type Acknowledgement } from './acknowledgement.js';
import { NetlinkError, refusal, type KernelRefusal } from './errors.js';
import { ControlMessageType, encodeMessage, NetlinkFlags, splitMessages, type NetlinkMessage } from './message.js';
import { Errno } from '../errors/errno.js';

/** What the client needs from a socket: send one datagram, receive one (throwing on timeout). */
export interface NetlinkTransport {
  /** Sends one datagram. */
  send(message: Uint8Array): void;
  /** Receives one datagram; throws on timeout. */
  receive(): Uint8Array;
}

/** Names the request in errors and may add a hint from what the kernel said. */
export interface RequestContext {
  /** For example `attach XDP program "count" to veth0 (native, netlink)`. */
  operation: string;
  /** Given the kernel's refusal, a hint on the fix to add to the NetlinkError, or undefined for none. */
  hint?: (refusal: KernelRefusal) => string | undefined;
}

/** What a request that the kernel acknowledged returned. */
export interface RequestResult {
  /** Messages the kernel sent for this request before its ack (echoes, answers to GET). */
  replies: NetlinkMessage[];
  /** Text the kernel attached to a successful ack (a warning), if any. */
  warning: string | undefined;
}

const DUMP_RETRIES = 5;

/** Receives one datagram; a receive timeout becomes a NetlinkError naming the request. */
function receiveFor(transport: NetlinkTransport, context: RequestContext): Uint8Array {
  try {
    return transport.receive();
  } catch (e) {
    const errno = (e as { errno?: unknown } | null)?.errno;
    if (errno === Errno.EAGAIN)
      throw new NetlinkError(context.operation, Errno.EAGAIN, undefined, "the kernel did not answer within the socket's receive timeout");
    throw e;
  }
}

/** Sends netlink requests over a transport and matches replies and acks to them by sequence number. */
export class NetlinkClient {
  readonly #transport: NetlinkTransport;
  #seq: number;

  /** `firstSequence` is the sequence number the first request follows (by default derived from the clock). */
  constructor(transport: NetlinkTransport, firstSequence = (Date.now() % 0x7fff_0000) + 1) {
    this.#transport = transport;
    this.#seq = firstSequence;
  }

  #nextSeq(): number {
    this.#seq = this.#seq >= 0xffff_fff0 ? 1 : this.#seq + 1;
    return this.#seq;
  }

  /**
   * Sends `payload` as message `type` with NLM_F_REQUEST|NLM_F_ACK plus `flags`, then reads until
   * the kernel's ack or error for this sequence number. Replies to earlier requests (stale sequence
   * numbers) are skipped. Throws NetlinkError when the kernel refuses.
   */
  request(type: number, flags: number, payload: Uint8Array, context: RequestContext): RequestResult {
    const seq = this.#nextSeq();
    this.#transport.send(encodeMessage({ type, flags: NetlinkFlags.REQUEST | NetlinkFlags.ACK | flags, seq, pid: 0 }, payload));
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const msg of splitMessages(receiveFor(this.#transport, context))) {
        if (msg.seq !== seq) continue;
        if (msg.type === ControlMessageType.ERROR || msg.type === ControlMessageType.DONE) {
          const ack = msg.type === ControlMessageType.ERROR ? parseAcknowledgement(msg) : parseDone(msg);
          if (ack.errno !== 0) throw refuse(context, ack);
          return { replies, warning: ack.message };
        }
        if (msg.type === ControlMessageType.NOOP || msg.type === ControlMessageType.OVERRUN) continue;
        replies.push(msg);
      }
    }
  }

  /**
   * A dump (NLM_F_DUMP): every message for this sequence number up to NLMSG_DONE. A dump the kernel
   * marks inconsistent (NLM_F_DUMP_INTR, the table changed meanwhile) is asked for again.
   */
  dump(type: number, payload: Uint8Array, context: RequestContext, flags = 0): NetlinkMessage[] {
    for (let attempt = 1; ; attempt++) {
      const seq = this.#nextSeq();
      this.#transport.send(encodeMessage({ type, flags: NetlinkFlags.REQUEST | NetlinkFlags.DUMP | flags, seq, pid: 0 }, payload));
      const replies: NetlinkMessage[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        for (const msg of splitMessages(receiveFor(this.#transport, context))) {
          if (msg.seq !== seq || done) continue;
          if (msg.flags & NetlinkFlags.DUMP_INTR) interrupted = true;
          if (msg.type === ControlMessageType.ERROR || msg.type === ControlMessageType.DONE) {
            const ack = msg.type === ControlMessageType.ERROR ? parseAcknowledgement(msg) : parseDone(msg);
            if (ack.errno !== 0) throw refuse(context, ack);
            done = true;
          } else if (msg.type !== ControlMessageType.NOOP && msg.type !== ControlMessageType.OVERRUN) {
            replies.push(msg);
          }
        }
      }
      if (!interrupted) return replies;
      if (attempt >= DUMP_RETRIES) {
        throw new NetlinkError(
          context.operation,
          4 /* EINTR */,
          undefined,
          `the kernel's table kept changing during the dump (NLM_F_DUMP_INTR ${DUMP_RETRIES} times); try again`,
        );
      }
    }
  }
}

function refuse(context: RequestContext, ack: Acknowledgement): NetlinkError {
  const r = refusal(ack.errno, ack.message, ack.offset);
  return new NetlinkError(context.operation, ack.errno, ack.message, context.hint?.(r), ack.offset);
}
