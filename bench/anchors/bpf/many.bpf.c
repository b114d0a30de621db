// The object of the load benchmark: 20 programs of five types and 10 maps of eight types, so that
// an ELF loader parses, creates, relocates and gets through the verifier a realistic amount.
// No CO-RE and no global data, so that every loader under test can take it (cilium/ebpf 0.9.1
// cannot read this kernel's BTF, which CO-RE would need).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow { __u32 saddr, daddr; __u16 sport, dport; __u8 proto, pad[3]; };
struct counters { __u64 packets, bytes, last_ns; };
struct event { __u64 ts; __u32 pid, cpu; __u64 arg; char comm[16]; };
struct lpm_v4 { __u32 prefixlen; __u32 addr; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, struct flow); __type(value, struct counters); } flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, struct counters); } by_src SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } proto_count SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, struct counters); } cpu_stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } syscalls SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 1024); __type(key, struct lpm_v4); __type(value, __u32); __uint(map_flags, BPF_F_NO_PREALLOC); } blocklist SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } ev_ring SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } ev_perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } starts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } config SEC(".maps");

static __always_inline int parse(void *data, void *end, struct flow *f)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl != 5)
		return -1;
	__builtin_memset(f, 0, sizeof(*f));
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	if (ip->protocol == 6 || ip->protocol == 17) {
		__u16 *ports = (void *)(ip + 1);
		if ((void *)(ports + 2) > end)
			return -1;
		f->sport = bpf_ntohs(ports[0]);
		f->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

static __always_inline void account(struct flow *f, __u64 len)
{
	struct counters *c = bpf_map_lookup_elem(&flows, f);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
		c->last_ns = bpf_ktime_get_ns();
	} else {
		struct counters n = { 1, len, bpf_ktime_get_ns() };
		bpf_map_update_elem(&flows, f, &n, BPF_NOEXIST);
	}
	__u32 p = f->proto;
	__u64 *pc = bpf_map_lookup_elem(&proto_count, &p);
	if (pc)
		__sync_fetch_and_add(pc, 1);
}

static __always_inline int blocked(__u32 addr)
{
	struct lpm_v4 k = { 32, addr };
	return bpf_map_lookup_elem(&blocklist, &k) != 0;
}

static __always_inline void per_src(__u32 saddr, __u64 len)
{
	struct counters *c = bpf_map_lookup_elem(&by_src, &saddr);
	if (c) {
		c->packets++;
		c->bytes += len;
	} else {
		struct counters n = { 1, len, 0 };
		bpf_map_update_elem(&by_src, &saddr, &n, BPF_ANY);
	}
}

static __always_inline __u32 knob(__u32 i)
{
	__u32 *v = bpf_map_lookup_elem(&config, &i);
	return v ? *v : 0;
}

#define XDP_PROG(name, variant)                                                   \
	SEC("xdp") int name(struct xdp_md *ctx)                                   \
	{                                                                         \
		void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end; \
		struct flow f;                                                    \
		if (parse(data, end, &f))                                         \
			return XDP_PASS;                                          \
		if ((variant) & 1 && blocked(f.saddr))                            \
			return XDP_DROP;                                          \
		if ((variant) & 2)                                                \
			per_src(f.saddr, end - data);                             \
		if ((variant) & 4 && f.dport == knob(variant & 3))                \
			return XDP_DROP;                                          \
		account(&f, end - data);                                          \
		return XDP_PASS;                                                  \
	}

#define TC_PROG(name, variant)                                                    \
	SEC("tc") int name(struct __sk_buff *skb)                                 \
	{                                                                         \
		void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end; \
		struct flow f;                                                    \
		if (parse(data, end, &f))                                         \
			return TC_ACT_OK;                                         \
		if ((variant) & 1 && blocked(f.daddr))                            \
			return TC_ACT_SHOT;                                       \
		if ((variant) & 2)                                                \
			per_src(f.daddr, skb->len);                               \
		account(&f, skb->len);                                            \
		if ((variant) & 4)                                                \
			skb->mark = knob(1) + f.proto;                            \
		return TC_ACT_OK;                                                 \
	}

