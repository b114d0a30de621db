// Shared by the libbpf anchors: a monotonic clock, the producer process and small helpers.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : err));
	printf("{\"error\":\"%s: %s\"}\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double median(double *xs, int n)
{
	qsort(xs, n, sizeof(*xs), cmp_double);
	return xs[n / 2];
}

// The producer every implementation uses: sh waits for a line on stdin, then execs dd writing one
// byte per write(2), `writes` times. Returns its pid; *release is the pipe to write the line to.
static inline pid_t spawn_producer(long writes, int *release)
{
	int p[2];
	if (pipe(p))
		die("pipe", errno);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		char cmd[160];
		snprintf(cmd, sizeof(cmd), "read _ && exec dd if=/dev/zero of=/dev/null bs=1 count=%ld status=none", writes);
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

// Serve mode (bench/lib/anchors.ts AnchorSession): the anchor sets up once, then answers one command
// per line on stdin with one JSON line on stdout, until stdin ends. next_command reads the next
// line and splits it at spaces into argv (at most max words); returns the word count, 0 for a blank
// line, -1 at the end of stdin. stdout is line-buffered so that each answer leaves at once.
static inline int next_command(char *line, int size, char **argv, int max)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!fgets(line, size, stdin))
		return -1;
	int n = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok && n < max; tok = strtok(NULL, " \t\r\n"))
		argv[n++] = tok;
	return n;
}
