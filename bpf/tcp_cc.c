/* A TCP congestion control in C (include/reno_cc.h), declared in ".struct_ops": loading creates
 * the struct_ops map; writing its value registers "ebpf_reno". */
#define CC_SECTION ".struct_ops"
#define CC_VAR ebpf_reno
#define CC_NAME "ebpf_reno"
#include "include/reno_cc.h"
