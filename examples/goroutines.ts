// Traces every goroutine state change of a Go program: the same as `ebpf goroutines`
// (src/cli/goroutines.ts holds the logic and the options).
//
//   npx tsx examples/goroutines.ts                      # traces esbuild (a stripped Go binary) bundling a small project
//   npx tsx examples/goroutines.ts -- ./server --port 8080
//   npx tsx examples/goroutines.ts --pid 1234
//   npx tsx examples/goroutines.ts --binary /usr/local/bin/app   # every process running it
import { run } from '../src/cli/goroutines.js';

process.exitCode = await run(process.argv.slice(2));
