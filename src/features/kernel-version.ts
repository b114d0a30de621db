// The running kernel's version code, only for what the kernel itself wants told (a KPROBE load on
// kernels before 5.0 checks kern_version). Not a feature test.
import { release } from 'node:os';

export function linuxKernelVersionCode(): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release());
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** "6.18" from uname, for comparing with a feature's minimum. */
export function runningKernelRelease(): string {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? `${m[1]}.${m[2]}` : '0.0';
}
