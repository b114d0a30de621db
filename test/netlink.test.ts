// The netlink layer: bytes in, values out. Most tests feed it hand-built or mangled bytes; the last
// group asks the real kernel (inside a throwaway namespace) and checks against iproute2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttributeWriter,
  Attributes,
  CLSACT_EGRESS_PARENT,
  CLSACT_INGRESS_PARENT,
  ControlMessageType,
  encodeBpfFilter,
  encodeClsactQdisc,
  encodeIfInfo,
  encodeMessage,
  encodeXdpSetLink,
  ExtAckAttribute,
  filterInfo,
  getLink,
  LinkAttribute,
  listDevices,
  NetlinkClient,
  NetlinkError,
  NetlinkFlags,
  NetlinkParseError,
  NLA_F_NESTED,
  parseAcknowledgement,
  parseFilter,
  parseLinkMessage,
  parseTcMessage,
  parseXdpState,
  resolveDevice,
  RouteMessageType,
  splitMessages,
  TcAttribute,
  TcBpfAttribute,
  XdpAttribute,
  XdpFlags,
  concatBytes,
  encodeTcMessage,
  type NetlinkTransport,
} from '../src/netlink/index.js';
import { NetlinkSocket, SyscallError } from '../src/syscall/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { createTestNetns, type TestNetns } from './support/netns.js';

