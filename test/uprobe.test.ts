import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R6, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { attachUprobe, attachUprobeMulti, LinkError } from '../src/links/index.js';
import { SymbolNotFoundError } from '../src/symbols/index.js';
import { AttachType } from '../src/uapi/bpf.js';
import { u32, u64 } from '../src/codec/index.js';
import { hasCommand, isRoot, need } from './support/env.js';

/** counts[cookie] += 1 for every hit; the cookie is 0 unless the attachment sets one. */
function cookieCounter(counts: BpfMap<number, bigint>, expectedAttachType?: number): Program {
  const insns = new ProgramBuilder()
    .mov64Reg(R6, R1)
    .call('get_attach_cookie')
    .stx(Size.W, R10, -4, R0)
    .ldMapFd(R1, 'counts')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1)
    .label('out')
    .mov64Imm(R0, 0)
    .exit()
    .build();
  return Program.load({ type: 'KPROBE', instructions: insns, maps: { counts }, name: 'uprobe_count', expectedAttachType });
}

const C_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) int target_fn(int x) { __asm__ volatile(""); return x * 2; }
__attribute__((noinline)) int other_fn(int x) { __asm__ volatile(""); return x + 1; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]), s = 0;
  printf("ready\\n"); fflush(stdout);
  getchar();
  for (int i = 0; i < n; i++) s += target_fn(i) + other_fn(i) + other_fn(i);
  return s == 42;
}`;

const GO_SOURCE = `package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
)

//go:noinline
func work(i int) int { return i * 3 }

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\\n')
	var wg sync.WaitGroup
	s := 0
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); mu.Lock(); s += work(i); mu.Unlock() }(i)
	}
	wg.Wait()
	if s == -1 { fmt.Println(s) }
}
`;
import { track } from './support/track.js';

let dir = '';
const bin: Record<string, string> = {};

/** Starts `path args`, waits for "ready", returns its pid and a go() that lets it run to the end. */
async function readyChild(path: string, args: string[]): Promise<{ pid: number; go(): Promise<number | null> }> {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin!.end('go\n');
      return exited;
    },
  };
}

const canRun = need(isRoot && hasCommand('cc'), 'uprobe tests need root and a C compiler');
const canGo = need(hasCommand('go'), 'Go uprobe tests need Go (Debian golang-go)');

beforeAll(() => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), 'ebpf-uprobe-'));
  writeFileSync(join(dir, 't.c'), C_SOURCE);
  execFileSync('cc', ['-O1', '-no-pie', '-o', join(dir, 'c_nopie'), join(dir, 't.c')]);
  execFileSync('cc', ['-O1', '-pie', '-fPIE', '-o', join(dir, 'c_pie'), join(dir, 't.c')]);
  bin.c_nopie = join(dir, 'c_nopie');
  bin.c_pie = join(dir, 'c_pie');
  if (canGo) {
    writeFileSync(join(dir, 'main.go'), GO_SOURCE);
    const env = { ...process.env, GOCACHE: join(dir, 'gocache'), GO111MODULE: 'off', GOFLAGS: '' };
    execFileSync('go', ['build', '-o', join(dir, 'go_full'), join(dir, 'main.go')], { env, cwd: dir });
    execFileSync('go', ['build', '-ldflags=-s -w', '-o', join(dir, 'go_stripped'), join(dir, 'main.go')], { env, cwd: dir });
    bin.go_full = join(dir, 'go_full');
    bin.go_stripped = join(dir, 'go_stripped');
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(canRun)('uprobes on real binaries', () => {
  it.each(['c_nopie', 'c_pie'])('a uprobe by symbol on %s fires once per call, only for the chosen pid', async (name) => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(cookieCounter(counts));
    const child = await readyChild(bin[name], ['1000']);
    const other = await readyChild(bin[name], ['300']);
    const link = track(attachUprobe(prog, bin[name], { symbol: 'target_fn', pid: child.pid }));
    track(attachUprobe(prog, bin[name], { symbol: 'other_fn', pid: child.pid, ret: true, cookie: 3n }));
    expect(link.target).toContain('target_fn');
    await other.go();
    expect(await child.go()).toBe(0);
    expect(counts.lookup(0)).toBe(1000n);
    expect(counts.lookup(3)).toBe(2000n);
  });

  it('a uprobe on a shared library function, found by library name', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(cookieCounter(counts));
    const child = await readyChild('python3', [
      '-c',
      'import os,sys\nprint("ready", flush=True)\nsys.stdin.readline()\nfor _ in range(777): os.getppid()',
    ]);
    track(attachUprobe(prog, 'libc.so.6', { symbol: 'getppid', pid: child.pid, cookie: 5n }));
    await child.go();
    expect(counts.lookup(5)).toBe(777n);
  });

  it('uprobe_multi attaches many functions with a cookie each in one link', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(cookieCounter(counts, AttachType.TRACE_UPROBE_MULTI));
    const child = await readyChild(bin.c_pie, ['500']);
    const link = track(attachUprobeMulti(prog, bin.c_pie, { symbols: ['target_fn', 'other_fn'], cookies: [1n, 2n], pid: child.pid }));
    expect(link.info().type).toBe(12);
    await child.go();
    expect(counts.lookup(1)).toBe(500n);
    expect(counts.lookup(2)).toBe(1000n);
  });

  it('an unknown symbol names the close ones; a bad target says what is wrong', () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(cookieCounter(counts));
    let err: unknown;
    try {
      attachUprobe(prog, bin.c_pie, { symbol: 'target_fun' });
    } catch (e) {
      err = e;
    }
    // The attach function's one error type, kind 'target', with the lookup's error as cause.
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ code: 'ERR_LINK', kind: 'target' });
    const missing = (err as LinkError).cause as SymbolNotFoundError;
    expect(missing).toBeInstanceOf(SymbolNotFoundError);
    expect(missing.suggestions).toContain('target_fn');
    expect(String(err)).toMatch(/no function "target_fun" in .*c_pie \(searched \.symtab, \.dynsym.*close names: target_fn/);
    expect(() => attachUprobe(prog, '/nonexistent/bin', { symbol: 'x' })).toThrow(LinkError);
    expect(() => attachUprobe(prog, 'libnope.so.9', { symbol: 'x' })).toThrow(/cannot find library "libnope.so.9"/);
  });

  describe.runIf(canGo)('Go binaries', () => {
    it.each(['go_full', 'go_stripped'])('%s: uprobes by symbol on main.work and runtime.casgstatus fire', async (name) => {
      const counts = track(
        BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 8, name: 'counts' }, { key: u32, value: u64 }),
      );
      const prog = track(cookieCounter(counts));
      const child = await readyChild(bin[name], ['400']);
      track(attachUprobe(prog, bin[name], { symbol: 'main.work', pid: child.pid, cookie: 1n }));
      track(attachUprobe(prog, bin[name], { symbol: 'runtime.casgstatus', pid: child.pid, cookie: 2n }));
      expect(await child.go()).toBe(0);
      expect(counts.lookup(1)).toBe(400n);
      // Each of the 400 goroutines goes at least through runnable → running → dead.
      expect(Number(counts.lookup(2))).toBeGreaterThan(800);
    });

    it('a stripped Go binary has no symbol table, and the pclntab still resolves', () => {
      const out = execFileSync('readelf', ['-S', '-W', bin.go_stripped], { encoding: 'utf8' });
      expect(out).not.toMatch(/\.symtab/);
      expect(out).toMatch(/\.gopclntab/);
    });
  });
});
