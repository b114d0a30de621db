// Builds the comparison anchors from their sources at bench time, into a cache directory keyed by
// a hash of the sources and the toolchain versions (nothing built is committed):
// - bpf/*.bpf.c      clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c X.bpf.c -o X.bpf.o
// - libbpf/*.c       cc -O2 -Wall X.c -o libbpf-X -lbpf -lelf -lz       (Debian's libbpf-dev)
// - cilium/*.go      go build -o cilium .  in GOPATH mode, offline, against Debian's
//                    golang-github-cilium-ebpf-dev under /usr/share/gocode
//                    (GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0
//                     GOPATH=<cache>/gopath:/usr/share/gocode GOCACHE=<cache>/gocache)
// Run alone: npx tsx bench/anchors/build.ts  (prints the directory and what was built).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE_ROOT = process.env.EBPF_BENCH_ANCHOR_CACHE ?? join(tmpdir(), 'ebpf-bench-anchors');

export interface AnchorBuild {
  dir: string;
  /** BPF objects by base name (records, many). */
  objects: Record<string, string>;
  /** libbpf anchor binaries by benchmark (records, hashmap, btf, load). */
  libbpf: Record<string, string>;
  /** The cilium/ebpf anchor binary (subcommands records, hashmap, btf, load). */
  cilium?: string;
  /** Why a part could not be built. */
  errors: { libbpf?: string; cilium?: string; bpf?: string };
  versions: { clang: string; cc: string; go: string; libbpf: string; cilium: string };
  cached: boolean;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8' });
  if (r.error) return { ok: false, out: r.error.message };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

const firstLine = (s: string): string => s.split('\n')[0] ?? '';
const dpkgVersion = (pkg: string): string => {
  const r = run('dpkg-query', ['-W', '-f=${Version}', pkg]);
  return r.ok && r.out ? r.out : 'not installed';
};

function sources(): string[] {
  const out: string[] = [];
  for (const sub of ['bpf', 'libbpf', 'cilium']) {
    const d = join(HERE, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) if (/\.(c|h|go)$/.test(f)) out.push(join(d, f));
  }
  return out;
}

export function toolVersions(): AnchorBuild['versions'] {
  return {
    clang: firstLine(run('clang', ['--version']).out),
    cc: firstLine(run('cc', ['--version']).out),
    go: run('go', ['version']).out || 'not installed',
    libbpf: dpkgVersion('libbpf-dev'),
    cilium: dpkgVersion('golang-github-cilium-ebpf-dev'),
  };
}

export function buildAnchors(log: (line: string) => void = () => undefined): AnchorBuild {
  const versions = toolVersions();
  const hash = createHash('sha256');
  hash.update(JSON.stringify(versions));
  for (const f of sources()) hash.update(f.slice(HERE.length)).update(readFileSync(f));
  const key = hash.digest('hex').slice(0, 16);
  const dir = join(CACHE_ROOT, key);
  const manifest = join(dir, 'build.json');
  if (existsSync(manifest)) return { ...(JSON.parse(readFileSync(manifest, 'utf8')) as AnchorBuild), cached: true };

  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const build: AnchorBuild = { dir, objects: {}, libbpf: {}, errors: {}, versions, cached: false };

  for (const f of readdirSync(join(HERE, 'bpf'))
    .filter((f) => f.endsWith('.bpf.c'))
    .sort()) {
    const name = f.replace(/\.bpf\.c$/, '');
    const outFile = join(work, `${name}.bpf.o`);
    log(`clang ${f}`);
    const r = run('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(HERE, 'bpf', f), '-o', outFile]);
    if (r.ok) build.objects[name] = join(dir, `${name}.bpf.o`);
    else build.errors.bpf = `clang ${f}: ${r.out}`;
  }

  if (!existsSync('/usr/include/bpf/libbpf.h')) {
    build.errors.libbpf = 'libbpf-dev is not installed (apt-get install -y libbpf-dev)';
  } else {
    for (const f of readdirSync(join(HERE, 'libbpf'))
      .filter((f) => f.endsWith('.c'))
      .sort()) {
      const name = f.replace(/\.c$/, '');
      log(`cc ${f}`);
      const r = run('cc', ['-O2', '-Wall', '-o', join(work, `libbpf-${name}`), join(HERE, 'libbpf', f), '-lbpf', '-lelf', '-lz']);
      if (r.ok) build.libbpf[name] = join(dir, `libbpf-${name}`);
      else build.errors.libbpf = `cc ${f}: ${r.out}`;
    }
  }

  if (!existsSync('/usr/share/gocode/src/github.com/cilium/ebpf')) {
    build.errors.cilium = 'golang-github-cilium-ebpf-dev is not installed (apt-get install -y golang-github-cilium-ebpf-dev golang-go)';
  } else if (versions.go === 'not installed') {
    build.errors.cilium = 'go is not installed (apt-get install -y golang-go)';
  } else {
    log('go build cilium');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOPATH: `${join(work, 'gopath')}:/usr/share/gocode`,
      GOCACHE: join(CACHE_ROOT, 'gocache'),
      GO111MODULE: 'off',
      GOPROXY: 'off',
      GOFLAGS: '',
      CGO_ENABLED: '0',
    };
    const r = run('go', ['build', '-o', join(work, 'cilium'), '.'], { cwd: join(HERE, 'cilium'), env });
    if (r.ok) build.cilium = join(dir, 'cilium');
    else build.errors.cilium = `go build: ${r.out}`;
    rmSync(join(work, 'gopath'), { recursive: true, force: true });
  }

  writeFileSync(join(work, 'build.json'), JSON.stringify(build, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return build;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const b = buildAnchors((l) => console.error(l));
  console.log(JSON.stringify(b, null, 2));
}
