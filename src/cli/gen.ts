// `ebpf gen types OBJ.o > obj.ts`: typed bindings for a BPF object, the counterpart of bpf2go and
// `bpftool gen skeleton`. The generated module declares, from the object's BTF, the TypeScript
// type of every map's key and value, of every global variable and of the structs and enums they
// use, and a loader whose collection carries those types (coll.maps.events is then a
// BpfMap<Key, Value>, coll.variables.get('x') has x's type).
//
// The types describe exactly what the loader's BTF codecs (src/codec/btf.ts) produce: integers up
// to 32 bits as numbers, wider ones and pointers as bigints, bool as boolean, char arrays as
// strings, enums by name (a value without a name as its number), structs and unions as objects
// with anonymous members flattened, bitfields as numbers (bigints above 32 bits). Maps the loader
// gives no codec (data sections, maps without BTF or whose BTF size disagrees) stay Buffers.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Btf, BtfType, Member } from '../btf/index.js';
import { btfCodec } from '../codec/btf.js';
import { loadCollectionSpec, type CollectionSpec, type MapSpecEntry } from '../loader/index.js';
import { MapType } from '../uapi/bpf.js';
import { runCommand, runVerb, stringOption, UsageError, type CommandSpec } from './command.js';

/** Options of the generator. */
export interface GenerateTypesOptions {
  /** Base of the generated names (FooMaps, loadFoo); default: the file name in PascalCase. */
  name?: string;
  /** The module the bindings import the library from; default 'ebpf'. */
  importFrom?: string;
  /** The object's path as given, for the header comment. */
  source?: string;
}

const RESERVED = new Set([
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'implements',
  'interface',
  'let',
  'package',
  'private',
  'protected',
  'public',
  'static',
  'yield',
  'any',
  'boolean',
  'number',
  'string',
  'bigint',
  'symbol',
  'unknown',
  'never',
  'object',
  'undefined',
  'Buffer',
  'BpfMap',
  'Program',
  'Uint8Array',
  'Record',
  'Array',
  'Promise',
  'type',
  'declare',
  'module',
  'namespace',
  'readonly',
  'keyof',
  'as',
  'is',
  'infer',
  'await',
  'async',
]);

/** A property key: bare when it is an identifier, quoted otherwise. */
function propertyKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/** "xdp_counter.o" → "XdpCounter". */
export function pascalCase(text: string): string {
  const words = text
    .replace(/\.(bpfe[lb]\.)?o$/, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  const joined = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z_]/.test(joined) ? joined : `Bpf${joined}`;
}

/** Writes TypeScript types for BTF types, naming the named structs, unions and enums once. */
class TypeWriter {
  /** Declarations, in the order they were first needed. */
  readonly declarations: string[] = [];
  readonly #names = new Map<number, string>();
  readonly #taken = new Set<string>();

  constructor(
    private readonly btf: Btf,
    reserved: Iterable<string>,
  ) {
    for (const r of reserved) this.#taken.add(r);
  }

  /** The TypeScript type of values of BTF type `id`, as the BTF codec decodes them. */
  typeOf(id: number, depth = 0): string {
    if (depth > 64) return 'unknown';
    const t = this.btf.resolve(id);
    switch (t.kind) {
      case 'int':
        return t.bool ? 'boolean' : t.size > 4 ? 'bigint' : 'number';
      case 'ptr':
        return 'bigint';
      case 'float':
        return t.size === 4 || t.size === 8 ? 'number' : 'Buffer';
      case 'enum':
      case 'enum64':
        return t.name ? this.#named(t) : enumUnion(t);
      case 'array': {
        const element = this.btf.resolve(t.type);
        if (element.kind === 'int' && element.size === 1 && (element.char || element.name === 'char')) return 'string';
        const inner = this.typeOf(t.type, depth + 1);
        return /^[\w$]+$/.test(inner) ? `${inner}[]` : `Array<${inner}>`;
      }
      case 'struct':
      case 'union':
        return t.name ? this.#named(t) : this.#objectLiteral(t.members, depth);
      case 'datasec':
        return `{ ${t.vars.map((v) => `${propertyKey(this.btf.nameOf(v.type))}: ${this.typeOf(v.type, depth + 1)}`).join('; ')} }`;
      case 'var':
        return this.typeOf(t.type, depth + 1);
      default:
        return 'unknown';
    }
  }

