// libbpf anchor for the ring buffer and perf event array benchmarks (bench/compare/records.ts).
//   records <records.bpf.o> ring|perf <record size> <live writes>
//     One live run: the dd producer through the tracepoint, consumed concurrently with epoll
//     wake-ups; prints one JSON line.
//   records serve <records.bpf.o> ring|perf <record size>
//     Serve mode (common.h next_command): loads the object and sets up the reader once, then
//     answers each `drain` line with one drain round (the ring filled by BPF_PROG_TEST_RUN, the
//     reader alone timed), one JSON line each, so that the implementations can take turns round
//     by round under the same moment of this noisy machine.
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

static const size_t ring_size = 16 << 20; // the ring buffer, and each CPU's perf buffer

// The object with the two programs of one (output, record size) loaded, and a reader on its output.
struct records {
	struct bpf_object *obj;
	struct bpf_program *xdp, *tp;
	int stats;
	int perf;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int n; // records per drain round: 90% of the ring
};

static void records_open(struct records *r, const char *path, int perf, int size)
{
	char name[64];
	memset(r, 0, sizeof(*r));
	r->perf = perf;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	r->obj = bpf_object__open_file(path, NULL);
	if (!r->obj)
		die("bpf_object__open_file", errno);
	// Load only the two programs this run uses.
	struct bpf_program *p;
	bpf_object__for_each_program(p, r->obj) bpf_program__set_autoload(p, false);
	snprintf(name, sizeof(name), "xdp_%s_%d", perf ? "perf" : "ring", size);
	r->xdp = bpf_object__find_program_by_name(r->obj, name);
	snprintf(name, sizeof(name), "tp_%s_%d", perf ? "perf" : "ring", size);
	r->tp = bpf_object__find_program_by_name(r->obj, name);
	if (!r->xdp || !r->tp)
		die("find program", ENOENT);
	bpf_program__set_autoload(r->xdp, true);
	bpf_program__set_autoload(r->tp, true);
	int err = bpf_object__load(r->obj);
	if (err)
		die("bpf_object__load", err);
	r->stats = bpf_object__find_map_fd_by_name(r->obj, "stats");

	if (perf) {
		r->pb = perf_buffer__new(bpf_object__find_map_fd_by_name(r->obj, "events"), ring_size / 4096, on_perf, on_perf_lost, NULL, NULL);
		if (!r->pb)
			die("perf_buffer__new", errno);
	} else {
		r->rb = ring_buffer__new(bpf_object__find_map_fd_by_name(r->obj, "ring"), on_ring, NULL, NULL);
		if (!r->rb)
			die("ring_buffer__new", errno);
	}
	size_t per_record = perf ? ((8 + 4 + size + 7) & ~7) : ((8 + size + 7) & ~7);
	r->n = (int)(ring_size * 0.9 / per_record);
}

static void records_close(struct records *r)
{
	ring_buffer__free(r->rb);
	perf_buffer__free(r->pb);
	bpf_object__close(r->obj);
}

static inline void consume(struct records *r)
{
	if (r->perf)
		perf_buffer__consume(r->pb);
	else
		ring_buffer__consume(r->rb);
}

// One drain round: fill the ring with n records (BPF_PROG_TEST_RUN with repeat), then time the
// reader alone taking them.
static void drain_round(struct records *r)
{
	char pkt[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = r->n);
	int err = bpf_prog_test_run_opts(bpf_program__fd(r->xdp), &opts);
	if (err)
		die("bpf_prog_test_run_opts", err);
	received = 0;
	checksum = 0;
	uint64_t t0 = now_ns();
	consume(r);
	uint64_t ns = now_ns() - t0;
	if (received != r->n) {
		fprintf(stderr, "drain: expected %d records, got %ld\n", r->n, received);
		printf("{\"error\":\"drain: expected %d records, got %ld\"}\n", r->n, received);
		exit(1);
	}
	printf("{\"drainRecordsPerSec\":%.0f,\"drainRecords\":%d,\"drainChecksum\":%llu}\n", 1e9 * r->n / ns, r->n,
	       (unsigned long long)checksum);
}

// One live run: the dd producer's writes through the tracepoint, polled with epoll wake-ups.
static void live(struct records *r, long writes)
{
	struct bpf_link *link = bpf_program__attach(r->tp);
	if (!link)
		die("bpf_program__attach", errno);
	int release;
	pid_t pid = spawn_producer(writes, &release);
	__u32 k = 0;
	__u64 v = pid;
	bpf_map_update_elem(r->stats, &k, &v, BPF_ANY);
	k = 1;
	v = 0;
	bpf_map_update_elem(r->stats, &k, &v, BPF_ANY);
	received = 0;
	checksum = 0;
	uint64_t t0 = now_ns();
	if (write(release, "go\n", 3) != 3)
		die("write", errno);
	close(release);
	int status;
	for (;;) {
		if (r->perf)
			perf_buffer__poll(r->pb, 50);
		else
			ring_buffer__poll(r->rb, 50);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	// The producer has exited: take what is left, until every write is either received or counted
	// as failed in the kernel (2 s at most).
	__u64 failed = 0;
	uint64_t deadline = now_ns() + 2000000000ull;
	for (;;) {
		consume(r);
		k = 1;
		bpf_map_lookup_elem(r->stats, &k, &failed);
		if (received + (long)failed >= writes || now_ns() > deadline)
			break;
	}
	double seconds = (now_ns() - t0) / 1e9;
	bpf_link__destroy(link);
	printf("{\"liveRecordsPerSec\":%.0f,\"liveReceived\":%ld,\"liveLost\":%llu,\"writes\":%ld,\"liveChecksum\":%llu,\"libbpf\":\"%d.%d\"}\n",
	       received / seconds, received, (unsigned long long)failed, writes, (unsigned long long)checksum, libbpf_major_version(),
	       libbpf_minor_version());
}

int main(int argc, char **argv)
{
	struct records r;
	if (argc == 5 && strcmp(argv[1], "serve") == 0) {
		records_open(&r, argv[2], strcmp(argv[3], "perf") == 0, atoi(argv[4]));
		char line[256], *words[8];
		int n;
		while ((n = next_command(line, sizeof(line), words, 8)) >= 0) {
			if (n == 0)
				continue;
			if (strcmp(words[0], "drain") == 0)
				drain_round(&r);
			else
				die(words[0], EINVAL);
		}
	} else if (argc == 5) {
		records_open(&r, argv[1], strcmp(argv[2], "perf") == 0, atoi(argv[3]));
		live(&r, atol(argv[4]));
	} else {
		fprintf(stderr, "usage: %s obj ring|perf size live_writes | %s serve obj ring|perf size\n", argv[0], argv[0]);
		return 2;
	}
	records_close(&r);
	return 0;
}
