// CO-RE (compile once, run everywhere): .BTF.ext relocations answered by a target BTF.
export { applyCoreRelocations, type CoreContext, type CoreOutcome, type CoreRelocationInput } from './relocate.js';
export { CoreKind, POISON_HELPER } from './kinds.js';
export { essentialName } from './essential-name.js';
export { typesMatch } from './type-match.js';