#define SOCKET_PROG(name, keep)                                                   \
	SEC("socket") int name(struct __sk_buff *skb)                             \
	{                                                                         \
		__u32 k = skb->protocol & 0xff;                                   \
		__u64 *c = bpf_map_lookup_elem(&proto_count, &k);                 \
		if (c)                                                            \
			__sync_fetch_and_add(c, 1);                               \
		struct counters *s;                                               \
		__u32 zero = 0;                                                   \
		s = bpf_map_lookup_elem(&cpu_stats, &zero);                       \
		if (s) {                                                          \
			s->packets++;                                             \
			s->bytes += skb->len;                                     \
		}                                                                 \
		return skb->len > (keep) ? (keep) : skb->len;                     \
	}

#define TP_ENTER(name, tp, slot)                                                  \
	SEC("tracepoint/syscalls/" tp) int name(void *ctx)                        \
	{                                                                         \
		__u32 tid = (__u32)bpf_get_current_pid_tgid();                   \
		__u64 ts = bpf_ktime_get_ns();                                    \
		bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);                 \
		__u32 k = slot;                                                   \
		__u64 *n = bpf_map_lookup_elem(&syscalls, &k);                    \
		if (n)                                                            \
			(*n)++;                                                   \
		else {                                                            \
			__u64 one = 1;                                            \
			bpf_map_update_elem(&syscalls, &k, &one, BPF_NOEXIST);    \
		}                                                                 \
		return 0;                                                         \
	}

#define TP_EXIT_RING(name, tp)                                                    \
	SEC("tracepoint/syscalls/" tp) int name(void *ctx)                        \
	{                                                                         \
		__u64 id = bpf_get_current_pid_tgid();                            \
		__u32 tid = (__u32)id;                                            \
		__u64 *start = bpf_map_lookup_elem(&starts, &tid);                \
		if (!start)                                                       \
			return 0;                                                 \
		struct event *e = bpf_ringbuf_reserve(&ev_ring, sizeof(*e), 0);  \
		if (!e)                                                           \
			return 0;                                                 \
		e->ts = bpf_ktime_get_ns();                                       \
		e->arg = e->ts - *start;                                          \
		e->pid = id >> 32;                                                \
		e->cpu = bpf_get_smp_processor_id();                              \
		bpf_get_current_comm(e->comm, sizeof(e->comm));                   \
		bpf_ringbuf_submit(e, 0);                                         \
		bpf_map_delete_elem(&starts, &tid);                               \
		return 0;                                                         \
	}

#define KPROBE_PERF(name, fn)                                                     \
	SEC("kprobe/" fn) int name(void *ctx)                                     \
	{                                                                         \
		struct event e = {};                                              \
		__u64 id = bpf_get_current_pid_tgid();                            \
		if (knob(2) && knob(2) != id >> 32)                               \
			return 0;                                                 \
		e.ts = bpf_ktime_get_ns();                                        \
		e.pid = id >> 32;                                                 \
		e.cpu = bpf_get_smp_processor_id();                               \
		bpf_get_current_comm(e.comm, sizeof(e.comm));                     \
		bpf_perf_event_output(ctx, &ev_perf, BPF_F_CURRENT_CPU, &e, sizeof(e)); \
		return 0;                                                         \
	}

XDP_PROG(xdp_count, 0)
XDP_PROG(xdp_block, 1)
XDP_PROG(xdp_per_src, 2)
XDP_PROG(xdp_block_per_src, 3)
XDP_PROG(xdp_port_filter, 5)
TC_PROG(tc_count, 0)
TC_PROG(tc_block, 1)
TC_PROG(tc_per_dst, 2)
TC_PROG(tc_mark, 4)
SOCKET_PROG(sock_trunc_64, 64)
SOCKET_PROG(sock_trunc_1500, 1500)
TP_ENTER(tp_enter_read, "sys_enter_read", 0)
TP_ENTER(tp_enter_write, "sys_enter_write", 1)
TP_ENTER(tp_enter_openat, "sys_enter_openat", 2)
TP_ENTER(tp_enter_close, "sys_enter_close", 3)
TP_EXIT_RING(tp_exit_read, "sys_exit_read")
TP_EXIT_RING(tp_exit_write, "sys_exit_write")
TP_EXIT_RING(tp_exit_openat, "sys_exit_openat")
KPROBE_PERF(kp_nanosleep, "do_nanosleep")
KPROBE_PERF(kp_unlinkat, "do_unlinkat")

char LICENSE[] SEC("license") = "GPL";
