// The aggregating uprobe on runtime.casgstatus: instead of a ring record per transition it keeps,
// in maps, per g the state it entered and when, and on each transition adds the length of the
// interval that ends to per-state and per-wait-reason totals and to a log2 histogram. User space
// reads a few thousand counters once, whatever the number of events.
//
// Keyed by (pid, g address), not by goid: before Go 1.24 a goroutine's birth transition carries
// the goid of the g's previous, dead goroutine, while the g address is right from the first
// transition. A g's entry is deleted when it dies, so a reused g starts fresh.
import { ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, Size, type Instruction, type Register } from '../asm/index.js';
import type { CasgstatusAbi } from '../go/index.js';
import { GoroutineState } from './record.js';

/** States are indexed by their low 4 bits (the _Gscan bit, 0x1000, is dropped; casgstatus refuses it anyway). */
export const SUMMARY_STATES = 16;
/** Wait reasons 0..63 have their own slots; slot 64 takes larger values and reads that failed or were impossible. */
export const SUMMARY_REASONS = 65;
/** log2 buckets of an interval in nanoseconds: bucket b holds lengths in [2^b, 2^(b+1)) (0 ns in bucket 0). */
export const SUMMARY_BUCKETS = 64;
/** Histogram rows: one per state (intervals of it that ended), then row 16, runnable intervals ended by running (scheduling latency). */
export const SUMMARY_HIST_ROWS = SUMMARY_STATES + 1;
/** The histogram row of runnable → running intervals. */
export const SCHED_LATENCY_ROW = SUMMARY_STATES;

/**
 * Slots of the "sums" map (PERCPU_ARRAY of u64, summed over CPUs by the reader). Each CPU adds to
 * its own copy with an atomic add, so neither two CPUs nor a preempted program lose an increment.
 */
export const SUMS = {
  /** Transitions per (old state, new state): slot pairs + old * 16 + new. */
  pairs: 0,
  /** Nanoseconds per state, closed intervals: slot stateNs + state. */
  stateNs: 256,
  /** Closed intervals per state. */
  stateCount: 272,
  /** Nanoseconds waiting, per wait reason: slot reasonNs + reason (64: other/unknown). */
  reasonNs: 288,
  /** Closed waiting intervals per wait reason. */
  reasonCount: 353,
  /** log2 histograms: slot hist + row * 64 + bucket. */
  hist: 418,
  /** Goroutines born: dead → anything but dead. */
  births: 1506,
  /** Goroutines that died: anything but idle or dead → dead. */
  deaths: 1507,
  /** Transitions whose old state is not the state their g last entered (a transition missed): no interval is counted. */
  chainBreaks: 1508,
  /** Per-g entries that could not be stored (the per-g map is full): that g's next interval is not counted. */
  updateFailures: 1509,
  /** Wait reasons that could not be read from the target's memory (counted in the "other" slot). */
  reasonReadFailures: 1510,
  /** ktime_get_ns of the CPU's latest transition (a plain store: the reader takes the maximum). */
  lastTimestamp: 1511,
  /** Number of slots. */
  size: 1512,
} as const;

/** Config map value (4 bytes): u32 pid filter (0 = any process). */
export const SUMMARY_CONFIG = { size: 4, pid: 0 } as const;

/** Per-g map key (16 bytes): u32 pid, u32 zero, u64 g address. */
export const G_KEY = { size: 16, pid: 0, gp: 8 } as const;
/** Per-g map value (16 bytes): u64 ktime of the transition into the state, u32 state (low 4 bits), u32 wait reason slot. */
export const G_VALUE = { size: 16, since: 0, state: 8, reason: 12 } as const;

/** What the probe needs to know of the target. */
export interface SummaryProbeFacts {
  abi: CasgstatusAbi;
  /** Offset of g.waitreason (a uint8); without it every waiting interval goes to the "other" slot. */
  waitreasonOffset?: number;
}

// Stack layout (offsets from r10).
const KEY = -4; // u32 index into sums / config
const OLD = -8; // u32 old state & 0xf
const NEW = -12; // u32 new state & 0xf
const BUCKET = -16; // u32 histogram bucket
const GKEY = -32; // 16 bytes
const NOW = -40; // u64
const GVAL = -56; // 16 bytes: the new value of a g's entry
const ARGS = -72; // 16 bytes: stack ABI arguments
const REASON = -80; // u64: the wait reason byte read from the g

const WAITING = GoroutineState.waiting;
const RUNNABLE = GoroutineState.runnable;
const RUNNING = GoroutineState.running;
const DEAD = GoroutineState.dead;
const IDLE = GoroutineState.idle;

