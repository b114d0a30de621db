export { closeNames, resolveFunction, resolveFunctions, SymbolNotFoundError, type ResolvedFunction, type SymbolSource } from './resolve.js';
export { elfBinaryImage, goFunctionsOf, openGoBinary } from './go.js';
