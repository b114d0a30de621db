/* The XDP packet counter of examples/xdp-modes.ts, in C: counters[verdict]++,
 * counters[ethertype class]++, counters[IP protocol class]++ (IP only), then return config[0]
 * (XDP_PASS when unset or out of range). Slots: verdicts 0-4, IPv4 5, IPv6 6, ARP 7, other 8,
 * TCP 9, UDP 10, ICMP/ICMPv6 11, other 12. test/xdp-counter.test.ts checks that it counts exactly
 * what the assembled program counts. */
#include "ebpf.h"

struct xdp_md { __u32 data; __u32 data_end; __u32 data_meta; __u32 ingress_ifindex; __u32 rx_queue_index; __u32 egress_ifindex; };

enum { XDP_PASS = 2 };
enum { L3_IPV4 = 5, L3_IPV6 = 6, L3_ARP = 7, L3_OTHER = 8, L4_TCP = 9, L4_UDP = 10, L4_ICMP = 11, L4_OTHER = 12 };

struct { __uint(type, MAP_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 16); } counters SEC(".maps");
struct { __uint(type, MAP_ARRAY); __type(key, __u32); __type(value, __u32); __uint(max_entries, 1); } config SEC(".maps");

static __always_inline void count(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&counters, &slot);
  if (v) *v += 1;
}

SEC("xdp")
int xdp_counter(struct xdp_md *ctx) {
  __u32 zero = 0;
  __u32 *cfg = bpf_map_lookup_elem(&config, &zero);
  __u32 verdict = cfg && *cfg <= 4 ? *cfg : XDP_PASS;
  __u32 l3 = L3_OTHER, l4 = 0;
  unsigned char *data = (unsigned char *)(long)ctx->data;
  unsigned char *end = (unsigned char *)(long)ctx->data_end;
  if (data + 14 <= end) {
    __u16 ethertype = *(__u16 *)(data + 12); /* network order, read as stored */
    __u8 proto = 0;
    int ip = 0;
    if (ethertype == 0x0008) {
      l3 = L3_IPV4;
      if (data + 14 + 20 <= end) { proto = data[14 + 9]; ip = 1; }
    } else if (ethertype == 0xdd86) {
      l3 = L3_IPV6;
      if (data + 14 + 40 <= end) { proto = data[14 + 6]; ip = 1; }
    } else if (ethertype == 0x0608) {
      l3 = L3_ARP;
    }
    if (ip) l4 = proto == 6 ? L4_TCP : proto == 17 ? L4_UDP : proto == 1 || proto == 58 ? L4_ICMP : L4_OTHER;
  }
  count(verdict);
  count(l3);
  if (l4) count(l4);
  return verdict;
}

char LICENSE[] SEC("license") = "GPL";
