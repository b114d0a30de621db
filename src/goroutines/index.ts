export { casgstatusProbe, GoroutineTracer, GoroutineTracerError, inspectGoBinary, type GoroutineTracerOptions } from './tracer.js';
export { buildCasgstatusProbe, CONFIG as GOROUTINE_PROBE_CONFIG, STATS as GOROUTINE_PROBE_STATS } from './probe.js';
export { decodeTransition, G_SCAN, GoroutineState, RECORD as GOROUTINE_RECORD, stateMask, stateName, type GoroutineStateName, type GoroutineTransition } from './record.js';
