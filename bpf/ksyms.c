/* __ksym externs (issue 13, cause 5): a kfunc call, a typed ksym (a per-CPU kernel variable, by
 * its BTF id), a typeless ksym (an address from /proc/kallsyms), and __weak ones this kernel
 * lacks, which resolve to zero so that bpf_ksym_exists() says so and the verifier prunes the
 * calls it guards. Socket filters return what they saw, for a test to compare with libbpf. */
#include "ebpf.h"

#define __ksym __attribute__((section(".ksyms")))
#define bpf_ksym_exists(sym) (!!(sym))

struct sk_buff {
  unsigned int len;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern const int bpf_prog_active __ksym;          /* typed: a per-CPU int in the kernel's BTF */
extern const void __x64_sys_bpf __ksym;           /* typeless: an address from /proc/kallsyms */
extern void ebpf_no_such_kfunc(void) __ksym __weak;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak; /* exists: a typed (BTF id) lddw */
extern const int ebpf_no_such_var __ksym __weak;
extern const void ebpf_no_such_symbol __ksym __weak;

static void *(*bpf_this_cpu_ptr)(const void *percpu_ptr) = (void *)154;

/* The packet length as the kernel's sk_buff has it, through bpf_cast_to_kern_ctx(). */
SEC("socket") int kfunc_len(void *ctx) {
  struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
  bpf_rcu_read_lock();
  bpf_rcu_read_unlock();
  return skb->len;
}

/* 1000 plus this CPU's bpf_prog_active. The kernel resolves a typed variable's address through
 * kallsyms, which holds no per-CPU variables without CONFIG_KALLSYMS_ALL: there the kernel refuses
 * it ("failed to find the address"), under libbpf as here. */
SEC("socket") int typed_ksym(void *ctx) {
  const int *active = bpf_this_cpu_ptr(&bpf_prog_active);
  return 1000 + *active;
}

/* The low 32 bits of the address of __x64_sys_bpf. */
SEC("socket") int typeless_ksym(void *ctx) {
  return (__u32)(unsigned long)&__x64_sys_bpf;
}

/* 7 when none of the weak externs exists; a call of the missing kfunc verifies only if pruned. */
SEC("socket") int weak_ksyms(void *ctx) {
  int r = 0;
  if (bpf_ksym_exists(ebpf_no_such_kfunc)) {
    ebpf_no_such_kfunc();
    r |= 8;
  } else {
    r |= 1;
  }
  if (!bpf_ksym_exists(&ebpf_no_such_var)) r |= 2;
  if (!bpf_ksym_exists(&ebpf_no_such_symbol)) r |= 4;
  return r;
}

/* 1 when the kfunc exists: its address is an lddw of its BTF id, as bpf_ksym_exists() reads it. */
SEC("socket") int kfunc_exists(void *ctx) {
  return bpf_ksym_exists(bpf_rdonly_cast) ? 1 : 2;
}

char LICENSE[] SEC("license") = "GPL";
