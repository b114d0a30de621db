// Every program, map, link and BTF object in the kernel, by id (the *_GET_NEXT_ID commands, as
// `bpftool prog show` walks them). Ids only grow until they wrap, and an object may be freed between
// two calls, so the walk is a snapshot of what existed at each step, not an atomic list.
import { closeFd, getFdById, getNextId, SyscallError } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';
import { programInfoFromFd, type ProgramInfo } from '../programs/info.js';
import { mapInfoFromFd, type MapInfo } from '../maps/info.js';
import { linkInfoFromFd, type LinkInfo } from '../links/link-info.js';
import { btfInfoFromFd, type BtfObjectInfo } from './btf-object.js';

/** Kinds of kernel BPF object that have ids. */
export type KernelObjectKind = 'program' | 'map' | 'link' | 'btf';

const COMMANDS: Record<KernelObjectKind, { next: number; open: number }> = {
  program: { next: BpfCommand.PROG_GET_NEXT_ID, open: BpfCommand.PROG_GET_FD_BY_ID },
  map: { next: BpfCommand.MAP_GET_NEXT_ID, open: BpfCommand.MAP_GET_FD_BY_ID },
  link: { next: BpfCommand.LINK_GET_NEXT_ID, open: BpfCommand.LINK_GET_FD_BY_ID },
  btf: { next: BpfCommand.BTF_GET_NEXT_ID, open: BpfCommand.BTF_GET_FD_BY_ID },
};

/** The ids of every object of `kind`, ascending (needs CAP_SYS_ADMIN). */
export function* objectIds(kind: KernelObjectKind): Generator<number> {
  const cmd = COMMANDS[kind].next;
  for (let id = getNextId(cmd, 0); id !== undefined; id = getNextId(cmd, id)) yield id;
}

/** Ids of every program loaded in the kernel, ascending (needs CAP_SYS_ADMIN). */
export const programIds = (): number[] => [...objectIds('program')];
/** Ids of every map in the kernel, ascending (needs CAP_SYS_ADMIN). */
export const mapIds = (): number[] => [...objectIds('map')];
/** Ids of every bpf_link in the kernel, ascending (needs CAP_SYS_ADMIN). */
export const linkIds = (): number[] => [...objectIds('link')];
/** Ids of every BTF object in the kernel, ascending (needs CAP_SYS_ADMIN). */
export const btfIds = (): number[] => [...objectIds('btf')];

/** Opens each object, reads its info and closes it; objects freed during the walk are left out. */
function infos<T>(kind: KernelObjectKind, read: (fd: number) => T): T[] {
  const out: T[] = [];
  for (const id of objectIds(kind)) {
    let fd: number;
    try {
      fd = getFdById(COMMANDS[kind].open, id);
    } catch (e) {
      if (e instanceof SyscallError && e.code === 'ENOENT') continue; // freed since its id was listed
      throw e;
    }
    try {
      out.push(read(fd));
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

/** What the kernel says about every loaded program. */
export const listPrograms = (): ProgramInfo[] => infos('program', programInfoFromFd);
/** What the kernel says about every map. */
export const listMaps = (): MapInfo[] => infos('map', mapInfoFromFd);
/** What the kernel says about every bpf_link, with per-type details. */
export const listLinks = (): LinkInfo[] => infos('link', linkInfoFromFd);
/** What the kernel says about every BTF object (vmlinux, modules, programs'). */
export const listBtf = (): BtfObjectInfo[] => infos('btf', btfInfoFromFd);
