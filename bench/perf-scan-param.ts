// A/B of the hot loop alone (no kernel): the perf scan as one module function taking the views as arguments (monomorphic
// whatever the number of rings), two rings alternating, user CPU time.
const SIZE = 16 << 20;
const rec = Number(process.argv[2] ?? 32);
const data = Buffer.alloc(SIZE);
const w = new Uint32Array(data.buffer);
const n = Math.floor((SIZE * 0.9) / rec);
for (let i = 0; i < n; i++) {
  const k = (i * rec) >>> 2;
  w[k] = 9;
  w[k + 1] = rec << 16;
  w[k + 2] = rec - 12;
  w[k + 5] = 8;
}
const end = n * rec;
class R {
  done = 0;
  touched = 0;
  constructor(
    readonly words: Uint32Array,
    readonly size: number,
  ) {}
}
const offsets = new Uint32Array(4096);
const lengths = new Uint32Array(4096);
function scan(
  ring: R,
  words: Uint32Array,
  size: number,
  offs: Uint32Array,
  lens: Uint32Array,
  start: number,
  chunk: number,
  limit: number,
): number {
  const wordMask = (size >>> 2) - 1;
  const SAMPLE = 9;
  const stop = start + chunk;
  let at = start,
    count = 0,
    touched = 0,
    head = -1,
    step = 0,
    rawSize = 0;
  while (at < stop && count < limit) {
    const k = at >>> 2;
    const sizeWord = words[k + 1] | 0;
    if (sizeWord !== head) {
      step = sizeWord >>> 16;
      if (step < 16) break;
      head = sizeWord;
      rawSize = step - 12;
    }
    if (words[k] !== SAMPLE) break;
    if (rawSize > 52) touched ^= words[(k + 16) & wordMask];
    offs[count] = at + 12;
    lens[count] = rawSize;
    count++;
    at += step;
  }
  ring.done = at - start;
  ring.touched = touched;
  return count;
}
const rings = [new R(w, SIZE), new R(w, SIZE)];
let sink = 0;
function consume(count: number): void {
  let s = 0;
  for (let i = 0; i < count; i++) s += w[(offsets[i] >>> 2) + 2];
  sink += s;
}
function drive(): number {
  let at = 0,
    total = 0;
  while (at < end) {
    const rr = rings[(at >>> 12) & 1];
    const c = scan(rr, rr.words, rr.size, offsets, lengths, at, Math.min(end - at, 4096), 4096);
    consume(c);
    total += c;
    at += rr.done;
  }
  return total;
}
let best = Infinity;
for (let r = 0; r < 30; r++) {
  const c0 = process.cpuUsage();
  const got = drive();
  const c = process.cpuUsage(c0);
  if (got !== n) throw new Error(String(got));
  best = Math.min(best, ((c.user + c.system) * 1000) / n);
}
console.log(`${rec} B param: ${best.toFixed(2)} ns/rec (sink ${sink > 0})`);
