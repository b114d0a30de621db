// The load step of struct_ops variables: each becomes a STRUCT_OPS map whose value is the
// kernel's bpf_struct_ops_<struct> (laid out from the running kernel's BTF), its programs are
// loaded against the struct and their member's index, and the value to register is laid out from
// the object's bytes and the programs' fds. Members match by name, as libbpf matches them, so an
// object declaring only the members it sets works on any kernel layout of the struct.
import { kernelBtf } from '../../kernel/btf.js';
import { minimalStructOpsBtf, structOpsLayout, StructOpsLayoutError, type StructOpsLayout } from '../../kernel/struct-ops-layout.js';
import { BpfMap } from '../../maps/index.js';
import type { Program } from '../../programs/index.js';
import { btfLoadRaw, closeFd, mapCreate, SyscallError } from '../../syscall/index.js';
import { check } from '../../syscall/errors.js';
import { LoaderError } from '../../errors/index.js';
import { MapType } from '../../uapi/bpf.js';
import type { CollectionSpec, MapSpecEntry } from '../spec/types.js';

/** A struct_ops variable, ready to register: what attachStructOps writes into its map. */
export interface LoadedStructOps {
  readonly name: string;
  readonly structName: string;
  /** Created with BPF_F_LINK (.struct_ops.link): a struct_ops link registers it. */
  readonly link: boolean;
  readonly map: BpfMap<unknown, unknown>;
  /** The map value (struct bpf_struct_ops_<struct>), program fds in the function slots. */
  readonly value: Uint8Array;
}

type StructOpsContents = Extract<NonNullable<MapSpecEntry['contents']>, { kind: 'struct_ops' }>;

export function structOpsContents(m: MapSpecEntry): StructOpsContents | undefined {
  return m.contents?.kind === 'struct_ops' ? m.contents : undefined;
}

function layoutOf(spec: CollectionSpec, m: MapSpecEntry, c: StructOpsContents): StructOpsLayout {
  try {
    return structOpsLayout(c.structName, kernelBtf());
  } catch (e) {
    if (e instanceof StructOpsLayoutError)
      throw new LoaderError(
        e.message,
        {
          file: spec.name,
          section: m.section,
          symbol: m.name,
          hint: 'struct_ops variables must be of a struct the kernel registers (tcp_congestion_ops, ...)',
        },
        { cause: e },
      );
    throw e;
  }
}

/** Creates the STRUCT_OPS map of a struct_ops variable (nothing registered yet). */
export function createStructOpsMap(spec: CollectionSpec, m: MapSpecEntry): BpfMap<unknown, unknown> {
  const c = structOpsContents(m)!;
  const layout = layoutOf(spec, m, c);
  const btfFd = check('BPF_BTF_LOAD', btfLoadRaw(minimalStructOpsBtf()).ret);
  try {
    const fd = mapCreate({
      type: MapType.STRUCT_OPS,
      keySize: 4,
      valueSize: layout.valueSize,
      maxEntries: 1,
      btfFd,
      btfVmlinuxValueTypeId: layout.valueTypeId,
      flags: m.flags,
      name: m.name.slice(0, 15),
    });
    return BpfMap.fromFd<unknown, unknown>(fd);
  } catch (e) {
    if (e instanceof SyscallError)
      throw new LoaderError(
        `creating struct_ops map ${m.name} (struct ${c.structName}) failed: ${e.message}`,
        { file: spec.name, section: m.section, symbol: m.name },
        { cause: e },
      );
    throw e;
  } finally {
    closeFd(btfFd);
  }
}

/** attach_btf_id and expected_attach_type of each struct_ops program: the struct and its slot. */
export function structOpsProgramTargets(spec: CollectionSpec): Map<string, { attachBtfId: number; expectedAttachType: number }> {
  const out = new Map<string, { attachBtfId: number; expectedAttachType: number; by: string }>();
  for (const m of Object.values(spec.maps)) {
    const c = structOpsContents(m);
    if (!c) continue;
    const layout = layoutOf(spec, m, c);
    for (const member of c.members) {
      if (member.program === undefined) continue;
      const k = layout.members.find((x) => x.name === member.name);
      if (!k || !k.isFunction) {
        throw new LoaderError(`struct ${c.structName} of this kernel has no function member ${member.name}`, {
          file: spec.name,
          section: m.section,
          symbol: m.name,
          hint: `its members: ${layout.members.map((x) => x.name).join(', ')}`,
        });
      }
      const target = { attachBtfId: layout.structTypeId, expectedAttachType: k.index, by: `${m.name}.${member.name}` };
      const seen = out.get(member.program);
      if (seen && (seen.attachBtfId !== target.attachBtfId || seen.expectedAttachType !== target.expectedAttachType)) {
        throw new LoaderError(
          `program ${member.program} fills both ${seen.by} and ${target.by}: a struct_ops program is loaded for one slot`,
          { file: spec.name, section: m.section, symbol: m.name, hint: 'give each slot its own program' },
        );
      }
      out.set(member.program, target);
    }
  }
  return out;
}

/** The value to register: the object's data members and the programs' fds in the kernel's layout. */
export function structOpsValue(
  spec: CollectionSpec,
  m: MapSpecEntry,
  map: BpfMap<unknown, unknown>,
  programs: Record<string, Program>,
): LoadedStructOps {
  const c = structOpsContents(m)!;
  const layout = layoutOf(spec, m, c);
  const where = { file: spec.name, section: m.section, symbol: m.name };
  const value = new Uint8Array(layout.valueSize);
  const view = new DataView(value.buffer);
  for (const member of c.members) {
    const k = layout.members.find((x) => x.name === member.name);
    const local = c.bytes.subarray(member.offset, member.offset + member.size);
    if (member.isFunction) {
      if (member.program === undefined) continue;
      const p = programs[member.program];
      if (!p) continue; // left out by options.programs: attachStructOps refuses the map then
      view.setUint32(k!.valueOffset, p.fd, true); // the kernel reads a program fd from the slot
      continue;
    }
    const zero = local.every((b) => b === 0);
    if (!k) {
      if (zero) continue; // a member this kernel lacks, left unset: nothing to say
      throw new LoaderError(`struct ${c.structName} of this kernel has no member ${member.name}, which ${m.name} sets`, {
        ...where,
        hint: `its members: ${layout.members.map((x) => x.name).join(', ')}`,
      });
    }
    if (k.isFunction)
      throw new LoaderError(
        `${m.name}.${member.name} is data in the object but a function pointer in the kernel's struct ${c.structName}`,
        where,
      );
    if (k.size !== member.size) {
      throw new LoaderError(
        `${m.name}.${member.name} is ${member.size} bytes in the object but ${k.size} in the kernel's struct ${c.structName}`,
        { ...where, hint: "declare the member with the kernel's type" },
      );
    }
    value.set(local, k.valueOffset);
  }
  return { name: m.name, structName: c.structName, link: c.link, map, value };
}

/** Names of the programs of struct_ops variables a value needs but that were not loaded. */
export function missingStructOpsPrograms(m: MapSpecEntry, programs: Record<string, Program>): string[] {
  const c = structOpsContents(m);
  return c ? c.members.filter((x) => x.program !== undefined && !programs[x.program]).map((x) => x.program!) : [];
}
