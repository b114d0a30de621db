// Traces every goroutine state change of a Go program: a uprobe on runtime.casgstatus whose BPF
// program is assembled here, for the target's Go version, from facts read out of the executable.
// The logic is the `ebpf goroutines` command (src/cli/goroutines.ts); see --help.
//
//   npx tsx examples/goroutines.ts                      # traces esbuild (a stripped Go binary) bundling a file
//   npx tsx examples/goroutines.ts -- ./server --port 8080
//   npx tsx examples/goroutines.ts --pid 1234
//   npx tsx examples/goroutines.ts --binary /usr/local/bin/app   # every process running it
import { run } from '../src/cli/goroutines.js';

process.exitCode = await run(process.argv.slice(2));
