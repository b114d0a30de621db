// libbpf anchor for bench/drain.ts: the drain half of records.c alone, timed both by the wall
// clock and by this thread's CPU clock (CLOCK_THREAD_CPUTIME_ID: time this thread ran, whatever
// else the machine runs; bench/drain.ts measures its own side the same way).
//   drain <records.bpf.o> ring|perf <record size> <rounds>
// Prints one JSON line: the best round of each clock, in records per second, and a checksum (the
// callbacks add each record's u32 at byte 8, the same work as bench/drain.ts's callbacks).
#include "common.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static long received;
static __u64 checksum;

static inline void visit(const void *data)
{
	__u32 word;
	memcpy(&word, (const char *)data + 8, sizeof(word));
	checksum += word;
	received++;
}

static int on_ring(void *ctx, void *data, size_t size)
{
	visit(data);
	return 0;
}

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
	visit(data);
}

static inline uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s obj ring|perf size rounds\n", argv[0]);
		return 2;
	}
	int perf = strcmp(argv[2], "perf") == 0;
	int size = atoi(argv[3]);
	int rounds = atoi(argv[4]);
	const size_t ring_size = 16 << 20;
	char name[64];

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		die("bpf_object__open_file", errno);
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, false);
	snprintf(name, sizeof(name), "xdp_%s_%d", perf ? "perf" : "ring", size);
	struct bpf_program *xdp = bpf_object__find_program_by_name(obj, name);
	if (!xdp)
		die("find program", ENOENT);
	bpf_program__set_autoload(xdp, true);
	int err = bpf_object__load(obj);
	if (err)
		die("bpf_object__load", err);

	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	if (perf) {
		pb = perf_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"), ring_size / 4096, on_perf, NULL, NULL, NULL);
		if (!pb)
			die("perf_buffer__new", errno);
	} else {
		rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "ring"), on_ring, NULL, NULL);
		if (!rb)
			die("ring_buffer__new", errno);
	}

	size_t per_record = perf ? ((8 + 4 + size + 7) & ~7) : ((8 + size + 7) & ~7);
	int n = (int)(ring_size * 0.9 / per_record);
	char pkt[64] = {0};
	double best_wall = 1e30, best_cpu = 1e30;
	for (int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = n);
		// A signal can interrupt the fill (EINTR): drain what it wrote and fill again.
		while ((err = bpf_prog_test_run_opts(bpf_program__fd(xdp), &opts)) == -EINTR) {
			if (perf)
				perf_buffer__consume(pb);
			else
				ring_buffer__consume(rb);
		}
		if (err)
			die("bpf_prog_test_run_opts", err);
		received = 0;
		checksum = 0;
		uint64_t t0 = now_ns(), c0 = thread_cpu_ns();
		if (perf)
			perf_buffer__consume(pb);
		else
			ring_buffer__consume(rb);
		uint64_t cpu = thread_cpu_ns() - c0, wall = now_ns() - t0;
		if (received != n || checksum != 8ull * n) {
			printf("{\"error\":\"drain: %ld records of %d, checksum %llu\"}\n", received, n, (unsigned long long)checksum);
			return 1;
		}
		if ((double)wall / n < best_wall)
			best_wall = (double)wall / n;
		if ((double)cpu / n < best_cpu)
			best_cpu = (double)cpu / n;
	}
	printf("{\"wallRecordsPerSec\":%.0f,\"cpuRecordsPerSec\":%.0f,\"records\":%d,\"rounds\":%d}\n", 1e9 / best_wall, 1e9 / best_cpu, n, rounds);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
