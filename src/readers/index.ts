export { RingBufferReader, type RingBufferReaderOptions } from './ringbuf.js';
export { PerfEventArrayReader, type PerfReaderOptions } from './perf.js';
export { UserRingBufferProducer, type UserRingBufferProducerOptions } from './user-ringbuf.js';
export { ReaderError, type ReaderMap, type RingBufferMap } from './shared.js';
export type { RecordBatch } from './batch.js';
