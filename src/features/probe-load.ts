// The minimal program loads and map creates the probes are made of. Each opens and closes its fd at
// once; the verifier log buffer is kept between probes (helper probes run hundreds of loads).
import { readFileSync } from 'node:fs';
import { closeFd, mapCreate, NativeMemory, progLoadRaw, SyscallError, type MapCreateRequest } from '../syscall/index.js';
import { errnoName } from '../syscall/errors.js';
import { FeatureProbeError, type ProbeOutcome } from './feature.js';

const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;
let capabilities: bigint | undefined;

/**
 * Whether this process holds CAP_BPF or CAP_SYS_ADMIN. With them, EPERM is the kernel refusing the
 * feature itself (lockdown, a kernel that cannot build trampolines): an answer, "not supported".
 * Without them it is no answer at all.
 */
export function privileged(): boolean {
  if (capabilities === undefined) {
    try {
      const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      capabilities = m ? BigInt(`0x${m[1]}`) : 0n;
    } catch {
      capabilities = 0n;
    }
  }
  return ((capabilities >> BigInt(CAP_BPF)) & 1n) === 1n || ((capabilities >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
}

/** One raw instruction, as struct bpf_insn. */
export function insn(opcode: number, dst: number, src: number, offset: number, imm: number): Uint8Array {
  const b = Buffer.alloc(8);
  b[0] = opcode;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(offset, 2);
  b.writeInt32LE(imm, 4);
  return b;
}

export const MOV64_IMM = 0xb7;
export const EXIT = 0x95;
export const CALL = 0x85;
export const exit0 = (): Uint8Array[] => [insn(MOV64_IMM, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)];

export function program(...insns: Uint8Array[]): Uint8Array {
  return Buffer.concat(insns);
}

let log: NativeMemory | undefined;
const LOG_SIZE = 16 * 1024;

export interface LoadAttempt {
  ok: boolean;
  errno: number;
  errnoName: string;
  log: string;
}

export interface LoadProbeOptions {
  expectedAttachType?: number;
  attachBtfId?: number;
  flags?: number;
  kernVersion?: number;
  withLog?: boolean;
}

/** Loads `insns` as `type` and closes the result. EPERM means the caller lacks privileges: no answer. */
export function tryLoad(feature: string, type: number, insns: Uint8Array, o: LoadProbeOptions = {}): LoadAttempt {
  if (o.withLog && !log) log = new NativeMemory(LOG_SIZE);
  for (let attempt = 0; ; attempt++) {
    const r = progLoadRaw({
      type,
      insns,
      license: 'GPL',
      expectedAttachType: o.expectedAttachType,
      attachBtfId: o.attachBtfId,
      flags: o.flags,
      kernVersion: o.kernVersion,
      log: o.withLog ? log : undefined,
      logLevel: o.withLog ? 1 : 0,
    });
    if (r.ret >= 0) {
      closeFd(r.ret);
      return { ok: true, errno: 0, errnoName: '', log: r.log };
    }
    const errno = -r.ret;
    if (errno === 11 /* EAGAIN: a signal interrupted the verifier */ && attempt < 5) continue;
    if (errno === 1 && !privileged())
      throw new FeatureProbeError(
        feature,
        new SyscallError(
          'BPF_PROG_LOAD',
          errno,
          undefined,
          'feature probes load programs and create maps: run as root or with CAP_BPF (plus CAP_NET_ADMIN, CAP_PERFMON for those types)',
        ),
      );
    return { ok: false, errno, errnoName: errnoName(errno), log: r.log };
  }
}

/** Creates a map and closes it; returns the outcome. */
export function tryCreate(feature: string, r: MapCreateRequest): ProbeOutcome & { errno: number } {
  try {
    closeFd(mapCreate(r));
    return { supported: true, detail: 'created', errno: 0 };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    if (e.errno === 1 && !privileged()) throw new FeatureProbeError(feature, e);
    return { supported: false, detail: `BPF_MAP_CREATE: ${e.code}`, errno: e.errno };
  }
}

/** The log's last non-empty line, for details. */
export function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** The log's first line: where the verifier states why it refused before it started. */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
