// CI check of what `npm pack` would publish (prepack builds dist/ first): the entry points, the
// bin, the LICENSE and the runtime BPF objects are in; tests, sources and BPF test fixtures are not.
// test/package.test.ts installs the real tarball into an empty project and uses it.
import { execFileSync } from 'node:child_process';

const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
const files = pack.files.map((f) => f.path);
const required = [
  'LICENSE',
  'README.md',
  'package.json',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/index.js.map',
  'dist/cli/main.js',
  'dist/cli/index.js',
  'dist/require-esm-only.cjs',
  'bpf/goroutines.o',
  'bpf/xdp_counter.o',
];
const missing = required.filter((f) => !files.includes(f));
const unwanted = files.filter((f) => /^(test|src|bench|examples|scripts)\//.test(f) || /verifier_fail|\.bpfeb\.o$/.test(f));
if (missing.length || unwanted.length) {
  console.error(`npm pack: missing ${missing.join(', ') || 'nothing'}; unwanted ${unwanted.join(', ') || 'nothing'}`);
  process.exit(1);
}
console.log(`npm pack: ${files.length} files, ${pack.size} bytes packed`);
