export * from './program.js';
export * from './info.js';
