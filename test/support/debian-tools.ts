// The tests compare this library with independent tools (clang, llvm-objdump, bpftool, libbpf,
// bpftrace, go, xdp-tools, ...). A fresh machine of the kind the project targets (Debian 12, Node 20)
// has none of them, and `npm ci && npm test` must still pass there: so the test command installs
// what is missing, once, before any test file runs (vitest globalSetup). CI adds nothing to this.
//
// Nothing is installed when the machine is not Debian-like (no dpkg), when not root, or when
// EBPF_TEST_NO_INSTALL=1; the tests that need a missing tool then skip outside CI and fail under
// CI=true, saying which tool (test/support/env.ts `need`).
import { execFileSync, spawnSync } from 'node:child_process';

/** Each Debian package the tests use, and why. */
export const TEST_PACKAGES: Readonly<Record<string, string>> = {
  clang: 'compiles bpf/*.c for `make -C bpf check` and the anchors',
  'llvm-19': 'llvm-objdump-19 and llvm-mc-19: the assembler and disassembler oracles',
  llvm: 'llvm-objdump, which bpf/Makefile compares committed objects with',
  bpftool: 'lists kernel objects independently (leak checks) and loads objects through libbpf',
  'libbpf-dev': 'libbpf, the loader oracle and benchmark anchor; its bpf_helpers.h and usdt.bpf.h',
  'linux-libc-dev': 'kernel UAPI headers: struct layouts checked with offsetof()',
  bpftrace: 'an independent tracer: the goroutine tracer and USDT oracles',
  'golang-go': 'builds the Go programs the goroutine tracer is tested on',
  'xdp-tools': 'xdp-loader status, the second XDP oracle',
  'libxdp-dev': "libxdp's xsk API: the C AF_XDP receiver bench/afxdp.ts compares with (test/afxdp-anchor)",
  'systemtap-sdt-dev': '<sys/sdt.h> for the USDT test program',
  iproute2: 'ip and tc: network namespaces, veth pairs, the XDP and tc oracles',
  'util-linux': 'setpriv and unshare: running with chosen capabilities and namespaces',
  procps: 'ps: the processes of a process group, in the signal tests',
  binutils: 'readelf: the ELF oracle',
  gcc: 'builds the small C loaders and test programs',
  'libc6-dev': 'C headers for those programs',
  make: 'runs bpf/Makefile',
  python3: 'the Python interpreter whose USDT probes are traced',
};

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** The packages of TEST_PACKAGES that dpkg does not list as installed. */
export function missingPackages(): string[] {
  return Object.keys(TEST_PACKAGES).filter((p) => !installed(p));
}

function hasDpkg(): boolean {
  return spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status === 0;
}

export default function setup(): void {
  if (process.platform !== 'linux' || process.env.EBPF_TEST_NO_INSTALL === '1' || !hasDpkg()) return;
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(`test tools missing and not root, so not installed: ${missing.join(' ')}`);
    return;
  }
  console.error(`installing the Debian packages the tests compare against: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): void => {
    execFileSync('apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  };
  try {
    apt(['update', '-q']);
    apt(['install', '-y', '-q', '--no-install-recommends', ...missing]);
  } catch (e) {
    // The tests that need a tool report it themselves; say here why it is missing.
    console.error(`could not install ${missing.join(' ')}: ${(e as Error).message}`);
  }
}
