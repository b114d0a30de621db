// The one error model: every error class the library exports is an EbpfError with a stable code,
// causes are kept and found through the chain, and the errno table agrees with the C library.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BpfMap, MapError, Program, ProgramError } from '../src/index.js';
import { ProgramBuilder, R0 } from '../src/asm/index.js';
import { Link, LinkError } from '../src/links/index.js';
import { LoaderError } from '../src/loader/index.js';
import { libraryExports } from './support/entries.js';
import {
  causeChain,
  EbpfError,
  Errno,
  errnoMessage,
  errnoName,
  errnoOf,
  findCause,
  isNotSupported,
  NotSupportedError,
  SyscallError,
} from '../src/errors/index.js';

describe('error model', () => {
  it('every error class an entry point exports extends EbpfError', async () => {
    const classes = Object.entries(await libraryExports()).filter(
      (e): e is [string, { prototype: unknown }] => typeof e[1] === 'function' && /Error$/.test(e[0]),
    );
    expect(classes.length).toBeGreaterThan(20);
    for (const [name, cls] of classes) {
      expect(cls.prototype instanceof EbpfError || cls === EbpfError, name).toBe(true);
    }
  });

  it('keeps code and cause, and the chain helpers find the kernel refusal under wrappers', () => {
    const refusal = new SyscallError('BPF_LINK_CREATE', Errno.EOPNOTSUPP);
    const wrapped = new LinkError('attach', 'attaching failed', { cause: refusal });
    const outer = new LoaderError('loading failed', {}, { cause: wrapped });
    expect(refusal.code).toBe('EOPNOTSUPP');
    expect(wrapped.code).toBe('ERR_LINK');
    expect(outer.code).toBe('ERR_LOADER');
    expect([...causeChain(outer)]).toEqual([outer, wrapped, refusal]);
    expect(errnoOf(outer)).toBe('EOPNOTSUPP');
    expect(findCause(outer, SyscallError)).toBe(refusal);
    expect(isNotSupported(outer)).toBe(true);
    expect(isNotSupported(new SyscallError('BPF_MAP_CREATE', Errno.EPERM))).toBe(false);
    expect(errnoOf(new Error('plain'))).toBeUndefined();
  });

  it('NotSupportedError names the feature and the first kernel that has it', () => {
    const e = new NotSupportedError('kprobe_multi', '5.18', 'attaching a kprobe.multi link');
    expect(e.code).toBe('ERR_NOT_SUPPORTED');
    expect(e.feature).toBe('kprobe_multi');
    expect(e.minimumKernel).toBe('5.18');
    expect(e.message).toBe('attaching a kprobe.multi link: kprobe_multi is not supported by this kernel (it came in Linux 5.18)');
    expect(isNotSupported(new MapError('update', 'x', { cause: e }))).toBe(true);
  });

  it('a cycle in causes ends the walk', () => {
    const a = new EbpfError('ERR_A', 'a');
    const b = new EbpfError('ERR_B', 'b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect([...causeChain(b)]).toHaveLength(2);
  });

  it('errno names and texts agree with the C library (python3 errno/os.strerror as the oracle)', () => {
    const oracle = JSON.parse(
      execFileSync(
        'python3',
        ['-c', 'import errno, os, json; print(json.dumps({n: [errno.errorcode[n], os.strerror(n)] for n in errno.errorcode}))'],
        { encoding: 'utf8' },
      ),
    ) as Record<string, [string, string]>;
    const aliases: Record<string, string> = { EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK', ENOTSUP: 'EOPNOTSUPP' };
    let compared = 0;
    for (const [n, [name, text]] of Object.entries(oracle)) {
      expect(errnoName(Number(n))).toBe(aliases[name] ?? name);
      expect(errnoMessage(Number(n))).toBe(text);
      compared++;
    }
    expect(compared).toBeGreaterThan(120);
    expect(errnoName(524)).toBe('ENOTSUPP');
    expect(errnoName(9999)).toBe('E9999');
  });
});

describe('closed objects', () => {
  it('.fd throws after close, so a stale number never reaches the kernel', async () => {
    if (process.getuid?.() !== 0) return;
    const m = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'closed_fd' });
    const p = Program.load({
      type: 'RAW_TRACEPOINT',
      instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build(),
      name: 'closed_fd',
    });
    const l = Link.rawTracepoint(p, 'sys_enter');
    expect(m.fd).toBeGreaterThan(2);
    for (const x of [l, p, m]) x.close();
    expect(() => m.fd).toThrow(MapError);
    expect(() => p.fd).toThrow(ProgramError);
    expect(() => l.fd).toThrow(LinkError);
    expect(() => m.fd).toThrow(/map "closed_fd" is closed/);
  });
});
