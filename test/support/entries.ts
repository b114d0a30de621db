// The package's entry points (package.json "exports") by their source files, and what they export
// together: the public API as a user can reach it, for tests that check every exported class.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, string | { import: string }> };

/** Entry point ('.', './link', …) → its source file ('src/index.ts', 'src/links/index.ts', …); './bpf/*' and './package.json' left out. */
export const ENTRY_SOURCES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(pkg.exports)
    .filter((e): e is [string, { import: string }] => typeof e[1] !== 'string')
    .map(([entry, target]) => [entry, target.import.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')]),
);

/** Every value the library's entry points export, by name (the `ebpf` command's entry left out: its UsageError is argument parsing, not the library). */
export async function libraryExports(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [entry, file] of Object.entries(ENTRY_SOURCES)) {
    if (entry === './cli') continue;
    Object.assign(out, await import(pathToFileURL(resolve(file)).href));
  }
  return out;
}