  #named(t: Extract<BtfType, { kind: 'struct' | 'union' | 'enum' | 'enum64' }>): string {
    const known = this.#names.get(t.id);
    if (known) return known;
    let name = t.name;
    if (this.#taken.has(name) || RESERVED.has(name)) name = `${t.name}_${t.kind}`;
    for (let i = 2; this.#taken.has(name) || RESERVED.has(name); i++) name = `${t.name}_${t.kind}${i}`;
    this.#taken.add(name);
    this.#names.set(t.id, name);
    if (t.kind === 'enum' || t.kind === 'enum64') {
      this.declarations.push(enumDeclaration(name, t));
    } else {
      // Registered before its members are written, so a member of its own type refers to it.
      const index = this.declarations.push('') - 1;
      this.declarations[index] =
        `/** C \`${t.kind} ${t.name}\` (${t.size} bytes). */\nexport interface ${name} ${this.#objectLiteral(t.members, 0, true)}\n`;
    }
    return name;
  }

  #objectLiteral(members: readonly Member[], depth: number, multiline = false): string {
    const fields: string[] = [];
    const add = (list: readonly Member[]): void => {
      for (const m of list) {
        const resolved = this.btf.resolve(m.type);
        if (m.name === '' && (resolved.kind === 'struct' || resolved.kind === 'union')) {
          add(resolved.members);
          continue;
        }
        const type = m.bitfieldSize > 0 ? (m.bitfieldSize > 32 ? 'bigint' : 'number') : this.typeOf(m.type, depth + 1);
        fields.push(`${propertyKey(m.name)}: ${type}`);
      }
    };
    add(members);
    if (fields.length === 0) return '{}';
    return multiline ? `{\n${fields.map((f) => `  ${f};`).join('\n')}\n}` : `{ ${fields.join('; ')} }`;
  }

  /** Declares every named enum of the object (whether or not a map uses it). */
  declareEnums(): void {
    for (const t of this.btf.ownTypes()) if ((t.kind === 'enum' || t.kind === 'enum64') && t.name) this.#named(t);
  }
}

function enumUnion(t: Extract<BtfType, { kind: 'enum' | 'enum64' }>): string {
  const names = t.values.map((v) => JSON.stringify(v.name));
  return [...names, t.size > 4 ? 'bigint' : 'number'].join(' | ');
}

/** An enum: the union of its names (what the codec decodes), and a const object of their values. */
function enumDeclaration(name: string, t: Extract<BtfType, { kind: 'enum' | 'enum64' }>): string {
  const values = t.values.map((v) => `  ${propertyKey(v.name)}: ${t.kind === 'enum64' ? `${BigInt(v.value)}n` : v.value},`);
  return (
    `/** C \`enum ${t.name}\`: by name, or a number for a value without one. */\n` +
    `export type ${name} = ${enumUnion(t)};\n` +
    `/** The values of C \`enum ${t.name}\`. */\n` +
    `export const ${name} = {\n${values.join('\n')}\n} as const;\n`
  );
}

/** Whether the loader gives this map BTF codecs (the rule of loadCollection's typedCodecs). */
function mapCodecTypes(spec: CollectionSpec, m: MapSpecEntry, w: TypeWriter): { key: string; value: string } {
  const raw = { key: 'Buffer', value: 'Buffer' };
  const btf = spec.btf;
  if (!btf || m.contents?.kind === 'data' || m.name === '.kconfig') return raw;
  const out: { key: string | number; value: string | number } = { ...raw };
  try {
    if (m.btfKeyTypeId !== 0 && btf.sizeOf(m.btfKeyTypeId) === m.keySize) {
      btfCodec(btf, m.btfKeyTypeId);
      out.key = m.btfKeyTypeId;
    }
    if (m.btfValueTypeId !== 0 && btf.sizeOf(m.btfValueTypeId) === m.valueSize) {
      btfCodec(btf, m.btfValueTypeId);
      out.value = m.btfValueTypeId;
    }
  } catch {
    return raw;
  }
  return {
    key: typeof out.key === 'number' ? w.typeOf(out.key) : 'Buffer',
    value: typeof out.value === 'number' ? w.typeOf(out.value) : 'Buffer',
  };
}

function mapTypeName(type: number): string {
  for (const [name, v] of Object.entries(MapType)) if (v === type) return name;
  return String(type);
}

