// The uprobe program on runtime.casgstatus, assembled at run time from the target's facts: where
// the arguments are (register or stack ABI) and where goid sits in runtime.g.
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, Size, type Instruction } from '../asm/index.js';
import type { CasgstatusAbi } from '../go/index.js';
import { RECORD } from './record.js';

/**
 * Config map value (16 bytes): u32 pid filter (0 = any), u32 state mask (0 = all; a transition
 * passes when its old OR its new state is in the mask, so every interval of a chosen state has
 * both its start and its end), u32 wake-up threshold in bytes (0 = wake the reader per record).
 */
export const CONFIG = { size: 16, pid: 0, stateMask: 4, wakeupBytes: 8 } as const;
/** Stats map keys: records lost (ring full), goid reads that failed, records that passed the filters. */
export const STATS = { lost: 0, goidReadFailures: 1, records: 2 } as const;
export const STATS_ENTRIES = 3;

/** bpf_ringbuf_output flags and bpf_ringbuf_query's "available data" selector (uapi bpf.h). */
const BPF_RB_NO_WAKEUP = 1;
const BPF_RB_FORCE_WAKEUP = 2;
const BPF_RB_AVAIL_DATA = 0;
/**
 * Bytes past the wake-up threshold in which a record still forces a wake-up. A record forces one
 * only near the crossing, not every record after it: while the reader has not run yet (both CPUs
 * busy with the target), every forced wake-up queues kernel work in the target's thread, and a
 * wake-up per record slowed a traced program by up to 2.7x (measured with a reader that did not
 * read). A window rather than the exact crossing, because producers on two CPUs can step over the
 * threshold together, each seeing the other's record as not yet there.
 */
export const WAKEUP_WINDOW = 4096;

export interface ProbeFacts {
  abi: CasgstatusAbi;
  goidOffset: number;
  /** g.waitreason, g.startpc, g.gopc; without them the aux fields stay 0. */
  fields?: { waitreason: number; startpc: number; gopc: number };
  /**
   * Offset of the instruction pointer in the uprobe's pt_regs (x86-64 128, arm64 256). The
   * probe's ip is runtime.casgstatus as loaded, so pcs are sent relative to it: no load bias
   * (PIE) to find, even when the process is gone before its records are read.
   */
  ipRegOffset?: number;
}

const REC = -64; // record on the stack: r10-64 .. r10-8
const KEY = -4;
const ARGS = -80; // stack ABI: 16 bytes copied from the Go stack
/** Most bytes of runtime.g read at once (goid with a transition's fields): below ARGS on the stack. */
const MAX_SPAN = 256;
const SPAN = ARGS - MAX_SPAN;

