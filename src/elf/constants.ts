// Numeric constants from the ELF specification (gABI), the Linux/GNU extensions and the BPF psABI.
// Only what this reader and its callers need; values are plain numbers so they compare directly
// with the parsed fields.

// e_ident
/** e_ident[EI_CLASS]: 32-bit objects. */
export const ELFCLASS32 = 1;
/** e_ident[EI_CLASS]: 64-bit objects. */
export const ELFCLASS64 = 2;
/** e_ident[EI_DATA]: little-endian (two's complement, least significant byte first). */
export const ELFDATA2LSB = 1;
/** e_ident[EI_DATA]: big-endian (most significant byte first). */
export const ELFDATA2MSB = 2;
/** e_ident[EI_OSABI]: no extensions (System V). */
export const ELFOSABI_NONE = 0;
/** e_ident[EI_OSABI]: GNU/Linux extensions. */
export const ELFOSABI_LINUX = 3;

// e_type
/** e_type: no file type. */
export const ET_NONE = 0;
/** e_type: relocatable object (what clang emits for BPF). */
export const ET_REL = 1;
/** e_type: executable linked at a fixed address. */
export const ET_EXEC = 2;
/** e_type: shared object or position-independent executable. */
export const ET_DYN = 3;
/** e_type: core dump. */
export const ET_CORE = 4;

// e_machine
/** e_machine: Intel 80386. */
export const EM_386 = 3;
/** e_machine: AMD x86-64. */
export const EM_X86_64 = 62;
/** e_machine: ARM 64-bit (AArch64). */
export const EM_AARCH64 = 183;
/** e_machine: RISC-V. */
export const EM_RISCV = 243;
/** e_machine: Linux BPF. */
export const EM_BPF = 247;

// Special section indexes
/** Section index of an undefined symbol (or no section). */
export const SHN_UNDEF = 0;
/** Lowest reserved section index; indexes from here up are not real sections. */
export const SHN_LORESERVE = 0xff00;
/** Section index of a symbol with an absolute value, not relative to any section. */
export const SHN_ABS = 0xfff1;
/** Section index of a common (not yet allocated) symbol. */
export const SHN_COMMON = 0xfff2;
/** Escape section index: the real index is in the SHT_SYMTAB_SHNDX table (or, in the header, in section 0). */
export const SHN_XINDEX = 0xffff;

// e_phnum escape: the real count lives in section 0's sh_info
/** e_phnum escape: the real program header count lives in section 0's sh_info. */
export const PN_XNUM = 0xffff;

// sh_type
/** sh_type: inactive section header. */
export const SHT_NULL = 0;
/** sh_type: contents defined by the program (code, data). */
export const SHT_PROGBITS = 1;
/** sh_type: symbol table. */
export const SHT_SYMTAB = 2;
/** sh_type: string table. */
export const SHT_STRTAB = 3;
/** sh_type: relocations with explicit addends. */
export const SHT_RELA = 4;
/** sh_type: System V symbol hash table. */
export const SHT_HASH = 5;
/** sh_type: dynamic linking information. */
export const SHT_DYNAMIC = 6;
/** sh_type: notes. */
export const SHT_NOTE = 7;
/** sh_type: occupies no file space (e.g. .bss). */
export const SHT_NOBITS = 8;
/** sh_type: relocations without explicit addends. */
export const SHT_REL = 9;
/** sh_type: reserved, unspecified semantics. */
export const SHT_SHLIB = 10;
/** sh_type: dynamic linking symbol table. */
export const SHT_DYNSYM = 11;
/** sh_type: array of initialization function pointers. */
export const SHT_INIT_ARRAY = 14;
/** sh_type: array of termination function pointers. */
export const SHT_FINI_ARRAY = 15;
/** sh_type: array of pre-initialization function pointers. */
export const SHT_PREINIT_ARRAY = 16;
/** sh_type: section group. */
export const SHT_GROUP = 17;
/** sh_type: extended section indexes for a symbol table (see SHN_XINDEX). */
export const SHT_SYMTAB_SHNDX = 18;
/** sh_type: compact relative relocations. */
export const SHT_RELR = 19;
/** sh_type: LLVM address-significance table. */
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;
/** sh_type: GNU object attributes. */
export const SHT_GNU_ATTRIBUTES = 0x6ffffff5;
/** sh_type: GNU-style symbol hash table. */
export const SHT_GNU_HASH = 0x6ffffff6;
/** sh_type: GNU prelink library list. */
export const SHT_GNU_LIBLIST = 0x6ffffff7;
/** sh_type: symbol versions defined (.gnu.version_d). */
export const SHT_GNU_VERDEF = 0x6ffffffd;
/** sh_type: symbol versions needed (.gnu.version_r). */
export const SHT_GNU_VERNEED = 0x6ffffffe;
/** sh_type: version index of each dynamic symbol (.gnu.version). */
export const SHT_GNU_VERSYM = 0x6fffffff;

