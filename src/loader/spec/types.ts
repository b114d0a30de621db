// The collection spec: everything an object file says, before anything exists in the kernel.
// Plain data (plus the variables' accessors), so it can be inspected and changed before loading.
import type { Instruction } from '../../asm/index.js';
import type { Btf } from '../../btf/index.js';
import type { AttachType, MapType, ProgramType } from '../../uapi/bpf.js';
import type { BtfTargetKind } from './section-names.js';
import type { VariableSpec } from './variables.js';

/** A func_info record re-based to the program's own instruction slots. */
export interface ProgramFuncInfo {
  /** Slot (8-byte unit) of the function's first instruction in the linked program. */
  readonly insnOffset: number;
  /** FUNC type id in the collection's BTF. */
  readonly typeId: number;
}

/** A line_info record re-based to the program's own instruction slots. */
export interface ProgramLineInfo {
  /** Slot (8-byte unit) of the instruction in the linked program. */
  readonly insnOffset: number;
  /** Source file name. */
  readonly fileName: string;
  /** Text of the source line. */
  readonly line: string;
  /** Line number in the source file. */
  readonly lineNumber: number;
  /** Column in the source line. */
  readonly column: number;
}

/** A CO-RE relocation attached to one instruction of the linked program. */
export interface ProgramCoreRelocation {
  /** Index into `instructions` (not the slot). */
  readonly instruction: number;
  /** The local type id in the collection's BTF. */
  readonly typeId: number;
  /** Access string, e.g. "0:1:2". */
  readonly accessor: string;
  /** enum bpf_core_relo_kind. */
  readonly kind: number;
}

/** One program of a CollectionSpec, as read from the object. The mutable fields may be changed before loading. */
export interface ProgramSpecEntry {
  /** The function's symbol name. */
  readonly name: string;
  /** The ELF section it came from, e.g. "kprobe/do_unlinkat". */
  readonly section: string;
  /** Program type, from the section name. */
  type: ProgramType;
  /** Expected attach type, from the section name; undefined when the type needs none. */
  expectedAttachType: AttachType | undefined;
  /** What the section name says to attach to ("syscalls/sys_enter_openat", "vfs_read", ...). */
  attachTo: string | undefined;
  /** For fentry/fexit/fmod_ret/tp_btf/lsm/iter: the kind of kernel BTF object attachTo names. */
  btfTarget: BtfTargetKind | undefined;
  /** prog_flags (sleepable, XDP frags). */
  flags: number;
  /** The program followed by every subprogram it calls, calls and callbacks resolved. */
  instructions: Instruction[];
  /** License from the object's "license" section. */
  license: string;
  /** kern_version from the object's "version" section (0 when absent). */
  kernelVersion: number;
  /** BTF func_info records of the linked program. */
  funcInfos: ProgramFuncInfo[];
  /** BTF line_info records of the linked program. */
  lineInfos: ProgramLineInfo[];
  /** CO-RE relocations to apply at load. */
  coreRelocations: ProgramCoreRelocation[];
}

/** Whether a map is pinned by name under CollectionOptions.pinPath ("by-name", LIBBPF_PIN_BY_NAME) or not at all. */
export type MapPinning = 'none' | 'by-name';

/** What a map starts with once created. */
export type MapContents =
  /** Global data: the section's bytes, the one value at key 0. */
  | { readonly kind: 'data'; bytes: Uint8Array }
  /** Program arrays: program names by index, written after the programs are loaded. */
  | { readonly kind: 'programs'; readonly slots: ReadonlyMap<number, string> }
  /** Maps of maps: map names by index, written once all maps exist. */
  | { readonly kind: 'maps'; readonly slots: ReadonlyMap<number, string> }
  /**
   * A struct_ops variable (.struct_ops, .struct_ops.link): the struct as the object lays it out,
   * laid out again from kernel BTF at load; written (which registers it) by attachStructOps.
   */
  | {
      readonly kind: 'struct_ops';
      /** The kernel struct it fills ("tcp_congestion_ops"). */
      readonly structName: string;
      /** Declared in .struct_ops.link: the map is created with BPF_F_LINK and registered by a link. */
      readonly link: boolean;
      /** The variable's bytes in the object's layout. */
      bytes: Uint8Array;
      readonly members: readonly StructOpsMemberSpec[];
    };

