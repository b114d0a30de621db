/* USDT programs built on libbpf's usdt.bpf.h (Debian libbpf-dev): bpf_usdt_arg(), bpf_usdt_arg_cnt()
 * and bpf_usdt_cookie() read the spec and ip maps that this library's attachUsdt() fills, so this
 * object shows the two are compatible.
 *   record_args:    any probe; sends every argument, the count and the cookie to a ring buffer.
 *   python_entry / python_return: CPython's function__entry/function__return(file, function, line);
 *                   send each call and return to a ring buffer, count returns per function and time
 *                   the calls whose entry fired (the examples/ script reads `stats`). CPython 3.11
 *                   fires function__entry only while a profile or trace function is set; it fires
 *                   function__return always. */
#define __TARGET_ARCH_x86
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_ARGS 12

struct args_event {
  __u64 ip; /* where the uprobe fired: the key usdt.bpf.h looks up when it cannot read cookies */
  __u64 cookie;
  __s64 arg_cnt;
  __s64 args[MAX_ARGS];
  __s64 errors[MAX_ARGS];
  __u32 pid;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events SEC(".maps");

SEC("usdt")
int record_args(struct pt_regs *ctx)
{
  struct args_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  long v;
  int i;

  if (!e)
    return 0;
  e->ip = PT_REGS_IP(ctx);
  e->cookie = bpf_usdt_cookie(ctx);
  e->arg_cnt = bpf_usdt_arg_cnt(ctx);
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->pad = 0;
  for (i = 0; i < MAX_ARGS; i++) {
    e->errors[i] = bpf_usdt_arg(ctx, i, &v);
    e->args[i] = v;
  }
  bpf_ringbuf_submit(e, 0);
  return 0;
}

#define NAME_LEN 64
#define MAX_DEPTH 16

struct call_event {
  __u64 cookie;
  __s32 line;
  __u32 pid;
  __u32 kind; /* 0 entry, 1 return */
  __u32 arg_cnt;
  char file[NAME_LEN];
  char function[NAME_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22);
} calls SEC(".maps");

/* Per thread, the calls whose entry fired: start time and the function-name pointer, which is
 * the same at entry and return of one function. Returns that match no entry (functions that ran
 * while the profiler was off, the profiler itself) leave the stack alone. */
struct frames {
  __u32 depth;
  __u32 pad;
  __u64 start[MAX_DEPTH];
  __u64 function[MAX_DEPTH];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct frames);
} stacks SEC(".maps");

struct stat {
  __u64 count;
  __u64 total_ns;
  __u64 timed; /* calls whose entry fired, so total_ns covers them */
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, char[NAME_LEN]);
  __type(value, struct stat);
} stats SEC(".maps");

/* Only this process (0: any); set before load. */
volatile const __u32 target_pid = 0;

static __always_inline int wanted(void)
{
  return !target_pid || (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

static __always_inline void fill_event(struct pt_regs *ctx, struct call_event *e, __u32 kind, const char *file, const char *function, int line)
{
  e->cookie = bpf_usdt_cookie(ctx);
  e->line = line;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->kind = kind;
  e->arg_cnt = bpf_usdt_arg_cnt(ctx);
  bpf_probe_read_user_str(e->file, sizeof(e->file), file);
  bpf_probe_read_user_str(e->function, sizeof(e->function), function);
  bpf_ringbuf_submit(e, 0);
}

SEC("usdt")
int BPF_USDT(python_entry, const char *file, const char *function, int line)
{
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct frames zero = {}, *f;
  struct call_event *e;
  __u32 depth;

  if (!wanted())
    return 0;
  e = bpf_ringbuf_reserve(&calls, sizeof(*e), 0);
  if (e) {
    fill_event(ctx, e, 0, file, function, line);
  }
  f = bpf_map_lookup_elem(&stacks, &tid);
  if (!f) {
    bpf_map_update_elem(&stacks, &tid, &zero, BPF_NOEXIST);
    f = bpf_map_lookup_elem(&stacks, &tid);
    if (!f)
      return 0;
  }
  depth = f->depth;
  if (depth >= MAX_DEPTH)
    return 0;
  f->start[depth & (MAX_DEPTH - 1)] = bpf_ktime_get_ns();
  f->function[depth & (MAX_DEPTH - 1)] = (__u64)(long)function;
  f->depth = depth + 1;
  return 0;
}

SEC("usdt")
int BPF_USDT(python_return, const char *file, const char *function, int line)
{
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  char name[NAME_LEN] = {};
  struct stat one = {}, *s;
  struct call_event *e;
  struct frames *f;
  __u64 start = 0;
  __u32 depth;

  if (!wanted())
    return 0;
  e = bpf_ringbuf_reserve(&calls, sizeof(*e), 0);
  if (e)
    fill_event(ctx, e, 1, file, function, line);
  f = bpf_map_lookup_elem(&stacks, &tid);
  if (f && f->depth > 0 && f->depth <= MAX_DEPTH) {
    depth = (f->depth - 1) & (MAX_DEPTH - 1);
    if (f->function[depth] == (__u64)(long)function) {
      start = f->start[depth];
      f->depth = depth;
    }
  }
  bpf_probe_read_user_str(name, sizeof(name), function);
  s = bpf_map_lookup_elem(&stats, name);
  if (!s) {
    bpf_map_update_elem(&stats, name, &one, BPF_NOEXIST);
    s = bpf_map_lookup_elem(&stats, name);
    if (!s)
      return 0;
  }
  __sync_fetch_and_add(&s->count, 1);
  if (start) {
    __sync_fetch_and_add(&s->total_ns, bpf_ktime_get_ns() - start);
    __sync_fetch_and_add(&s->timed, 1);
  }
  return 0;
}
