// libbpf anchor for the hash map benchmark: 8-byte key, 24-byte value, 10,000 entries.
//   hashmap serve     creates and fills the map, then answers one command per stdin line
//                     (common.h next_command) with one JSON line:
//     lookup <ms>     {"lookupNs"}       bpf_map_lookup_elem
//     update <ms>     {"updateNs"}       bpf_map_update_elem, BPF_ANY on existing keys
//     raw <ms>        {"rawLookupNs"}    the raw syscall loop below
//     batch <rounds>  {"batchNsPerEntry"} bpf_map_lookup_batch of all 10,000 entries
// Also the physical floor of a lookup: a raw syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM) loop on an attr
// filled once (only the key's bytes change), no library in between.
// lookup, update and raw: rounds of 2,000 operations until the budget is spent, best round's ns/op
// (as bench/lib/measure.ts does for ours); batch: one bpf_map_lookup_batch of all 10,000 entries per
// round, best round.
#include "common.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>

#define ENTRIES 10000
#define ROUND 2000

static double measure(int fd, int update, long budget_ms)
{
	uint64_t key = 0;
	unsigned char value[24];
	memset(value, 7, sizeof(value));
	uint32_t k = 0;
	for (int i = 0; i < ROUND; i++) { // warm-up
		key = k++ % ENTRIES;
		update ? bpf_map_update_elem(fd, &key, value, BPF_ANY) : bpf_map_lookup_elem(fd, &key, value);
	}
	double best = 1e30;
	uint64_t end = now_ns() + budget_ms * 1000000ull;
	while (now_ns() < end) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < ROUND; i++) {
			key = k++ % ENTRIES;
			int err = update ? bpf_map_update_elem(fd, &key, value, BPF_ANY) : bpf_map_lookup_elem(fd, &key, value);
			if (err)
				die(update ? "bpf_map_update_elem" : "bpf_map_lookup_elem", errno);
		}
		double ns = (double)(now_ns() - t0) / ROUND;
		if (ns < best)
			best = ns;
	}
	return best;
}

static double measure_raw(int fd, long budget_ms)
{
	uint64_t key = 0;
	unsigned char value[24];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (uint64_t)(unsigned long)&key;
	attr.value = (uint64_t)(unsigned long)value;
	uint32_t k = 0;
	for (int i = 0; i < ROUND; i++) { // warm-up
		key = k++ % ENTRIES;
		syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr));
	}
	double best = 1e30;
	uint64_t end = now_ns() + budget_ms * 1000000ull;
	while (now_ns() < end) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < ROUND; i++) {
			key = k++ % ENTRIES;
			if (syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)))
				die("raw BPF_MAP_LOOKUP_ELEM", errno);
		}
		double ns = (double)(now_ns() - t0) / ROUND;
		if (ns < best)
			best = ns;
	}
	return best;
}

// Best round's ns/entry of `rounds` batch lookups of the whole map into static arrays.
static double measure_batch(int fd, int rounds)
{
	static uint64_t keys[ENTRIES];
	static unsigned char values[ENTRIES * 24];
	double best = 1e30;
	for (int r = 0; r < rounds; r++) {
		uint64_t out_batch;
		__u32 count = ENTRIES;
		uint64_t t0 = now_ns();
		int err = bpf_map_lookup_batch(fd, NULL, &out_batch, keys, values, &count, NULL);
		uint64_t ns = now_ns() - t0;
		if (err && errno != ENOENT)
			die("bpf_map_lookup_batch", errno);
		if (count != ENTRIES) {
			printf("{\"error\":\"batch returned %u\"}\n", count);
			exit(1);
		}
		if ((double)ns / count < best)
			best = (double)ns / count;
	}
	return best;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "serve")) {
		fprintf(stderr, "usage: hashmap serve\n");
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 8, 24, ENTRIES, NULL);
	if (fd < 0)
		die("bpf_map_create", fd);
	unsigned char value[24];
	memset(value, 7, sizeof(value));
	for (uint64_t key = 0; key < ENTRIES; key++)
		if (bpf_map_update_elem(fd, &key, value, BPF_ANY))
			die("fill", errno);

	char line[256];
	char *words[4];
	int n;
	while ((n = next_command(line, sizeof(line), words, 4)) >= 0) {
		if (n != 2) {
			if (n)
				die("command (lookup|update|raw <ms>, batch <rounds>)", EINVAL);
			continue;
		}
		long arg = atol(words[1]);
		if (!strcmp(words[0], "lookup"))
			printf("{\"lookupNs\":%.1f}\n", measure(fd, 0, arg));
		else if (!strcmp(words[0], "update"))
			printf("{\"updateNs\":%.1f}\n", measure(fd, 1, arg));
		else if (!strcmp(words[0], "raw"))
			printf("{\"rawLookupNs\":%.1f}\n", measure_raw(fd, arg));
		else if (!strcmp(words[0], "batch"))
			printf("{\"batchNsPerEntry\":%.2f}\n", measure_batch(fd, (int)arg));
		else
			die(words[0], EINVAL);
	}
	return 0;
}