/** A member of a struct_ops variable, in the object's own layout of the struct. */
export interface StructOpsMemberSpec {
  readonly name: string;
  /** Byte offset in the variable. */
  readonly offset: number;
  readonly size: number;
  readonly isFunction: boolean;
  /** The program a function pointer member names (undefined: left empty). */
  readonly program: string | undefined;
}

/** One map of a CollectionSpec, as the object defines it. The mutable fields may be changed before loading. */
export interface MapSpecEntry {
  /** Map name in the object. */
  readonly name: string;
  /** Where it was defined: ".maps", "maps" (legacy), or the global data section it holds. */
  readonly section: string;
  /** Map type. */
  type: MapType;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Maximum number of entries. */
  maxEntries: number;
  /** BPF_F_* map flags. */
  flags: number;
  /** NUMA node, if the definition gives one. */
  numaNode: number | undefined;
  /** map_extra (the bloom filter's hash count), if given. */
  mapExtra: bigint | undefined;
  /** Whether the map is pinned by name. */
  pinning: MapPinning;
  /** Key and value type ids in the collection's BTF (0 when the object gives none). */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** Template of the inner map, for maps of maps. */
  innerMap: MapSpecEntry | undefined;
  /** What the map starts with once created, if anything. */
  contents: MapContents | undefined;
  /** Frozen after its contents are written (.rodata, .kconfig). */
  readonly freeze: boolean;
}

/** A `.kconfig` extern: filled in at load from the running kernel. */
export interface KconfigExtern {
  readonly name: string;
  /** Offset in the `.kconfig` map's value. */
  readonly offset: number;
  readonly size: number;
  /** The VAR's type id in the collection's BTF. */
  readonly typeId: number;
  /** Declared __weak: a missing value is zero instead of an error. */
  readonly weak: boolean;
}

/** A `__ksym` extern: a kernel function (kfunc) or variable, resolved against the running kernel at load. */
export interface KsymExtern {
  readonly name: string;
  readonly kind: 'func' | 'var';
  /** The FUNC (kfunc) or the VAR's type in the collection's BTF; 0 for a typeless one. */
  readonly typeId: number;
  /** `extern const void sym __ksym`: only an address, from /proc/kallsyms. */
  readonly typeless: boolean;
  /** Declared __weak: missing from the kernel reads 0 instead of failing. */
  readonly weak: boolean;
}

/** Everything a BPF object defines, parsed: programs, maps, global variables and BTF. */
export interface CollectionSpec {
  /** The object's name, used in errors. */
  readonly name: string;
  /** Programs by name. */
  readonly programs: Record<string, ProgramSpecEntry>;
  /** Maps by name. */
  readonly maps: Record<string, MapSpecEntry>;
  /** Global variables of .data, .rodata, .bss and custom data sections; set them before loading. */
  readonly variables: Record<string, VariableSpec>;
  /** `.kconfig` externs, filled in at load from the running kernel. */
  readonly kconfig: readonly KconfigExtern[];
  /** `__ksym` externs (kfuncs, kernel variables) the programs refer to. */
  readonly ksyms: readonly KsymExtern[];
  /** The object's BTF with section sizes and variable offsets filled in; undefined without .BTF. */
  readonly btf: Btf | undefined;
  /** The object's license ("license" section). */
  readonly license: string;
  /** The object's kernel version ("version" section; 0 when absent). */
  readonly version: number;
  /** Whether the object is little-endian. */
  readonly littleEndian: boolean;
}
