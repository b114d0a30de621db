/* Read-only globals the verifier folds (issue 13, cause 2): each program calls a helper that does
 * not exist on a path a `const volatile` or `.kconfig` value rules out. The verifier accepts it
 * only if it sees that value as a constant, which it does when .rodata and .kconfig are created
 * read-only for programs, filled and frozen before the programs load. */
#include "ebpf.h"

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + (c))

/* Helper 999 does not exist: a reachable call of it fails verification. */
static long (*no_such_helper)(void) = (void *)999;

const volatile __u32 threshold = 200;
const volatile __u32 mode = 0;

/* Verifies only when the old-kernel branch is pruned; returns 1. */
SEC("socket") int old_kernel_branch(void *ctx) {
  if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 11, 0)) return no_such_helper();
  return 1;
}

/* Verifies only with mode != 1 known; returns 2. */
SEC("socket") int mode_branch(void *ctx) {
  if (mode == 1) return no_such_helper();
  return 2;
}

/* Refused with the default threshold (200); set it to 100 or less before load and it returns it. */
SEC("socket") int threshold_branch(void *ctx) {
  if (threshold > 100) return no_such_helper();
  return threshold;
}

char LICENSE[] SEC("license") = "GPL";
