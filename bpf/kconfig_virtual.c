/* The .kconfig virtual externs libbpf provides besides LINUX_KERNEL_VERSION and CONFIG_* (issue 13,
 * cause 3), probed on the running kernel, and __weak CONFIG_* options the kernel does not have, which read 0 (a name outside CONFIG_*
 * that libbpf does not know is refused, weak or not, by libbpf and by this loader). Each
 * socket filter returns one value for a test to compare with libbpf's. */
#include "ebpf.h"

extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_EBPF_NO_SUCH_OPTION __kconfig __weak;
extern unsigned long long CONFIG_EBPF_NO_SUCH_NUMBER __kconfig __weak;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("socket") int has_cookie(void *ctx) { return 10 + LINUX_HAS_BPF_COOKIE; }
SEC("socket") int has_wrapper(void *ctx) { return 20 + LINUX_HAS_SYSCALL_WRAPPER; }
SEC("socket") int weak_config(void *ctx) { return 30 + CONFIG_EBPF_NO_SUCH_OPTION; }
SEC("socket") int weak_unknown(void *ctx) { return 40 + (int)CONFIG_EBPF_NO_SUCH_NUMBER; }
SEC("socket") int kernel_version(void *ctx) { return LINUX_KERNEL_VERSION >> 8; }

char LICENSE[] SEC("license") = "GPL";