const u32 = (b: Uint8Array, at: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(at);
const u16 = (b: Uint8Array, at: number): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt16LE(at);

/** An NLMSG_ERROR answering `request`, as the kernel builds it (netlink_ack). */
function errorMessage(request: Uint8Array, errno: number, opts: { extack?: string; offset?: number; capped?: boolean } = {}): Uint8Array {
  const seq = u32(request, 8);
  const capped = opts.capped ?? errno === 0;
  const echoed = capped ? request.subarray(0, 16) : request;
  const body = new Uint8Array(4 + echoed.byteLength);
  Buffer.from(body.buffer).writeInt32LE(-errno, 0);
  body.set(echoed, 4);
  const tlv = new AttributeWriter();
  if (opts.extack !== undefined) tlv.string(ExtAckAttribute.MSG, opts.extack);
  if (opts.offset !== undefined) tlv.u32(ExtAckAttribute.OFFS, opts.offset);
  let flags = capped ? NetlinkFlags.CAPPED : 0;
  if (tlv.length) flags |= NetlinkFlags.ACK_TLVS;
  return encodeMessage({ type: ControlMessageType.ERROR, flags, seq, pid: 0 }, concatBytes(body, tlv.finish()));
}

/** A transport that answers each request with what `respond` returns (one datagram per entry). */
class ScriptedTransport implements NetlinkTransport {
  readonly sent: Uint8Array[] = [];
  #queue: Uint8Array[] = [];
  constructor(private readonly respond: (request: Uint8Array, n: number) => Uint8Array[]) {}
  send(message: Uint8Array): void {
    this.sent.push(message);
    this.#queue.push(...this.respond(message, this.sent.length));
  }
  receive(): Uint8Array {
    const next = this.#queue.shift();
    if (!next) throw new Error('test transport: nothing to receive');
    return next;
  }
}

describe('messages and attributes', () => {
  it('encodes a header and payload padded to 4 bytes, and splits a datagram holding several messages', () => {
    const one = encodeMessage({ type: 0x10, flags: NetlinkFlags.REQUEST, seq: 7, pid: 0 }, Uint8Array.of(1, 2, 3));
    expect(one.byteLength).toBe(20);
    expect(u32(one, 0)).toBe(19); // nlmsg_len excludes the padding
    expect(u16(one, 4)).toBe(0x10);
    expect(u16(one, 6)).toBe(1);
    expect(u32(one, 8)).toBe(7);
    const two = encodeMessage({ type: ControlMessageType.DONE, flags: NetlinkFlags.MULTI, seq: 8, pid: 0 }, new Uint8Array(4));
    const msgs = splitMessages(concatBytes(one, two));
    expect(msgs.map((m) => [m.type, m.seq, m.payload.byteLength, m.offset])).toEqual([
      [0x10, 7, 3, 0],
      [3, 8, 4, 20],
    ]);
    expect([...msgs[0].payload]).toEqual([1, 2, 3]);
  });

  it('writes attributes 4-byte aligned with NLA_F_NESTED on nests, and reads them back by type', () => {
    const bytes = new AttributeWriter()
      .u8(1, 0xab)
      .u16(2, 0x1234)
      .u32(3, 0xdeadbeef)
      .s32(4, -1)
      .string(5, 'veth0')
      .bytes(6, Uint8Array.of(9, 8, 7))
      .nested(7, (n) => n.u32(1, 42).string(2, 'x'))
      .finish();
    // u8: length 5, padded to 8.
    expect(u16(bytes, 0)).toBe(5);
    expect(u16(bytes, 8)).toBe(6);
    const nestAt = Attributes.parse(bytes).get(7)!.offset;
    expect(u16(bytes, nestAt + 2)).toBe(7 | NLA_F_NESTED);
    const a = Attributes.parse(bytes);
    expect(a.u8(1)).toBe(0xab);
    expect(a.u16(2)).toBe(0x1234);
    expect(a.u32(3)).toBe(0xdeadbeef);
    expect(a.s32(4)).toBe(-1);
    expect(a.string(5)).toBe('veth0');
    expect([...a.binary(6)!]).toEqual([9, 8, 7]);
    expect(a.get(7)!.nestedFlag).toBe(true);
    expect(a.nested(7)!.u32(1)).toBe(42);
    expect(a.nested(7)!.string(2)).toBe('x');
    expect(a.u32(99)).toBeUndefined();
  });

  it('builds the RTM_SETLINK XDP payload: ifinfomsg then IFLA_XDP {FD, FLAGS, EXPECTED_FD}', () => {
    const p = encodeXdpSetLink({ ifindex: 5, fd: 11, flags: XdpFlags.DRV_MODE | XdpFlags.REPLACE, expectedFd: 12 });
    expect(Buffer.from(p).readInt32LE(4)).toBe(5);
    const link = parseLinkMessage(p);
    const xdp = link.attributes.nested(LinkAttribute.XDP)!;
    expect(link.attributes.get(LinkAttribute.XDP)!.nestedFlag).toBe(true);
    expect(xdp.s32(XdpAttribute.FD)).toBe(11);
    expect(xdp.u32(XdpAttribute.FLAGS)).toBe(20);
    expect(xdp.s32(XdpAttribute.EXPECTED_FD)).toBe(12);
    const detach = parseLinkMessage(encodeXdpSetLink({ ifindex: 5, fd: -1, flags: XdpFlags.SKB_MODE })).attributes.nested(
      LinkAttribute.XDP,
    )!;
    expect(detach.s32(XdpAttribute.FD)).toBe(-1);
    expect(detach.has(XdpAttribute.EXPECTED_FD)).toBe(false);
  });

  it('reads IFLA_XDP the way the kernel reports one mode and several', () => {
    const state = (build: (w: AttributeWriter) => void) =>
      parseXdpState(Attributes.parse(new AttributeWriter().nested(LinkAttribute.XDP, build).finish()));
    expect(parseXdpState(Attributes.parse(new Uint8Array(0)))).toEqual({ attached: 'none' });
    expect(state((x) => x.u8(XdpAttribute.ATTACHED, 0))).toEqual({ attached: 'none' });
    expect(state((x) => x.u32(XdpAttribute.SKB_PROG_ID, 9).u8(XdpAttribute.ATTACHED, 2).u32(XdpAttribute.PROG_ID, 9))).toEqual({
      attached: 'generic',
      programId: 9,
      genericProgramId: 9,
    });
    expect(state((x) => x.u32(XdpAttribute.DRV_PROG_ID, 4).u32(XdpAttribute.HW_PROG_ID, 5).u8(XdpAttribute.ATTACHED, 4))).toEqual({
      attached: 'multi',
      nativeProgramId: 4,
      offloadProgramId: 5,
    });
  });

  it('builds tc messages: clsact qdisc, a direct-action cls_bpf filter with prio and ETH_P_ALL in network order', () => {
    const q = parseTcMessage(encodeClsactQdisc(3));
    expect(q.header).toMatchObject({ ifindex: 3, handle: 0xffff0000, parent: 0xfffffff1 });
    expect(q.kind).toBe('clsact');
    expect(CLSACT_INGRESS_PARENT).toBe(0xfffffff2);
    expect(CLSACT_EGRESS_PARENT).toBe(0xfffffff3);
    expect(filterInfo(1)).toBe(0x00010300); // htons(ETH_P_ALL) = 0x0300 on little-endian hosts
    const f = encodeBpfFilter({ ifindex: 3, parent: CLSACT_INGRESS_PARENT, priority: 7, handle: 2 }, { fd: 10, name: 'count' });
    const m = parseTcMessage(f);
    expect(m.header).toMatchObject({ ifindex: 3, parent: 0xfffffff2, handle: 2, info: filterInfo(7) });
    expect(m.kind).toBe('bpf');
    const o = m.attributes.nested(TcAttribute.OPTIONS)!;
    expect(o.u32(TcBpfAttribute.FD)).toBe(10);
    expect(o.string(TcBpfAttribute.NAME)).toBe('count');
    expect(o.u32(TcBpfAttribute.FLAGS)).toBe(1);
  });

  it('parses a filter as a dump reports it', () => {
    const payload = concatBytes(
      encodeTcMessage({ ifindex: 4, handle: 1, parent: CLSACT_EGRESS_PARENT, info: filterInfo(3) }),
      new AttributeWriter()
        .string(TcAttribute.KIND, 'bpf')
        .u32(TcAttribute.CHAIN, 0)
        .nested(TcAttribute.OPTIONS, (o) =>
          o
            .string(TcBpfAttribute.NAME, 'count')
            .u32(TcBpfAttribute.FLAGS, 1)
            .bytes(TcBpfAttribute.TAG, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff))
            .u32(TcBpfAttribute.ID, 77),
        )
        .finish(),
    );
    expect(parseFilter(payload)).toEqual({
      ifindex: 4,
      parent: CLSACT_EGRESS_PARENT,
      priority: 3,
      protocol: 3,
      handle: 1,
      kind: 'bpf',
      chain: 0,
      bpf: { programId: 77, name: 'count', directAction: true, tag: '01020304050607ff' },
    });
  });
});

