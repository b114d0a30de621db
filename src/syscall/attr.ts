// Byte offsets of the bpf_attr members each command uses, from include/uapi/linux/bpf.h.
// `size` is what we pass as the attr size: the kernel zero-extends shorter structs and accepts
// longer ones whose unknown tail is zero. test/uapi.test.ts checks every offset with offsetof().

/** Layouts keyed by a C designator prefix ('' for anonymous structs of union bpf_attr). */
export interface AttrLayout {
  readonly prefix: string;
  readonly size: number;
  readonly fields: Readonly<Record<string, number>>;
}

function layout<F extends Record<string, number>>(
  prefix: string,
  size: number,
  fields: F,
): { prefix: string; size: number; fields: F } & F {
  return { prefix, size, fields, ...fields };
}

export const MapCreateAttr = layout('', 80, {
  map_type: 0,
  key_size: 4,
  value_size: 8,
  max_entries: 12,
  map_flags: 16,
  inner_map_fd: 20,
  numa_node: 24,
  map_name: 28,
  map_ifindex: 44,
  btf_fd: 48,
  btf_key_type_id: 52,
  btf_value_type_id: 56,
  btf_vmlinux_value_type_id: 60,
  map_extra: 64,
  value_type_btf_obj_fd: 72,
  map_token_fd: 76,
});

export const MapElemAttr = layout('', 32, { map_fd: 0, key: 8, value: 16, next_key: 16, flags: 24 });

export const MapBatchAttr = layout('batch.', 56, {
  in_batch: 0,
  out_batch: 8,
  keys: 16,
  values: 24,
  count: 32,
  map_fd: 36,
  elem_flags: 40,
  flags: 48,
});

export const ProgLoadAttr = layout('', 152, {
  prog_type: 0,
  insn_cnt: 4,
  insns: 8,
  license: 16,
  log_level: 24,
  log_size: 28,
  log_buf: 32,
  kern_version: 40,
  prog_flags: 44,
  prog_name: 48,
  prog_ifindex: 64,
  expected_attach_type: 68,
  prog_btf_fd: 72,
  func_info_rec_size: 76,
  func_info: 80,
  func_info_cnt: 88,
  line_info_rec_size: 92,
  line_info: 96,
  line_info_cnt: 104,
  attach_btf_id: 108,
  attach_prog_fd: 112,
  attach_btf_obj_fd: 112,
  core_relo_cnt: 116,
  fd_array: 120,
  core_relos: 128,
  core_relo_rec_size: 136,
  log_true_size: 140,
  prog_token_fd: 144,
});

export const ObjAttr = layout('', 24, { pathname: 0, bpf_fd: 8, file_flags: 12, path_fd: 16 });

export const ProgAttachAttr = layout('', 20, {
  target_fd: 0,
  attach_bpf_fd: 4,
  attach_type: 8,
  attach_flags: 12,
  replace_bpf_fd: 16,
});

export const TestRunAttr = layout('test.', 80, {
  prog_fd: 0,
  retval: 4,
  data_size_in: 8,
  data_size_out: 12,
  data_in: 16,
  data_out: 24,
  repeat: 32,
  duration: 36,
  ctx_size_in: 40,
  ctx_size_out: 44,
  ctx_in: 48,
  ctx_out: 56,
  flags: 64,
  cpu: 68,
  batch_size: 72,
});

export const GetIdAttr = layout('', 12, { start_id: 0, prog_id: 0, map_id: 0, btf_id: 0, link_id: 0, next_id: 4, open_flags: 8 });

export const InfoAttr = layout('info.', 16, { bpf_fd: 0, info_len: 4, info: 8 });

export const ProgQueryAttr = layout('query.', 64, {
  target_fd: 0,
  target_ifindex: 0,
  attach_type: 4,
  query_flags: 8,
  attach_flags: 12,
  prog_ids: 16,
  prog_cnt: 24,
  prog_attach_flags: 32,
  link_ids: 40,
  link_attach_flags: 48,
  revision: 56,
});

export const EnableStatsAttr = layout('enable_stats.', 4, { type: 0 });

export const RawTracepointAttr = layout('raw_tracepoint.', 16, { name: 0, prog_fd: 8 });

export const BtfLoadAttr = layout('', 40, {
  btf: 0,
  btf_log_buf: 8,
  btf_size: 16,
  btf_log_size: 20,
  btf_log_level: 24,
  btf_log_true_size: 28,
  btf_flags: 32,
  btf_token_fd: 36,
});

