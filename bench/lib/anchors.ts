// Running the anchors (small libbpf and cilium/ebpf programs built by bench/anchors/build.ts, each
// printing one JSON line) and reading their figures: once per run (runAnchor), or as a session that
// stays up and answers one command after another (AnchorSession), so that ours and the anchors can
// take turns of a few milliseconds each.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Cell } from './table.js';

export { buildAnchors, type AnchorBuild } from '../anchors/build.js';

export type AnchorResult = Record<string, number> | { error: string };

/** Runs an anchor binary and parses its last JSON line. */
export function runAnchor(bin: string | undefined, args: string[], missing: string | undefined): AnchorResult {
  if (!bin) return { error: missing ?? 'not built' };
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  const line = (r.stdout ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line)
    return { error: `${bin.split('/').pop()} ${args[0] ?? ''}: exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}` };
  try {
    return JSON.parse(line) as AnchorResult;
  } catch {
    return { error: `unparsable output: ${line}` };
  }
}

/** One figure of an anchor's result, or its error. */
export const field = (res: AnchorResult, key: string): Cell =>
  'error' in res ? { error: String(res.error) } : typeof res[key] === 'number' ? res[key] : { error: `no ${key}` };

/**
 * An anchor kept running in serve mode: it sets up once (creates its map, loads its object), then
 * reads one command per line on stdin and answers each with one JSON line on stdout, until stdin
 * ends. This machine's speed swings by a third or more from one second to the next (a VM with
 * neighbours), so implementations measured seconds apart are compared under different machines;
 * in a session each command takes milliseconds, and ours and the anchors follow one another command
 * by command under the same minute. An anchor that failed (to build, to start, or on a command)
 * answers every later command with its error.
 */
export class AnchorSession {
  readonly #name: string;
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  readonly #lines: AsyncIterator<string> | undefined;
  #error: string | undefined;
  #stderr = '';

  private constructor(name: string, bin: string | undefined, args: string[], missing: string | undefined) {
    this.#name = name;
    if (!bin) {
      this.#error = missing ?? 'not built';
      return;
    }
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => void (this.#stderr = (this.#stderr + d).slice(-4000)));
    child.on('error', (e) => void (this.#error ??= `${name}: ${e.message}`));
    // A write after the child has died must not throw from the stream.
    child.stdin.on('error', () => undefined);
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts `bin args` in serve mode; `missing` is the error to report when bin did not build. */
  static start(name: string, bin: string | undefined, args: string[], missing: string | undefined): AnchorSession {
    return new AnchorSession(name, bin, args, missing);
  }

  /** Whether it has failed: every ask() then answers its error. */
  get failed(): string | undefined {
    return this.#error;
  }

  /**
   * Sends one command line and waits for the JSON line that answers it (its error: as {error}).
   * An anchor that does not answer within `timeoutMs` is killed, and fails.
   */
  async ask(command: string, timeoutMs = 10 * 60_000): Promise<AnchorResult> {
    const child = this.#child;
    if (this.#error !== undefined || !child || !this.#lines) return { error: this.#error ?? 'not running' };
    const what = `${this.#name} ${command.split(' ')[0]}`;
    const timer = setTimeout(() => {
      this.#error ??= `${what}: no answer in ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    try {
      child.stdin.write(`${command}\n`);
      for (;;) {
        const next = await this.#lines.next();
        if (next.done) {
          const code = await new Promise<number | null>((r) =>
            child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('close', r),
          );
          this.#error ??= `${what}: exit ${code}: ${this.#stderr.trim().split('\n').pop() ?? ''}`;
          return { error: this.#error };
        }
        const line = next.value.trim();
        if (!line.startsWith('{')) continue;
        let res: AnchorResult;
        try {
          res = JSON.parse(line) as AnchorResult;
        } catch {
          res = { error: `unparsable output: ${line}` };
        }
        if (!('error' in res)) return res;
        this.#error = `${what}: ${String(res.error)}`;
        return { error: this.#error };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends its stdin (it exits) and waits for it; kills it after 10 s. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  }
}
