export { closeNames, resolveFunction, resolveFunctions, SymbolNotFoundError, type ResolvedFunction, type SymbolSource } from './resolve.js';
export { elfBinaryImage, goFunctionsOf } from './go.js';
