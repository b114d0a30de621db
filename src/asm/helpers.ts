import { Helper, type HelperId, type HelperName } from './helper-table.js';

export { Helper, type HelperId, type HelperName };

const namesById: readonly string[] = Object.keys(Helper);

/** Helper id for a name, with or without the `bpf_` prefix; undefined if the kernel header has no such helper. */
export function helperByName(name: string): number | undefined {
  const bare = name.startsWith('bpf_') ? name.slice(4) : name;
  return Object.hasOwn(Helper, bare) ? Helper[bare as HelperName] : undefined;
}

/** Helper name (without `bpf_`) for an id; undefined for ids the header does not list. */
export function helperName(id: number): string | undefined {
  return Number.isInteger(id) && id >= 0 && id < namesById.length ? namesById[id] : undefined;
}
