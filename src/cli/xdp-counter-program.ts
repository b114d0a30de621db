// The XDP packet counter of examples/xdp-modes.ts, built with the assembler. Its C twin is
// bpf/xdp_counter.c; test/xdp-counter.test.ts checks that both count the same.
import { ProgramBuilder, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, Size, type Register } from '../asm/index.js';

export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const VERDICTS = ['aborted', 'drop', 'pass', 'tx', 'redirect'] as const;
export const L3 = { ipv4: 5, ipv6: 6, arp: 7, other: 8 } as const;
export const L4 = { tcp: 9, udp: 10, icmp: 11, other: 12 } as const;
export const SLOTS = 16;

/**
 * counters[verdict]++, counters[ethertype class]++, counters[IP protocol class]++ (IP only), then
 * return config[0] (XDP_PASS when unset). Per-CPU slots: no atomics needed.
 */
export function countingProgram(): ProgramBuilder {
  const b = new ProgramBuilder();
  let n = 0;
  const count = (reg: Register): void => {
    const skip = `skip${n++}`;
    b.stx(Size.W, R10, -8, reg)
      .mov64Reg(R2, R10)
      .add64Imm(R2, -8)
      .ldMapFd(R1, 'counters')
      .call('map_lookup_elem')
      .jeqImm(R0, 0, skip)
      .ldx(Size.DW, R1, R0, 0)
      .add64Imm(R1, 1)
      .stx(Size.DW, R0, 0, R1)
      .label(skip);
  };
  b.mov64Reg(R6, R1) //                               r6 = struct xdp_md *
    // r7 = the verdict to return: config[0], XDP_PASS by default, clamped to a valid action.
    .st(Size.W, R10, -4, 0)
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .ldMapFd(R1, 'config')
    .call('map_lookup_elem')
    .mov64Imm(R7, XDP_PASS)
    .jeqImm(R0, 0, 'parse')
    .ldx(Size.W, R7, R0, 0)
    .jleImm(R7, 4, 'parse')
    .mov64Imm(R7, XDP_PASS)
    .label('parse')
    .mov64Imm(R8, L3.other) //                        r8 = ethertype class
    .mov64Imm(R9, 0) //                               r9 = IP protocol class (0: not IP)
    .ldx(Size.W, R2, R6, 0) //                        r2 = data
    .ldx(Size.W, R3, R6, 4) //                        r3 = data_end
    .mov64Reg(R4, R2)
    .add64Imm(R4, 14)
    .jgtReg(R4, R3, 'count') //                       shorter than an Ethernet header
    .ldx(Size.H, R5, R2, 12) //                       ethertype, network order read little-endian
    .jeqImm(R5, 0x0008, 'ipv4') //                    0x0800
    .jeqImm(R5, 0xdd86, 'ipv6') //                    0x86dd
    .jneImm(R5, 0x0608, 'count') //                   0x0806
    .mov64Imm(R8, L3.arp)
    .ja('count')
    .label('ipv4')
    .mov64Imm(R8, L3.ipv4)
    .mov64Reg(R4, R2)
    .add64Imm(R4, 14 + 20)
    .jgtReg(R4, R3, 'count')
    .ldx(Size.B, R5, R2, 14 + 9) //                   IPv4 protocol
    .ja('l4')
    .label('ipv6')
    .mov64Imm(R8, L3.ipv6)
    .mov64Reg(R4, R2)
    .add64Imm(R4, 14 + 40)
    .jgtReg(R4, R3, 'count')
    .ldx(Size.B, R5, R2, 14 + 6) //                   IPv6 next header (extension headers count as other)
    .label('l4')
    .mov64Imm(R9, L4.other)
    .jneImm(R5, 6, 'not_tcp')
    .mov64Imm(R9, L4.tcp)
    .label('not_tcp')
    .jneImm(R5, 17, 'not_udp')
    .mov64Imm(R9, L4.udp)
    .label('not_udp')
    .jneImm(R5, 1, 'not_icmp')
    .mov64Imm(R9, L4.icmp)
    .label('not_icmp')
    .jneImm(R5, 58, 'count')
    .mov64Imm(R9, L4.icmp)
    .label('count');
  count(R7);
  count(R8);
  b.jeqImm(R9, 0, 'done');
  count(R9);
  b.label('done').mov64Reg(R0, R7).exit();
  return b;
}
