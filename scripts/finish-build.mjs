// Runs after tsc: adds what the compiler does not emit. The CommonJS entry that explains the
// package is ESM-only (require() lands there), and the executable bit on the `ebpf` command.
import { chmodSync, copyFileSync, existsSync } from 'node:fs';

copyFileSync('src/require-esm-only.cjs', 'dist/require-esm-only.cjs');
if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: the build did not emit the CLI');
chmodSync('dist/cli/main.js', 0o755);
