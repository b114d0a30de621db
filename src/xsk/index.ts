export {
  XdpSocket,
  XdpSocketError,
  type FrameCallback,
  type XdpSocketMode,
  type XdpSocketOptions,
  type XdpSocketStatistics,
} from './xdp-socket.js';
export { loadXskRedirectProgram, xskRedirectInstructions } from './redirect-program.js';
export { PacketSocket } from './packet-socket.js';
