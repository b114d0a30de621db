import { Epoll } from '../src/syscall/epoll.js';
import { libc } from '../src/syscall/libc.js';
import { NativeMemory } from '../src/syscall/memory.js';
const ep = new Epoll();
const efd = libc.eventfd(0, 0x80000 | 0x800);
ep.add(efd, 1);
const mem = new NativeMemory(16);
mem.buffer.writeBigUInt64LE(1n, 0);
const lat: number[] = [];
for (let i = 0; i < 200; i++) {
  const p = ep.wait(1000);
  await new Promise((r) => setTimeout(r, 2));
  const t0 = process.hrtime.bigint();
  libc.write(efd, mem.address, 8);
  const toks = await p;
  lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  libc.read(efd, mem.address + 8, 8);
  if (toks[0] !== 1) throw new Error('bad');
}
lat.sort((a, b) => a - b);
console.log(`epoll wake latency us: median ${lat[100].toFixed(1)} p10 ${lat[20].toFixed(1)} p90 ${lat[180].toFixed(1)}`);
ep.close(); libc.close(efd);
