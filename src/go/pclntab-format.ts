/** The pclntab layouts, named by the first Go release that wrote them. */
export type PclntabFormat = 'go1.2' | 'go1.16' | 'go1.18' | 'go1.20';

/** A pclntab layout: its magic number and the Go releases that write it. */
export interface PclntabFormatInfo {
  format: PclntabFormat;
  magic: number;
  /** Oldest and newest Go minor release (1.x) that write this magic; newest undefined = still current. */
  minMinor: number;
  maxMinor: number | undefined;
}

/** Every known pclntab layout, oldest first. */
export const PCLNTAB_FORMATS: readonly PclntabFormatInfo[] = [
  { format: 'go1.2', magic: 0xfffffffb, minMinor: 2, maxMinor: 15 },
  { format: 'go1.16', magic: 0xfffffffa, minMinor: 16, maxMinor: 17 },
  { format: 'go1.18', magic: 0xfffffff0, minMinor: 18, maxMinor: 19 },
  { format: 'go1.20', magic: 0xfffffff1, minMinor: 20, maxMinor: undefined },
];

/** The pclntab layout with this magic number, or undefined when none has it. */
export function formatForMagic(magic: number): PclntabFormatInfo | undefined {
  return PCLNTAB_FORMATS.find((f) => f.magic === magic);
}

/** Whether Go 1.`minor` could have written a pclntab of this format. */
export function minorFitsFormat(major: number, minor: number, f: PclntabFormatInfo): boolean {
  if (major !== 1) return major > 1 && f.maxMinor === undefined;
  return minor >= f.minMinor && (f.maxMinor === undefined || minor <= f.maxMinor);
}

export function describeRange(f: PclntabFormatInfo): string {
  return f.maxMinor === undefined ? `go1.${f.minMinor} or later` : `go1.${f.minMinor} to go1.${f.maxMinor}`;
}
