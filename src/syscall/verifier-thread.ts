// A second thread for BPF_PROG_LOAD. A synchronous collection load lays out each program's request
// on the calling thread and puts it in a queue in shared memory; a helper thread (a worker_threads
// Worker with its own koffi binding) takes requests from the queue as they come, and once every
// request is laid out the calling thread takes the rest, so two programs verify at once on two
// CPUs. The queue lives in a SharedArrayBuffer and the two threads meet through Atomics: a request
// costs no trip through libuv's pool. Measured on the test VM (2 CPUs), 20 loads of a program that
// verifies in ~190 us: one after another best 3.3 ms; through koffi's async calls (libuv's pool)
// 2.5 ms, at 7.3 ms of CPU; with the helper 2.0 ms, at 6.7 ms of CPU. Each async call costs about
// 30 us of CPU in wake-ups (futexes, the eventfd, epoll) on this VM; the helper is woken once per
// collection.
//
// The helper starts on the first request for it (startVerifierThread) and is used once it has bound
// libc; until then loads run on the calling thread. It is unref'd: it never keeps the process
// alive. Each thread that loads has its own helper (this module is evaluated once per thread).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { BpfCommand } from '../uapi/bpf.js';
import { SYS_BPF, syscall3Raw } from './libc.js';

/** Requests one batch holds; a collection with more programs is loaded in several batches. */
export const VERIFIER_BATCH_CAPACITY = 256;

// Control words (Int32Array over the shared memory).
const STATE = 0; // 0 starting, 1 ready, 2 gone (failed to start, or stopped)
const BATCH = 1; // batch number: the helper waits for it to change
const NEXT = 2; // the next request to take
const PUBLISHED = 3; // requests laid out so far
const TOTAL = 4; // requests in the batch, -1 while more may come
const DONE = 5; // requests finished (by either thread)
const BY_HELPER = 6; // requests the helper made, ever
const BY_CALLER = 7; // requests the calling thread made from a batch, ever
const CONTROL_WORDS = 8;

