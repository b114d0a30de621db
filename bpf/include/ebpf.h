/* Minimal self-contained definitions for the test programs of the `ebpf` package:
 * fixed-width types, the section and map-definition macros the loader understands, and the
 * handful of helper prototypes these programs call (numbers from the kernel's enum bpf_func_id). */
#ifndef EBPF_TEST_H
#define EBPF_TEST_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

/* Place a function or variable in a named ELF section. */
#define SEC(name) __attribute__((section(name), used))
/* BTF map definitions: the loader reads these members' types, never their values. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))
#define __kconfig __attribute__((section(".kconfig")))
#define __weak __attribute__((weak))

#define PIN_BY_NAME 1

/* Map types (enum bpf_map_type). */
enum {
  MAP_HASH = 1, MAP_ARRAY = 2, MAP_PROG_ARRAY = 3, MAP_PERF_EVENT_ARRAY = 4, MAP_PERCPU_HASH = 5,
  MAP_PERCPU_ARRAY = 6, MAP_LRU_HASH = 9, MAP_LPM_TRIE = 11, MAP_ARRAY_OF_MAPS = 12,
  MAP_HASH_OF_MAPS = 13, MAP_QUEUE = 22, MAP_RINGBUF = 27, MAP_BLOOM_FILTER = 30,
};

/* The legacy map definition of the "maps" section. */
struct legacy_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

/* Helpers: a call through a constant function pointer compiles to `call <id>`. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *)12;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *)16;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

/* Reads a kernel field through a CO-RE-relocated address. */
#define CORE_READ_INTO(dst, src_ptr) \
  bpf_probe_read_kernel((void *)(dst), sizeof(*(dst)), (const void *)__builtin_preserve_access_index(src_ptr))
/* Field relocation kinds of __builtin_preserve_field_info. */
#define FIELD_BYTE_OFFSET 0
#define FIELD_BYTE_SIZE 1
#define FIELD_EXISTS 2
#define FIELD_SIGNED 3
#define FIELD_LSHIFT_U64 4
#define FIELD_RSHIFT_U64 5
#define field_info(field, kind) __builtin_preserve_field_info(field, kind)
/* Type relocation kinds of __builtin_preserve_type_info / __builtin_btf_type_id. */
#define TYPE_EXISTS 0
#define TYPE_SIZE 1
#define ENUMVAL_EXISTS 0
#define ENUMVAL_VALUE 1
#define enum_value(enum_type, name, kind) __builtin_preserve_enum_value(*(typeof(enum_type) *)name, kind)

#endif
