// A throwaway network namespace holding a veth pair, for tests that attach to devices and send
// real traffic. Nothing here touches the root namespace's devices: the pair is created inside the
// namespace and all traffic stays there. The namespace is removed by remove(), and as a last resort
// when the process exits.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { inNetns } from '../../src/syscall/netns.js';

export interface TestNetns {
  readonly name: string;
  /** /var/run/netns/NAME, for inNetns(). */
  readonly path: string;
  /** The veth end that sends (has address `addressA`). */
  readonly a: string;
  /** The veth end that receives: no address of its own, so the namespace routes to it over the wire. */
  readonly b: string;
  readonly addressA: string;
  /** A neighbour address on `b`'s side of the wire, resolved statically to `b`'s MAC. */
  readonly addressB: string;
  /** Runs `ip -n NAME ...args` and returns stdout. */
  ip(...args: string[]): string;
  /** Runs a command inside the namespace and returns stdout. */
  exec(command: string, ...args: string[]): string;
  /** Runs `fn` synchronously with this thread inside the namespace (for the library's calls). */
  run<T>(fn: () => T): T;
  /** Sends `count` UDP datagrams from `a` to `addressB`: they arrive on `b` (ingress) after leaving `a` (egress). */
  sendUdp(count: number): void;
  remove(): void;
}

const live = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

function removeNamespace(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
  live.delete(name);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of [...live]) removeNamespace(name);
  });
}

/** Creates a uniquely named namespace with veth pair `a` ↔ `b` up inside it. */
export function createTestNetns(): TestNetns {
  installExitHook();
  counter += 1;
  const name = `ebpf-test-${process.pid}-${counter}`;
  const subnet = `10.${(process.pid % 200) + 20}.${counter % 250}`;
  const addressA = `${subnet}.1`;
  const addressB = `${subnet}.2`;
  const a = 'veth-a';
  const b = 'veth-b';
  const ip = (...args: string[]): string => execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8' });
  const exec = (command: string, ...args: string[]): string =>
    execFileSync('ip', ['netns', 'exec', name, command, ...args], { encoding: 'utf8' });

  execFileSync('ip', ['netns', 'add', name]);
  live.add(name);
  try {
    // No IPv6: its autoconfiguration chatter would move the counters between readings.
    exec('sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6');
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'set', a, 'up');
    ip('link', 'set', b, 'up');
    ip('addr', 'add', `${addressA}/24`, 'dev', a);
    const mac = (JSON.parse(ip('-j', 'link', 'show', 'dev', b)) as { address: string }[])[0].address;
    // A permanent neighbour entry: datagrams for addressB leave `a` at once, addressed to `b`, with no ARP.
    ip('neigh', 'add', addressB, 'lladdr', mac, 'dev', a, 'nud', 'permanent');
  } catch (e) {
    removeNamespace(name);
    throw e;
  }

  return {
    name,
    path: `/var/run/netns/${name}`,
    a,
    b,
    addressA,
    addressB,
    ip,
    exec,
    run: <T>(fn: () => T): T => inNetns(`/var/run/netns/${name}`, fn),
    sendUdp(count: number): void {
      exec('bash', '-c', `for i in $(seq ${count}); do echo "packet $i" > /dev/udp/${addressB}/9; done`);
    },
    remove: () => removeNamespace(name),
  };
}

/** Open socket fds of this process: netlink attachments hold one each until closed. */
export function openSockets(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:')) out.push(`${fd} -> ${target}`);
    } catch {
      // The fd readdir used is gone by now.
    }
  }
  return out.sort();
}
