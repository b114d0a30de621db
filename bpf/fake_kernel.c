/* Not a program: its BTF stands for a kernel other than the running one (as a BTFHub file does),
 * for CO-RE against a caller-supplied BTF. struct sock_common here has skc_num and skc_dport in
 * another anonymous member, at other offsets, than any real kernel. */
#include "ebpf.h"

struct sock_common {
  __u64 skc_cookie;
  union {
    struct {
      __u32 skc_daddr;
      __u32 skc_rcv_saddr;
    };
    __u64 skc_addrpair;
  };
  __u32 skc_pad[4];
  union {
    __u32 skc_portpair;
    struct {
      __u16 skc_dport;
      __u16 skc_num;
    };
  };
  unsigned int skc_hash;
  __u16 skc_u16hashes[2];
  long skc_flags;
};

struct sock_common fake_kernel_sock_common;
