// The XDP counter program of `ebpf xdp-modes`, assembled in TypeScript (src/cli/xdp-counter-program.ts).
export * from '../src/cli/xdp-counter-program.js';
