// libbpf anchor for the ring buffer and perf event array benchmarks.
//   records <records.bpf.o> ring|perf <record size> <drain rounds> <live writes>
// Prints one JSON line: drain (reader alone on a ring filled by BPF_PROG_TEST_RUN, best round) and
// live (dd producer through the tracepoint, consumed concurrently with epoll wake-ups).
// Every record is visited: the callbacks add its 32-bit word at byte 8 to a checksum (the same work
// the other implementations do), printed with the results.
#include "common.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static long received;
static __u64 checksum;

static inline void visit(const void *data)
{
	__u32 word;
	memcpy(&word, (const char *)data + 8, sizeof(word)); // perf samples are only 4-byte aligned
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

static long kernel_lost;
static void on_perf_lost(void *ctx, int cpu, __u64 n)
{
	kernel_lost += n;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s obj ring|perf size drain_rounds live_writes\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int perf = strcmp(argv[2], "perf") == 0;
	int size = atoi(argv[3]);
	int rounds = atoi(argv[4]);
	long writes = atol(argv[5]);
	const size_t ring_size = 16 << 20; // the ring buffer, and each CPU's perf buffer
	char name[64];

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("bpf_object__open_file", errno);
	// Load only the two programs this run uses.
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, false);
	snprintf(name, sizeof(name), "xdp_%s_%d", perf ? "perf" : "ring", size);
	struct bpf_program *xdp = bpf_object__find_program_by_name(obj, name);
	snprintf(name, sizeof(name), "tp_%s_%d", perf ? "perf" : "ring", size);
	struct bpf_program *tp = bpf_object__find_program_by_name(obj, name);
	if (!xdp || !tp)
		die("find program", ENOENT);
	bpf_program__set_autoload(xdp, true);
	bpf_program__set_autoload(tp, true);
	int err = bpf_object__load(obj);
	if (err)
		die("bpf_object__load", err);
	int stats = bpf_object__find_map_fd_by_name(obj, "stats");

	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	if (perf) {
		pb = perf_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"), ring_size / 4096, on_perf, on_perf_lost, NULL, NULL);
		if (!pb)
			die("perf_buffer__new", errno);
	} else {
		rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "ring"), on_ring, NULL, NULL);
		if (!rb)
			die("ring_buffer__new", errno);
	}

	// Drain.
	size_t per_record = perf ? ((8 + 4 + size + 7) & ~7) : ((8 + size + 7) & ~7);
	int n = (int)(ring_size * 0.9 / per_record);
	char pkt[64] = {0};
	double best = 1e30;
	for (int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = n);
		err = bpf_prog_test_run_opts(bpf_program__fd(xdp), &opts);
		if (err)
			die("bpf_prog_test_run_opts", err);
		received = 0;
		checksum = 0;
		uint64_t t0 = now_ns();
		if (perf)
			perf_buffer__consume(pb);
		else
			ring_buffer__consume(rb);
		uint64_t ns = now_ns() - t0;
		if (received != n) {
			fprintf(stderr, "drain: expected %d records, got %ld\n", n, received);
			printf("{\"error\":\"drain: expected %d records, got %ld\"}\n", n, received);
			return 1;
		}
		if ((double)ns / n < best)
			best = (double)ns / n;
	}

	// Live.
	struct bpf_link *link = bpf_program__attach(tp);
	if (!link)
		die("bpf_program__attach", errno);
	int release;
	pid_t pid = spawn_producer(writes, &release);
	__u32 k = 0;
	__u64 v = pid;
	bpf_map_update_elem(stats, &k, &v, BPF_ANY);
	k = 1;
	v = 0;
	bpf_map_update_elem(stats, &k, &v, BPF_ANY);
	__u64 drain_checksum = checksum;
	received = 0;
	checksum = 0;
	uint64_t t0 = now_ns();
	if (write(release, "go\n", 3) != 3)
		die("write", errno);
	close(release);
	int status;
	for (;;) {
		if (perf)
			perf_buffer__poll(pb, 50);
		else
			ring_buffer__poll(rb, 50);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	// The producer has exited: take what is left, until every write is either received or counted
	// as failed in the kernel (2 s at most).
	__u64 failed = 0;
	uint64_t deadline = now_ns() + 2000000000ull;
	for (;;) {
		if (perf)
			perf_buffer__consume(pb);
		else
			ring_buffer__consume(rb);
		k = 1;
		bpf_map_lookup_elem(stats, &k, &failed);
		if (received + (long)failed >= writes || now_ns() > deadline)
			break;
	}
	double seconds = (now_ns() - t0) / 1e9;
	bpf_link__destroy(link);
	printf("{\"drainRecordsPerSec\":%.0f,\"liveRecordsPerSec\":%.0f,\"liveReceived\":%ld,\"liveLost\":%llu,\"writes\":%ld,\"drainRounds\":%d,\"drainRecords\":%d,"
	       "\"drainChecksum\":%llu,\"liveChecksum\":%llu,\"libbpf\":\"%d.%d\"}\n",
	       1e9 / best, received / seconds, received, (unsigned long long)failed, writes, rounds, n,
	       (unsigned long long)drain_checksum, (unsigned long long)checksum, libbpf_major_version(), libbpf_minor_version());
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
