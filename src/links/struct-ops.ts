// struct_ops: a kernel structure of function pointers (tcp_congestion_ops, sched_ext_ops, ...)
// filled with BPF programs. The map's value is the kernel's bpf_struct_ops_<name> wrapper, laid
// out from kernel BTF; each function slot holds a STRUCT_OPS program loaded against the struct
// (attach_btf_id) and the slot's member index (expected_attach_type). Writing the value registers
// it (or, with BPF_F_LINK, a struct_ops link does, and can swap in another map). The kernel calls
// the programs through BPF trampolines, so kernels without them refuse the registration.
import {
  minimalStructOpsBtf,
  structOpsLayout as kernelStructOpsLayout,
  StructOpsLayoutError,
  type StructOpsLayout,
  type StructOpsMember,
} from '../kernel/struct-ops-layout.js';
import { btfLoadRaw, closeFd, linkCreate, linkUpdate, mapCreate, mapElemRaw, OwnedFd, SyscallError } from '../syscall/index.js';
import { check } from '../syscall/errors.js';
import { AttachType, BpfCommand, MapType, ProgramType } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, LinkError } from './link.js';
import { LinkNotSupportedError } from './kprobes.js';
import type { TracingTarget } from './tracing.js';

const BPF_F_LINK = 1 << 13;

export type { StructOpsLayout, StructOpsMember };

/** The layout of struct_ops `structName` ("tcp_congestion_ops") in the running kernel's BTF. */
export function structOpsLayout(structName: string): StructOpsLayout {
  try {
    return kernelStructOpsLayout(structName);
  } catch (e) {
    if (e instanceof StructOpsLayoutError) throw new LinkError('target', e.message, { cause: e });
    throw e;
  }
}

/** What Program.load needs for the program of slot `member` of `structName`. */
export function structOpsProgramTarget(structName: string, member: string): TracingTarget {
  const layout = structOpsLayout(structName);
  const m = layout.members.find((x) => x.name === member);
  if (!m)
    throw new LinkError('options', `struct ${structName} has no member ${member}; it has ${layout.members.map((x) => x.name).join(', ')}`);
  if (!m.isFunction) throw new LinkError('options', `${structName}.${member} is not a function pointer: it takes a value, not a program`);
  return { type: ProgramType.STRUCT_OPS, expectedAttachType: m.index, attachBtfId: layout.structTypeId };
}

/** What a struct_ops map's value holds: the programs of its function slots and its data members. */
export interface StructOpsValue {
  /** Function slots: the program each runs. */
  programs?: Readonly<Record<string, Program>>;
  /** Data members: strings (char arrays, such as `name`) or integers. */
  fields?: Readonly<Record<string, string | number | bigint>>;
}

/** A struct_ops map. Close it to unregister (without a link) and free it. */
export class StructOpsMap {
  readonly layout: StructOpsLayout;
  readonly linkMode: boolean;
  readonly #owned: OwnedFd;
  #registered = false;

  private constructor(layout: StructOpsLayout, fd: number, linkMode: boolean) {
    this.layout = layout;
    this.linkMode = linkMode;
    this.#owned = new OwnedFd(fd, `struct_ops map ${layout.structName}`, this);
  }

  /** Creates the map; with `link` (BPF_F_LINK, 6.4+) writing the value does not register it, attach() does. */
  static create(structName: string, options: { link?: boolean; name?: string } = {}): StructOpsMap {
    const layout = structOpsLayout(structName);
    const btf = btfLoadRaw(minimalStructOpsBtf());
    const btfFd = check('BPF_BTF_LOAD', btf.ret);
    try {
      const fd = mapCreate({
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: layout.valueSize,
        maxEntries: 1,
        btfFd,
        btfVmlinuxValueTypeId: layout.valueTypeId,
        flags: options.link ? BPF_F_LINK : 0,
        name: options.name ?? structName.slice(0, 15),
      });
      return new StructOpsMap(layout, fd, options.link ?? false);
    } catch (e) {
      if (e instanceof SyscallError)
        throw new LinkError('attach', `cannot create a struct_ops map for ${structName}: ${e.message}`, { cause: e });
      throw e;
    } finally {
      closeFd(btfFd);
    }
  }

  /**
   * Wraps a struct_ops map fd (the object loader's .struct_ops and .struct_ops.link maps); the
   * map takes ownership of `fd`. `link` says whether it was created with BPF_F_LINK.
   */
  static fromFd(structName: string, fd: number, options: { link: boolean }): StructOpsMap {
    return new StructOpsMap(structOpsLayout(structName), fd, options.link);
  }

