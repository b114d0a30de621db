// Names of runtime.waitReason values, as runtime2.go's waitReasonStrings spells them. The binary
// itself is the ground truth when its symbol table names the array; otherwise a table per release,
// checked against binaries of that release.
import type { BinaryImage } from './binary-image.js';
import type { GoVersion } from './go-version.js';

const GO_1_19 = [
  '', 'GC assist marking', 'IO wait', 'chan receive (nil chan)', 'chan send (nil chan)', 'dumping heap', 'garbage collection',
  'garbage collection scan', 'panicwait', 'select', 'select (no cases)', 'GC assist wait', 'GC sweep wait', 'GC scavenge wait',
  'chan receive', 'chan send', 'finalizer wait', 'force gc (idle)', 'semacquire', 'sleep', 'sync.Cond.Wait', 'timer goroutine (idle)',
  'trace reader (blocked)', 'wait for GC cycle', 'GC worker (idle)', 'preempted', 'debug call',
];

// Go 1.26: the waitReason constants in their declaration order (the value is the index). Checked
// live on esbuild (go1.26.5): runtime.bgsweep waits on 8, bgscavenge on 9, runfinq on 10,
// forcegchelper on 11, the cleanup goroutine on 46.
const GO_1_26 = [
  '', 'GC assist marking', 'IO wait', 'dumping heap', 'garbage collection', 'garbage collection scan', 'panicwait', 'GC assist wait',
  'GC sweep wait', 'GC scavenge wait', 'finalizer wait', 'force gc (idle)', 'GOMAXPROCS updater (idle)', 'semacquire', 'sleep',
  'chan receive (nil chan)', 'chan send (nil chan)', 'select (no cases)', 'select', 'chan receive', 'chan send', 'sync.Cond.Wait',
  'sync.Mutex.Lock', 'sync.RWMutex.RLock', 'sync.RWMutex.Lock', 'sync.WaitGroup.Wait', 'trace reader (blocked)', 'wait for GC cycle',
  'GC worker (idle)', 'GC worker (active)', 'preempted', 'debug call', 'GC mark termination', 'stopping the world', 'flushing proc caches',
  'trace goroutine status', 'trace proc status', 'page trace flush', 'coroutine', 'GC weak to strong wait', 'synctest.Run', 'synctest.Wait',
  'chan receive (durable)', 'chan send (durable)', 'select (durable)', 'sync.WaitGroup.Wait (durable)', 'cleanup wait',
];

/**
 * waitReasonStrings by minor release (64-bit). Checked: 1.19.8 against its runtime.waitReasonStrings;
 * 1.26 from runtime2.go of the 1.26 tree, checked live on esbuild (go1.26.5).
 */
export const WAIT_REASON_NAMES: ReadonlyMap<number, readonly string[]> = new Map([
  [19, GO_1_19],
  [26, GO_1_26],
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
