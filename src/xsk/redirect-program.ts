// The XDP program every AF_XDP setup needs: redirect each frame to the socket registered for the
// queue it arrived on, and pass it to the kernel's stack when no socket is registered there.
import { ProgramBuilder } from '../asm/builder.js';
import { R1, R2, R3 } from '../asm/registers.js';
import { Size } from '../asm/size.js';
import { Program } from '../programs/index.js';
import type { XskMap } from '../maps/redirect-maps.js';

const XDP_PASS = 2;
/** offsetof(struct xdp_md, rx_queue_index) */
const RX_QUEUE_INDEX = 16;

/** Instructions of the redirect program; the map is referenced as "xsks". */
export function xskRedirectInstructions(): ProgramBuilder {
  return (
    new ProgramBuilder()
      .ldx(Size.W, R2, R1, RX_QUEUE_INDEX)
      .ldMapFd(R1, 'xsks')
      // The low bits of the flags are the action when the key has no socket (kernel 5.3+).
      .mov64Imm(R3, XDP_PASS)
      .call('redirect_map')
      .exit()
  );
}

/** Loads the redirect program for `map`: frames on queue q go to the socket at key q. */
export function loadXskRedirectProgram(map: XskMap, name = 'xsk_redirect'): Program {
  return Program.load({ type: 'XDP', instructions: xskRedirectInstructions().build(), maps: { xsks: map.map }, name });
}
