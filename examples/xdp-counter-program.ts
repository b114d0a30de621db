// The counting program moved to src/cli (the xdp-modes command uses it); re-exported for the examples and tests.
export * from '../src/cli/xdp-counter-program.js';