/** Builds the probe. Maps by name: "events" (ring buffer), "config" (array), "stats" (array). */
export function buildCasgstatusProbe(facts: ProbeFacts): Instruction[] {
  const { abi, goidOffset, fields } = facts;
  if (abi.kind === 'unsupported') throw new Error(abi.reason);
  if (RECORD.size !== -REC - 8) throw new Error('record layout and probe stack layout disagree');
  const b = new ProgramBuilder()
    .mov64Reg(R6, R1)
    .call('get_current_pid_tgid')
    .mov64Reg(R7, R0)
    // Filter by process in the kernel: a config pid of 0 means any.
    .st(Size.W, R10, KEY, 0)
    .ldMapFd(R1, 'config')
    .mov64Reg(R2, R10)
    .add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Reg(R8, R0)
    .ldx(Size.W, R1, R8, CONFIG.pid)
    .jeqImm(R1, 0, 'any_pid')
    .mov64Reg(R2, R7)
    .rsh64Imm(R2, 32)
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
    b.ldx(Size.DW, R3, R6, abi.sp.ptRegsOffset)
      .add64Imm(R3, abi.gpSpOffset)
      .mov64Reg(R1, R10)
      .add64Imm(R1, ARGS)
      .mov64Imm(R2, 16)
      .call('probe_read_user')
      .jneImm(R0, 0, 'out')
      .ldx(Size.DW, R9, R10, ARGS)
      .ldx(Size.W, R1, R10, ARGS + 8)
      .stx(Size.W, R10, REC + RECORD.oldState, R1)
      .ldx(Size.W, R1, R10, ARGS + 12)
      .stx(Size.W, R10, REC + RECORD.newState, R1);
  }
  // Filter by state: bit (old & 0xf) or bit (new & 0xf) of the mask; the _Gscan bit is ignored.
  b.ldx(Size.W, R1, R8, CONFIG.stateMask)
    .jeqImm(R1, 0, 'any_state')
    .ldx(Size.W, R3, R10, REC + RECORD.newState)
    .and64Imm(R3, 0xf)
    .mov64Imm(R4, 1)
    .lsh64Reg(R4, R3)
    .ldx(Size.W, R3, R10, REC + RECORD.oldState)
    .and64Imm(R3, 0xf)
    .mov64Imm(R2, 1)
    .lsh64Reg(R2, R3)
    .or64Reg(R4, R2)
    .and64Reg(R4, R1)
    .jeqImm(R4, 0, 'out')
    .label('any_state')
    .stx(Size.DW, R10, REC + RECORD.gp, R9)
    .st(Size.DW, R10, REC + RECORD.aux1, 0)
    .st(Size.DW, R10, REC + RECORD.aux2, 0);
  // goid = *(int64 *)(gp + goidOffset), read from the target's memory, with what the transition
  // carries besides: a birth (old state dead) the goroutine's function and creation site, set
  // before the transition; into waiting, why. Other transitions carry nothing more. Each
  // bpf_probe_read_user costs far more than the bytes it copies (about 245 ns against an empty
  // program's 85, bench/tracer-helpers.ts), so the fields of a transition come with goid in one
  // read of the part of runtime.g that holds them all, when that part is small enough.
  const readGoid = (): void => {
    readUser(b, REC + RECORD.goid, goidOffset, 8);
    b.jneImm(R0, 0, 'goid_failed');
  };
  if (fields) {
    b.ldx(Size.W, R1, R10, REC + RECORD.oldState)
      .and64Imm(R1, 0xfff)
      .jneImm(R1, 6, 'not_birth');
    const birth = spanOf(goidOffset, [fields.startpc, fields.gopc], []);
    if (birth) {
      readUser(b, SPAN, birth.from, birth.length);
      b.jneImm(R0, 0, 'goid_failed');
      copyWord(b, SPAN + goidOffset - birth.from, REC + RECORD.goid);
      copyWord(b, SPAN + fields.startpc - birth.from, REC + RECORD.aux1);
      copyWord(b, SPAN + fields.gopc - birth.from, REC + RECORD.aux2);
    } else {
      readGoid();
      readUser(b, REC + RECORD.aux1, fields.startpc, 8);
      readUser(b, REC + RECORD.aux2, fields.gopc, 8);
    }
    // pcs relative to the probe's ip (runtime.casgstatus as loaded): see ProbeFacts.ipRegOffset.
    b.ldx(Size.DW, R2, R6, facts.ipRegOffset ?? 128);
    for (const field of [RECORD.aux1, RECORD.aux2]) {
      b.ldx(Size.DW, R1, R10, REC + field)
        .sub64Reg(R1, R2)
        .stx(Size.DW, R10, REC + field, R1);
    }
    b.ja('have_goid')
      .label('not_birth')
      .ldx(Size.W, R1, R10, REC + RECORD.newState)
      .and64Imm(R1, 0xfff)
      .jneImm(R1, 4, 'goid_only');
    const waiting = spanOf(goidOffset, [], [fields.waitreason]);
    if (waiting) {
      readUser(b, SPAN, waiting.from, waiting.length);
      b.jneImm(R0, 0, 'goid_failed');
      copyWord(b, SPAN + goidOffset - waiting.from, REC + RECORD.goid);
      b.ldx(Size.B, R1, R10, SPAN + fields.waitreason - waiting.from).stx(Size.DW, R10, REC + RECORD.aux1, R1);
    } else {
      readGoid();
      readUser(b, REC + RECORD.aux1, fields.waitreason, 1);
    }
    b.ja('have_goid').label('goid_only');
  }
  readGoid();
  b.ja('have_goid')
    .label('goid_failed')
    .st(Size.DW, R10, REC + RECORD.goid, 0);
  count(b, STATS.goidReadFailures, 'have_goid');
  b.label('have_goid');
  count(b, STATS.records, 'counted');
  b.label('counted')
    .mov64Reg(R1, R7)
    .rsh64Imm(R1, 32)
    .stx(Size.W, R10, REC + RECORD.pid, R1)
    .stx(Size.W, R10, REC + RECORD.tid, R7)
    .call('ktime_get_ns')
    .stx(Size.DW, R10, REC + RECORD.timestamp, R0)
    // Wake-up: per record when the threshold is 0; otherwise only as the unread data reaches it
    // (within WAKEUP_WINDOW bytes past it). The reader's timed wait bounds the latency of the rest.
    .mov64Imm(R9, 0)
    .ldx(Size.W, R7, R8, CONFIG.wakeupBytes)
    .jeqImm(R7, 0, 'flags')
    .ldMapFd(R1, 'events')
    .mov64Imm(R2, BPF_RB_AVAIL_DATA)
    .call('ringbuf_query')
    .add64Imm(R0, RECORD.size)
    .mov64Imm(R9, BPF_RB_NO_WAKEUP)
    .jltReg(R0, R7, 'flags')
    .add64Imm(R7, WAKEUP_WINDOW)
    .jgeReg(R0, R7, 'flags')
    .mov64Imm(R9, BPF_RB_FORCE_WAKEUP)
    .label('flags')
    .ldMapFd(R1, 'events')
    .mov64Reg(R2, R10)
    .add64Imm(R2, REC)
    .mov64Imm(R3, RECORD.size)
    .mov64Reg(R4, R9)
    .call('ringbuf_output')
    .jeqImm(R0, 0, 'out');
  count(b, STATS.lost, 'out');
  return b.label('out').mov64Imm(R0, 0).exit().build();
}

