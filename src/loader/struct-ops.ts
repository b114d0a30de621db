// Registering a loaded object's struct_ops variable: the attach step of .struct_ops and
// .struct_ops.link maps, as libbpf's bpf_map__attach_struct_ops. The loader only creates the map
// and lays out its value; writing the value is what registers a .struct_ops map, and a
// .struct_ops.link map (BPF_F_LINK) is registered by the struct_ops link made after the write.
import { LoaderError } from '../errors/index.js';
import { StructOpsMap } from '../links/struct-ops.js';
import type { BpfLink } from '../links/link.js';
import { dupFd } from '../syscall/fd.js';
import type { Collection } from './load/collection.js';
import { missingStructOpsPrograms } from './load/struct-ops.js';

/**
 * Registers struct_ops variable `name` of a loaded collection. A .struct_ops.link variable gives a
 * BpfLink (closing it unregisters; the collection's map stays). A .struct_ops variable gives a
 * StructOpsMap of its own on the same map: the registration lasts until that is closed (or
 * unregister()), whatever happens to the collection, as the kernel keeps it.
 */
export function attachStructOps(collection: Collection, name: string): BpfLink | StructOpsMap {
  const loaded = collection.structOps[name];
  if (!loaded) {
    const m = collection.spec.maps[name];
    const where = { file: collection.spec.name, ...(m ? { section: m.section } : {}), symbol: name };
    if (m?.contents?.kind === 'struct_ops') {
      throw new LoaderError(
        `struct_ops ${name} cannot be registered: its programs ${missingStructOpsPrograms(m, collection.programs).join(', ')} were not loaded`,
        { ...where, hint: 'load them too (options.programs)' },
      );
    }
    throw new LoaderError(`no struct_ops variable named ${name}`, {
      ...where,
      hint: `struct_ops variables: ${Object.keys(collection.structOps).join(', ') || 'none'}`,
    });
  }
  const map = StructOpsMap.fromFd(loaded.structName, dupFd(loaded.map.fd), { link: loaded.link });
  try {
    map.setBytes(loaded.value);
    if (!loaded.link) return map;
    const link = map.attach();
    map.close(); // the link holds the map
    return link;
  } catch (e) {
    map.close();
    throw e;
  }
}
