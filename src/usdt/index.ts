// USDT (user statically defined tracing, <sys/sdt.h>): probes read from .note.stapsdt, their
// argument specs, and the spec values libbpf's usdt.bpf.h reads. Pure: bytes in, values out.
export { UsdtError, type UsdtErrorDetails } from './errors.js';
export { parseUsdtArgs, X86_64_PT_REGS, type UsdtArch, type UsdtArg, type UsdtArgLocation } from './arg-spec.js';
export { isPositionIndependent, NT_STAPSDT, readUsdtProbes, usdtArchOf, type UsdtProbe } from './probes.js';
export { encodeUsdtSpec, LIBBPF_1_1_USDT_SPEC_LAYOUT, usdtSpecLayoutFromBtf, type BitField, type UsdtSpecLayout } from './spec-layout.js';