describe('acks and errors', () => {
  const request = encodeMessage(
    { type: RouteMessageType.SETLINK, flags: NetlinkFlags.REQUEST | NetlinkFlags.ACK, seq: 5, pid: 0 },
    encodeIfInfo({ index: 2 }),
  );

  it('reads the error, the echoed request and the ext-ack text and offset, capped or not', () => {
    for (const capped of [false, true]) {
      const [m] = splitMessages(
        errorMessage(request, 95, { extack: 'Underlying driver does not support XDP in native mode', offset: 32, capped }),
      );
      const ack = parseAcknowledgement(m);
      expect(ack.errno).toBe(95);
      expect(ack.request).toMatchObject({ type: RouteMessageType.SETLINK, seq: 5 });
      expect(ack.message).toBe('Underlying driver does not support XDP in native mode');
      expect(ack.offset).toBe(32);
    }
    const ok = parseAcknowledgement(splitMessages(errorMessage(request, 0))[0]);
    expect(ok).toMatchObject({ errno: 0, message: undefined });
  });

  it('skips replies to stale sequence numbers and collects echoes before the ack', () => {
    const t = new ScriptedTransport((req) => {
      const seq = u32(req, 8);
      const stale = errorMessage(encodeMessage({ type: 19, flags: 5, seq: seq - 1, pid: 0 }, new Uint8Array(16)), 16, { extack: 'old' });
      const echo = encodeMessage(
        { type: RouteMessageType.NEWTFILTER, flags: 0, seq, pid: 0 },
        encodeTcMessage({ ifindex: 1, handle: 9, parent: 0, info: 0 }),
      );
      return [stale, concatBytes(echo, errorMessage(req, 0))];
    });
    const client = new NetlinkClient(t, 100);
    const r = client.request(RouteMessageType.NEWTFILTER, NetlinkFlags.ECHO, new Uint8Array(20), { operation: 'test' });
    expect(r.replies).toHaveLength(1);
    expect(parseTcMessage(r.replies[0].payload).header.handle).toBe(9);
    expect(u16(t.sent[0], 6)).toBe(NetlinkFlags.REQUEST | NetlinkFlags.ACK | NetlinkFlags.ECHO);
  });

  it('throws NetlinkError naming the operation, with errno, code, ext-ack text and the hint', () => {
    const t = new ScriptedTransport((req) => [
      errorMessage(req, 17, { extack: "Native and generic XDP can't be active at the same time" }),
    ]);
    const client = new NetlinkClient(t);
    let caught: unknown;
    try {
      client.request(RouteMessageType.SETLINK, 0, new Uint8Array(16), {
        operation: 'attach XDP to veth0 (native)',
        hint: (r) => `hint for ${r.code}`,
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NetlinkError);
    expect(caught).toBeInstanceOf(SyscallError);
    const e = caught as NetlinkError;
    expect(e).toMatchObject({
      errno: 17,
      code: 'EEXIST',
      extack: "Native and generic XDP can't be active at the same time",
      operation: 'attach XDP to veth0 (native)',
    });
    expect(e.message).toMatch(
      /^attach XDP to veth0 \(native\) failed: EEXIST \(17\).*kernel says: "Native and generic XDP can't be active at the same time"; hint: hint for EEXIST$/,
    );
  });

  it('turns a receive timeout into a NetlinkError naming the request', () => {
    const silent: NetlinkTransport = {
      send: () => undefined,
      receive: () => {
        throw new SyscallError('recvfrom(netlink)', 11);
      },
    };
    expect(() =>
      new NetlinkClient(silent).request(RouteMessageType.GETLINK, 0, encodeIfInfo({ index: 1 }), { operation: 'look up device ifindex 1' }),
    ).toThrow(/look up device ifindex 1 failed: EAGAIN.*did not answer within/);
  });

  it('reads a dump across datagrams up to NLMSG_DONE, and asks again when the dump was interrupted', () => {
    let dumps = 0;
    const t = new ScriptedTransport((req) => {
      const seq = u32(req, 8);
      dumps += 1;
      const flags = NetlinkFlags.MULTI | (dumps === 1 ? NetlinkFlags.DUMP_INTR : 0);
      const item = (i: number) => encodeMessage({ type: RouteMessageType.NEWLINK, flags, seq, pid: 0 }, encodeIfInfo({ index: i }));
      const done = encodeMessage({ type: ControlMessageType.DONE, flags: NetlinkFlags.MULTI, seq, pid: 0 }, new Uint8Array(4));
      return [concatBytes(item(1), item(2)), concatBytes(item(3), done)];
    });
    const got = new NetlinkClient(t).dump(RouteMessageType.GETLINK, encodeIfInfo({}), { operation: 'list' });
    expect(dumps).toBe(2);
    expect(got.map((m) => parseLinkMessage(m.payload).info.index)).toEqual([1, 2, 3]);
    expect(u16(t.sent[0], 6)).toBe(NetlinkFlags.REQUEST | NetlinkFlags.DUMP);
  });
});

describe('malformed bytes', () => {
  const parsers: [string, (b: Uint8Array) => unknown][] = [
    ['splitMessages', splitMessages],
    ['Attributes.parse', (b) => Attributes.parse(b)],
    [
      'parseLinkMessage',
      (b) => {
        const l = parseLinkMessage(b);
        return parseXdpState(l.attributes);
      },
    ],
    ['parseFilter', parseFilter],
    ['parseAcknowledgement', (b) => splitMessages(b).map(parseAcknowledgement)],
  ];
  const good = [
    errorMessage(encodeMessage({ type: 19, flags: 5, seq: 1, pid: 0 }, encodeXdpSetLink({ ifindex: 2, fd: 3, flags: 2 })), 22, {
      extack: 'bad',
      offset: 40,
      capped: false,
    }),
    encodeXdpSetLink({ ifindex: 2, fd: 3, flags: 2, expectedFd: 4 }),
    encodeBpfFilter({ ifindex: 2, parent: CLSACT_INGRESS_PARENT, priority: 1, handle: 1 }, { fd: 3, name: 'n' }),
  ];

  it('throws NetlinkParseError, never TypeError or RangeError, on truncated, corrupted and random input', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const inputs: Uint8Array[] = [];
    for (const g of good) {
      for (let cut = 0; cut < g.byteLength; cut++) inputs.push(g.subarray(0, cut));
      for (let i = 0; i < 200; i++) {
        const c = Uint8Array.from(g);
        for (let k = 0; k < 3; k++) c[rand(c.byteLength)] = rand(256);
        inputs.push(c);
      }
    }
    for (let i = 0; i < 300; i++) inputs.push(Uint8Array.from({ length: rand(64) }, () => rand(256)));
    let parseErrors = 0;
    for (const input of inputs) {
      for (const [name, parse] of parsers) {
        try {
          parse(input);
        } catch (e) {
          if (!(e instanceof NetlinkParseError)) throw new Error(`${name} threw ${String(e)} on ${Buffer.from(input).toString('hex')}`);
          parseErrors += 1;
        }
      }
    }
    expect(parseErrors).toBeGreaterThan(100);
  });

  it('says what was wrong and where', () => {
    expect(() => Attributes.parse(Uint8Array.of(8, 0, 1, 0, 0))).toThrow(/attribute 1 claims 8 bytes but 5 remain \(at byte 0\)/);
    expect(() => Attributes.parse(new AttributeWriter().u16(1, 5).finish()).u32(1)).toThrow(NetlinkParseError);
    expect(() => splitMessages(Uint8Array.of(1, 2, 3))).toThrow(/too few for a header/);
  });
});

describe.runIf(need(isRoot && hasCommand('ip'), 'netlink device tests need root and iproute2'))('devices, from the kernel', () => {
  let ns: TestNetns;
  beforeAll(() => {
    ns = createTestNetns();
  });
  afterAll(() => ns?.remove());

  it('resolves names and ifindexes like ip link does, and lists every device', () => {
    const oracle = JSON.parse(ns.ip('-j', 'link', 'show')) as { ifindex: number; ifname: string }[];
    ns.run(() => {
      using socket = new NetlinkSocket();
      const client = new NetlinkClient(socket);
      for (const d of oracle) {
        expect(resolveDevice(client, d.ifname)).toEqual({ index: d.ifindex, name: d.ifname });
        expect(resolveDevice(client, d.ifindex)).toEqual({ index: d.ifindex, name: d.ifname });
      }
      expect(listDevices(client).sort((x, y) => x.index - y.index)).toEqual(oracle.map((d) => ({ index: d.ifindex, name: d.ifname })));
      expect(getLink(client, 'lo').info.deviceType).toBe(772); // ARPHRD_LOOPBACK
    });
  });

  it('says plainly when there is no such device', () => {
    ns.run(() => {
      using socket = new NetlinkSocket();
      const client = new NetlinkClient(socket);
      expect(() => resolveDevice(client, 'nosuchdev0')).toThrow(/look up device "nosuchdev0" failed: ENODEV.*no device named "nosuchdev0"/);
      expect(() => resolveDevice(client, 99999)).toThrow(/no device with ifindex 99999/);
      expect(() => resolveDevice(client, 'bad name')).toThrow(/bad device name/);
      expect(() => resolveDevice(client, 0)).toThrow(/bad ifindex 0/);
    });
  });
});