/** bpf_probe_read_user(r10 + `to`, `length`, gp + `offset`), gp in R9; R0 is 0 on success (the bytes are zeroed on failure). */
function readUser(b: ProgramBuilder, to: number, offset: number, length: number): void {
  b.mov64Reg(R1, R10).add64Imm(R1, to).mov64Imm(R2, length).mov64Reg(R3, R9).add64Imm(R3, offset).call('probe_read_user');
}

/** Copies the 8 bytes at r10 + `from` to r10 + `to`. */
function copyWord(b: ProgramBuilder, from: number, to: number): void {
  b.ldx(Size.DW, R1, R10, from).stx(Size.DW, R10, to, R1);
}

/**
 * The part of runtime.g that holds goid (at `goidOffset`), the 8-byte fields at `words` and the
 * bytes at `bytes`, to read in one call: from an 8-byte boundary (the verifier takes only aligned
 * stack loads, and the 8-byte fields of a Go struct are aligned in it), at most MAX_SPAN bytes.
 * undefined when they lie too far apart (or are not aligned): read them one by one then.
 */
export function spanOf(
  goidOffset: number,
  words: readonly number[],
  bytes: readonly number[],
): { from: number; length: number } | undefined {
  const all = [goidOffset, ...words, ...bytes];
  const from = Math.min(...all) & ~7;
  const end = Math.max(goidOffset + 8, ...words.map((w) => w + 8), ...bytes.map((o) => o + 1));
  const length = (end - from + 7) & ~7;
  if (length > MAX_SPAN || [goidOffset, ...words].some((w) => (w - from) % 8 !== 0)) return undefined;
  return { from, length };
}

/** stats[key] += 1; the caller places label `next` right after. */
function count(b: ProgramBuilder, key: number, next: string): void {
  b.st(Size.W, R10, KEY, key)
    .ldMapFd(R1, 'stats')
    .mov64Reg(R2, R10)
    .add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, next)
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1);
}
