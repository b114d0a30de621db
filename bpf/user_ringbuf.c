/* Drains a user ring buffer (map type USER_RINGBUF) that user space fills through
 * UserRingBufferProducer (src/readers/user-ringbuf.ts). Each run of `drain` (an XDP program, run
 * with BPF_PROG_TEST_RUN) calls bpf_user_ringbuf_drain once and adds to totals[0]: the records it
 * was handed, the sum of each record's first u64, their sizes (the record's own u32 at byte 8,
 * written by the test, checked against the dynptr's size), and what the drain call returned.
 * test/readers-user-ringbuf.test.ts checks these against what the test wrote. */
#include "ebpf.h"

enum { MAP_USER_RINGBUF = 31 };

struct bpf_dynptr { __u64 opaque[2]; } __attribute__((aligned(8)));

static long (*bpf_dynptr_read)(void *dst, __u32 len, const struct bpf_dynptr *src, __u32 offset, __u64 flags) = (void *)201;
static long (*bpf_user_ringbuf_drain)(void *map, void *callback_fn, void *ctx, __u64 flags) = (void *)209;

struct totals {
  __u64 records;   /* records the drain callback was handed */
  __u64 sum;       /* sum of their first u64 */
  __u64 short_reads; /* records shorter than 12 bytes (the first u64 and the u32 size unreadable) */
  __u64 size_mismatches; /* records whose u32 at byte 8 is not their size: read back at that size fails */
  __u64 runs;      /* drain calls */
  __s64 last_ret;  /* what the last drain call returned */
  __s64 drained;   /* sum of the drain calls' returns */
};

struct { __uint(type, MAP_USER_RINGBUF); __uint(max_entries, 4096); } user_ring SEC(".maps");
struct { __uint(type, MAP_ARRAY); __type(key, __u32); __type(value, struct totals); __uint(max_entries, 1); } totals SEC(".maps");

struct ctx { __u64 records; __u64 sum; __u64 short_reads; __u64 size_mismatches; };

static long on_record(struct bpf_dynptr *record, void *data) {
  struct ctx *c = data;
  struct { __u64 value; __u32 size; } head;
  __u8 last;
  c->records++;
  if (bpf_dynptr_read(&head, 12, record, 0, 0)) {
    c->short_reads++;
    return 0;
  }
  c->sum += head.value;
  /* The record's last byte exists at size - 1 and nothing exists at size. */
  if (head.size < 12 || head.size > 4096 || bpf_dynptr_read(&last, 1, record, head.size - 1, 0) || !bpf_dynptr_read(&last, 1, record, head.size, 0))
    c->size_mismatches++;
  return 0;
}

SEC("xdp")
int drain(void *xdp) {
  __u32 zero = 0;
  struct ctx c = {};
  long ret = bpf_user_ringbuf_drain(&user_ring, on_record, &c, 0);
  struct totals *t = bpf_map_lookup_elem(&totals, &zero);
  if (t) {
    t->records += c.records;
    t->sum += c.sum;
    t->short_reads += c.short_reads;
    t->size_mismatches += c.size_mismatches;
    t->runs++;
    t->last_ret = ret;
    t->drained += ret;
  }
  return 2; /* XDP_PASS */
}

char LICENSE[] SEC("license") = "GPL";