// sh_flags
/** sh_flags: writable at run time. */
export const SHF_WRITE = 0x1;
/** sh_flags: occupies memory at run time. */
export const SHF_ALLOC = 0x2;
/** sh_flags: contains executable instructions. */
export const SHF_EXECINSTR = 0x4;
/** sh_flags: elements may be merged to remove duplicates. */
export const SHF_MERGE = 0x10;
/** sh_flags: contains NUL-terminated strings. */
export const SHF_STRINGS = 0x20;
/** sh_flags: sh_info holds a section index. */
export const SHF_INFO_LINK = 0x40;
/** sh_flags: keep ordering relative to the sh_link section. */
export const SHF_LINK_ORDER = 0x80;
/** sh_flags: needs OS-specific handling. */
export const SHF_OS_NONCONFORMING = 0x100;
/** sh_flags: member of a section group. */
export const SHF_GROUP = 0x200;
/** sh_flags: holds thread-local storage. */
export const SHF_TLS = 0x400;
/** sh_flags: contents start with a compression header (Elf64_Chdr). */
export const SHF_COMPRESSED = 0x800;
/** sh_flags: GNU extension, keep the section through linker garbage collection. */
export const SHF_GNU_RETAIN = 0x200000;
/** sh_flags: exclude from the linked output. */
export const SHF_EXCLUDE = 0x80000000;

// ch_type in Elf64_Chdr
/** ch_type in Elf64_Chdr: zlib-compressed contents. */
export const ELFCOMPRESS_ZLIB = 1;
/** ch_type in Elf64_Chdr: zstd-compressed contents. */
export const ELFCOMPRESS_ZSTD = 2;

// p_type
/** p_type: unused program header entry. */
export const PT_NULL = 0;
/** p_type: loadable segment. */
export const PT_LOAD = 1;
/** p_type: dynamic linking information. */
export const PT_DYNAMIC = 2;
/** p_type: path of the program interpreter. */
export const PT_INTERP = 3;
/** p_type: notes. */
export const PT_NOTE = 4;
/** p_type: reserved, unspecified semantics. */
export const PT_SHLIB = 5;
/** p_type: the program header table itself. */
export const PT_PHDR = 6;
/** p_type: thread-local storage template. */
export const PT_TLS = 7;
/** p_type: GNU .eh_frame_hdr unwind table. */
export const PT_GNU_EH_FRAME = 0x6474e550;
/** p_type: GNU stack permissions (its flags say whether the stack is executable). */
export const PT_GNU_STACK = 0x6474e551;
/** p_type: GNU region made read-only after relocation. */
export const PT_GNU_RELRO = 0x6474e552;
/** p_type: GNU property note (.note.gnu.property). */
export const PT_GNU_PROPERTY = 0x6474e553;

// p_flags
/** p_flags: executable segment. */
export const PF_X = 0x1;
/** p_flags: writable segment. */
export const PF_W = 0x2;
/** p_flags: readable segment. */
export const PF_R = 0x4;

