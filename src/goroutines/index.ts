export {
  casgstatusProbe,
  GoroutineTracer,
  GoroutineTracerError,
  inspectGoBinary,
  type GoroutineTracerOptions,
  type GoroutineTracerStats,
  type WaitOptions,
} from './tracer.js';
export { buildCasgstatusProbe, CONFIG as GOROUTINE_PROBE_CONFIG, STATS as GOROUTINE_PROBE_STATS } from './probe.js';
export {
  decodeTransition,
  G_SCAN,
  GoroutineState,
  RECORD as GOROUTINE_RECORD,
  stateMask,
  stateName,
  type GoroutineStateName,
  type GoroutineTransition,
} from './record.js';
export { GoroutineAttribution, isBirth } from './attribution.js';
export { processAlive, watchProcessExit, type ProcessExitWatch } from './process-exit.js';
export {
  GoroutineSummary,
  percentile,
  type LatencyHistogram,
  type LiveGoroutine,
  type StateSlice,
  type StateTime,
  type SummaryReport,
} from './summary.js';
export { renderTop, type TopFrame } from './top.js';
export { chromeTrace, type TraceEvent } from './chrome-trace.js';
export {
  GoroutineSummaryProbe,
  type GoroutineSummaryProbeOptions,
  type KernelStateTime,
  type KernelSummary,
  type KernelSummaryStats,
  type Log2Histogram,
  type SummaryWaitOptions,
} from './kernel-summary.js';
export { buildSummaryProbe, SUMS as GOROUTINE_SUMMARY_SLOTS, type SummaryProbeFacts } from './summary-probe.js';
// Go executables on this machine, opened by path (Go's elf.Open), as the tracer reads them.
export { elfBinaryImage, openGoBinary } from '../symbols/index.js';
// goroutine transitions in columns (GoroutineTracer.pollColumns)
export { type GoroutineTransitionColumns } from './columns.js';