// The helper's code, run as CommonJS from a string (eval): no file to find next to the package's
// modules, and no loader hooks of the parent (execArgv is empty). It binds syscall(2) itself.
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { sab, koffiPath, sysBpf, capacity } = workerData;
const ctl = new Int32Array(sab, 0, ${CONTROL_WORDS});
const addresses = new Float64Array(sab, ${CONTROL_WORDS * 4}, capacity);
const sizes = new Int32Array(sab, ${CONTROL_WORDS * 4} + capacity * 8, capacity);
const results = new Float64Array(sab, ${CONTROL_WORDS * 4} + capacity * 12, capacity);
let syscall, koffi;
try {
  koffi = require(koffiPath);
  syscall = koffi.load('libc.so.6').func('long syscall(long nr, long a, long b, long c)');
} catch (e) {
  Atomics.store(ctl, ${STATE}, 2);
  throw e;
}
Atomics.store(ctl, ${STATE}, 1);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${BATCH}, seen);
  seen = Atomics.load(ctl, ${BATCH});
  for (;;) {
    const i = Atomics.load(ctl, ${NEXT});
    const published = Atomics.load(ctl, ${PUBLISHED});
    if (i < published) {
      if (Atomics.compareExchange(ctl, ${NEXT}, i, i + 1) !== i) continue;
      let r;
      try {
        r = syscall(sysBpf, ${BpfCommand.PROG_LOAD}, addresses[i], sizes[i]);
        if (r === -1) r = -koffi.errno();
      } catch {
        r = -14; // EFAULT: the calling thread loads it again itself
      }
      results[i] = r;
      Atomics.add(ctl, ${BY_HELPER}, 1);
      Atomics.add(ctl, ${DONE}, 1);
      Atomics.notify(ctl, ${DONE});
      continue;
    }
    const total = Atomics.load(ctl, ${TOTAL});
    if (total >= 0 && i >= total) break;
    Atomics.wait(ctl, ${PUBLISHED}, published, 100);
  }
}
`;

interface Helper {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly addresses: Float64Array;
  readonly sizes: Int32Array;
  readonly results: Float64Array;
}

let helper: Helper | undefined;
let unavailable = false;

/** Starts the helper thread if it is not running (it is ready some tens of ms later). */
export function startVerifierThread(): void {
  if (helper || unavailable) return;
  let koffiPath: string;
  try {
    koffiPath = createRequire(import.meta.url).resolve('koffi');
  } catch {
    unavailable = true;
    return;
  }
  const capacity = VERIFIER_BATCH_CAPACITY;
  const sab = new SharedArrayBuffer(CONTROL_WORDS * 4 + capacity * 20);
  const control = new Int32Array(sab, 0, CONTROL_WORDS);
  control[TOTAL] = -1;
  let worker: Worker;
  try {
    worker = new Worker(HELPER_SOURCE, {
      eval: true,
      workerData: { sab, koffiPath, sysBpf: SYS_BPF, capacity },
      execArgv: [],
      stdout: true,
      stderr: true,
      name: 'ebpf-verifier',
    });
  } catch {
    unavailable = true;
    return;
  }
  worker.unref();
  // A helper that fails or stops is not used again; its output is not the program's.
  const gone = (): void => {
    Atomics.store(control, STATE, 2);
    unavailable = true;
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  helper = {
    worker,
    control,
    addresses: new Float64Array(sab, CONTROL_WORDS * 4, capacity),
    sizes: new Int32Array(sab, CONTROL_WORDS * 4 + capacity * 8, capacity),
    results: new Float64Array(sab, CONTROL_WORDS * 4 + capacity * 12, capacity),
  };
}

/** How this thread's helper is doing, and how many requests of batches each thread made. */
export function verifierThreadStats(): { started: boolean; ready: boolean; byHelper: number; byCallingThread: number } {
  if (!helper) return { started: false, ready: false, byHelper: 0, byCallingThread: 0 };
  const c = helper.control;
  return { started: true, ready: verifierThreadReady(), byHelper: Atomics.load(c, BY_HELPER), byCallingThread: Atomics.load(c, BY_CALLER) };
}

/** Whether a batch can run on two threads now. */
export function verifierThreadReady(): boolean {
  return helper !== undefined && !unavailable && Atomics.load(helper.control, STATE) === 1;
}

/**
 * One batch of BPF_PROG_LOAD requests, run by the helper as they are added and by this thread
 * after finish(). Each request's memory (attr and what it points to) must stay as it is until
 * finish() returns. Only one batch per thread at a time.
 */
export class VerifierBatch {
  readonly #h: Helper;
  #count = 0;
  #finished = false;

  constructor() {
    if (!helper || !verifierThreadReady()) throw new Error('the verifier thread is not ready');
    this.#h = helper;
    const c = helper.control;
    Atomics.store(c, TOTAL, -1);
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, PUBLISHED, 0);
    Atomics.add(c, BATCH, 1);
    Atomics.notify(c, BATCH);
  }

  get full(): boolean {
    return this.#count >= VERIFIER_BATCH_CAPACITY;
  }

  /** Queues a PROG_LOAD of the attr at `address` (`size` bytes); returns its index in the batch. */
  add(address: number, size: number): number {
    if (this.#finished || this.full) throw new Error('verifier batch finished or full');
    const i = this.#count++;
    const h = this.#h;
    h.addresses[i] = address;
    h.sizes[i] = size;
    Atomics.store(h.control, PUBLISHED, i + 1);
    Atomics.notify(h.control, PUBLISHED);
    return i;
  }

  /** Loads what the helper has not taken, waits for what it has, and returns each result (fd or -errno). */
  finish(): number[] {
    this.#finished = true;
    const h = this.#h;
    const c = h.control;
    const total = this.#count;
    Atomics.store(c, TOTAL, total);
    Atomics.notify(c, PUBLISHED);
    for (;;) {
      const i = Atomics.load(c, NEXT);
      if (i >= total) break;
      if (Atomics.compareExchange(c, NEXT, i, i + 1) !== i) continue;
      const r = syscall3Raw(SYS_BPF, BpfCommand.PROG_LOAD, h.addresses[i], h.sizes[i]);
      h.results[i] = r;
      Atomics.add(c, BY_CALLER, 1);
      Atomics.add(c, DONE, 1);
    }
    // The helper's last requests: it finishes each it took (a failure inside is reported as a
    // result), so this ends when the verifier does.
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done >= total) break;
      Atomics.wait(c, DONE, done, 1000);
    }
    return Array.from(h.results.subarray(0, total));
  }
}
