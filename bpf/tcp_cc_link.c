/* The congestion control of include/reno_cc.h in ".struct_ops.link": the map is created with
 * BPF_F_LINK, and a struct_ops link registers "ebpf_reno_link" (closing the link unregisters). */
#define CC_SECTION ".struct_ops.link"
#define CC_VAR ebpf_reno_link
#define CC_NAME "ebpf_reno_link"
#include "include/reno_cc.h"