/** Builds the aggregating probe. Maps by name: "config" (array), "gstate" (hash, per g), "sums" (per-CPU array of u64). */
export function buildSummaryProbe(facts: SummaryProbeFacts): Instruction[] {
  const { abi } = facts;
  if (abi.kind === 'unsupported') throw new Error(abi.reason);
  const b = new ProgramBuilder()
    .mov64Reg(R6, R1)
    .call('get_current_pid_tgid')
    .mov64Reg(R7, R0)
    .st(Size.W, R10, KEY, 0)
    .ldMapFd(R1, 'config')
    .mov64Reg(R2, R10)
    .add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .ldx(Size.W, R1, R0, SUMMARY_CONFIG.pid)
    .jeqImm(R1, 0, 'any_pid')
    .mov64Reg(R2, R7)
    .rsh64Imm(R2, 32)
    .jneReg(R1, R2, 'out')
    .label('any_pid')
    // The per-g key: pid, 0, gp.
    .mov64Reg(R1, R7)
    .rsh64Imm(R1, 32)
    .stx(Size.W, R10, GKEY + G_KEY.pid, R1)
    .st(Size.W, R10, GKEY + 4, 0);
  if (abi.kind === 'registers') {
    b.ldx(Size.DW, R1, R6, abi.gp.ptRegsOffset)
      .stx(Size.DW, R10, GKEY + G_KEY.gp, R1)
      .ldx(Size.W, R1, R6, abi.old.ptRegsOffset)
      .and64Imm(R1, 0xf)
      .stx(Size.W, R10, OLD, R1)
      .ldx(Size.W, R1, R6, abi.new.ptRegsOffset)
      .and64Imm(R1, 0xf)
      .stx(Size.W, R10, NEW, R1);
  } else {
    // ABI0: gp, oldval, newval on the goroutine stack above the return address.
    b.ldx(Size.DW, R3, R6, abi.sp.ptRegsOffset)
      .add64Imm(R3, abi.gpSpOffset)
      .mov64Reg(R1, R10)
      .add64Imm(R1, ARGS)
      .mov64Imm(R2, 16)
      .call('probe_read_user')
      .jneImm(R0, 0, 'out')
      .ldx(Size.DW, R1, R10, ARGS)
      .stx(Size.DW, R10, GKEY + G_KEY.gp, R1)
      .ldx(Size.W, R1, R10, ARGS + 8)
      .and64Imm(R1, 0xf)
      .stx(Size.W, R10, OLD, R1)
      .ldx(Size.W, R1, R10, ARGS + 12)
      .and64Imm(R1, 0xf)
      .stx(Size.W, R10, NEW, R1);
  }
  b.call('ktime_get_ns').stx(Size.DW, R10, NOW, R0).mov64Reg(R8, R0);
  // The CPU's latest timestamp (plain store into this CPU's slot).
  b.st(Size.W, R10, KEY, SUMS.lastTimestamp)
    .ldMapFd(R1, 'sums')
    .mov64Reg(R2, R10)
    .add64Imm(R2, KEY)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'stamped')
    .stx(Size.DW, R0, 0, R8)
    .label('stamped');
  // pairs[old][new] += 1
  b.ldx(Size.W, R1, R10, OLD).lsh64Imm(R1, 4).ldx(Size.W, R2, R10, NEW).add64Reg(R1, R2).add64Imm(R1, SUMS.pairs);
  bump(b, 'pair_counted', { reg: R1 });
  b.label('pair_counted');
  // Births (dead → not dead) and deaths (not idle, not dead → dead).
  b.ldx(Size.W, R6, R10, OLD).ldx(Size.W, R7, R10, NEW).jneImm(R6, DEAD, 'not_birth').jeqImm(R7, DEAD, 'lifecycle_done');
  bump(b, 'lifecycle_done', SUMS.births);
  b.ja('lifecycle_done');
  b.label('not_birth').jneImm(R7, DEAD, 'lifecycle_done').jeqImm(R6, IDLE, 'lifecycle_done');
  bump(b, 'lifecycle_done', SUMS.deaths);
  b.label('lifecycle_done');

  // The interval that ends: the g's entry, when it has one and its state is this transition's old state.
  b.ldMapFd(R1, 'gstate')
    .mov64Reg(R2, R10)
    .add64Imm(R2, GKEY)
    .call('map_lookup_elem')
    .mov64Reg(R9, R0)
    .jeqImm(R9, 0, 'store')
    .ldx(Size.W, R6, R9, G_VALUE.state)
    .ldx(Size.W, R1, R10, OLD)
    .jeqReg(R6, R1, 'chained');
  bump(b, 'store', SUMS.chainBreaks);
  b.ja('store')
    .label('chained')
    .and64Imm(R6, 0xf) // bounds for the verifier (the map value is opaque to it)
    .ldx(Size.DW, R1, R9, G_VALUE.since)
    .sub64Reg(R8, R1); // R8 = interval length (ns)
  // Time and count per state.
  b.mov64Reg(R1, R6).add64Imm(R1, SUMS.stateNs);
  bump(b, 'state_ns', { reg: R1 }, R8);
  b.label('state_ns');
  b.mov64Reg(R1, R6).add64Imm(R1, SUMS.stateCount);
  bump(b, 'state_count', { reg: R1 });
  b.label('state_count');
  // Time and count per wait reason, for a waiting interval.
  b.jneImm(R6, WAITING, 'reason_done').ldx(Size.W, R7, R9, G_VALUE.reason).mov64Reg(R1, R7).add64Imm(R1, SUMS.reasonNs);
  bump(b, 'reason_ns', { reg: R1 }, R8);
  b.label('reason_ns');
  b.mov64Reg(R1, R7).add64Imm(R1, SUMS.reasonCount);
  bump(b, 'reason_done', { reg: R1 });
  b.label('reason_done');
  // bucket = floor(log2(length)), by halving the range: 32, 16, 8, 4, 2, 1 bits.
  b.mov64Reg(R2, R8).mov64Imm(R1, 0);
  for (const bits of [32, 16, 8, 4, 2, 1]) {
    b.mov64Reg(R3, R2).rsh64Imm(R3, bits).jeqImm(R3, 0, `log2_${bits}`).mov64Reg(R2, R3).add64Imm(R1, bits).label(`log2_${bits}`);
  }
  b.stx(Size.W, R10, BUCKET, R1).mov64Reg(R2, R6).lsh64Imm(R2, 6).add64Reg(R1, R2).add64Imm(R1, SUMS.hist);
  bump(b, 'state_hist', { reg: R1 });
  b.label('state_hist');
  // Scheduling latency: a runnable interval that running ends.
  b.jneImm(R6, RUNNABLE, 'store')
    .ldx(Size.W, R1, R10, NEW)
    .jneImm(R1, RUNNING, 'store')
    .ldx(Size.W, R1, R10, BUCKET)
    .add64Imm(R1, SUMS.hist + SCHED_LATENCY_ROW * SUMMARY_BUCKETS);
  bump(b, 'store', { reg: R1 });

  // The g's new state: dead (or idle) removes its entry, anything else starts a new interval.
  b.label('store')
    .ldx(Size.W, R7, R10, NEW)
    .jeqImm(R7, DEAD, 'forget')
    .jeqImm(R7, IDLE, 'forget')
    .st(Size.W, R10, GVAL + G_VALUE.reason, SUMMARY_REASONS - 1)
    .jneImm(R7, WAITING, 'reason_read');
  if (facts.waitreasonOffset !== undefined) {
    b.st(Size.DW, R10, REASON, 0)
      .mov64Reg(R1, R10)
      .add64Imm(R1, REASON)
      .mov64Imm(R2, 1)
      .ldx(Size.DW, R3, R10, GKEY + G_KEY.gp)
      .add64Imm(R3, facts.waitreasonOffset)
      .call('probe_read_user')
      .jeqImm(R0, 0, 'reason_ok');
    bump(b, 'reason_read', SUMS.reasonReadFailures);
    b.ja('reason_read')
      .label('reason_ok')
      .ldx(Size.DW, R1, R10, REASON)
      .jgeImm(R1, SUMMARY_REASONS - 1, 'reason_read')
      .stx(Size.W, R10, GVAL + G_VALUE.reason, R1);
  }
  b.label('reason_read')
    .ldx(Size.DW, R1, R10, NOW)
    .jeqImm(R9, 0, 'insert')
    // The entry exists: rewrite it in place, no second hash lookup.
    .stx(Size.DW, R9, G_VALUE.since, R1)
    .stx(Size.W, R9, G_VALUE.state, R7)
    .ldx(Size.W, R1, R10, GVAL + G_VALUE.reason)
    .stx(Size.W, R9, G_VALUE.reason, R1)
    .ja('out')
    .label('insert')
    .stx(Size.DW, R10, GVAL + G_VALUE.since, R1)
    .stx(Size.W, R10, GVAL + G_VALUE.state, R7)
    .ldMapFd(R1, 'gstate')
    .mov64Reg(R2, R10)
    .add64Imm(R2, GKEY)
    .mov64Reg(R3, R10)
    .add64Imm(R3, GVAL)
    .mov64Imm(R4, 0)
    .call('map_update_elem')
    .jeqImm(R0, 0, 'out');
  bump(b, 'out', SUMS.updateFailures);
  b.ja('out').label('forget').jeqImm(R9, 0, 'out').ldMapFd(R1, 'gstate').mov64Reg(R2, R10).add64Imm(R2, GKEY).call('map_delete_elem');
  return b.label('out').mov64Imm(R0, 0).exit().build();
}

/**
 * sums[slot] += value (1 when no register is given), atomically in this CPU's copy; when the
 * lookup fails it jumps to `skip`. `slot` is a constant or `{ reg }`, a register holding it (R1..R5 are clobbered by
 * the call, so `value` must be a callee-saved register, R6..R9).
 */
function bump(b: ProgramBuilder, skip: string, slot: number | { reg: Register }, value?: Register): void {
  if (typeof slot === 'number') b.st(Size.W, R10, KEY, slot);
  else b.stx(Size.W, R10, KEY, slot.reg);
  b.ldMapFd(R1, 'sums').mov64Reg(R2, R10).add64Imm(R2, KEY).call('map_lookup_elem').jeqImm(R0, 0, skip);
  if (value === undefined) b.mov64Imm(R1, 1);
  else b.mov64Reg(R1, value);
  b.atomicAdd(Size.DW, R0, 0, R1);
}
