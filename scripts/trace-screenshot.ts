// Draws a goroutine trace (the JSON of `ebpf goroutines --trace-out`) in headless Chromium and
// saves a PNG: docs/goroutines-trace.png in the README.
//
//   npx tsx scripts/trace-screenshot.ts [--trace FILE] [--out PNG] [--chromium PATH] [--width W] [--height H]
//
// Without --trace it first traces the committed fixture (as root): one wave of three goroutines of
// each kind of test/fixtures/go/workload-stripped. Needs Chromium (Debian: apt-get install chromium).
//
// Which viewer draws it. Perfetto's UI is not on the npm registry (it is self-hosted from a build
// published outside it), and Debian's Chromium is built without the catapult trace viewer, so
// chrome://tracing fails to load (net::ERR_FAILED, also once chrome://chrome-urls has enabled the
// internal debugging pages). Chromium serves its own DevTools front end on its remote-debugging
// port, and the DevTools Performance panel reads the Chrome trace-event format: it draws the picture.
//
// Chromium is driven through --remote-debugging-pipe: DevTools protocol messages as JSON ended by a
// NUL byte, written to its fd 3 and read from its fd 4, so no WebSocket client is needed. The
// script run in the page uses DevTools' own modules (TimelinePanel.loadFromFile, the flame chart's
// groups, TimelineSelection). Those are internal and change between Chromium releases; each step is
// checked, so a DevTools that changed fails with a message naming the step.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = 'test/fixtures/go/workload-stripped';
const USAGE = 'usage: npx tsx scripts/trace-screenshot.ts [--trace FILE] [--out PNG] [--chromium PATH] [--width W] [--height H]';

class ScreenshotError extends Error {}

