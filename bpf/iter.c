/* BPF iterators: a program per kind that writes one record per object. The struct definitions
 * below carry only the fields read, with preserve_access_index: the loader relocates them against
 * the running kernel's BTF (CO-RE), and the verifier checks the context against bpf_iter_<kind>. */
#include "include/ebpf.h"

char LICENSE[] SEC("license") = "GPL";

static long (*bpf_seq_printf)(void *m, const char *fmt, __u32 fmt_size, const void *data, __u32 data_len) = (void *)126;
static long (*bpf_seq_write)(void *m, const void *data, __u32 len) = (void *)127;

struct seq_file;

struct bpf_iter_meta {
  struct seq_file *seq;
  __u64 session_id;
  __u64 seq_num;
} __attribute__((preserve_access_index));

struct task_struct {
  int pid;
  int tgid;
  char comm[16];
} __attribute__((preserve_access_index));

struct bpf_map {
  __u32 id;
  __u32 max_entries;
  char name[16];
} __attribute__((preserve_access_index));

struct bpf_iter__task {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
  void *key;
  void *value;
} __attribute__((preserve_access_index));

/* One text line per thread: "tgid pid comm", as `cat` of a pinned link shows it. */
SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
  struct seq_file *seq = ctx->meta->seq;
  struct task_struct *task = ctx->task;
  static const char fmt[] = "%d %d %s\n";
  __u64 args[3];

  if (!task)
    return 0;
  args[0] = task->tgid;
  args[1] = task->pid;
  args[2] = (__u64)(long)task->comm;
  bpf_seq_printf(seq, fmt, sizeof(fmt), args, sizeof(args));
  return 0;
}

/* One binary record per map: u32 id, u32 max_entries. */
SEC("iter/bpf_map")
int dump_bpf_map(struct bpf_iter__bpf_map *ctx)
{
  struct bpf_map *map = ctx->map;
  __u32 rec[2];

  if (!map)
    return 0;
  rec[0] = map->id;
  rec[1] = map->max_entries;
  bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
  return 0;
}

/* One binary record per element of a map with u32 keys and u64 values: key, pad, value. */
SEC("iter/bpf_map_elem")
int dump_elem(struct bpf_iter__bpf_map_elem *ctx)
{
  __u32 *key = ctx->key;
  __u64 *value = ctx->value;
  __u64 rec[2];

  if (!key || !value)
    return 0;
  rec[0] = *key;
  rec[1] = *value;
  bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
  return 0;
}
