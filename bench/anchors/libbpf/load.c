// libbpf anchor for the object load benchmark: bpf_object__open_file + bpf_object__load (ELF parse,
// BTF load, map creation, relocation, verification of every program), then bpf_object__close.
// It also gives the load's physical floor: the time the kernel itself spends in libbpf's bpf(2)
// calls of a round (BTF load, map creation, verification), which no loader can go below while it
// makes those calls one after another. libbpf makes them through libc's syscall(); this program
// defines syscall() itself, so libbpf's calls land here (the executable's symbol comes first), and
// times each bpf(2) around the real one. Its feature probes (programs of a few instructions, made
// to learn what the kernel supports) are left out: they are libbpf's choice, not the object's.
//   load serve <object.o>     serve mode (common.h next_command): stays up and answers each `load`
//                             with one round, {"ms", "kernelMs", "kernelCalls", "programs", "maps"};
//                             the first answer is the process's first load (libbpf probes the
//                             kernel's features then, once per process)
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

// One round's figures: the whole load, and the kernel's share of it.
struct round {
	double ms, kernel_ms;
	int kernel_calls, progs, maps;
};

// One round: open and load the object (timed, the kernel's bpf(2) time counted apart), count its
// programs and maps, close it. A failure ends the process with its JSON error (die).
static struct round load_round(const char *path)
{
	struct round r = {0};
	uint64_t t0 = now_ns();
	bpf_ns = 0;
	bpf_calls = 0;
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("bpf_object__open_file", errno);
	int err = bpf_object__load(obj);
	uint64_t ns = now_ns() - t0, kns = bpf_ns;
	if (err)
		die("bpf_object__load", err);
	struct bpf_program *p;
	struct bpf_map *m;
	bpf_object__for_each_program(p, obj) r.progs++;
	bpf_object__for_each_map(m, obj) r.maps++;
	bpf_object__close(obj);
	r.ms = ns / 1e6;
	r.kernel_ms = kns / 1e6;
	r.kernel_calls = bpf_calls;
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "serve")) {
		fprintf(stderr, "usage: %s serve object.o   (then `load` lines on stdin)\n", argv[0]);
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	char line[256], *words[4];
	int n;
	while ((n = next_command(line, sizeof(line), words, 4)) >= 0) {
		if (n == 0)
			continue;
		if (strcmp(words[0], "load")) {
			printf("{\"error\":\"unknown command %s\"}\n", words[0]);
			return 2;
		}
		struct round r = load_round(argv[2]);
		printf("{\"ms\":%.3f,\"kernelMs\":%.3f,\"kernelCalls\":%d,\"programs\":%d,\"maps\":%d}\n", r.ms, r.kernel_ms,
		       r.kernel_calls, r.progs, r.maps);
	}
	return 0;
}
