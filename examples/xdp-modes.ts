// XDP's attach modes on this machine, end to end: the `ebpf xdp-modes` command (src/cli/xdp-modes.ts).
//
//   npx tsx examples/xdp-modes.ts [--dev IFACE] [--json] [--repeat N] [--rounds N] [--seconds S]
import { run } from '../src/cli/xdp-modes.js';

process.exit(await run(process.argv.slice(2)));
