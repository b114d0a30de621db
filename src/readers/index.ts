export { RingBufferReader, ReaderError, type RingBufferMap, type RingBufferReaderOptions } from './ringbuf.js';
export { PerfEventArrayReader, type PerfReaderOptions } from './perf.js';
export type { RecordBatch } from './batch.js';
