// Facts about the machine this process runs on, shared by the pure parsers and the syscall layer.

/** Whether this host stores integers least significant byte first. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
