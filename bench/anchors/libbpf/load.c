// libbpf anchor for the object load benchmark: bpf_object__open_file + bpf_object__load (ELF parse,
// BTF load, map creation, relocation, verification of every program), then bpf_object__close.
// It also gives the load's physical floor: the time the kernel itself spends in libbpf's bpf(2)
// calls of a round (BTF load, map creation, verification), which no loader can go below while it
// makes those calls one after another. libbpf makes them through libc's syscall(); this program
// defines syscall() itself, so libbpf's calls land here (the executable's symbol comes first), and
// times each bpf(2) around the real one. Its feature probes (programs of a few instructions, made
// to learn what the kernel supports) are left out: they are libbpf's choice, not the object's.
//   load <object.o> <rounds>     prints best and median ms, the same for the kernel's share, and the
//                                first round's ms (the process's first load, untimed in the others)
#include "common.h"
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>

static uint64_t bpf_ns; // time spent in bpf(2) since the round began
static int bpf_calls;   // bpf(2) calls counted in it
static long (*real_syscall)(long, ...);

long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr != __NR_bpf)
		return real_syscall(nr, a, b, c, d, e, f);
	// union bpf_attr for BPF_PROG_LOAD: prog_type, then insn_cnt (u32 at offset 4).
	if (a == BPF_PROG_LOAD && ((const uint32_t *)b)[1] < 8)
		return real_syscall(nr, a, b, c, d, e, f);
	uint64_t t0 = now_ns();
	long r = real_syscall(nr, a, b, c, d, e, f);
	bpf_ns += now_ns() - t0;
	bpf_calls++;
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s object.o [rounds]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	double ms[rounds], kernel_ms[rounds];
	int progs = 0, maps = 0;
	double first_ms = 0; // round -1: the process's first load
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	for (int r = -1; r < rounds; r++) { // round -1 warms up
		uint64_t t0 = now_ns();
		bpf_ns = 0;
		bpf_calls = 0;
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj)
			die("bpf_object__open_file", errno);
		int err = bpf_object__load(obj);
		uint64_t ns = now_ns() - t0, kns = bpf_ns;
		if (err)
			die("bpf_object__load", err);
		struct bpf_program *p;
		struct bpf_map *m;
		progs = maps = 0;
		bpf_object__for_each_program(p, obj) progs++;
		bpf_object__for_each_map(m, obj) maps++;
		bpf_object__close(obj);
		if (r < 0)
			first_ms = ns / 1e6;
		if (r >= 0) {
			ms[r] = ns / 1e6;
			kernel_ms[r] = kns / 1e6;
		}
	}
	double best = ms[0];
	for (int r = 1; r < rounds; r++)
		if (ms[r] < best)
			best = ms[r];
	double kernel_best = kernel_ms[0];
	for (int r = 1; r < rounds; r++)
		if (kernel_ms[r] < kernel_best)
			kernel_best = kernel_ms[r];
	printf("{\"bestMs\":%.3f,\"medianMs\":%.3f,\"programs\":%d,\"maps\":%d,\"kernelBestMs\":%.3f,\"kernelMedianMs\":%.3f,\"kernelCalls\":%d,\"firstMs\":%.3f}\n",
	       best, median(ms, rounds), progs, maps, kernel_best, median(kernel_ms, rounds), bpf_calls, first_ms);
	return 0;
}
