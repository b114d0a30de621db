// Writes a whole vmlinux.h: every named struct, union, enum and typedef, each after the types
// it needs complete, with forward declarations where a pointer only needs the tag.
import { CWriter, type CNaming } from './c-declaration.js';
import { BtfError } from './errors.js';
import { MAX_REFERENCE_DEPTH, type TypeLookup } from './layout.js';
import type { BtfType, Enum64Type, EnumType, TypeId } from './types.js';

/** Options of vmlinux.h generation. */
export interface VmlinuxHeaderOptions {
  /** Include guard macro; default __VMLINUX_H__. */
  readonly guard?: string;
}

type Need = 'complete' | 'declared';
type State = 'declared' | 'defining' | 'defined';

/**
 * C puts struct, union and enum tags in one namespace and typedefs and enumerators in another;
 * BTF from separate compilation units may reuse a name for different types, so later ones get
 * a `___N` suffix the way bpftool spells it.
 */
class UniqueNaming implements CNaming {
  private readonly tags = new Map<TypeId, string>();
  private readonly tagCounts = new Map<string, number>();
  private readonly idents = new Map<string, number>();
  private readonly typedefs = new Map<TypeId, string>();
  private readonly enumerators = new Map<TypeId, string[]>();

  private readonly inlinedEnums = new Set<TypeId>();

  inlineEnum(t: EnumType | Enum64Type): boolean {
    if (this.inlinedEnums.has(t.id)) return false;
    this.inlinedEnums.add(t.id);
    return true;
  }

  tag(t: BtfType): string {
    let name = this.tags.get(t.id);
    if (name === undefined) {
      if (t.kind === 'fwd') return this.fwdTag(t);
      name = claim(this.tagCounts, t.name);
      this.tags.set(t.id, name);
    }
    return name;
  }

  /** A forward declaration names the same tag as the definition, if there is one. */
  private fwdTag(t: BtfType): string {
    return t.name;
  }

  typedef(t: BtfType): string {
    let name = this.typedefs.get(t.id);
    if (name === undefined) {
      name = claim(this.idents, t.name);
      this.typedefs.set(t.id, name);
    }
    return name;
  }

  enumerator(t: EnumType | Enum64Type, index: number): string {
    let names = this.enumerators.get(t.id);
    if (names === undefined) {
      names = t.values.map((v) => claim(this.idents, v.name));
      this.enumerators.set(t.id, names);
    }
    const name = names[index];
    if (name === undefined) throw new BtfError(`enum ${JSON.stringify(t.name)} has no enumerator ${index}`, { typeId: t.id });
    return name;
  }
}

function claim(counts: Map<string, number>, name: string): string {
  const seen = counts.get(name) ?? 0;
  counts.set(name, seen + 1);
  return seen === 0 ? name : `${name}___${seen + 1}`;
}

