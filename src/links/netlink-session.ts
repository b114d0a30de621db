// A rtnetlink socket with its request client, for the XDP and tc attachments.
import { NetlinkClient } from '../netlink/index.js';
import { NetlinkSocket } from '../syscall/index.js';

export function openRoute(): { socket: NetlinkSocket; client: NetlinkClient } {
  const socket = new NetlinkSocket();
  return { socket, client: new NetlinkClient(socket) };
}

/** Runs `fn` with a fresh rtnetlink client, closing its socket afterwards. */
export function withRoute<T>(fn: (client: NetlinkClient) => T): T {
  const { socket, client } = openRoute();
  try {
    return fn(client);
  } finally {
    socket.close();
  }
}
