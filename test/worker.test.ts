// The library inside a worker_threads Worker: every kind of native call works from a thread that is
// not the main one, errno is per thread, and the main thread keeps working afterwards.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { BpfMap, Program } from '../src/index.js';
import { ProgramBuilder, R0 } from '../src/asm/index.js';
import { lastErrno, syscall3Raw, SYS_BPF } from '../src/syscall/index.js';
import { isRoot, need } from './support/env.js';
import { bpftool } from './support/kernel.js';
import { track } from './support/track.js';

const body = fileURLToPath(new URL('./fixtures/worker-body.ts', import.meta.url));
// The worker loads TypeScript through tsx's loader, registered inside the worker itself.
const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(body)}); })`;

const EINVAL = 22;
const ENOENT = 2;

interface Calls {
  kind: 'done-calls';
  mapId: number;
  first: string;
  second: string;
  retval: number;
  tokens: number[];
}
interface Errnos {
  kind: 'done-errno';
  code: string;
  errnoRightAfter: number;
  errnoAfterMain: number;
  calls: number;
  wrong: string[];
  wrongCount: number;
}

function nextMessage<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    w.once('error', onError);
    w.once('message', (m: T) => {
      w.off('error', onError);
      resolve(m);
    });
  });
}

/** bpf(2) with an unknown command: fails with EINVAL on this thread. */
const failWithEinval = (): number => syscall3Raw(SYS_BPF, 9999, 0, 0);

describe.runIf(need(isRoot, 'maps and programs need root'))('inside a worker thread', () => {
  it('maps, programs, test runs and async waits work in a Worker; errno is per thread', async () => {
    const shared = new SharedArrayBuffer(16);
    const sync = new Int32Array(shared);
    const step = (n: number): void => {
      Atomics.store(sync, 0, n);
      Atomics.notify(sync, 0);
    };
    const w = new Worker(boot, { eval: true, workerData: { shared } });
    const exited = new Promise<number>((r) => w.once('exit', r));
    try {
      const calls = await nextMessage<Calls>(w);
      expect(calls).toMatchObject({ first: String(0x1111), second: String(0x2222), retval: 42, tokens: [7] });
      // The kernel's view of the worker's map, read by bpftool (the program wrote key 2).
      const dump = bpftool<Array<{ key: string[]; value: string[] }>>('map', 'dump', 'id', String(calls.mapId));
      const entries = Object.fromEntries(dump.map((e) => [Number(e.key[0]), Buffer.from(e.value.map((h) => Number(h))).readBigUInt64LE()]));
      expect(entries).toEqual({ 1: 0x1111n, 2: 0x2222n });

      const done = nextMessage<Errnos>(w);
      step(1);
      // Wait for the worker's failing call (ENOENT), then fail with EINVAL here before it reads errno.
      while (Atomics.load(sync, 1) === 0) Atomics.wait(sync, 1, 0, 10_000);
      expect(failWithEinval()).toBe(-EINVAL);
      expect(lastErrno()).toBe(EINVAL);
      step(2);
      // Both threads now fail calls at the same time (ENOENT there, EINVAL here), each checking its own.
      step(3);
      const wrong: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const r = failWithEinval();
        if (r !== -EINVAL) wrong.push(String(r));
      }
      step(4);
      const errnos = await done;
      expect(errnos.code).toBe('ENOENT');
      expect(errnos.errnoRightAfter).toBe(ENOENT);
      expect(errnos.errnoAfterMain).toBe(ENOENT);
      expect(errnos.wrong).toEqual([]);
      expect(errnos.calls).toBeGreaterThanOrEqual(2000);
      expect(wrong).toEqual([]);
      expect(await exited).toBe(0);
    } finally {
      await w.terminate();
    }

    // The main thread still works after the worker has gone.
    const m = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'after_worker' }));
    m.update(1, 5n);
    expect(m.lookup(1)?.readBigUInt64LE()).toBe(5n);
    const p = track(
      Program.load({ type: 'SOCKET_FILTER', name: 'after_worker', instructions: new ProgramBuilder().mov64Imm(R0, 3).exit().build() }),
    );
    expect(p.testRun({ data: Buffer.alloc(64) }).retval).toBe(3);
    expect(() => m.update(7, 1n)).toThrow(/E2BIG/);
  });
});
