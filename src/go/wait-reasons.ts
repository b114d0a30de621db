// Names of runtime.waitReason values, as runtime2.go's waitReasonStrings spells them. The binary
// itself is the ground truth when its symbol table names the array; otherwise a table per release,
// checked against binaries of that release.
import type { BinaryImage } from './binary-image.js';
import type { GoVersion } from './go-version.js';

const GO_1_19 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'timer goroutine (idle)',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'preempted',
  'debug call',
];

// Go 1.21 to 1.25: each equals runtime.waitReasonStrings of test/fixtures/go/workload-go1.N, and
// runtime2.go of the release that built it (the waitReason constants in order, named as the array
// names them). 1.22 appends to 1.21 and 1.23 to 1.22; 1.24 inserts sync.WaitGroup.Wait; 1.25 adds
// the GOMAXPROCS updater and renames the synctest waits to durable ones.
// Go 1.20 has the 1.21 list: the array of string headers found in .data of the stripped esbuild
// 0.19.2 (go1.20.7) and 0.21.5 (go1.20.12), and live there: forcegchelper waits on 17 (force gc),
// bgsweep on 12, bgscavenge on 13, runfinq on 16, a parser goroutine on 21 (sync.Mutex.Lock).
const GO_1_20 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
];

const GO_1_22 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
  'flushing proc caches',
  'trace goroutine status',
  'trace proc status',
  'page trace flush',
  'coroutine',
];

const GO_1_23 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
  'flushing proc caches',
  'trace goroutine status',
  'trace proc status',
  'page trace flush',
  'coroutine',
  'GC weak to strong wait',
];

const GO_1_24 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'sync.WaitGroup.Wait',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
  'flushing proc caches',
  'trace goroutine status',
  'trace proc status',
  'page trace flush',
  'coroutine',
  'GC weak to strong wait',
  'synctest.Run',
  'synctest.Wait',
  'chan receive (synctest)',
  'chan send (synctest)',
  'select (synctest)',
];

const GO_1_25 = [
  '',
  'GC assist marking',
  'IO wait',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'select',
  'select (no cases)',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'chan receive',
  'chan send',
  'finalizer wait',
  'force gc (idle)',
  'GOMAXPROCS updater (idle)',
  'semacquire',
  'sleep',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'sync.WaitGroup.Wait',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
  'flushing proc caches',
  'trace goroutine status',
  'trace proc status',
  'page trace flush',
  'coroutine',
  'GC weak to strong wait',
  'synctest.Run',
  'synctest.Wait',
  'chan receive (durable)',
  'chan send (durable)',
  'select (durable)',
  'sync.WaitGroup.Wait (durable)',
  'cleanup wait',
];

// Go 1.26 and 1.27 (unchanged): the waitReason constants in their declaration order (the value is
// the index); 1.26 moved the ones a synctest bubble treats as idle to the front. Checked live on
// esbuild (go1.26.5): runtime.bgsweep waits on 8, bgscavenge on 9, runfinq on 10, forcegchelper on
// 11, the cleanup goroutine on 46; equal to runtime.waitReasonStrings of workload-go1.26 (go1.26.10)
// and workload-go1.27 (go1.27.3).
const GO_1_26 = [
  '',
  'GC assist marking',
  'IO wait',
  'dumping heap',
  'garbage collection',
  'garbage collection scan',
  'panicwait',
  'GC assist wait',
  'GC sweep wait',
  'GC scavenge wait',
  'finalizer wait',
  'force gc (idle)',
  'GOMAXPROCS updater (idle)',
  'semacquire',
  'sleep',
  'chan receive (nil chan)',
  'chan send (nil chan)',
  'select (no cases)',
  'select',
  'chan receive',
  'chan send',
  'sync.Cond.Wait',
  'sync.Mutex.Lock',
  'sync.RWMutex.RLock',
  'sync.RWMutex.Lock',
  'sync.WaitGroup.Wait',
  'trace reader (blocked)',
  'wait for GC cycle',
  'GC worker (idle)',
  'GC worker (active)',
  'preempted',
  'debug call',
  'GC mark termination',
  'stopping the world',
  'flushing proc caches',
  'trace goroutine status',
  'trace proc status',
  'page trace flush',
  'coroutine',
  'GC weak to strong wait',
  'synctest.Run',
  'synctest.Wait',
  'chan receive (durable)',
  'chan send (durable)',
  'select (durable)',
  'sync.WaitGroup.Wait (durable)',
  'cleanup wait',
];

/**
 * waitReasonStrings by minor release (64-bit). Checked: 1.19.8 and 1.21 to 1.27 against the
 * runtime.waitReasonStrings of binaries those releases built (test/go-versions.test.ts); 1.20 in
 * the data of stripped esbuild builds (1.21 also in lefthook's and buf's); 1.20 to 1.26 but 1.24
 * also live on stripped release builds (esbuild, lefthook).
 */
export const WAIT_REASON_NAMES: ReadonlyMap<number, readonly string[]> = new Map([
  [19, GO_1_19],
  [20, GO_1_20],
  [21, GO_1_20],
  [22, GO_1_22],
  [23, GO_1_23],
  [24, GO_1_24],
  [25, GO_1_25],
  [26, GO_1_26],
  [27, GO_1_26],
]);

const MAX_REASONS = 256; // waitReason is a uint8
const MAX_NAME = 64;

/** Reads runtime.waitReasonStrings ([N]string) through the symbol table; undefined without it. */
export function waitReasonsFromBinary(image: BinaryImage): string[] | undefined {
  const sym = image.symbol?.('runtime.waitReasonStrings');
  const entry = 2 * image.ptrSize;
  if (!sym || sym.size === 0 || sym.size % entry !== 0 || sym.size / entry > MAX_REASONS) return undefined;
  const bytes = image.readVirtual(sym.addr, sym.size);
  if (!bytes) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = image.byteOrder === 'little';
  const word = (o: number): number => (image.ptrSize === 8 ? Number(v.getBigUint64(o, le)) : v.getUint32(o, le));
  const names: string[] = [];
  for (let at = 0; at < sym.size; at += entry) {
    const len = word(at + image.ptrSize);
    if (len === 0) {
      names.push('');
      continue;
    }
    if (len > MAX_NAME) return undefined;
    const text = image.readVirtual(word(at), len);
    if (!text) return undefined;
    names.push(Buffer.from(text).toString('utf8'));
  }
  return names;
}

/** The names for this binary: from the binary, else the table; undefined when neither knows. */
export function waitReasonNames(image: BinaryImage, version: GoVersion): { names?: readonly string[]; source?: 'binary' | 'table' } {
  const own = waitReasonsFromBinary(image);
  if (own) return { names: own, source: 'binary' };
  const table = version.major === 1 ? WAIT_REASON_NAMES.get(version.minor) : undefined;
  return table ? { names: table, source: 'table' } : {};
}
