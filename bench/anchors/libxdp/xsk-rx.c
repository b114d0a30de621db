// The C anchor of bench/afxdp.ts: the same AF_XDP receive loop as XdpSocket.receive(), written
// against libxdp's xsk API (Debian's libxdp-dev), so Node's receiver can be compared with what C
// gets from the same kernel path, in the same run, on the same veth pair and traffic.
//
//   xsk-rx IFNAME QUEUE XSKMAP_FD
//
// Run it inside the device's network namespace. The XDP program and its XSKMAP belong to the
// caller (the same redirect program the Node receiver uses): this process only puts its socket at
// key QUEUE of the map it inherited as XSKMAP_FD, so libxdp is told not to load a program of its own.
//
// Set-up mirrors XdpSocket's defaults: 4096 frames of 4096 bytes, all four rings 2048 slots, the
// first half of the UMEM handed to the fill ring before bind, needs-wakeup on, and the copy or
// zero-copy choice left to the kernel (veth has copy only).
//
// Line protocol (stdin commands, stdout answers):
//   at start      -> "ready mode=<copy|zerocopy>"
//   "drain N"     -> receives until N frames came or none came for 50 ms, in batches of at most
//                    256, adding the u32 at byte 42 of each frame to a checksum; the clock starts
//                    when the command is read and stops at the last batch that had frames.
//                    Answers "round <frames> <nanoseconds> <checksum of this round>"
//   "quit" or EOF -> "stats wakeups=W rx_dropped=D rx_ring_full=F fill_ring_empty=E", closes the
//                    socket and exits 0
// Errors go to stderr as "xsk-rx: ..." with exit status 1.
#include <errno.h>
#include <linux/if_xdp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#define FRAME_COUNT 4096u
#define FRAME_SIZE 4096u
#define RING_SLOTS 2048u
#define BATCH 256u
#define IDLE_NS 50000000ull
#define CHECKSUM_OFFSET 42u

static struct xsk_ring_prod fill_ring, tx_ring;
static struct xsk_ring_cons completion_ring, rx_ring;
static struct xsk_umem *umem;
static struct xsk_socket *xsk;
static unsigned char *area;
static int xsk_fd;
static unsigned long long wakeups;

