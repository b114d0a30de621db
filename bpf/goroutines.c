/* The goroutine state probe, in C: the same records as the probe src/goroutines/probe.ts assembles
 * at run time. A uprobe on runtime.casgstatus(gp *g, oldval, newval uint32). Where the arguments
 * are and where goid sits in runtime.g depend on the target's Go version: they are `volatile const`
 * globals, set before load from what inspectGoBinary() read out of the executable. */
#include "ebpf.h"

struct record {
  __u64 timestamp;
  __u32 pid;
  __u32 tid;
  __u64 goid;
  __u32 old_state;
  __u32 new_state;
  __u64 gp; /* the g whose state changes: its goid may not be assigned yet (Go before 1.24) */
  __u64 aux1; /* birth (old state dead): g.startpc; into waiting: g.waitreason; else 0 */
  __u64 aux2; /* birth: g.gopc; else 0 */
};

struct config {
  __u32 pid;        /* only this process; 0 = any */
  __u32 state_mask; /* only transitions whose old or new state has its bit (state & 0xf) set; 0 = all */
  __u32 wakeup_bytes; /* wake the reader once this much is unread; 0 = per record */
  __u32 pad;
};

struct { __uint(type, MAP_RINGBUF); __uint(max_entries, 8 << 20); } events SEC(".maps");
struct { __uint(type, MAP_ARRAY); __type(key, __u32); __type(value, struct config); __uint(max_entries, 1); } config SEC(".maps");
struct { __uint(type, MAP_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 3); } stats SEC(".maps");

volatile const __u32 goid_offset = 152;
/* g.waitreason, g.startpc, g.gopc; 0 = unknown layout, the aux fields stay 0. */
volatile const __u32 waitreason_offset = 0;
volatile const __u32 startpc_offset = 0;
volatile const __u32 gopc_offset = 0;
/* pt_regs offset of the instruction pointer: pcs are sent relative to runtime.casgstatus as loaded. */
volatile const __u32 ip_reg = 128;
/* 1: ABI0, the arguments sit on the goroutine stack above the return address. */
volatile const __u32 stack_abi = 0;
/* Byte offsets in the uprobe's struct pt_regs (x86-64 defaults: ax, bx, cx, sp). */
volatile const __u32 gp_reg = 80;
volatile const __u32 old_reg = 40;
volatile const __u32 new_reg = 88;
volatile const __u32 sp_reg = 152;

enum { STAT_LOST = 0, STAT_GOID_READ_FAILURES = 1, STAT_RECORDS = 2 };
enum { RB_NO_WAKEUP = 1, RB_FORCE_WAKEUP = 2, RB_AVAIL_DATA = 0 };
#define WAKEUP_WINDOW 4096

static __u64 (*bpf_ringbuf_query)(void *ringbuf, __u64 flags) = (void *)134;

static __always_inline void count(__u32 key) {
  __u64 *v = bpf_map_lookup_elem(&stats, &key);
  if (v) __sync_fetch_and_add(v, 1);
}

/* A register from pt_regs at a run-time offset: ctx may only be dereferenced at constant
 * offsets, so read it as kernel memory. */
static __always_inline __u64 reg(void *ctx, __u32 offset) {
  __u64 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), (char *)ctx + offset);
  return v;
}

SEC("uprobe")
int casgstatus(void *ctx) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 zero = 0;
  struct config *cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg)
    return 0;
  if (cfg->pid && cfg->pid != (__u32)(pid_tgid >> 32))
    return 0;

  struct record rec = {};
  __u64 gp;
  if (stack_abi) {
    struct { __u64 gp; __u32 old_state, new_state; } args;
    if (bpf_probe_read_user(&args, sizeof(args), (void *)(reg(ctx, sp_reg) + 8)))
      return 0;
    gp = args.gp;
    rec.old_state = args.old_state;
    rec.new_state = args.new_state;
  } else {
    gp = reg(ctx, gp_reg);
    rec.old_state = (__u32)reg(ctx, old_reg);
    rec.new_state = (__u32)reg(ctx, new_reg);
  }
  if (cfg->state_mask && !(cfg->state_mask & ((1u << (rec.new_state & 0xf)) | (1u << (rec.old_state & 0xf)))))
    return 0;
  rec.gp = gp;
  if (bpf_probe_read_user(&rec.goid, sizeof(rec.goid), (void *)(gp + goid_offset))) {
    rec.goid = 0;
    count(STAT_GOID_READ_FAILURES);
  }
  if (startpc_offset) {
    if ((rec.old_state & 0xfff) == 6) {
      bpf_probe_read_user(&rec.aux1, 8, (void *)(gp + startpc_offset));
      bpf_probe_read_user(&rec.aux2, 8, (void *)(gp + gopc_offset));
      __u64 ip = reg(ctx, ip_reg);
      rec.aux1 -= ip;
      rec.aux2 -= ip;
    } else if ((rec.new_state & 0xfff) == 4) {
      bpf_probe_read_user(&rec.aux1, 1, (void *)(gp + waitreason_offset));
    }
  }
  count(STAT_RECORDS);
  rec.pid = pid_tgid >> 32;
  rec.tid = (__u32)pid_tgid;
  rec.timestamp = bpf_ktime_get_ns();
  /* Wake the reader per batch, as the unread data reaches the threshold (within a window past it,
     as src/goroutines/probe.ts explains), not per record after it: its timed wait bounds the
     latency of the rest. */
  __u64 flags = 0;
  __u64 threshold = cfg->wakeup_bytes;
  if (threshold) {
    __u64 unread = bpf_ringbuf_query(&events, RB_AVAIL_DATA) + sizeof(rec);
    flags = unread >= threshold && unread < threshold + WAKEUP_WINDOW ? RB_FORCE_WAKEUP : RB_NO_WAKEUP;
  }
  if (bpf_ringbuf_output(&events, &rec, sizeof(rec), flags))
    count(STAT_LOST);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
