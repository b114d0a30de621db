/* freplace: an XDP program whose verdict comes from a global function, and an extension that
 * replaces that function. The loader loads the extension against a target given at load. */
#include "include/ebpf.h"

char LICENSE[] SEC("license") = "GPL";

struct xdp_md {
  __u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

/* Static: not replaceable (the kernel and freplaceTarget refuse it). */
static __noinline int pass(__u32 data)
{
  return data == 0xffffffff ? 1 : 2; /* XDP_PASS (no interface has that index) */
}

__noinline int verdict(struct xdp_md *ctx)
{
  return ctx ? pass(ctx->ingress_ifindex) : 0;
}

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
  return verdict(ctx);
}

SEC("freplace/verdict")
int drop_instead(struct xdp_md *ctx)
{
  return 1; /* XDP_DROP */
}
