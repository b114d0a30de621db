export * from './map.js';
export * from './info.js';
export { onlineCpus, parseCpuList, possibleCpus } from './cpus.js';
export { kernelBtfBlob, openTypedMap } from './typed.js';
export { createCpuMap, createDevMap, cpuMapValue, devMapValue, XskMap, type CpuMapValue, type DevMapValue, type RedirectMapOptions } from './redirect-maps.js';
