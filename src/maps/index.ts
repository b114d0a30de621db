export * from './map.js';
export { MapBatchBuffers } from './batch-buffers.js';
export * from './info.js';
export { onlineCpus, parseCpuList, possibleCpus } from '../kernel/cpus.js';
export { openTypedMap } from './typed.js';
export { kernelBtfBlob } from '../kernel/btf-by-id.js';
export {
  createCpuMap,
  createDevMap,
  cpuMapValue,
  devMapValue,
  XskMap,
  type CpuMapValue,
  type DevMapValue,
  type RedirectMapOptions,
} from './redirect-maps.js';
export { createStorageMap, storageMapBtf, type StorageMapOptions, type StorageMapTypeName } from './storage.js';
