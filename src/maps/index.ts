export * from './map.js';
export * from './info.js';
export { onlineCpus, parseCpuList, possibleCpus } from './cpus.js';
export { kernelBtfBlob, openTypedMap } from './typed.js';
export { createStorageMap, storageMapBtf, type StorageMapOptions, type StorageMapTypeName } from './storage.js';
