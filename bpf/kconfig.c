/* .kconfig externs: the loader fills them from the running kernel before load (its release for
 * LINUX_KERNEL_VERSION, /proc/config.gz for CONFIG_*); __weak ones the kernel lacks read 0. */
#include "include/ebpf.h"

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_NO_SUCH_OPTION __kconfig __weak;

struct { __uint(type, MAP_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } kconfig_out SEC(".maps");

static __always_inline void put(__u32 key, __u64 value) {
  bpf_map_update_elem(&kconfig_out, &key, &value, 0);
}

SEC("xdp")
int kconfig_values(void *ctx) {
  put(0, LINUX_KERNEL_VERSION);
  put(1, CONFIG_BPF_SYSCALL);
  put(2, CONFIG_HZ);
  put(3, CONFIG_NO_SUCH_OPTION);
  return 2;
}

char LICENSE[] SEC("license") = "GPL";
