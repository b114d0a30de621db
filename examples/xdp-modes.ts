// XDP's three attach modes (generic/SKB, native/driver, offloaded/HW), shown on this machine with
// real traffic: the same as `ebpf xdp-modes` (src/cli/xdp-modes.ts holds the logic and the options).
//
//   npx tsx examples/xdp-modes.ts              # builds a private lab: a network namespace + veth pair
//   npx tsx examples/xdp-modes.ts --json       # the same, as one JSON object
//   npx tsx examples/xdp-modes.ts --dev eth1   # the mode tour on an existing device (its real traffic)
import { run } from '../src/cli/xdp-modes.js';

process.exitCode = await run(process.argv.slice(2));
