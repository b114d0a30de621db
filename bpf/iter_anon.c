/* An iterator's context (issue 13, cause 1): struct bpf_iter__task keeps `task` in its second
 * anonymous union, so reading ctx->task goes through a later anonymous member. The program counts
 * the tasks it is shown; reading the iterator's output is left to the test. */
#include "ebpf.h"

struct task_struct {
  int pid;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
  union {
    void *seq;
  };
  __u64 session_id;
  __u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
  union {
    struct bpf_iter_meta *meta;
  };
  union {
    struct task_struct *task;
  };
} __attribute__((preserve_access_index));

__u64 tasks_seen = 0;
__u64 last_seq_num = 0;

SEC("iter/task") int count_tasks(struct bpf_iter__task *ctx) {
  struct task_struct *task = ctx->task;
  last_seq_num = ctx->meta->seq_num;
  if (task) tasks_seen++;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
