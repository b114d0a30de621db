/* Many program types, maps of every kind, global data and subprograms in one object: the
 * loader's main fixture (test/loader*.test.ts). */
#include "include/ebpf.h"

char LICENSE[] SEC("license") = "GPL";
__u32 VERSION SEC("version") = 0x060000;

struct xdp_md {
  __u32 data;
  __u32 data_end;
  __u32 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};

struct sk_buff_ctx {
  __u32 len;
  __u32 pkt_type;
  __u32 mark;
};

struct counter_value {
  __u64 packets;
  __u64 bytes;
  __u32 last_len;
  char tag[8];
  bool seen;
};

/* ---- maps: BTF-defined ---- */

struct {
  __uint(type, MAP_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct counter_value);
} counters SEC(".maps");

struct {
  __uint(type, MAP_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

struct {
  __uint(type, MAP_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u64));
} percpu_scratch SEC(".maps");

struct {
  __uint(type, MAP_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, __u64);
  __type(value, __u32);
} lru SEC(".maps");

struct lpm_key {
  __u32 prefixlen;
  __u32 addr;
};

struct {
  __uint(type, MAP_LPM_TRIE);
  __uint(max_entries, 16);
  __uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
  __type(key, struct lpm_key);
  __type(value, __u32);
} routes SEC(".maps");

struct {
  __uint(type, MAP_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, MAP_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
  __uint(type, MAP_QUEUE);
  __uint(max_entries, 8);
  __type(value, __u32);
} queue SEC(".maps");

struct {
  __uint(type, MAP_BLOOM_FILTER);
  __uint(max_entries, 32);
  __type(value, __u32);
  __uint(map_extra, 3);
} bloom SEC(".maps");

struct {
  __uint(type, MAP_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
  __uint(pinning, PIN_BY_NAME);
} pinned_counts SEC(".maps");

struct inner_array {
  __uint(type, MAP_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
};

struct inner_array inner_one SEC(".maps");

struct {
  __uint(type, MAP_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer SEC(".maps") = {
  .values = { [1] = &inner_one },
};

struct {
  __uint(type, MAP_HASH_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct {
    __uint(type, MAP_HASH);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
  });
} outer_hash SEC(".maps");

int xdp_tail(struct xdp_md *ctx);

struct {
  __uint(type, MAP_PROG_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, sizeof(__u32));
  __array(values, int(void *));
} jump_table SEC(".maps") = {
  .values = { [2] = (void *)&xdp_tail },
};

/* ---- maps: the legacy "maps" section ---- */

struct legacy_map_def legacy_hash SEC("maps") = {
  .type = MAP_HASH, .key_size = 4, .value_size = 8, .max_entries = 16,
};
struct legacy_map_def legacy_array SEC("maps") = {
  .type = MAP_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2,
};

/* ---- global data ---- */

volatile const __u32 xdp_verdict = 2; /* XDP_PASS; set per load through the spec */
volatile const __u32 loop_rounds = 4;
const char greeting[] = "hello";
__u32 data_magic = 0xfeedbeef;        /* .data */
__u32 tc_verdict SEC(".data") = 0;    /* .data: TC_ACT_OK */
__u32 target_tgid SEC(".data") = 0;   /* .data: which process the tracing programs count */
__u64 raw_tp_hits;                    /* .bss */
__u64 tracepoint_hits;                /* .bss */
__u64 loop_total;                     /* .bss */
__u64 custom_counter SEC(".data.custom") = 7;
__u32 custom_second SEC(".data.custom") = 9;

/* ---- subprograms (.text) ---- */

static __noinline __u64 add_len(__u64 total, __u32 len)
{
  return total + len;
}

static __noinline __u32 bump(__u32 key)
{
  __u64 *value = bpf_map_lookup_elem(&hits, &key);
  if (value)
    __sync_fetch_and_add(value, 1);
  return key;
}

static int loop_step(__u32 index, void *ctx)
{
  __u64 *sum = ctx;
  *sum += index + 1;
  return 0;
}

static __noinline __u64 sum_rounds(void)
{
  __u64 sum = 0;
  bpf_loop(loop_rounds, loop_step, &sum, 0);
  return sum;
}

/* ---- programs ---- */

SEC("xdp")
int xdp_verdict_prog(struct xdp_md *ctx)
{
  __u32 key = 0;
  struct counter_value zero = {}, *value;
  __u32 len = ctx->data_end - ctx->data;

  bump(0);
  value = bpf_map_lookup_elem(&counters, &key);
  if (!value) {
    bpf_map_update_elem(&counters, &key, &zero, 0);
    value = bpf_map_lookup_elem(&counters, &key);
    if (!value)
      return 0;
  }
  value->packets++;
  value->bytes = add_len(value->bytes, len);
  value->last_len = len;
  value->seen = true;
  value->tag[0] = greeting[0];
  return xdp_verdict;
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
  loop_total = sum_rounds();
  bump(1);
  return 2;
}

SEC("xdp")
int xdp_jump(struct xdp_md *ctx)
{
  bpf_tail_call(ctx, &jump_table, 2);
  return 1; /* XDP_DROP: the tail call did not happen */
}

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
  bump(2);
  return 3; /* XDP_TX */
}

SEC("xdp.frags")
int xdp_frags(struct xdp_md *ctx)
{
  return 2;
}

SEC("tc")
int tc_prog(struct sk_buff_ctx *skb)
{
  __u32 key = 3;
  __u64 *v = bpf_map_lookup_elem(&legacy_hash, &key);
  if (v)
    __sync_fetch_and_add(v, 1);
  custom_counter++;
  return tc_verdict;
}

SEC("classifier")
int classifier_prog(struct sk_buff_ctx *skb)
{
  return skb->len > 10 ? 0 : 2;
}

SEC("socket")
int socket_prog(struct sk_buff_ctx *skb)
{
  bump(4);
  return skb->len;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
  if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
    __sync_fetch_and_add(&tracepoint_hits, 1);
  return 0;
}

SEC("raw_tp/sys_enter")
int count_sys_enter(void *ctx)
{
  if ((bpf_get_current_pid_tgid() >> 32) == target_tgid) {
    __sync_fetch_and_add(&raw_tp_hits, 1);
    bump(5);
  }
  return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_exit(void *ctx)
{
  return 0;
}

SEC("tp/sched/sched_process_fork")
int on_fork(void *ctx)
{
  return 0;
}

SEC("kprobe/do_nanosleep")
int kprobe_nanosleep(void *ctx)
{
  __u64 id = bpf_get_current_pid_tgid();
  __u32 one = 1;
  bpf_map_update_elem(&lru, &id, &one, 0);
  return 0;
}

SEC("kretprobe/do_nanosleep")
int kretprobe_nanosleep(void *ctx)
{
  return 0;
}

SEC("uprobe")
int uprobe_any(void *ctx)
{
  return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int uretprobe_malloc(void *ctx)
{
  return 0;
}

SEC("tp_btf/sched_switch")
int btf_sched_switch(__u64 *ctx)
{
  return 0;
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct sk_buff_ctx *skb)
{
  return 1;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct sk_buff_ctx *skb)
{
  __u32 len = skb->len;
  bpf_ringbuf_output(&events, &len, sizeof(len), 0);
  return 1;
}

SEC("cgroup/sock_create")
int sock_create(void *ctx)
{
  return 1;
}

SEC("cgroup/connect4")
int connect4(void *ctx)
{
  return 1;
}

SEC("sockops")
int sockops_prog(void *ctx)
{
  return 1;
}

SEC("sk_skb/stream_verdict")
int sk_verdict(void *ctx)
{
  return 1;
}

SEC("sk_msg")
int sk_msg_prog(void *ctx)
{
  return 1;
}

SEC("flow_dissector")
int dissect(void *ctx)
{
  return 0;
}

SEC("perf_event")
int on_perf_event(void *ctx)
{
  return 0;
}
