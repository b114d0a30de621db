// libbpf anchor for the kernel BTF benchmark: btf__load_vmlinux_btf (reads and parses
// /sys/kernel/btf/vmlinux) plus one btf__find_by_name_kind, freed after each round.
//   btf <rounds>        prints best and median ms
#include "common.h"
#include <bpf/btf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10;
	double ms[rounds];
	int types = 0, id = 0;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	for (int r = -1; r < rounds; r++) { // round -1 warms the page cache
		uint64_t t0 = now_ns();
		struct btf *btf = btf__load_vmlinux_btf();
		if (!btf)
			die("btf__load_vmlinux_btf", errno);
		id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
		uint64_t ns = now_ns() - t0;
		if (id <= 0)
			die("btf__find_by_name_kind", id);
		types = btf__type_cnt(btf) - 1;
		btf__free(btf);
		if (r >= 0)
			ms[r] = ns / 1e6;
	}
	double best = ms[0];
	for (int r = 1; r < rounds; r++)
		if (ms[r] < best)
			best = ms[r];
	printf("{\"bestMs\":%.3f,\"medianMs\":%.3f,\"types\":%d,\"taskStructId\":%d}\n", best, median(ms, rounds), types, id);
	return 0;
}
