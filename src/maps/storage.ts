// Local storage maps (socket, inode, task, cgroup): one value per kernel object, keyed from user
// space by an fd of that object (a socket, an open file, a pidfd, a cgroup directory). The kernel
// creates them only with BTF for key and value, with no preallocation and no max_entries.
import { marshalBtf, type BtfType } from '../btf/index.js';
import { btfLoadRaw, closeFd, SyscallError } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';
import type { MapCodecs } from './map.js';
import { BpfMap, MapError } from './map.js';

/** Local storage map types: values attached to sockets, inodes, tasks or cgroups. */
export type StorageMapTypeName = 'SK_STORAGE' | 'INODE_STORAGE' | 'TASK_STORAGE' | 'CGRP_STORAGE';

/** Options of createStorageMap. */
export interface StorageMapOptions {
  /** Bytes per value; with `btf`, the size of its value type. */
  valueSize: number;
  name?: string;
  /**
   * Type information already loaded (a BtfObject, or anything with its fd): the key type must be a
   * 32-bit int, the value type `valueSize` bytes. Without it a minimal blob is loaded (int key,
   * value as an array of bytes) and closed once the map holds it.
   */
  btf?: { fd: number; keyTypeId: number; valueTypeId: number };
}

const BPF_F_NO_PREALLOC = 1;

/** The BTF a storage map needs when the caller has none: [1] int, [2] unsigned char, [3] unsigned char[valueSize]. */
export function storageMapBtf(valueSize: number): BtfType[] {
  return [
    { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false },
    { kind: 'int', id: 2, name: 'unsigned char', size: 1, bitOffset: 0, bits: 8, signed: false, char: true, bool: false },
    { kind: 'array', id: 3, name: '', type: 2, indexType: 1, length: valueSize },
  ];
}

/** Creates a local storage map; keys are fds of the objects the values belong to. */
export function createStorageMap<V = Buffer>(
  type: StorageMapTypeName,
  options: StorageMapOptions,
  codecs: MapCodecs<number, V> = {},
): BpfMap<number, V> {
  if (!Number.isInteger(options.valueSize) || options.valueSize <= 0) {
    throw new MapError('spec', `storage map "${options.name ?? ''}": valueSize must be a positive integer, not ${options.valueSize}`);
  }
  let btf = options.btf;
  let ownFd: number | undefined;
  if (!btf) {
    const r = btfLoadRaw(marshalBtf(storageMapBtf(options.valueSize)));
    if (r.ret < 0)
      throw new MapError('create', `storage map "${options.name ?? ''}": loading its BTF failed`, {
        cause: new SyscallError('BPF_BTF_LOAD', -r.ret),
      });
    ownFd = r.ret;
    btf = { fd: r.ret, keyTypeId: 1, valueTypeId: 3 };
  }
  try {
    return BpfMap.create<number, V>(
      {
        type: MapType[type],
        keySize: 4,
        valueSize: options.valueSize,
        maxEntries: 0,
        flags: BPF_F_NO_PREALLOC,
        name: options.name,
        btfFd: btf.fd,
        btfKeyTypeId: btf.keyTypeId,
        btfValueTypeId: btf.valueTypeId,
      },
      codecs,
    );
  } finally {
    if (ownFd !== undefined) closeFd(ownFd);
  }
}
