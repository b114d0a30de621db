// Producers shared by every consumer in the ring buffer and perf event array benchmarks: the same
// object file is loaded by the libbpf and cilium/ebpf anchors and, section by section, by
// bench/compare.ts for this library. One program per (output, record size, trigger):
// - tp_*: tracepoint syscalls/sys_enter_write, only for the producer process (stats[0] = its tgid);
// - xdp_*: run by BPF_PROG_TEST_RUN with repeat, to fill a ring before timing a reader alone.
// A record is SIZE bytes, 64-bit word i holding i * 8. A failed output adds one to stats[1].
// No global data, no subprograms, no CO-RE: map references are the only relocations.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 4);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline int is_producer(void)
{
	__u32 k = 0;
	__u64 *tgid = bpf_map_lookup_elem(&stats, &k);
	return tgid && (bpf_get_current_pid_tgid() >> 32) == *tgid;
}

static __always_inline void count_failure(void)
{
	__u32 k = 1;
	__u64 *n = bpf_map_lookup_elem(&stats, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
}

#define FILL(rec, size)                                  \
	_Pragma("unroll") for (int i = 0; i < (size) / 8; i++) \
		(rec)[i] = i * 8;

#define RING(name, sec, size, filter, ret)                       \
	SEC(sec) int name(void *ctx)                             \
	{                                                        \
		__u64 rec[(size) / 8];                           \
		if (filter && !is_producer())                    \
			return ret;                              \
		FILL(rec, size)                                  \
		if (bpf_ringbuf_output(&ring, rec, (size), 0))   \
			count_failure();                         \
		return ret;                                      \
	}

#define PERF(name, sec, size, filter, ret)                                          \
	SEC(sec) int name(void *ctx)                                                \
	{                                                                           \
		__u64 rec[(size) / 8];                                              \
		if (filter && !is_producer())                                       \
			return ret;                                                 \
		FILL(rec, size)                                                     \
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, rec, (size))) \
			count_failure();                                            \
		return ret;                                                         \
	}

RING(tp_ring_16, "tracepoint/syscalls/sys_enter_write", 16, 1, 0)
RING(tp_ring_128, "tracepoint/syscalls/sys_enter_write", 128, 1, 0)
RING(xdp_ring_16, "xdp", 16, 0, XDP_PASS)
RING(xdp_ring_128, "xdp", 128, 0, XDP_PASS)
PERF(tp_perf_16, "tracepoint/syscalls/sys_enter_write", 16, 1, 0)
PERF(tp_perf_128, "tracepoint/syscalls/sys_enter_write", 128, 1, 0)
PERF(xdp_perf_16, "xdp", 16, 0, XDP_PASS)
PERF(xdp_perf_128, "xdp", 128, 0, XDP_PASS)

char LICENSE[] SEC("license") = "GPL";
