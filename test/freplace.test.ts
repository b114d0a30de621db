// freplace: everything up to the kernel's refusal. The target loads and runs; the function's BTF
// id is found in the target's kernel-held BTF (bpftool as the oracle); the EXT program's load is
// refused by this kernel (no trampolines) with an error that says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadCollection, LoaderError, type Collection } from '../src/loader/index.js';
import { attachFreplace, btfById, freplaceTarget, LinkError, LinkNotSupportedError, programFunctionBtfId } from '../src/links/index.js';
import { SyscallError } from '../src/syscall/index.js';
import { findCause } from '../src/errors/index.js';
import { ProgramType } from '../src/uapi/bpf.js';
import { hasCommand, isRoot, need } from './support/env.js';
import './support/leaks.js';

const OBJECT = join(import.meta.dirname, '../bpf/freplace.o');
const canRun = need(isRoot, 'freplace tests need root');

describe.runIf(canRun)('freplace', () => {
  let target: Collection;
  beforeAll(() => {
    target = loadCollection(OBJECT, { programs: ['xdp_target'] });
  });
  afterAll(() => target?.close());

  it('the target runs its own verdict (XDP_PASS) before anything replaces it', () => {
    expect(target.programs.xdp_target.testRun({ data: Buffer.alloc(64) }).retval).toBe(2);
  });

  it("finds the function in the target's BTF as bpftool does", () => {
    const id = programFunctionBtfId(target.programs.xdp_target, 'verdict');
    const btfId = target.programs.xdp_target.info().btfId;
    expect(btfById(btfId).nameOf(id)).toBe('verdict');
    if (!need(hasCommand('bpftool'), 'bpftool as the oracle')) return;
    const types = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'id', String(btfId)], { encoding: 'utf8' })).types as {
      id: number;
      kind: string;
      name: string;
    }[];
    expect(types.find((t) => t.kind === 'FUNC' && t.name === 'verdict')?.id).toBe(id);
    expect(freplaceTarget(target.programs.xdp_target, 'verdict')).toEqual({
      type: ProgramType.EXT,
      attachProgFd: target.programs.xdp_target.fd,
      attachBtfId: id,
    });
  });

  it('refuses unknown and static functions, and programs without BTF, naming what there is', () => {
    expect(() => programFunctionBtfId(target.programs.xdp_target, 'nope')).toThrow(/no function "nope" in its BTF; it has: .*verdict/);
    expect(() => programFunctionBtfId(target.programs.xdp_target, 'pass')).toThrow(/function "pass" of program "xdp_target" is static/);
    const bare = loadCollection(OBJECT, { programs: ['xdp_target'], withoutBtf: true });
    try {
      expect(() => programFunctionBtfId(bare.programs.xdp_target, 'verdict')).toThrow(/loaded without BTF/);
    } finally {
      bare.close();
    }
  });

  it('the loader needs the target of a freplace program', () => {
    expect(() => loadCollection(OBJECT, { programs: ['drop_instead'] })).toThrow(LoaderError);
    expect(() => loadCollection(OBJECT, { programs: ['drop_instead'] })).toThrow(/extensionTargets: \{ drop_instead: program \}/);
  });

  it('this kernel refuses the extension (no BPF trampolines) with EPERM and says why; a kernel that loads it must then replace the verdict', () => {
    let ext: Collection | undefined;
    let err: unknown;
    try {
      ext = loadCollection(OBJECT, { programs: ['drop_instead'], extensionTargets: { drop_instead: target.programs.xdp_target } });
    } catch (e) {
      err = e;
    }
    if (ext) {
      try {
        const link = attachFreplace(ext.programs.drop_instead);
        try {
          expect(target.programs.xdp_target.testRun({ data: Buffer.alloc(64) }).retval).toBe(1);
        } finally {
          link.close();
        }
      } catch (e) {
        expect(e).toMatchObject({ code: 'ERR_LINK', kind: 'attach' });
        expect(findCause(e, LinkNotSupportedError)).toBeInstanceOf(LinkNotSupportedError);
      } finally {
        ext.close();
      }
      return;
    }
    const cause = (err as { cause?: unknown }).cause ?? err;
    expect(cause).toBeInstanceOf(SyscallError);
    expect((cause as SyscallError).code).toBe('EPERM');
    expect((err as Error).message + String((cause as Error).message)).toMatch(/freplace \(EXT\) programs.*BPF trampolines/);
  });

  it('attachFreplace refuses a program that is not an extension', () => {
    expect(() => attachFreplace(target.programs.xdp_target)).toThrow(/is not an EXT program/);
    expect(() => attachFreplace(target.programs.xdp_target, target.programs.xdp_target)).toThrow(LinkError);
  });
});
