// `__ksym` externs resolved against the running kernel, as libbpf resolves them:
// - kfunc calls become BPF_PSEUDO_KFUNC_CALL with the function's BTF id; a module's kfunc also
//   names its BTF through the program's fd_array (the call's offset is the index there);
// - an lddw of a typed extern (a kernel variable, or a kfunc's address) becomes BPF_PSEUDO_BTF_ID
//   with the BTF id, and the module BTF's fd in the high half;
// - an lddw of a typeless extern (`extern const void sym __ksym`) gets the address from kallsyms;
// - a __weak extern the kernel lacks reads 0 (so bpf_ksym_exists() is false and the verifier
//   prunes what it guards), and a call of a missing __weak kfunc becomes a call of an invalid
//   helper that fails verification only if it is reachable.
// An extern no program being loaded uses is never looked up.
import { isLddw, type Instruction } from '../../asm/index.js';
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL } from '../../asm/opcodes.js';
import type { Btf } from '../../btf/index.js';
import { kernelBtf, moduleBtf, modulesWithBtf } from '../../kernel/btf.js';
import { closeFd } from '../../syscall/index.js';
import { LoaderError } from '../../errors/index.js';
import type { CollectionSpec, KsymExtern, ProgramSpecEntry } from '../spec/types.js';
import { kallsymsAddress } from './kernel-probes.js';
import { kernelBtfObjectFd } from './module-btf.js';

/** libbpf's POISON_CALL_KFUNC_BASE: the helper id a missing weak kfunc's call becomes (plus the extern's index). */
export const POISON_KFUNC_CALL = 2002000000;

export interface ResolvedExterns {
  /** A program's instructions with every extern reference filled in, and the fd_array its kfunc calls need. */
  apply(instructions: readonly Instruction[], p: ProgramSpecEntry): { instructions: Instruction[]; fdArray?: Int32Array };
  /** Closes the module BTF fds (programs hold their own references once loaded). */
  close(): void;
}

interface Found {
  /** BTF id in vmlinux or the module; 0 for a typeless symbol. */
  readonly btfId: number;
  readonly module: string | undefined;
  /** Typeless: the kallsyms address. */
  readonly address: bigint;
}

export function resolveExterns(spec: CollectionSpec): ResolvedExterns {
  const byName = new Map<string, { extern: KsymExtern; index: number }>();
  spec.ksyms.forEach((extern, index) => byName.set(extern.name, { extern, index }));
  const found = new Map<string, Found | undefined>();
  const moduleFds = new Map<string, number>();

  const lookup = (e: KsymExtern, p: ProgramSpecEntry): Found | undefined => {
    if (found.has(e.name)) return found.get(e.name);
    let result: Found | undefined;
    if (e.typeless) {
      const address = kallsymsAddress(e.name);
      if (address !== undefined) result = { btfId: 0, module: undefined, address };
    } else {
      result = findKernelType(e.name, e.kind);
    }
    if (!result && !e.weak) {
      const where = e.typeless ? '/proc/kallsyms' : "the kernel's BTF";
      throw new LoaderError(`extern ${e.kind === 'func' ? 'kfunc' : 'ksym'} ${e.name} is not in ${where}`, {
        file: spec.name,
        section: p.section,
        symbol: p.name,
        hint: `the kernel lacks it; declare it __weak and guard its use with bpf_ksym_exists(${e.name})`,
      });
    }
    found.set(e.name, result);
    return result;
  };
  const moduleFd = (module: string, p: ProgramSpecEntry): number => {
    let fd = moduleFds.get(module);
    if (fd === undefined) {
      fd = kernelBtfObjectFd(module);
      if (fd === undefined)
        throw new LoaderError(`the BTF object of module ${module} is not loaded`, { file: spec.name, section: p.section, symbol: p.name });
      moduleFds.set(module, fd);
    }
    return fd;
  };

  return {
    apply(instructions, p) {
      let fdArray: number[] | undefined;
      const out = instructions.map((insn) => {
        if (insn.reference === undefined) return insn;
        const isCall = insn.opcode === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_KFUNC_CALL;
        const isKsym = isLddw(insn) && insn.src === BPF_PSEUDO_BTF_ID;
        if (!isCall && !isKsym) return insn;
        const entry = byName.get(insn.reference);
        if (!entry)
          throw new LoaderError(`reference to extern ${insn.reference}, which the object's .ksyms does not declare`, {
            file: spec.name,
            section: p.section,
            symbol: p.name,
          });
        const f = lookup(entry.extern, p);
        const { reference: _, ...copy } = insn;
        if (isCall) {
          if (!f) return { ...copy, src: 0, offset: 0, imm: POISON_KFUNC_CALL + entry.index };
          let slot = 0;
          if (f.module !== undefined) {
            fdArray ??= [0]; // index 0 stands for vmlinux
            const fd = moduleFd(f.module, p);
            slot = fdArray.indexOf(fd);
            if (slot < 0) slot = fdArray.push(fd) - 1;
          }
          return { ...copy, imm: f.btfId, offset: slot };
        }
        if (!f) return { ...copy, src: 0, imm: 0, imm64: 0n };
        if (f.btfId === 0) return { ...copy, src: 0, imm: Number(BigInt.asIntN(32, f.address)), imm64: BigInt.asUintN(64, f.address) };
        const objFd = f.module !== undefined ? moduleFd(f.module, p) : 0;
        return { ...copy, imm: f.btfId, imm64: (BigInt(objFd) << 32n) | BigInt(f.btfId) };
      });
      return { instructions: out, ...(fdArray ? { fdArray: Int32Array.from(fdArray) } : {}) };
    },
    close() {
      for (const fd of moduleFds.values()) closeFd(fd);
      moduleFds.clear();
    },
  };
}

/**
 * A FUNC or VAR by name in the running kernel's BTF, then in each module's: the ids go to this
 * kernel, so a caller-supplied BTF (for CO-RE) never answers this.
 */
function findKernelType(name: string, kind: 'func' | 'var'): Found | undefined {
  const t = kernelBtf().findType(name, kind);
  if (t) return { btfId: t.id, module: undefined, address: 0n };
  for (const module of modulesWithBtf()) {
    let btf: Btf;
    try {
      btf = moduleBtf(module);
    } catch {
      continue;
    }
    const m = btf.findType(name, kind);
    if (m && m.id >= btf.firstTypeId) return { btfId: m.id, module, address: 0n };
  }
  return undefined;
}
