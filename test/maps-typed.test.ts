// Maps opened by id are typed from the BTF the kernel keeps for them.
import { describe, expect, it } from 'vitest';
import { BpfMap, loadCollection, MapError, openTypedMap } from '../src/index.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

describe.runIf(need(isRoot, 'needs root'))('typed maps opened by id', () => {
  it('decode the struct value of a map created from a C object, field by field', () => {
    const c = track(loadCollection('bpf/goroutines.o'));
    // struct config { u32 pid, state_mask, wakeup_bytes, pad } (bpf/goroutines.c)
    const raw = Buffer.alloc(16);
    raw.writeUInt32LE(4242, 0);
    raw.writeUInt32LE(0b110, 4);
    raw.writeUInt32LE(65536, 8);
    (c.maps.config as BpfMap<unknown, unknown>).update(Buffer.from([0, 0, 0, 0]), raw);
    const typed = track(openTypedMap(c.maps.config.info().id));
    expect(typed.lookup(0)).toEqual({ pid: 4242, state_mask: 6, wakeup_bytes: 65536, pad: 0 });
    typed.update(0, { pid: 7, state_mask: 1, wakeup_bytes: 0, pad: 0 });
    expect((c.maps.config as BpfMap<unknown, unknown>).lookup(Buffer.from([0, 0, 0, 0]))).toEqual({
      pid: 7,
      state_mask: 1,
      wakeup_bytes: 0,
      pad: 0,
    });
  });

  it('refuse a map without BTF, saying what to do instead', () => {
    const m = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'plain' }));
    expect(() => openTypedMap(m.info().id)).toThrow(MapError);
    expect(() => openTypedMap(m.info().id)).toThrow(/created without BTF.*BpfMap.fromId and a codec/);
  });
});
