// libbpf anchor for the object load benchmark: bpf_object__open_file + bpf_object__load (ELF parse,
// BTF load, map creation, relocation, verification of every program), then bpf_object__close.
//   load <object.o> <rounds>     prints best and median ms
#include "common.h"
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s object.o [rounds]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	double ms[rounds];
	int progs = 0, maps = 0;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	for (int r = -1; r < rounds; r++) { // round -1 warms up
		uint64_t t0 = now_ns();
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj)
			die("bpf_object__open_file", errno);
		int err = bpf_object__load(obj);
		uint64_t ns = now_ns() - t0;
		if (err)
			die("bpf_object__load", err);
		struct bpf_program *p;
		struct bpf_map *m;
		progs = maps = 0;
		bpf_object__for_each_program(p, obj) progs++;
		bpf_object__for_each_map(m, obj) maps++;
		bpf_object__close(obj);
		if (r >= 0)
			ms[r] = ns / 1e6;
	}
	double best = ms[0];
	for (int r = 1; r < rounds; r++)
		if (ms[r] < best)
			best = ms[r];
	printf("{\"bestMs\":%.3f,\"medianMs\":%.3f,\"programs\":%d,\"maps\":%d}\n", best, median(ms, rounds), progs, maps);
	return 0;
}
