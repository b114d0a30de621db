import { ByteCursor } from './byte-cursor.js';
import { DW_OP } from './constants.js';
import { DwarfError } from './errors.js';

// Member locations are a handful of operations; anything long is not one of them.
const MAX_OPS = 64;

/**
 * Evaluates a DW_AT_data_member_location expression: the struct's base address (0 here) starts
 * on the stack and the result is the member's offset. Only constant arithmetic is supported,
 * which is all compilers emit for members at fixed offsets.
 */
export function evaluateMemberLocation(expr: Uint8Array, addressSize: number, littleEndian = true): bigint {
  const c = new ByteCursor(expr, 'location expression', 0, littleEndian);
  const stack: bigint[] = [0n];
  const pop = (): bigint => {
    const v = stack.pop();
    if (v === undefined) throw c.error('expression pops an empty stack');
    return v;
  };
  for (let ops = 0; c.remaining > 0; ops++) {
    if (ops >= MAX_OPS) throw c.error(`more than ${MAX_OPS} operations in a member location`);
    const at = c.offset;
    const op = c.u8();
    if (op >= DW_OP.lit0 && op <= DW_OP.lit31) {
      stack.push(BigInt(op - DW_OP.lit0));
      continue;
    }
    switch (op) {
      case DW_OP.plus_uconst:
        stack.push(pop() + c.ulebBig());
        break;
      case DW_OP.constu:
        stack.push(c.ulebBig());
        break;
      case DW_OP.consts:
        stack.push(c.slebBig());
        break;
      case DW_OP.const1u:
        stack.push(BigInt(c.u8()));
        break;
      case DW_OP.const1s:
        stack.push(BigInt((c.u8() << 24) >> 24));
        break;
      case DW_OP.const2u:
        stack.push(BigInt(c.u16()));
        break;
      case DW_OP.const2s:
        stack.push(BigInt((c.u16() << 16) >> 16));
        break;
      case DW_OP.const4u:
        stack.push(BigInt(c.u32()));
        break;
      case DW_OP.const4s:
        stack.push(BigInt(c.u32() | 0));
        break;
      case DW_OP.const8u:
        stack.push(c.u64());
        break;
      case DW_OP.const8s:
        stack.push(BigInt.asIntN(64, c.u64()));
        break;
      case DW_OP.addr:
        stack.push(c.address(addressSize));
        break;
      case DW_OP.plus:
        stack.push(pop() + pop());
        break;
      case DW_OP.minus: {
        const b = pop();
        stack.push(pop() - b);
        break;
      }
      case DW_OP.dup: {
        const v = pop();
        stack.push(v, v);
        break;
      }
      case DW_OP.drop:
        pop();
        break;
      case DW_OP.swap: {
        const b = pop();
        const a = pop();
        stack.push(b, a);
        break;
      }
      case DW_OP.nop:
      case DW_OP.stack_value:
        break;
      default:
        throw new DwarfError(`unsupported operation 0x${op.toString(16)} in a member location`, 'location expression', at);
    }
  }
  return pop();
}
