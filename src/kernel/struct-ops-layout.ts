// Where a struct_ops structure (tcp_congestion_ops, sched_ext_ops, ...) sits in the value of its
// map: the kernel wraps it as struct bpf_struct_ops_<name> { ...; <name> data; }, and each member
// keeps its index (a program's expected_attach_type) and its offset inside `data`. Shared by the
// links (StructOpsMap) and the object loader (struct_ops variables), hence this low layer.
import type { Btf } from '../btf/index.js';
import { EbpfError } from '../errors/index.js';
import { kernelBtf } from './btf.js';

/** One member of a struct_ops type: its slot in the map value and whether it takes a program. */
export interface StructOpsMember {
  readonly name: string;
  /** Member index: the expected_attach_type of a program for this slot. */
  readonly index: number;
  /** Byte offset in the map value (the wrapper's `data` plus the member's offset). */
  readonly valueOffset: number;
  readonly size: number;
  /** A function pointer slot (takes a program), or data. */
  readonly isFunction: boolean;
}

/** The layout of a struct_ops type in the running kernel's BTF: its type ids, value size and members. */
export interface StructOpsLayout {
  readonly structName: string;
  readonly structTypeId: number;
  /** Id of struct bpf_struct_ops_<name>: the map's btf_vmlinux_value_type_id. */
  readonly valueTypeId: number;
  readonly valueSize: number;
  readonly members: readonly StructOpsMember[];
}

/** The kernel has no struct_ops type of that name (or an unexpected wrapper). */
export class StructOpsLayoutError extends EbpfError {
  constructor(message: string) {
    super('ERR_STRUCT_OPS', message);
  }
}

/** The layout of struct_ops `structName` ("tcp_congestion_ops") in `btf` (the running kernel's by default). */
export function structOpsLayout(structName: string, btf: Btf = kernelBtf()): StructOpsLayout {
  const ops = btf.findType(structName, 'struct');
  const wrapper = btf.findType(`bpf_struct_ops_${structName}`, 'struct');
  if (!ops || !wrapper) {
    throw new StructOpsLayoutError(`this kernel has no struct_ops type ${structName} (no struct bpf_struct_ops_${structName} in its BTF)`);
  }
  const data = btf.findMember(wrapper.id, 'data');
  if (!data) throw new StructOpsLayoutError(`struct bpf_struct_ops_${structName} has no data member`);
  const base = data.bitOffset / 8;
  const members = ops.members.map((m, index) => {
    const t = btf.resolve(m.type);
    const isFunction = t.kind === 'ptr' && btf.resolve(t.type).kind === 'func_proto';
    return { name: m.name, index, valueOffset: base + m.bitOffset / 8, size: btf.sizeOf(m.type), isFunction };
  });
  return { structName, structTypeId: ops.id, valueTypeId: wrapper.id, valueSize: wrapper.size, members };
}

/** The smallest valid BTF (one int type): the kernel wants a BTF fd beside the vmlinux value type. */
export function minimalStructOpsBtf(): Uint8Array {
  const b = Buffer.alloc(24 + 16 + 5);
  b.writeUInt16LE(0xeb9f, 0);
  b[2] = 1;
  b.writeUInt32LE(24, 4); // hdr_len
  b.writeUInt32LE(0, 8); // type_off
  b.writeUInt32LE(16, 12); // type_len
  b.writeUInt32LE(16, 16); // str_off
  b.writeUInt32LE(5, 20); // str_len
  b.writeUInt32LE(1, 24); // name "int"
  b.writeUInt32LE(1 << 24, 28); // BTF_KIND_INT
  b.writeUInt32LE(4, 32);
  b.writeUInt32LE(32, 36); // bits
  b.write('\0int\0', 40, 'latin1');
  return b;
}
