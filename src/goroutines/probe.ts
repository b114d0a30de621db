// The uprobe program on runtime.casgstatus, assembled at run time from the target's facts: where
// the arguments are (register or stack ABI) and where goid sits in runtime.g.
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, Size, type Instruction } from '../asm/index.js';
import type { CasgstatusAbi } from '../go/index.js';
import { RECORD } from './record.js';

/** Config map value: u32 pid filter (0 = any), u32 state mask (0 = all). */
export const CONFIG = { size: 8, pid: 0, stateMask: 4 } as const;
/** Stats map keys. */
export const STATS = { lost: 0, goidReadFailures: 1 } as const;

export interface ProbeFacts {
  abi: CasgstatusAbi;
  goidOffset: number;
}

const REC = -40; // record on the stack: r10-40 .. r10-8
const KEY = -4;
const ARGS = -64; // stack ABI: 16 bytes copied from the Go stack

/** Builds the probe. Maps by name: "events" (ring buffer), "config" (array), "stats" (array). */
export function buildCasgstatusProbe(facts: ProbeFacts): Instruction[] {
  const { abi, goidOffset } = facts;
  if (abi.kind === 'unsupported') throw new Error(abi.reason);
  const b = new ProgramBuilder()
    .mov64Reg(R6, R1)
    .call('get_current_pid_tgid')
    .mov64Reg(R7, R0)
    // Filter by process in the kernel: a config pid of 0 means any.
    .st(Size.W, R10, KEY, 0)
    .ldMapFd(R1, 'config').mov64Reg(R2, R10).add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Reg(R8, R0)
    .ldx(Size.W, R1, R8, CONFIG.pid)
    .jeqImm(R1, 0, 'any_pid')
    .mov64Reg(R2, R7).rsh64Imm(R2, 32)
    .jneReg(R1, R2, 'out')
    .label('any_pid');
  if (abi.kind === 'registers') {
    b.ldx(Size.DW, R9, R6, abi.gp.ptRegsOffset)
      .ldx(Size.W, R1, R6, abi.old.ptRegsOffset) // low 32 bits (little-endian)
      .stx(Size.W, R10, REC + RECORD.oldState, R1)
      .ldx(Size.W, R1, R6, abi.new.ptRegsOffset)
      .stx(Size.W, R10, REC + RECORD.newState, R1);
  } else {
    // ABI0: gp, oldval, newval on the goroutine stack above the return address.
    b.ldx(Size.DW, R3, R6, abi.sp.ptRegsOffset).add64Imm(R3, abi.gpSpOffset)
      .mov64Reg(R1, R10).add64Imm(R1, ARGS).mov64Imm(R2, 16)
      .call('probe_read_user')
      .jneImm(R0, 0, 'out')
      .ldx(Size.DW, R9, R10, ARGS)
      .ldx(Size.W, R1, R10, ARGS + 8).stx(Size.W, R10, REC + RECORD.oldState, R1)
      .ldx(Size.W, R1, R10, ARGS + 12).stx(Size.W, R10, REC + RECORD.newState, R1);
  }
  // Filter by new state: bit (state & 0xf) of the mask; the _Gscan bit is ignored.
  b.ldx(Size.W, R1, R8, CONFIG.stateMask)
    .jeqImm(R1, 0, 'any_state')
    .ldx(Size.W, R3, R10, REC + RECORD.newState).and64Imm(R3, 0xf)
    .mov64Imm(R4, 1).lsh64Reg(R4, R3)
    .and64Reg(R4, R1)
    .jeqImm(R4, 0, 'out')
    .label('any_state')
    // goid = *(int64 *)(gp + goidOffset), read from the target's memory.
    .mov64Reg(R1, R10).add64Imm(R1, REC + RECORD.goid).mov64Imm(R2, 8)
    .mov64Reg(R3, R9).add64Imm(R3, goidOffset)
    .call('probe_read_user')
    .jeqImm(R0, 0, 'have_goid')
    .st(Size.DW, R10, REC + RECORD.goid, 0);
  count(b, STATS.goidReadFailures, 'have_goid');
  b.label('have_goid')
    .mov64Reg(R1, R7).rsh64Imm(R1, 32).stx(Size.W, R10, REC + RECORD.pid, R1)
    .stx(Size.W, R10, REC + RECORD.tid, R7)
    .call('ktime_get_ns')
    .stx(Size.DW, R10, REC + RECORD.timestamp, R0)
    .ldMapFd(R1, 'events').mov64Reg(R2, R10).add64Imm(R2, REC).mov64Imm(R3, RECORD.size).mov64Imm(R4, 0)
    .call('ringbuf_output')
    .jeqImm(R0, 0, 'out');
  count(b, STATS.lost, 'out');
  return b.label('out').mov64Imm(R0, 0).exit().build();
}

/** stats[key] += 1; the caller places label `next` right after. */
function count(b: ProgramBuilder, key: number, next: string): void {
  b.st(Size.W, R10, KEY, key)
    .ldMapFd(R1, 'stats').mov64Reg(R2, R10).add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, next)
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1);
}
