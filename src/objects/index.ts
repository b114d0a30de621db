export { KernelObjectError } from './errors.js';
export {
  btfIds,
  linkIds,
  listBtf,
  listLinks,
  listMaps,
  listPrograms,
  mapIds,
  objectIds,
  programIds,
  type KernelObjectKind,
} from './ids.js';
export { BtfInfoLayout, BtfLoadError, BtfObject, btfInfoFromFd, type BtfObjectInfo } from './btf-object.js';
export { enableStats, StatsScope, StatsType, type StatsTypeName } from './stats.js';
export { queryPrograms, type AttachTypeName, type ProgramQuery, type QueryOptions, type QueryTarget } from './query.js';
