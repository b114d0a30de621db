/* A program the verifier must reject: it dereferences a map value without the NULL check. The
 * loader's line info makes the verifier log quote the offending C line. */
#include "include/ebpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, MAP_HASH); /* a hash lookup may miss: the verifier insists on a check */
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} values SEC(".maps");

SEC("xdp")
int unchecked_lookup(void *ctx)
{
  __u32 key = 0;
  __u64 *value = bpf_map_lookup_elem(&values, &key);
  return *value == 42 ? 2 : 1; /* missing NULL check */
}
