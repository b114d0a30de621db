import { compareMinor, type GoVersion } from './go-version.js';
import { ARM64_USER_PT_REGS, X86_64_PT_REGS, arm64RegisterOffset } from './pt-regs.js';

/** A register and where a uprobe program finds it in pt_regs. */
export interface RegisterSlot {
  register: string;
  ptRegsOffset: number;
}

/**
 * Where `runtime.casgstatus(gp *g, oldval, newval uint32)` finds its arguments at its first
 * instruction. oldval and newval are 32-bit: read the low 4 bytes (registers) or 4 bytes (stack).
 */
export type CasgstatusAbi =
  | {
      kind: 'registers';
      arch: 'amd64' | 'arm64';
      gp: RegisterSlot;
      old: RegisterSlot;
      new: RegisterSlot;
      /** The running goroutine's g (R14 / X28), which is not always gp. */
      currentG: RegisterSlot;
      sp: RegisterSlot;
      pc: RegisterSlot;
    }
  | {
      kind: 'stack';
      arch: 'amd64' | 'arm64';
      /** Read the stack pointer from here, then the arguments at these offsets from it. */
      sp: RegisterSlot;
      pc: RegisterSlot;
      gpSpOffset: 8;
      oldSpOffset: 16;
      newSpOffset: 20;
    }
  | { kind: 'unsupported'; arch: string; reason: string };

const x86 = (register: keyof typeof X86_64_PT_REGS): RegisterSlot => ({ register, ptRegsOffset: X86_64_PT_REGS[register] });
const arm = (n: number): RegisterSlot => ({ register: `x${n}`, ptRegsOffset: arm64RegisterOffset(n) });

/**
 * The calling convention of casgstatus for a Go version and GOARCH. The register ABI
 * (ABIInternal) arrived for amd64 in Go 1.17 and for arm64 in 1.18; before that, ABI0 passes
 * everything on the stack above the return address slot (amd64) or the saved-LR slot (arm64).
 */
export function casgstatusAbi(version: GoVersion, machine: string): CasgstatusAbi {
  if (machine === 'amd64') {
    const sp = x86('sp');
    const pc = x86('ip');
    if (compareMinor(version, { major: 1, minor: 17 }) >= 0) {
      return { kind: 'registers', arch: 'amd64', gp: x86('ax'), old: x86('bx'), new: x86('cx'), currentG: x86('r14'), sp, pc };
    }
    return { kind: 'stack', arch: 'amd64', sp, pc, gpSpOffset: 8, oldSpOffset: 16, newSpOffset: 20 };
  }
  if (machine === 'arm64') {
    const sp = { register: 'sp', ptRegsOffset: ARM64_USER_PT_REGS.sp };
    const pc = { register: 'pc', ptRegsOffset: ARM64_USER_PT_REGS.pc };
    if (compareMinor(version, { major: 1, minor: 18 }) >= 0) {
      return { kind: 'registers', arch: 'arm64', gp: arm(0), old: arm(1), new: arm(2), currentG: arm(28), sp, pc };
    }
    return { kind: 'stack', arch: 'arm64', sp, pc, gpSpOffset: 8, oldSpOffset: 16, newSpOffset: 20 };
  }
  return { kind: 'unsupported', arch: machine, reason: `no calling convention table for GOARCH ${machine} (only amd64 and arm64)` };
}
