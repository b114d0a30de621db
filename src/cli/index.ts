// The `ebpf` command as a library (`import { main, generateTypes } from 'ebpf/cli'`): the
// dispatcher, and the pieces of the subcommands that are useful on their own.

/** Runs an `ebpf` command line; see {@link mainHelp} for the subcommands. */
export { main, mainHelp, SUBCOMMANDS } from './main.js';
export { generateTypes, pascalCase, type GenerateTypesOptions } from './gen.js';
export { rawTypeLines } from './btf.js';
export { UsageError, type CommandSpec, type Invocation, type OptionSpec } from './command.js';
