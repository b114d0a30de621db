/* A Reno-like TCP congestion control, shared by tcp_cc.c (registered by a map update) and
 * tcp_cc_link.c (registered through a struct_ops link). The includer defines CC_SECTION (the
 * struct_ops variable's section), CC_VAR (its symbol) and CC_NAME (the algorithm's name).
 *
 * The kernel structs carry only the members used, with preserve_access_index: the loader
 * relocates field offsets against the running kernel's BTF (CO-RE), and matches the members of
 * tcp_congestion_ops to the kernel's by name. The verifier hands the programs a tcp_sock wherever
 * the kernel's prototype says struct sock, and lets them write the window fields. */
#include "ebpf.h"

char LICENSE[] SEC("license") = "GPL";

struct sock;

struct tcp_sock {
  __u32 snd_cwnd;
  __u32 snd_cwnd_cnt;
  __u32 snd_ssthresh;
  __u32 prior_cwnd;
} __attribute__((preserve_access_index));

struct tcp_congestion_ops {
  __u32 (*ssthresh)(struct sock *sk);
  void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
  __u32 (*undo_cwnd)(struct sock *sk);
  __u32 flags;
  char name[16];
} __attribute__((preserve_access_index));

/* Any socket (and any network namespace's default) may choose it, not only privileged ones. */
#define TCP_CONG_NON_RESTRICTED 0x1

/* How often the kernel called each function: read by the tests. */
__u64 cong_avoid_calls = 0;
__u64 ssthresh_calls = 0;

/* struct_ops programs get their arguments as an array of u64 (like tracing programs). */
SEC("struct_ops/reno_ssthresh")
__u32 reno_ssthresh(unsigned long long *ctx)
{
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  __u32 half = tp->snd_cwnd >> 1;

  __sync_fetch_and_add(&ssthresh_calls, 1);
  return half > 2 ? half : 2;
}

SEC("struct_ops/reno_cong_avoid")
void reno_cong_avoid(unsigned long long *ctx)
{
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  __u32 acked = (__u32)ctx[2];
  __u32 cwnd = tp->snd_cwnd;

  __sync_fetch_and_add(&cong_avoid_calls, 1);
  if (cwnd < tp->snd_ssthresh) {
    /* Slow start: one segment more per segment acknowledged. */
    tp->snd_cwnd = cwnd + acked;
    return;
  }
  /* Congestion avoidance: one segment more per window acknowledged. */
  if (tp->snd_cwnd_cnt + acked >= cwnd) {
    tp->snd_cwnd_cnt = 0;
    tp->snd_cwnd = cwnd + 1;
  } else {
    tp->snd_cwnd_cnt += acked;
  }
}

SEC("struct_ops/reno_undo_cwnd")
__u32 reno_undo_cwnd(unsigned long long *ctx)
{
  struct tcp_sock *tp = (struct tcp_sock *)ctx[0];
  __u32 prior = tp->prior_cwnd;

  return tp->snd_cwnd > prior ? tp->snd_cwnd : prior;
}

SEC(CC_SECTION)
struct tcp_congestion_ops CC_VAR = {
  .ssthresh = (void *)reno_ssthresh,
  .cong_avoid = (void *)reno_cong_avoid,
  .undo_cwnd = (void *)reno_undo_cwnd,
  .flags = TCP_CONG_NON_RESTRICTED,
  .name = CC_NAME,
};