export const LinkCreateAttr = layout('link_create.', 64, {
  prog_fd: 0,
  target_fd: 4,
  target_ifindex: 4,
  attach_type: 8,
  flags: 12,
  target_btf_id: 16,
  iter_info: 16,
  iter_info_len: 24,
  'perf_event.bpf_cookie': 16,
  'kprobe_multi.flags': 16,
  'kprobe_multi.cnt': 20,
  'kprobe_multi.syms': 24,
  'kprobe_multi.addrs': 32,
  'kprobe_multi.cookies': 40,
  'tracing.target_btf_id': 16,
  'tracing.cookie': 24,
  'uprobe_multi.path': 16,
  'uprobe_multi.offsets': 24,
  'uprobe_multi.ref_ctr_offsets': 32,
  'uprobe_multi.cookies': 40,
  'uprobe_multi.cnt': 48,
  'uprobe_multi.flags': 52,
  'uprobe_multi.pid': 56,
  'tcx.relative_fd': 16,
  'tcx.expected_revision': 24,
  'netfilter.pf': 16,
  'netfilter.hooknum': 20,
  'netfilter.priority': 24,
  'netfilter.flags': 28,
  'netkit.relative_fd': 16,
  'netkit.expected_revision': 24,
});

export const LinkUpdateAttr = layout('link_update.', 16, { link_fd: 0, new_prog_fd: 4, flags: 8, old_prog_fd: 12 });

export const LinkDetachAttr = layout('link_detach.', 8, { link_fd: 0 });

export const IterCreateAttr = layout('iter_create.', 8, { link_fd: 0, flags: 4 });

export const ALL_ATTR_LAYOUTS: readonly AttrLayout[] = [
  MapCreateAttr,
  MapElemAttr,
  MapBatchAttr,
  ProgLoadAttr,
  ObjAttr,
  ProgAttachAttr,
  TestRunAttr,
  GetIdAttr,
  InfoAttr,
  ProgQueryAttr,
  RawTracepointAttr,
  BtfLoadAttr,
  LinkCreateAttr,
  LinkUpdateAttr,
  LinkDetachAttr,
  EnableStatsAttr,
  IterCreateAttr,
];

/** struct bpf_map_info; `prefix` here names the struct for the header check. */
export const MapInfoLayout = layout('struct bpf_map_info:', 88, {
  type: 0,
  id: 4,
  key_size: 8,
  value_size: 12,
  max_entries: 16,
  map_flags: 20,
  name: 24,
  ifindex: 40,
  btf_vmlinux_value_type_id: 44,
  netns_dev: 48,
  netns_ino: 56,
  btf_id: 64,
  btf_key_type_id: 68,
  btf_value_type_id: 72,
  map_extra: 80,
});

/** struct bpf_prog_info. */
export const ProgInfoLayout = layout('struct bpf_prog_info:', 232, {
  type: 0,
  id: 4,
  tag: 8,
  jited_prog_len: 16,
  xlated_prog_len: 20,
  jited_prog_insns: 24,
  xlated_prog_insns: 32,
  load_time: 40,
  created_by_uid: 48,
  nr_map_ids: 52,
  map_ids: 56,
  name: 64,
  ifindex: 80,
  netns_dev: 88,
  netns_ino: 96,
  nr_jited_ksyms: 104,
  nr_jited_func_lens: 108,
  jited_ksyms: 112,
  jited_func_lens: 120,
  btf_id: 128,
  func_info_rec_size: 132,
  func_info: 136,
  nr_func_info: 144,
  nr_line_info: 148,
  line_info: 152,
  jited_line_info: 160,
  nr_jited_line_info: 168,
  line_info_rec_size: 172,
  jited_line_info_rec_size: 176,
  nr_prog_tags: 180,
  prog_tags: 184,
  run_time_ns: 192,
  run_cnt: 200,
  recursion_misses: 208,
  verified_insns: 216,
  attach_btf_obj_id: 220,
  attach_btf_id: 224,
});

/** struct bpf_link_info: the common head. */
export const LinkInfoLayout = layout('struct bpf_link_info:', 16, { type: 0, id: 4, prog_id: 8 });

export const ALL_INFO_LAYOUTS: readonly AttrLayout[] = [MapInfoLayout, ProgInfoLayout, LinkInfoLayout];