/** Writes the types of `btf` as C declarations: the text of a vmlinux.h header. */
export function formatVmlinuxHeader(btf: TypeLookup, options: VmlinuxHeaderOptions = {}): string {
  const guard = options.guard ?? '__VMLINUX_H__';
  const naming = new UniqueNaming();
  const writer = new CWriter(btf, naming);
  const state = new Map<TypeId, State>();
  /** Tags already declared or defined in the output, so a pointer may name them. */
  const tagWritten = new Set<TypeId>();
  const definedTags = new Set<string>();
  const out: string[] = [];

  const emitNamed = (t: BtfType, need: Need, depth: number): void => {
    if (depth > MAX_REFERENCE_DEPTH) throw new BtfError('type dependencies nest too deep', { typeId: t.id });
    const current = state.get(t.id);
    if (current === 'defined') return;
    if (current === 'defining') {
      // A pointer back to a struct whose members are being emitted: the tag must exist first.
      if ((t.kind === 'struct' || t.kind === 'union') && !tagWritten.has(t.id)) {
        out.push(`${t.kind} ${naming.tag(t)};\n\n`);
        tagWritten.add(t.id);
      }
      return;
    }
    switch (t.kind) {
      case 'struct':
      case 'union': {
        if (need === 'declared') {
          if (!tagWritten.has(t.id)) {
            out.push(`${t.kind} ${naming.tag(t)};\n\n`);
            tagWritten.add(t.id);
            if (current === undefined) state.set(t.id, 'declared');
          }
          return;
        }
        state.set(t.id, 'defining');
        for (const m of t.members) visit(m.type, 'complete', depth + 1);
        out.push(`${writer.compositeDefinition(t, '')};\n\n`);
        state.set(t.id, 'defined');
        tagWritten.add(t.id);
        definedTags.add(`${t.kind} ${t.name}`);
        return;
      }
      case 'enum':
      case 'enum64':
        state.set(t.id, 'defined');
        out.push(`${writer.enumDefinition(t, '')};\n\n`);
        return;
      case 'fwd': {
        state.set(t.id, 'defined');
        if (!definedTags.has(`${t.fwdKind} ${t.name}`)) out.push(`${t.fwdKind} ${naming.tag(t)};\n\n`);
        return;
      }
      case 'typedef': {
        state.set(t.id, 'defining');
        if (t.name.startsWith('__builtin_')) {
          // The compiler defines these itself and rejects a different definition.
          state.set(t.id, 'defined');
          return;
        }
        visit(t.type, 'declared', depth + 1);
        out.push(`typedef ${writer.declaration(t.type, naming.typedef(t), '')};\n\n`);
        state.set(t.id, 'defined');
        if (need === 'complete') visit(t.type, 'complete', depth + 1);
        return;
      }
      default:
        return;
    }
  };

  /** Makes sure what a use of type `id` needs is emitted: a tag, a definition, a typedef. */
  const visit = (id: TypeId, need: Need, depth: number): void => {
    if (depth > MAX_REFERENCE_DEPTH) throw new BtfError('type dependencies nest too deep', { typeId: id });
    const t = btf.typeById(id);
    switch (t.kind) {
      case 'ptr':
        visit(t.type, 'declared', depth + 1);
        return;
      case 'array':
        visit(t.type, 'complete', depth + 1);
        return;
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        visit(t.type, need, depth + 1);
        return;
      case 'func_proto':
        visit(t.returnType, 'declared', depth + 1);
        for (const p of t.params) if (p.type !== 0) visit(p.type, 'declared', depth + 1);
        return;
      case 'struct':
      case 'union':
        if (t.name === '') {
          // Printed inline, so everything it holds must be ready wherever it appears.
          for (const m of t.members) visit(m.type, 'complete', depth + 1);
          return;
        }
        emitNamed(t, need, depth + 1);
        return;
      case 'enum':
      case 'enum64':
        if (t.name !== '') emitNamed(t, need, depth + 1);
        return;
      case 'fwd':
      case 'typedef':
        emitNamed(t, need, depth + 1);
        return;
      default:
        return;
    }
  };

  const inlinedSomewhere = anonymousEnumsUsedByOthers(btf);
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if (t.kind === 'fwd') continue; // emitted only if no definition claims the tag; see below
    if (t.name === '' && (t.kind === 'enum' || t.kind === 'enum64')) {
      // Anonymous enums declare constants that code uses by name; those not printed inline
      // somewhere else get a top-level definition.
      if (!inlinedSomewhere.has(id) && naming.inlineEnum(t)) out.push(`${writer.enumDefinition(t, '')};\n\n`);
      continue;
    }
    if (t.name !== '' && (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' || t.kind === 'enum64' || t.kind === 'typedef')) {
      emitNamed(t, 'complete', 0);
    }
  }
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    if (t.kind === 'fwd' && state.get(id) === undefined) emitNamed(t, 'declared', 0);
  }

  return [
    `#ifndef ${guard}\n#define ${guard}\n\n`,
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n',
    '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n',
    '#endif\n\n',
    ...out,
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n',
    `#endif /* ${guard} */\n`,
  ].join('');
}

/** Anonymous enums that some member, typedef or declarator refers to, and so get printed inline. */
function anonymousEnumsUsedByOthers(btf: TypeLookup): Set<TypeId> {
  const used = new Set<TypeId>();
  const note = (id: TypeId): void => {
    if (id === 0) return;
    const t = btf.typeById(id);
    if ((t.kind === 'enum' || t.kind === 'enum64') && t.name === '') used.add(id);
  };
  for (let id = 1; id <= btf.lastTypeId; id++) {
    const t = btf.typeById(id);
    switch (t.kind) {
      case 'struct':
      case 'union':
        for (const m of t.members) note(m.type);
        break;
      case 'ptr':
      case 'array':
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        note(t.type);
        break;
      case 'func_proto':
        note(t.returnType);
        for (const p of t.params) note(p.type);
        break;
      default:
        break;
    }
  }
  return used;
}