// Symbol type (low nibble of st_info)
/** Symbol type (low nibble of st_info): unspecified. */
export const STT_NOTYPE = 0;
/** Symbol type (low nibble of st_info): data object. */
export const STT_OBJECT = 1;
/** Symbol type (low nibble of st_info): function. */
export const STT_FUNC = 2;
/** Symbol type (low nibble of st_info): the section itself. */
export const STT_SECTION = 3;
/** Symbol type (low nibble of st_info): source file name. */
export const STT_FILE = 4;
/** Symbol type (low nibble of st_info): common data object. */
export const STT_COMMON = 5;
/** Symbol type (low nibble of st_info): thread-local data object. */
export const STT_TLS = 6;
/** Symbol type (low nibble of st_info): GNU indirect function. */
export const STT_GNU_IFUNC = 10;

// Symbol binding (high nibble of st_info)
/** Symbol binding (high nibble of st_info): local to the object. */
export const STB_LOCAL = 0;
/** Symbol binding (high nibble of st_info): global. */
export const STB_GLOBAL = 1;
/** Symbol binding (high nibble of st_info): weak global. */
export const STB_WEAK = 2;
/** Symbol binding (high nibble of st_info): GNU unique global. */
export const STB_GNU_UNIQUE = 10;

// Symbol visibility (low two bits of st_other)
/** Symbol visibility (low two bits of st_other): as given by its binding. */
export const STV_DEFAULT = 0;
/** Symbol visibility (low two bits of st_other): internal. */
export const STV_INTERNAL = 1;
/** Symbol visibility (low two bits of st_other): not visible outside its component. */
export const STV_HIDDEN = 2;
/** Symbol visibility (low two bits of st_other): visible but not preemptible. */
export const STV_PROTECTED = 3;

// Note types
/** Note type (owner "GNU"): ABI tag. */
export const NT_GNU_ABI_TAG = 1;
/** Note type (owner "GNU"): build id. */
export const NT_GNU_BUILD_ID = 3;
/** Note type (owner "GNU"): program properties. */
export const NT_GNU_PROPERTY_TYPE_0 = 5;
/** Go's linker writes its build id as a note owned by "Go" with this type. */
export const NT_GO_BUILD_ID = 4;

// BPF relocation types (BPF psABI)
/** BPF relocation type (BPF psABI): none. */
export const R_BPF_NONE = 0;
/** BPF relocation type (BPF psABI): 64-bit immediate of an ld_imm64 instruction. */
export const R_BPF_64_64 = 1;
/** BPF relocation type (BPF psABI): 64-bit absolute data. */
export const R_BPF_64_ABS64 = 2;
/** BPF relocation type (BPF psABI): 32-bit absolute data. */
export const R_BPF_64_ABS32 = 3;
/** BPF relocation type (BPF psABI): 32-bit data not resolved by the dynamic linker (e.g. .BTF.ext). */
export const R_BPF_64_NODYLD32 = 4;
/** BPF relocation type (BPF psABI): 32-bit immediate of a call instruction. */
export const R_BPF_64_32 = 10;

// Fixed record sizes of ELF64 structures
/** Size in bytes of an Elf64_Ehdr (file header). */
export const ELF64_EHDR_SIZE = 64;
/** Size in bytes of an Elf64_Phdr (program header). */
export const ELF64_PHDR_SIZE = 56;
/** Size in bytes of an Elf64_Shdr (section header). */
export const ELF64_SHDR_SIZE = 64;
/** Size in bytes of an Elf64_Sym (symbol table entry). */
export const ELF64_SYM_SIZE = 24;
/** Size in bytes of an Elf64_Rel (relocation without addend). */
export const ELF64_REL_SIZE = 16;
/** Size in bytes of an Elf64_Rela (relocation with addend). */
export const ELF64_RELA_SIZE = 24;
/** Size in bytes of an Elf64_Chdr (compression header). */
export const ELF64_CHDR_SIZE = 24;
