// Counts the system calls of one process, in the kernel, with a program written in TypeScript.
// The same as `ebpf syscount` (src/cli/syscount.ts holds the program and the options).
//
//   npx tsx examples/syscount.ts                 # counts the syscalls of `ls -laR /usr/include/linux`
//   npx tsx examples/syscount.ts -- ls -R /usr   # runs a command and counts its syscalls
//   npx tsx examples/syscount.ts --pid 1234 --seconds 5
import { run } from '../src/cli/syscount.js';

process.exitCode = await run(process.argv.slice(2));
