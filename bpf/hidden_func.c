/* A hidden global function (issue 13, cause 4): non-static, so its BTF FUNC is global, but
 * __hidden (STV_HIDDEN), so the loader verifies it as a static subprogram, in its caller's
 * context, as libbpf does. Verified as a global function on its own it is refused: its index is
 * unknown there. */
#include "ebpf.h"

#define __hidden __attribute__((visibility("hidden")))

__hidden __noinline int pick(int *values, int i) {
  return values[i];
}

/* Returns 30. */
SEC("socket") int hidden_call(void *ctx) {
  int values[4] = {10, 20, 30, 40};
  return pick(values, 2);
}

/* A plain global function, verified on its own: it takes only scalars. Returns 42. */
__noinline int global_add(int a, int b) {
  return a + b;
}

SEC("socket") int global_call(void *ctx) {
  return global_add(40, 2);
}

char LICENSE[] SEC("license") = "GPL";
