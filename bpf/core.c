/* CO-RE: reads fields of the current task through relocations the loader fixes against the
 * running kernel's BTF. The struct layouts below are deliberately not the kernel's (fields are
 * missing and in another order), so the program only works if the offsets are relocated. */
#include "include/ebpf.h"

char LICENSE[] SEC("license") = "GPL";

struct task_struct {
  char comm[16];
  int tgid;
  int pid;
  unsigned int flags;
  struct task_struct *real_parent;
} __attribute__((preserve_access_index));

/* A flavor: same kernel type ("task_struct"), with a field no kernel has. */
struct task_struct___fictional {
  int no_such_field_anywhere;
  int pid;
} __attribute__((preserve_access_index));

enum pid_type {
  PIDTYPE_PID,
  PIDTYPE_TGID,
  PIDTYPE_PGID,
  PIDTYPE_SID,
  PIDTYPE_MAX,
};

enum not_a_kernel_enum___x { NOT_A_KERNEL_VALUE = 5 };

struct task_info {
  __u32 pid;
  __u32 tgid;
  __u32 parent_tgid;
  __u32 comm_offset;
  __u32 pid_size;
  __u32 pid_exists;
  __u32 fictional_exists;
  __u32 pid_signed;
  __u32 tgid_enum_value;
  __u32 tgid_enum_exists;
  __u32 fake_enum_exists;
  __u32 task_size;
  __u32 task_exists;
  __u32 pid_lshift;
  __u32 pid_rshift;
  char comm[16];
};

struct {
  __uint(type, MAP_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct task_info);
} tasks SEC(".maps");

SEC("tracepoint/sched/sched_process_exit")
int record_exit(void *ctx)
{
  struct task_struct *task = (void *)bpf_get_current_task();
  struct task_struct *parent = 0;
  struct task_info info = {};

  CORE_READ_INTO(&info.pid, &task->pid);
  CORE_READ_INTO(&info.tgid, &task->tgid);
  CORE_READ_INTO(&info.comm, &task->comm);
  CORE_READ_INTO(&parent, &task->real_parent);
  if (parent)
    CORE_READ_INTO(&info.parent_tgid, &parent->tgid);
  info.comm_offset = field_info(task->comm, FIELD_BYTE_OFFSET);
  info.pid_size = field_info(task->pid, FIELD_BYTE_SIZE);
  info.pid_exists = field_info(task->pid, FIELD_EXISTS);
  info.pid_signed = field_info(task->pid, FIELD_SIGNED);
  info.pid_lshift = field_info(task->pid, FIELD_LSHIFT_U64);
  info.pid_rshift = field_info(task->pid, FIELD_RSHIFT_U64);
  info.fictional_exists = field_info(((struct task_struct___fictional *)task)->no_such_field_anywhere, FIELD_EXISTS);
  info.tgid_enum_value = enum_value(enum pid_type, PIDTYPE_TGID, ENUMVAL_VALUE);
  info.tgid_enum_exists = enum_value(enum pid_type, PIDTYPE_TGID, ENUMVAL_EXISTS);
  info.fake_enum_exists = enum_value(enum not_a_kernel_enum___x, NOT_A_KERNEL_VALUE, ENUMVAL_EXISTS);
  info.task_size = __builtin_preserve_type_info(*task, TYPE_SIZE);
  info.task_exists = __builtin_preserve_type_info(*task, TYPE_EXISTS);
  bpf_map_update_elem(&tasks, &info.pid, &info, 0);
  return 0;
}
