export * from './map.js';
export * from './info.js';
export { possibleCpus, parseCpuList } from './cpus.js';
