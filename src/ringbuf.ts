// The `ebpf/ringbuf` entry point: reading BPF ring buffers, and writing user ring buffers.
export { RingBufferReader, type RingBufferReaderOptions } from './readers/ringbuf.js';
export { UserRingBufferProducer, type UserRingBufferProducerOptions } from './readers/user-ringbuf.js';
export { ReaderError, type ReaderMap, type RingBufferMap } from './readers/shared.js';
export type { RecordBatch } from './readers/batch.js';
