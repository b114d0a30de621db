/** Thrown for malformed or unsupported DWARF; `section` and `offset` say where. */
export class DwarfError extends Error {
  override readonly name = 'DwarfError';
  constructor(
    message: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super(section === undefined ? message : `${section}${offset === undefined ? '' : `+0x${offset.toString(16)}`}: ${message}`);
  }
}