  /** The value bytes for these programs and fields (pure: what set() writes). */
  encode(value: StructOpsValue): Buffer {
    const out = Buffer.alloc(this.layout.valueSize);
    const find = (name: string): StructOpsMember => {
      const m = this.layout.members.find((x) => x.name === name);
      if (!m)
        throw new LinkError(
          'options',
          `struct ${this.layout.structName} has no member ${name}; it has ${this.layout.members.map((x) => x.name).join(', ')}`,
        );
      return m;
    };
    for (const [name, program] of Object.entries(value.programs ?? {})) {
      const m = find(name);
      if (!m.isFunction) throw new LinkError('options', `${this.layout.structName}.${name} is data, not a function slot`);
      if (program.type !== ProgramType.STRUCT_OPS)
        throw new LinkError(
          'program',
          `program "${program.name}" for ${this.layout.structName}.${name} is not a STRUCT_OPS program; load it with structOpsProgramTarget()`,
        );
      out.writeUInt32LE(program.fd, m.valueOffset); // the kernel reads an fd from the pointer's slot
    }
    for (const [name, v] of Object.entries(value.fields ?? {})) {
      const m = find(name);
      if (m.isFunction) throw new LinkError('options', `${this.layout.structName}.${name} is a function slot: give it a program`);
      if (typeof v === 'string') {
        if (Buffer.byteLength(v) >= m.size)
          throw new LinkError('options', `"${v}" does not fit ${this.layout.structName}.${name} (${m.size} bytes with its NUL)`);
        out.write(v, m.valueOffset, 'utf8');
      } else if (m.size === 8) out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), m.valueOffset);
      else if (m.size === 4) out.writeUInt32LE(Number(v) >>> 0, m.valueOffset);
      else throw new LinkError('options', `${this.layout.structName}.${name} is ${m.size} bytes: give a string or set it as bytes`);
    }
    return out;
  }

  /** Writes the value: registers the struct_ops (without BPF_F_LINK), or readies it for attach(). */
  set(value: StructOpsValue): void {
    this.setBytes(this.encode(value));
  }

  /** Writes a value already laid out (program fds in the function slots), as set() does. */
  setBytes(value: Uint8Array): void {
    if (this.#owned.closed) throw new LinkError('closed', `struct_ops map ${this.layout.structName} is closed`);
    if (value.length !== this.layout.valueSize)
      throw new LinkError('options', `a ${this.layout.structName} value is ${this.layout.valueSize} bytes, not ${value.length}`);
    const key = Buffer.alloc(4);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.fd, key, Buffer.from(value.buffer, value.byteOffset, value.length), null, 0);
    if (ret >= 0) {
      this.#registered = !this.linkMode;
      return;
    }
    const e = new SyscallError('BPF_MAP_UPDATE_ELEM', -ret, `struct_ops map ${this.layout.structName}`);
    if (e.code === 'EPERM' || e.code === 'ENOTSUPP' || e.code === 'EOPNOTSUPP') {
      const why = new LinkNotSupportedError(
        `struct_ops ${this.layout.structName}`,
        '5.6',
        `writing the map answered ${e.code}: the kernel calls struct_ops programs through BPF trampolines, which it refuses here (as it refuses fentry/fexit)`,
        { cause: e },
      );
      throw new LinkError('attach', `registering struct_ops ${this.layout.structName} failed: ${why.message}`, { cause: why });
    }
    throw new LinkError('attach', `registering struct_ops ${this.layout.structName} failed: ${e.message}`, { cause: e });
  }

  /** BPF_F_LINK maps: registers through a struct_ops link (closing the link unregisters). */
  attach(): BpfLink {
    if (!this.linkMode) throw new LinkError('options', 'this struct_ops map was created without link: true; set() registered it already');
    try {
      return new BpfLink(linkCreate({ progFd: this.fd, attachType: AttachType.STRUCT_OPS }), `struct_ops/${this.layout.structName}`);
    } catch (e) {
      if (e instanceof SyscallError)
        throw new LinkError('attach', `attaching struct_ops ${this.layout.structName} failed: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** The map's fd; throws once the map is closed, so a stale number never reaches the kernel. */
  get fd(): number {
    if (this.#owned.closed) throw new LinkError('closed', `struct_ops map ${this.layout.structName} is closed`);
    return this.#owned.raw;
  }

  /** Whether set() registered it (maps without BPF_F_LINK): close() unregisters it then. */
  get registered(): boolean {
    return this.#registered;
  }

  /** Unregisters a registered value (BPF_MAP_DELETE_ELEM); the kernel keeps it registered otherwise, fd or not. */
  unregister(): void {
    if (!this.#registered) return;
    this.#registered = false;
    const ret = mapElemRaw(BpfCommand.MAP_DELETE_ELEM, this.fd, Buffer.alloc(4), null, null, 0);
    if (ret < 0)
      throw new LinkError(
        'detach',
        `unregistering struct_ops ${this.layout.structName} failed: ${new SyscallError('BPF_MAP_DELETE_ELEM', -ret).message}`,
      );
  }

  /** Unregisters the struct_ops (if registered without a link) and closes the map. Calling it again does nothing. */
  close(): void {
    if (this.#owned.closed) return;
    try {
      this.unregister();
    } finally {
      this.#owned.close();
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Swaps the struct_ops behind a struct_ops link for another map of the same type (BPF_LINK_UPDATE, 6.4+). */
export function updateStructOpsLink(link: BpfLink, map: StructOpsMap): void {
  if (link.closed) throw new LinkError('closed', `link ${link.target} is closed`);
  try {
    linkUpdate(link.fd, map.fd);
  } catch (e) {
    if (e instanceof SyscallError)
      throw new LinkError('update', `updating ${link.target} to another ${map.layout.structName} failed: ${e.message}`, { cause: e });
    throw e;
  }
}
