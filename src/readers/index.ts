export { RingBufferReader, ReaderError, type RingBufferMap } from './ringbuf.js';
export { PerfEventArrayReader, type PerfReaderOptions } from './perf.js';
