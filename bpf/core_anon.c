/* CO-RE through anonymous members (issue 13, cause 1): fields of the kernel's struct sock_common
 * and struct sk_buff that sit inside the second or later anonymous struct/union, at depths one to
 * three, asked for with every field relocation kind. Each socket filter returns one answer, so a
 * test compares what this library and libbpf patch in. The local definitions copy the kernel's
 * anonymous nesting; the ___flat flavour puts a field in a different anonymous member than the
 * kernel does, which only a search by name at any depth resolves. */
#include "ebpf.h"

struct sock_common {
  union {
    __u64 skc_addrpair;
    struct {
      __u32 skc_daddr;
      __u32 skc_rcv_saddr;
    };
  };
  union {
    unsigned int skc_hash;
    __u16 skc_u16hashes[2];
  };
  union {
    __u32 skc_portpair;
    struct {
      __u16 skc_dport;
      __u16 skc_num;
    };
  };
  union {
    int skc_bogus_field; /* no kernel has it */
    long skc_flags;
  };
} __attribute__((preserve_access_index));

struct sock_common___flat {
  struct {
    __u16 skc_num;
    __u32 skc_rcv_saddr;
  };
} __attribute__((preserve_access_index));

struct sk_buff {
  union {
    struct {
      struct sk_buff *next;
      struct sk_buff *prev;
      union {
        void *dev;
        unsigned long dev_scratch;
      };
    };
    void *rbnode[3];
  };
  unsigned int len;
  union {
    struct {
      __u8 pkt_type : 3;
      __u8 ignore_df : 1;
    };
    struct {
      __u8 other_type : 3;
    } headers;
  };
  __u16 protocol_before_anon;
  union {
    struct {
      __u32 mark_lookalike;
    };
    struct {
      __u16 protocol;
    };
  };
} __attribute__((preserve_access_index));

#define info(type, field, kind) __builtin_preserve_field_info(((type *)0)->field, kind)

SEC("socket") int offset_num(void *ctx) { return info(struct sock_common, skc_num, FIELD_BYTE_OFFSET); }
SEC("socket") int offset_dport(void *ctx) { return info(struct sock_common, skc_dport, FIELD_BYTE_OFFSET); }
SEC("socket") int offset_hash(void *ctx) { return info(struct sock_common, skc_u16hashes[1], FIELD_BYTE_OFFSET); }
SEC("socket") int offset_rcv_saddr(void *ctx) { return info(struct sock_common, skc_rcv_saddr, FIELD_BYTE_OFFSET); }
SEC("socket") int offset_flat_num(void *ctx) { return info(struct sock_common___flat, skc_num, FIELD_BYTE_OFFSET); }
SEC("socket") int offset_flat_saddr(void *ctx) { return info(struct sock_common___flat, skc_rcv_saddr, FIELD_BYTE_OFFSET); }
SEC("socket") int size_dport(void *ctx) { return info(struct sock_common, skc_dport, FIELD_BYTE_SIZE); }
SEC("socket") int size_flags(void *ctx) { return info(struct sock_common, skc_flags, FIELD_BYTE_SIZE); }
SEC("socket") int exists_num(void *ctx) { return info(struct sock_common, skc_num, FIELD_EXISTS); }
SEC("socket") int exists_bogus(void *ctx) { return 10 + info(struct sock_common, skc_bogus_field, FIELD_EXISTS); }
SEC("socket") int signed_flags(void *ctx) { return 20 + info(struct sock_common, skc_flags, FIELD_SIGNED); }
SEC("socket") int offset_dev(void *ctx) { return info(struct sk_buff, dev, FIELD_BYTE_OFFSET); }
SEC("socket") int offset_pkt_type(void *ctx) { return info(struct sk_buff, pkt_type, FIELD_BYTE_OFFSET); }
SEC("socket") int size_pkt_type(void *ctx) { return info(struct sk_buff, pkt_type, FIELD_BYTE_SIZE); }
SEC("socket") int lshift_ignore_df(void *ctx) { return info(struct sk_buff, ignore_df, FIELD_LSHIFT_U64); }
SEC("socket") int rshift_ignore_df(void *ctx) { return info(struct sk_buff, ignore_df, FIELD_RSHIFT_U64); }
SEC("socket") int offset_protocol(void *ctx) { return info(struct sk_buff, protocol, FIELD_BYTE_OFFSET); }

/* A relocated load, not just a number: the kernel sk_buff's protocol (in an anonymous struct of an
 * anonymous union there), read through bpf_cast_to_kern_ctx(). The frame is IPv4: 0x0008 as the
 * big-endian 0x0800 reads on a little-endian machine. */
#define __ksym __attribute__((section(".ksyms")))
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
SEC("socket") int read_protocol(void *ctx) {
  struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
  return skb->protocol;
}

char LICENSE[] SEC("license") = "GPL";
