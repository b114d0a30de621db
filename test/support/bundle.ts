// Test fixtures that are started many times, or under limits where loading dozens of TypeScript
// files through tsx is itself the problem (RLIMIT_NOFILE), run as one bundled JavaScript file:
// node starts it in tens of milliseconds, opening one file. The FFI package stays external.
// esbuild comes with tsx; it is listed as a devDependency of its own since the tests call it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Bundles `entry` (a path from the repository root) into a temporary .mjs and returns its path.
 * The bundle sits under node_modules/.cache so that the external FFI package resolves from it.
 */
export function bundleFixture(entry: string): string {
  const cache = join('node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'ebpf-fixture-'));
  dirs.push(dir);
  const out = join(dir, basename(entry).replace(/\.ts$/, '.mjs'));
  // esbuild's command, not its JavaScript API: buildSync runs in a worker thread whose event loop
  // leaves an epoll fd and an eventfd in this process, which the per-file fd check would count.
  execFileSync(
    join('node_modules', '.bin', 'esbuild'),
    [
      entry,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      `--outfile=${out}`,
      '--external:koffi',
      '--external:ffi-rs',
      '--log-level=error',
      // Bundled ESM has no require(); the FFI package is loaded through it.
      "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return out;
}
