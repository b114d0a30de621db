// The `ebpf/perf` entry point: reading perf event arrays (forward or overwritable rings).
export { PerfEventArrayReader, type PerfReaderOptions } from './readers/perf.js';
export { ReaderError, type ReaderMap } from './readers/shared.js';
export type { RecordBatch } from './readers/batch.js';