static void die(const char *what, int err)
{
	fprintf(stderr, "xsk-rx: %s: %s\n", what, strerror(err));
	exit(1);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

// The kernel asked to be woken to refill from the fill ring: one recvfrom, as XdpSocket does.
static void wake_for_fill(void)
{
	if (!xsk_ring_prod__needs_wakeup(&fill_ring))
		return;
	wakeups++;
	if (recvfrom(xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 && errno != EAGAIN &&
	    errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
		die("recvfrom (wakeup)", errno);
}

// One pass: up to BATCH frames off the RX ring, their frames straight back on the fill ring.
static uint32_t receive_batch(uint32_t *checksum)
{
	uint32_t rx_at, fill_at, n, i;

	n = xsk_ring_cons__peek(&rx_ring, BATCH, &rx_at);
	if (n == 0) {
		wake_for_fill();
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx_ring, rx_at + i);
		uint32_t word;
		memcpy(&word, area + d->addr + CHECKSUM_OFFSET, sizeof(word));
		*checksum += word;
	}
	// The fill ring has a slot for every receive frame, so this reservation cannot come up short.
	if (xsk_ring_prod__reserve(&fill_ring, n, &fill_at) != n)
		die("fill ring reservation", ENOSPC);
	for (i = 0; i < n; i++) {
		uint64_t addr = xsk_ring_cons__rx_desc(&rx_ring, rx_at + i)->addr;
		*xsk_ring_prod__fill_addr(&fill_ring, fill_at + i) = addr & ~(uint64_t)(FRAME_SIZE - 1);
	}
	xsk_ring_cons__release(&rx_ring, n);
	xsk_ring_prod__submit(&fill_ring, n);
	wake_for_fill();
	return n;
}

static void drain(uint32_t want)
{
	uint32_t got = 0, checksum = 0;
	unsigned long long start = now_ns(), last = start;

	while (got < want) {
		uint32_t n = receive_batch(&checksum);
		if (n > 0) {
			got += n;
			last = now_ns();
		} else if (now_ns() - last > IDLE_NS) {
			break;
		}
	}
	printf("round %u %llu %u\n", got, last - start, checksum);
	fflush(stdout);
}

static void setup(const char *ifname, uint32_t queue, int map_fd)
{
	struct xsk_umem_config ucfg = {
		.fill_size = RING_SLOTS,
		.comp_size = RING_SLOTS,
		.frame_size = FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = RING_SLOTS,
		.tx_size = RING_SLOTS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	struct xdp_options opts;
	socklen_t optlen = sizeof(opts);
	uint32_t at, i;
	int err, waited;

	err = posix_memalign((void **)&area, (size_t)getpagesize(), (size_t)FRAME_COUNT * FRAME_SIZE);
	if (err)
		die("UMEM allocation", err);
	err = xsk_umem__create(&umem, area, (uint64_t)FRAME_COUNT * FRAME_SIZE, &fill_ring, &completion_ring, &ucfg);
	if (err)
		die("xsk_umem__create", -err);

	// Receive frames go to the kernel before bind, so the first frames find room.
	if (xsk_ring_prod__reserve(&fill_ring, RING_SLOTS, &at) != RING_SLOTS)
		die("initial fill", ENOSPC);
	for (i = 0; i < RING_SLOTS; i++)
		*xsk_ring_prod__fill_addr(&fill_ring, at + i) = (uint64_t)i * FRAME_SIZE;
	xsk_ring_prod__submit(&fill_ring, RING_SLOTS);

	// A socket closed moments ago on this queue holds it until the kernel's deferred release runs.
	for (waited = 0;; waited += 5) {
		err = xsk_socket__create(&xsk, ifname, queue, umem, &rx_ring, &tx_ring, &scfg);
		if (err != -EBUSY || waited >= 250)
			break;
		usleep(5000);
	}
	if (err)
		die("xsk_socket__create", -err);
	xsk_fd = xsk_socket__fd(xsk);

	if (bpf_map_update_elem(map_fd, &queue, &xsk_fd, 0))
		die("XSKMAP update", errno);

	if (getsockopt(xsk_fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen))
		die("getsockopt(XDP_OPTIONS)", errno);
	printf("ready mode=%s\n", (opts.flags & XDP_OPTIONS_ZEROCOPY) ? "zerocopy" : "copy");
	fflush(stdout);
}

static void report_and_close(void)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (getsockopt(xsk_fd, SOL_XDP, XDP_STATISTICS, &st, &len))
		die("getsockopt(XDP_STATISTICS)", errno);
	printf("stats wakeups=%llu rx_dropped=%llu rx_ring_full=%llu fill_ring_empty=%llu\n", wakeups,
	       (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
	       (unsigned long long)st.rx_fill_ring_empty_descs);
	fflush(stdout);
	// Closing the socket also takes it out of the XSKMAP (the kernel's release does that).
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	free(area);
}

int main(int argc, char **argv)
{
	char line[64];
	uint32_t queue;
	int map_fd;

	if (argc != 4) {
		fprintf(stderr, "usage: xsk-rx IFNAME QUEUE XSKMAP_FD\n");
		return 2;
	}
	queue = (uint32_t)strtoul(argv[2], NULL, 10);
	map_fd = atoi(argv[3]);
	setup(argv[1], queue, map_fd);

	while (fgets(line, sizeof(line), stdin)) {
		unsigned int n;
		if (sscanf(line, "drain %u", &n) == 1)
			drain(n);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			fprintf(stderr, "xsk-rx: unknown command: %s", line);
	}
	report_and_close();
	return 0;
}
