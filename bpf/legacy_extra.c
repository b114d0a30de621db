/* Legacy "maps" definitions longer than the fields a loader knows: one whose extra bytes are zero
 * (loaded), and one with a setting in them (refused, as cilium/ebpf refuses it, since the loader
 * would silently ignore it). */
#include "ebpf.h"

struct long_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
  unsigned int inner_map_idx;
  unsigned int numa_node;
  unsigned int pinning;
  unsigned int unknown_setting;
};

struct long_map_def zero_tail SEC("maps") = { .type = MAP_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1 };
struct long_map_def set_tail SEC("maps") = { .type = MAP_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1, .unknown_setting = 7 };

SEC("socket") int legacy_user(void *ctx) {
  __u32 key = 0;
  __u32 *a = bpf_map_lookup_elem(&zero_tail, &key);
  __u32 *b = bpf_map_lookup_elem(&set_tail, &key);
  return (a ? 1 : 0) + (b ? 2 : 0);
}

char LICENSE[] SEC("license") = "GPL";