/** The TypeScript module of bindings for the BPF object `bytes`. */
export function generateTypes(bytes: Uint8Array, options: GenerateTypesOptions = {}): string {
  const spec = loadCollectionSpec(bytes, { name: options.source ?? 'object' });
  const base = options.name ?? pascalCase(basename(options.source ?? 'object.o'));
  if (!/^[A-Za-z_$][\w$]*$/.test(base)) throw new UsageError(`--name must be an identifier, got ${JSON.stringify(base)}`);
  const names = {
    maps: `${base}Maps`,
    programs: `${base}Programs`,
    variables: `${base}Variables`,
    collection: `${base}Collection`,
    spec: `${base}Spec`,
    load: `load${base}`,
    loadSpec: `load${base}Spec`,
  };
  const w = new TypeWriter(spec.btf ?? (undefined as unknown as Btf), [...Object.values(names), 'ebpf', 'TypedVariableSpec']);
  if (spec.btf) w.declareEnums();

  const mapLines: string[] = [];
  for (const m of Object.values(spec.maps)) {
    const { key, value } = spec.btf ? mapCodecTypes(spec, m, w) : { key: 'Buffer', value: 'Buffer' };
    mapLines.push(
      `  /** ${mapTypeName(m.type)} map \`${m.name}\` (${m.section}): key ${m.keySize} B, value ${m.valueSize} B, ${m.maxEntries} entries. */\n  readonly ${propertyKey(m.name)}: ebpf.BpfMap<${key}, ${value}>;`,
    );
  }
  const programLines = Object.values(spec.programs).map(
    (p) => `  /** Section \`${p.section}\`. */\n  readonly ${propertyKey(p.name)}: ebpf.Program;`,
  );
  const variableLines = Object.values(spec.variables).map(
    (v) =>
      `  /** In ${v.section} at offset ${v.offset}, ${v.size} B. */\n  ${propertyKey(v.name)}: ${spec.btf && v.typeId ? w.typeOf(v.typeId) : 'Buffer'};`,
  );

  const from = options.importFrom ?? 'ebpf';
  return `// Generated by \`ebpf gen types${options.source ? ` ${options.source}` : ''}\` from the object's BTF. Do not edit: regenerate.
/* eslint-disable */
import * as ebpf from ${JSON.stringify(from)};

${w.declarations.join('\n')}
/** The maps of the object, keys and values typed as the loader's BTF codecs decode them. */
export interface ${names.maps} {
${mapLines.join('\n')}
}

/** The programs of the object. */
export interface ${names.programs} {
${programLines.join('\n')}
}

/** The global variables of the object (.data, .rodata, .bss and custom sections), with their C types. */
export interface ${names.variables} {
${variableLines.join('\n')}
}

/** A variable of the spec: set before loading (how a \`volatile const\` is given its value). */
export interface TypedVariableSpec<T> {
  readonly name: string;
  readonly section: string;
  get(): T;
  set(value: T | Uint8Array): void;
}

/** The object's spec, its variables typed. */
export type ${names.spec} = Omit<ebpf.CollectionSpec, 'variables'> & {
  readonly variables: { readonly [N in keyof ${names.variables}]: TypedVariableSpec<${names.variables}[N]> };
};

/** The loaded object: typed programs, maps and variables. */
export interface ${names.collection} {
  readonly spec: ebpf.CollectionSpec;
  readonly programs: ${names.programs};
  readonly maps: ${names.maps};
  readonly variables: {
    get<N extends keyof ${names.variables}>(name: N): ${names.variables}[N];
    set<N extends keyof ${names.variables}>(name: N, value: ${names.variables}[N] | Uint8Array): void;
    names(): string[];
  };
  close(): void;
  [Symbol.dispose](): void;
}

/** Parses the object (a path's bytes, or the bytes themselves), without loading anything. */
export function ${names.loadSpec}(bytes: Uint8Array): ${names.spec} {
  return ebpf.loadCollectionSpec(bytes) as unknown as ${names.spec};
}

/** Loads the object (its path, its bytes, or its spec after setting variables) into the kernel. */
export function ${names.load}(source: string | Uint8Array | ${names.spec}, options?: ebpf.CollectionOptions): ${names.collection} {
  return ebpf.loadCollection(source as string | Uint8Array | ebpf.CollectionSpec, options) as unknown as ${names.collection};
}
`;
}

const TYPES: CommandSpec = {
  usage: 'ebpf gen types OBJ.o [--name NAME] [--import-from MODULE]',
  summary:
    'Prints a TypeScript module of typed bindings for a BPF object: maps with their key and value types, programs, global variables with their C types, enums.',
  details:
    "Example:\n  ebpf gen types bpf/xdp_counter.o > xdp-counter.ts\n  // then: using c = loadXdpCounter('bpf/xdp_counter.o'); c.maps.config.update(0, 2);\n" +
    'With --json: one line {"file","name","code"} (the module as a string).',
  options: {
    name: { type: 'string', value: 'NAME', help: 'base of the generated names (NAMEMaps, loadNAME); default from the file name' },
    'import-from': { type: 'string', value: 'MODULE', help: "the module to import the library from (default 'ebpf')" },
  },
  positionals: { min: 1, max: 1, names: 'OBJ.o' },
};

export async function run(argv: string[]): Promise<number> {
  return runVerb(
    'gen',
    {
      types: {
        summary: TYPES.summary,
        run: (a) =>
          runCommand(TYPES, a, (inv) => {
            const file = inv.positionals[0];
            let bytes: Uint8Array;
            try {
              bytes = readFileSync(file);
            } catch (e) {
              throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
            }
            const name = stringOption(inv, 'name');
            const code = generateTypes(bytes, { source: file, name, importFrom: stringOption(inv, 'import-from') });
            if (inv.json) process.stdout.write(`${JSON.stringify({ file, name: name ?? pascalCase(basename(file)), code })}\n`);
            else process.stdout.write(code);
            return 0;
          }),
      },
    },
    argv,
  );
}