/** A DevTools protocol connection over Chromium's --remote-debugging-pipe. */
class CdpPipe {
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  #listeners: ((method: string, params: Record<string, unknown>) => void)[] = [];
  #buffered = Buffer.alloc(0);

  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
  ) {
    fromBrowser.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      for (let end = this.#buffered.indexOf(0); end >= 0; end = this.#buffered.indexOf(0)) {
        const message = JSON.parse(this.#buffered.subarray(0, end).toString('utf8')) as {
          id?: number;
          method?: string;
          params?: Record<string, unknown>;
          result?: Record<string, unknown>;
          error?: { message: string };
        };
        this.#buffered = this.#buffered.subarray(end + 1);
        if (message.id !== undefined) {
          const waiter = this.#pending.get(message.id);
          this.#pending.delete(message.id);
          if (message.error) waiter?.reject(new ScreenshotError(`DevTools protocol: ${message.error.message}`));
          else waiter?.resolve(message.result ?? {});
        } else if (message.method) {
          for (const listener of this.#listeners) listener(message.method, message.params ?? {});
        }
      }
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
    });
  }

  waitFor(method: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ScreenshotError(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      this.#listeners.push((m) => {
        if (m === method) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** Fails every call still waiting (the browser is gone). */
  close(reason: string): void {
    for (const waiter of this.#pending.values()) waiter.reject(new ScreenshotError(reason));
    this.#pending.clear();
  }
}

// Runs in the DevTools page (plain JavaScript, as the page gets it): loads the trace into the
// Performance panel, expands every track, hides the sidebar, shows the time from the program's
// first goroutine on, and selects a main.worker goroutine's channel wait so that the details pane
// shows the slice's args, then scrolls back to the top. Returns the track names DevTools
// made and what it selected.
const PAGE_SCRIPT = `async (traceText, DETAILS_HEIGHT) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const need = (what, value) => {
    if (value === undefined || value === null) throw new Error('DevTools has no ' + what + ' (changed in this Chromium?)');
    return value;
  };
  const timeline = await import('./panels/timeline/timeline.js');
  const legacy = await import('./ui/legacy/legacy.js');
  await need('ViewManager', legacy.ViewManager?.ViewManager).instance().showView('timeline');
  const panel = need('TimelinePanel', timeline.TimelinePanel?.TimelinePanel).instance();
  await panel.loadFromFile(new File([traceText], 'goroutines.json', { type: 'application/json' }));
  let groups = [];
  for (let i = 0; i < 100 && groups.length === 0; i++, await sleep(100)) groups = panel.getFlameChart?.()?.getMainFlameChart?.()?.timelineData?.()?.groups ?? [];
  if (groups.length === 0) throw new Error('DevTools drew no tracks for the trace');
  const view = panel.getFlameChart();
  const chart = view.getMainFlameChart();
  groups.forEach((g, i) => { if (!g.expanded) chart.toggleGroupExpand(i); });
  const elements = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) { elements.push(el); if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  elements.find((el) => el.tagName === 'BUTTON' && el.getAttribute('aria-label') === 'Hide sidebar')?.click();
  const provider = view.getMainDataProvider();
  const count = provider.timelineData().entryStartTimes.length;
  // The time from the first goroutine of the program's own (main.*) on: before it, only the
  // runtime starts.
  let firstMain = Infinity;
  for (let i = 0; i < count; i++) {
    const event = provider.eventByIndex(i);
    if (String(event?.args?.startFunction ?? '').startsWith('main.') && event.ts < firstMain) firstMain = event.ts;
  }
  const bounds = need('BoundsManager', (await import('./services/trace_bounds/trace_bounds.js')).TraceBounds?.BoundsManager).instance();
  const whole = bounds.state().micro.entireTraceBounds;
  if (firstMain !== Infinity) {
    const min = Math.max(whole.min, firstMain - (whole.max - firstMain) / 50);
    bounds.setTimelineVisibleWindow({ min, max: whole.max, range: whole.max - min });
  }
  let selected = '';
  for (let i = 0; i < count && !selected; i++) {
    const event = provider.eventByIndex(i);
    if (event?.name === 'waiting: chan receive' && event.args?.startFunction === 'main.worker') {
      view.setSelectionAndReveal(need('TimelineSelection', timeline.TimelineSelection).selectionFromEvent(event));
      selected = event.name + ' of goroutine ' + event.args.goid;
    }
  }
  // Room for all the args in the details pane; from the top; without the keyboard help that a
  // fresh profile opens once.
  view.detailsSplitWidget?.setSidebarSize?.(DETAILS_HEIGHT);
  chart.scrollGroupIntoView(0);
  await sleep(1500);
  elements.length = 0;
  walk(document);
  for (const el of elements) if (el.tagName === 'DIALOG' && el.open) el.close();
  await sleep(500);
  return JSON.stringify({ tracks: groups.map((g) => String(g.name)), selected });
}`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        out: { type: 'string' },
        chromium: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const out = resolve(values.out ?? join(ROOT, 'docs/goroutines-trace.png'));
  const width = Number(values.width ?? 1600);
  const height = Number(values.height ?? 1360);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 400 || height < 300) {
    console.error(`--width and --height are whole pixels (at least 400×300)\n${USAGE}`);
    return 2;
  }
  const chromium = values.chromium ?? 'chromium';
  const scratch = mkdtempSync(join(tmpdir(), 'trace-screenshot-'));
  try {
    let tracePath = values.trace;
    if (!tracePath) {
      tracePath = join(scratch, 'trace.json');
      const cli = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'src/cli/main.ts'),
          'goroutines',
          '--quiet',
          '--trace-out',
          tracePath,
          '--',
          FIXTURE,
          '-waves',
          '1',
          '-n',
          '3',
          '-wait=false',
        ],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 },
      );
      if (cli.status !== 0) throw new ScreenshotError(`tracing ${FIXTURE} failed (exit ${cli.status}; it needs root)`);
    }
    const trace = readFileSync(tracePath, 'utf8');
    const names = (JSON.parse(trace) as { traceEvents: { ph: string; name: string; args?: { name?: string } }[] }).traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => String(e.args?.name));
    const tracks = await render(chromium, join(scratch, 'profile'), trace, out, width, height);
    // Every track of the trace is a track in DevTools, titled "<thread_name> (<tid>)".
    const missing = names.filter((n) => !tracks.some((t) => t.startsWith(`${n} (`)));
    console.log(
      `${out}: ${statSync(out).size} bytes, ${tracks.length} tracks drawn (${names.length} in the trace${missing.length ? `; missing: ${missing.join(', ')}` : ''})`,
    );
    return missing.length ? 1 : 0;
  } catch (e) {
    if (!(e instanceof ScreenshotError)) throw e;
    console.error(`trace-screenshot: ${e.message}`);
    return 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function render(chromium: string, profile: string, trace: string, out: string, width: number, height: number): Promise<string[]> {
  const args = [
    '--headless',
    '--disable-gpu',
    '--no-first-run',
    '--remote-debugging-pipe',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
    `--window-size=${width},${height}`,
    'about:blank',
  ];
  // Chromium refuses to run as root with its sandbox on.
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  const browser = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  browser.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => browser.once('close', () => r()));
  const cdp = new CdpPipe(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  browser.once('error', (e) => cdp.close(`cannot run ${chromium}: ${e.message}`));
  browser.once('close', (code) => cdp.close(`${chromium} exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
  try {
    await cdp.send('Browser.getVersion');
    // The port the browser chose, from the file it writes into the profile.
    const portFile = join(profile, 'DevToolsActivePort');
    for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(portFile)) throw new ScreenshotError(`${chromium} wrote no ${portFile}`);
    const port = Number(readFileSync(portFile, 'utf8').split('\n')[0]);
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await cdp.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    await cdp.send('Page.enable', {}, sessionId);
    const loaded = cdp.waitFor('Page.loadEventFired', 30_000);
    const nav = await cdp.send('Page.navigate', { url: `http://127.0.0.1:${port}/devtools/devtools_app.html` }, sessionId);
    if (nav.errorText) throw new ScreenshotError(`the DevTools front end did not load from port ${port}: ${String(nav.errorText)}`);
    await loaded;
    const result = (await cdp.send(
      'Runtime.evaluate',
      { expression: `(${PAGE_SCRIPT})(${JSON.stringify(trace)}, ${Math.round(height * 0.25)})`, awaitPromise: true, returnByValue: true },
      sessionId,
    )) as { result?: { value?: string }; exceptionDetails?: { exception?: { description?: string }; text?: string } };
    if (result.exceptionDetails)
      throw new ScreenshotError(`in the DevTools page: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text}`);
    const drawn = JSON.parse(result.result!.value!) as { tracks: string[]; selected: string };
    const shot = (await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
    writeFileSync(out, Buffer.from(shot.data, 'base64'));
    if (drawn.selected) console.log(`selected: ${drawn.selected}`);
    return drawn.tracks;
  } finally {
    await cdp.send('Browser.close').catch(() => {});
    const timer = setTimeout(() => browser.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

process.exitCode = await main(process.argv.slice(2));
