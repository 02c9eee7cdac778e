/*
 * elf.c - the `elf` module of YARA 4.2.3: ELF header fields, sections, segments, the dynamic
 * section, .symtab and .dynsym, for 32/64-bit little and big endian files, plus the ET_, EM_,
 * SHT_, SHF_, PT_, DT_, STT_, STB_ and PF_ constants.
 *
 * Facts reproduced from YARA 4.2.3 (validated against `yara -D`):
 *   - the data must start with "\x7fELF", class 1/2 and data 1/2, and be strictly larger than
 *     the ELF header (52 / 64 bytes); otherwise only the constants are set;
 *   - entry_point is set only when e_entry != 0, as a file offset: through the program headers
 *     for ET_EXEC (vaddr <= rva < vaddr + memsz, 32-bit sums wrap at 32 bits), through the
 *     section headers otherwise (skipping SHT_NULL and SHT_NOBITS); undefined if unmapped;
 *   - sections are listed only when shnum < 0xff00, shstrndx < shnum and the table fits; a name
 *     is set only when the string table offset is non-zero, the name index < file size, the
 *     string table starts with NUL and the name is NUL-terminated inside the file;
 *   - the last SHT_SYMTAB / SHT_DYNSYM whose sh_link (compared with the *raw*, unswapped
 *     e_shnum, as YARA does) names an SHT_STRTAB is used; its entries are listed when both the
 *     symbol table and the string table lie inside the file; a symbol name is set only when
 *     NUL-terminated inside its string table (which must start with NUL);
 *   - segments need 0 < phnum < 0xffff and the table inside the file; each PT_DYNAMIC segment
 *     restarts dynamic[] and lists entries up to and including DT_NULL or the end of the file.
 * Hostile input: all reads are bounds-checked offsets into the data; array sizes are capped at
 * ELF_MAX_ITEMS entries.
 */
#include <string.h>

#include "modules/modutil.h"

#define ELF_MAX_ITEMS 1000000u

typedef struct elf_ctx {
    const uint8_t *d;
    size_t n;
    int be;   /* big endian */
    int b64;  /* 64-bit class */
    ks_object *root;
} elf_ctx;

static uint16_t rd16(const elf_ctx *e, uint64_t off)
{
    const uint8_t *p = e->d + off;
    return e->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const elf_ctx *e, uint64_t off)
{
    const uint8_t *p = e->d + off;
    if (e->be)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t rd64(const elf_ctx *e, uint64_t off)
{
    uint64_t a = rd32(e, off), b = rd32(e, off + 4);
    return e->be ? (a << 32 | b) : (b << 32 | a);
}

/* A class-sized word (Elf32_Addr/Off or Elf64_Addr/Off/Xword). */
static uint64_t rdw(const elf_ctx *e, uint64_t off)
{
    return e->b64 ? rd64(e, off) : rd32(e, off);
}

/* [off, off + len) inside the data? */
static int in_file(const elf_ctx *e, uint64_t off, uint64_t len)
{
    return len <= e->n && off <= e->n - len;
}

/* ---- layout ---- */
#define EH_TYPE 16
#define EH_MACHINE 18
#define EH_ENTRY 24
/* header fields after e_entry, by class */
#define EH_PHOFF(e) ((e)->b64 ? 32u : 28u)
#define EH_SHOFF(e) ((e)->b64 ? 40u : 32u)
#define EH_PHENTSIZE(e) ((e)->b64 ? 54u : 42u)
#define EH_PHNUM(e) ((e)->b64 ? 56u : 44u)
#define EH_SHENTSIZE(e) ((e)->b64 ? 58u : 46u)
#define EH_SHNUM(e) ((e)->b64 ? 60u : 48u)
#define EH_SHSTRNDX(e) ((e)->b64 ? 62u : 50u)
#define EH_SIZE(e) ((e)->b64 ? 64u : 52u)

#define SH_SIZE(e) ((e)->b64 ? 64u : 40u)
/* section header: name 0, type 4, flags 8, addr, offset, size, link */
#define SH_FLAGS 8
#define SH_ADDR(e) ((e)->b64 ? 16u : 12u)
#define SH_OFFSET(e) ((e)->b64 ? 24u : 16u)
#define SH_SIZEF(e) ((e)->b64 ? 32u : 20u)
#define SH_LINK(e) ((e)->b64 ? 40u : 24u)

#define PH_SIZE(e) ((e)->b64 ? 56u : 32u)
#define SYM_SIZE(e) ((e)->b64 ? 24u : 16u)
#define DYN_SIZE(e) ((e)->b64 ? 16u : 8u)

#define ET_EXEC 2
#define SHT_NULL 0
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_NOBITS 8
#define SHT_DYNSYM 11
#define PT_DYNAMIC 2

typedef struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
} phdr;

static void read_phdr(const elf_ctx *e, uint64_t o, phdr *p)
{
    p->type = rd32(e, o);
    if (e->b64) {
        p->flags = rd32(e, o + 4);
        p->offset = rd64(e, o + 8);
        p->vaddr = rd64(e, o + 16);
        p->paddr = rd64(e, o + 24);
        p->filesz = rd64(e, o + 32);
        p->memsz = rd64(e, o + 40);
        p->align = rd64(e, o + 48);
    } else {
        p->offset = rd32(e, o + 4);
        p->vaddr = rd32(e, o + 8);
        p->paddr = rd32(e, o + 12);
        p->filesz = rd32(e, o + 16);
        p->memsz = rd32(e, o + 20);
        p->flags = rd32(e, o + 24);
        p->align = rd32(e, o + 28);
    }
}

/* vaddr + size with the class's arithmetic (wraps at 32 bits for ELF32). */
static uint64_t class_add(const elf_ctx *e, uint64_t a, uint64_t b)
{
    return e->b64 ? a + b : (uint32_t)(a + b);
}

/* YARA's RVA -> file offset; returns 0 and leaves *out unset when unmapped. */
static int rva_to_offset(const elf_ctx *e, uint64_t rva, uint64_t *out)
{
    uint16_t count;
    uint64_t tab, tabsize;
    if (rd16(e, EH_TYPE) == ET_EXEC) {
        count = rd16(e, EH_PHNUM(e));
        tab = rdw(e, EH_PHOFF(e));
        tabsize = (uint64_t)PH_SIZE(e) * count;
        if (UINT64_MAX - tab < tabsize || tab == 0 || tab > e->n || tab + tabsize > e->n ||
            count == 0)
            return 0;
        for (unsigned i = 0; i < count; i++) {
            phdr p;
            read_phdr(e, tab + (uint64_t)i * PH_SIZE(e), &p);
            if (rva >= p.vaddr && rva < class_add(e, p.vaddr, p.memsz)) {
                *out = p.offset + (rva - p.vaddr);
                return 1;
            }
        }
    } else {
        count = rd16(e, EH_SHNUM(e));
        tab = rdw(e, EH_SHOFF(e));
        tabsize = (uint64_t)SH_SIZE(e) * count;
        if (UINT64_MAX - tab < tabsize || tab == 0 || tab > e->n || tab + tabsize > e->n ||
            count == 0)
            return 0;
        for (unsigned i = 0; i < count; i++) {
            uint64_t s = tab + (uint64_t)i * SH_SIZE(e);
            uint32_t type = rd32(e, s + 4);
            uint64_t addr = rdw(e, s + SH_ADDR(e)), size = rdw(e, s + SH_SIZEF(e));
            if (type != SHT_NULL && type != SHT_NOBITS && rva >= addr &&
                rva < class_add(e, addr, size)) {
                *out = rdw(e, s + SH_OFFSET(e)) + (rva - addr);
                return 1;
            }
        }
    }
    return 0;
}

/* YARA's string-table lookup: the table [base, limit) must start with NUL and the entry must
 * be NUL-terminated before limit. Returns the entry's length via *len, or 0 if none. */
static int strtab_entry(const elf_ctx *e, uint64_t base, uint64_t limit, uint32_t index,
                        uint64_t *off, size_t *len)
{
    if (base >= limit || limit > e->n)
        return 0;
    if (e->d[base] != 0)
        return 0;
    if (index > INT32_MAX)
        return 0;
    uint64_t s = base + index;
    if (s >= limit)
        return 0;
    const uint8_t *z = memchr(e->d + s, 0, (size_t)(limit - s));
    if (!z)
        return 0;
    *off = s;
    *len = (size_t)(z - (e->d + s));
    return 1;
}

/* Ignore KS_ELIMIT from the object layer (caps), propagate the rest. */
#define SET(x) do { int rc_ = (x); if (rc_ != 0 && rc_ != KS_ELIMIT) return rc_; } while (0)

/* "<arr>[%d].<field>" as a path format (arr is a fixed literal). */
static const char *symp(char *buf, size_t n, const char *arr, const char *field)
{
    snprintf(buf, n, "%s[%%d].%s", arr, field);
    return buf;
}

static int list_symbols(elf_ctx *e, const char *arr, const char *cnt, uint64_t tab,
                        uint64_t tabsize, uint64_t str, uint64_t strsize)
{
    ks_object *r = e->root;
    char path[64];
    uint64_t nsym = tabsize / SYM_SIZE(e), j;
    for (j = 0; j < nsym && j < ELF_MAX_ITEMS; j++) {
        uint64_t o = tab + j * SYM_SIZE(e), soff;
        uint32_t name = rd32(e, o);
        uint8_t info;
        uint16_t shndx;
        uint64_t value, size;
        size_t slen;
        if (e->b64) {
            info = e->d[o + 4];
            shndx = rd16(e, o + 6);
            value = rd64(e, o + 8);
            size = rd64(e, o + 16);
        } else {
            value = rd32(e, o + 4);
            size = rd32(e, o + 8);
            info = e->d[o + 12];
            shndx = rd16(e, o + 14);
        }
        if (strtab_entry(e, str, str + strsize, name, &soff, &slen))
            SET(obj_set_string(r, e->d + soff, slen, symp(path, sizeof path, arr, "name"), (int)j));
        SET(obj_set_int(r, info >> 4, symp(path, sizeof path, arr, "bind"), (int)j));
        SET(obj_set_int(r, info & 0xf, symp(path, sizeof path, arr, "type"), (int)j));
        SET(obj_set_int(r, shndx, symp(path, sizeof path, arr, "shndx"), (int)j));
        SET(obj_set_int(r, (int64_t)value, symp(path, sizeof path, arr, "value"), (int)j));
        SET(obj_set_int(r, (int64_t)size, symp(path, sizeof path, arr, "size"), (int)j));
    }
    SET(obj_set_int(r, (int64_t)j, cnt));
    return 0;
}

static int parse_elf(elf_ctx *e)
{
    ks_object *r = e->root;
    uint16_t shnum = rd16(e, EH_SHNUM(e)), phnum = rd16(e, EH_PHNUM(e));
    uint16_t shnum_raw = e->be ? (uint16_t)(shnum >> 8 | shnum << 8) : shnum;
    uint16_t shstrndx = rd16(e, EH_SHSTRNDX(e));
    uint64_t shoff = rdw(e, EH_SHOFF(e)), phoff = rdw(e, EH_PHOFF(e));
    uint64_t entry = rdw(e, EH_ENTRY), ep;

    SET(obj_set_int(r, rd16(e, EH_TYPE), "type"));
    SET(obj_set_int(r, rd16(e, EH_MACHINE), "machine"));
    SET(obj_set_int(r, (int64_t)shoff, "sh_offset"));
    SET(obj_set_int(r, rd16(e, EH_SHENTSIZE(e)), "sh_entry_size"));
    SET(obj_set_int(r, shnum, "number_of_sections"));
    SET(obj_set_int(r, (int64_t)phoff, "ph_offset"));
    SET(obj_set_int(r, rd16(e, EH_PHENTSIZE(e)), "ph_entry_size"));
    SET(obj_set_int(r, phnum, "number_of_segments"));
    if (entry != 0 && rva_to_offset(e, entry, &ep))
        SET(obj_set_int(r, (int64_t)ep, "entry_point"));

    if (shnum < 0xff00 && shstrndx < shnum && shoff < e->n &&
        shoff + (uint64_t)shnum * SH_SIZE(e) <= e->n) {
        uint64_t strtab = 0;
        int have_strtab = 0;
        uint64_t sym = 0, symsz = 0, symstr = 0, symstrsz = 0;
        uint64_t dsym = 0, dsymsz = 0, dsymstr = 0, dsymstrsz = 0;
        int have_sym = 0, have_dsym = 0;
        uint64_t o = rdw(e, shoff + (uint64_t)shstrndx * SH_SIZE(e) + SH_OFFSET(e));
        if (o < e->n) {
            strtab = o;
            have_strtab = 1;
        }
        for (unsigned i = 0; i < shnum; i++) {
            uint64_t s = shoff + (uint64_t)i * SH_SIZE(e), soff;
            uint32_t name = rd32(e, s), type = rd32(e, s + 4), link = rd32(e, s + SH_LINK(e));
            size_t slen;
            SET(obj_set_int(r, type, "sections[%d].type", (int)i));
            SET(obj_set_int(r, (int64_t)rdw(e, s + SH_FLAGS), "sections[%d].flags", (int)i));
            SET(obj_set_int(r, (int64_t)rdw(e, s + SH_ADDR(e)), "sections[%d].address", (int)i));
            SET(obj_set_int(r, (int64_t)rdw(e, s + SH_SIZEF(e)), "sections[%d].size", (int)i));
            SET(obj_set_int(r, (int64_t)rdw(e, s + SH_OFFSET(e)), "sections[%d].offset",
                            (int)i));
            if (name < e->n && have_strtab && strtab > 0 &&
                strtab_entry(e, strtab, e->n, name, &soff, &slen))
                SET(obj_set_string(r, e->d + soff, slen, "sections[%d].name", (int)i));
            if ((type == SHT_SYMTAB || type == SHT_DYNSYM) && link < shnum_raw) {
                uint64_t ls = shoff + (uint64_t)link * SH_SIZE(e);
                if (in_file(e, ls, SH_SIZE(e)) && rd32(e, ls + 4) == SHT_STRTAB) {
                    if (type == SHT_SYMTAB) {
                        sym = rdw(e, s + SH_OFFSET(e));
                        symsz = rdw(e, s + SH_SIZEF(e));
                        symstr = rdw(e, ls + SH_OFFSET(e));
                        symstrsz = rdw(e, ls + SH_SIZEF(e));
                        have_sym = 1;
                    } else {
                        dsym = rdw(e, s + SH_OFFSET(e));
                        dsymsz = rdw(e, s + SH_SIZEF(e));
                        dsymstr = rdw(e, ls + SH_OFFSET(e));
                        dsymstrsz = rdw(e, ls + SH_SIZEF(e));
                        have_dsym = 1;
                    }
                }
            }
        }
        if (have_sym && in_file(e, symstr, symstrsz) && in_file(e, sym, symsz)) {
            int rc = list_symbols(e, "symtab", "symtab_entries", sym, symsz, symstr, symstrsz);
            if (rc)
                return rc;
        }
        if (have_dsym && in_file(e, dsymstr, dsymstrsz) && in_file(e, dsym, dsymsz)) {
            int rc = list_symbols(e, "dynsym", "dynsym_entries", dsym, dsymsz, dsymstr,
                                  dsymstrsz);
            if (rc)
                return rc;
        }
    }

    if (phnum > 0 && phnum < 0xffff && phoff < e->n &&
        phoff + (uint64_t)phnum * PH_SIZE(e) <= e->n) {
        for (unsigned i = 0; i < phnum; i++) {
            phdr p;
            read_phdr(e, phoff + (uint64_t)i * PH_SIZE(e), &p);
            SET(obj_set_int(r, p.type, "segments[%d].type", (int)i));
            SET(obj_set_int(r, p.flags, "segments[%d].flags", (int)i));
            SET(obj_set_int(r, (int64_t)p.offset, "segments[%d].offset", (int)i));
            SET(obj_set_int(r, (int64_t)p.vaddr, "segments[%d].virtual_address", (int)i));
            SET(obj_set_int(r, (int64_t)p.paddr, "segments[%d].physical_address", (int)i));
            SET(obj_set_int(r, (int64_t)p.filesz, "segments[%d].file_size", (int)i));
            SET(obj_set_int(r, (int64_t)p.memsz, "segments[%d].memory_size", (int)i));
            SET(obj_set_int(r, (int64_t)p.align, "segments[%d].alignment", (int)i));
            if (p.type == PT_DYNAMIC) {
                uint64_t j = 0, o = p.offset;
                while (j < ELF_MAX_ITEMS && in_file(e, o, DYN_SIZE(e))) {
                    uint64_t tag = rdw(e, o), val = rdw(e, o + DYN_SIZE(e) / 2);
                    SET(obj_set_int(r, (int64_t)tag, "dynamic[%d].type", (int)j));
                    SET(obj_set_int(r, (int64_t)val, "dynamic[%d].val", (int)j));
                    j++;
                    if (tag == 0)
                        break;
                    o += DYN_SIZE(e);
                }
                SET(obj_set_int(r, (int64_t)j, "dynamic_section_entries"));
            }
        }
    }
    return 0;
}

/* ---- declarations and constants ---- */

typedef struct elf_const {
    const char *name;
    int64_t value;
} elf_const;

static const elf_const c_et[] = {
    {"ET_NONE", 0}, {"ET_REL", 1}, {"ET_EXEC", 2}, {"ET_DYN", 3}, {"ET_CORE", 4}, {NULL, 0}};
static const elf_const c_em[] = {
    {"EM_NONE", 0}, {"EM_M32", 1}, {"EM_SPARC", 2}, {"EM_386", 3}, {"EM_68K", 4},
    {"EM_88K", 5}, {"EM_860", 7}, {"EM_MIPS", 8}, {"EM_MIPS_RS3_LE", 10}, {"EM_PPC", 20},
    {"EM_PPC64", 21}, {"EM_ARM", 40}, {"EM_X86_64", 62}, {"EM_AARCH64", 183}, {NULL, 0}};
static const elf_const c_sht[] = {
    {"SHT_NULL", 0}, {"SHT_PROGBITS", 1}, {"SHT_SYMTAB", 2}, {"SHT_STRTAB", 3},
    {"SHT_RELA", 4}, {"SHT_HASH", 5}, {"SHT_DYNAMIC", 6}, {"SHT_NOTE", 7}, {"SHT_NOBITS", 8},
    {"SHT_REL", 9}, {"SHT_SHLIB", 10}, {"SHT_DYNSYM", 11}, {"SHF_WRITE", 1},
    {"SHF_ALLOC", 2}, {"SHF_EXECINSTR", 4}, {NULL, 0}};
static const elf_const c_pt[] = {
    {"PT_NULL", 0}, {"PT_LOAD", 1}, {"PT_DYNAMIC", 2}, {"PT_INTERP", 3}, {"PT_NOTE", 4},
    {"PT_SHLIB", 5}, {"PT_PHDR", 6}, {"PT_TLS", 7}, {"PT_GNU_EH_FRAME", 0x6474e550},
    {"PT_GNU_STACK", 0x6474e551},
    {"DT_NULL", 0}, {"DT_NEEDED", 1}, {"DT_PLTRELSZ", 2}, {"DT_PLTGOT", 3}, {"DT_HASH", 4},
    {"DT_STRTAB", 5}, {"DT_SYMTAB", 6}, {"DT_RELA", 7}, {"DT_RELASZ", 8}, {"DT_RELAENT", 9},
    {"DT_STRSZ", 10}, {"DT_SYMENT", 11}, {"DT_INIT", 12}, {"DT_FINI", 13}, {"DT_SONAME", 14},
    {"DT_RPATH", 15}, {"DT_SYMBOLIC", 16}, {"DT_REL", 17}, {"DT_RELSZ", 18},
    {"DT_RELENT", 19}, {"DT_PLTREL", 20}, {"DT_DEBUG", 21}, {"DT_TEXTREL", 22},
    {"DT_JMPREL", 23}, {"DT_BIND_NOW", 24}, {"DT_INIT_ARRAY", 25}, {"DT_FINI_ARRAY", 26},
    {"DT_INIT_ARRAYSZ", 27}, {"DT_FINI_ARRAYSZ", 28}, {"DT_RUNPATH", 29}, {"DT_FLAGS", 30},
    {"DT_ENCODING", 32},
    {"STT_NOTYPE", 0}, {"STT_OBJECT", 1}, {"STT_FUNC", 2}, {"STT_SECTION", 3},
    {"STT_FILE", 4}, {"STT_COMMON", 5}, {"STT_TLS", 6},
    {"STB_LOCAL", 0}, {"STB_GLOBAL", 1}, {"STB_WEAK", 2},
    {"PF_X", 1}, {"PF_W", 2}, {"PF_R", 4}, {NULL, 0}};

static const elf_const *const const_groups[] = {c_et, c_em, c_sht, c_pt, NULL};

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)

static int decl_consts(ks_object *root, const elf_const *c)
{
    for (; c->name; c++)
        CHECK(obj_decl_int(root, c->name));
    return 0;
}

static int decl_symbols(ks_object *root, const char *cnt, const char *arr)
{
    ks_object *s;
    CHECK(obj_decl_int(root, cnt));
    CHECK(s = obj_decl_array(root, arr, OBJ_STRUCT));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_int(s, "value"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(obj_decl_int(s, "type"));
    CHECK(obj_decl_int(s, "bind"));
    CHECK(obj_decl_int(s, "shndx"));
    return 0;
}

static int elf_declare(ks_object *root)
{
    ks_object *s;
    int rc;
    static const char *const hdr[] = {"type", "machine", "entry_point", "number_of_sections",
                                      "sh_offset", "sh_entry_size", "number_of_segments",
                                      "ph_offset", "ph_entry_size", NULL};
    if ((rc = decl_consts(root, c_et)) || (rc = decl_consts(root, c_em)) ||
        (rc = decl_consts(root, c_sht)))
        return rc;
    for (int k = 0; hdr[k]; k++)
        CHECK(obj_decl_int(root, hdr[k]));
    CHECK(s = obj_decl_array(root, "sections", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "type"));
    CHECK(obj_decl_int(s, "flags"));
    CHECK(obj_decl_int(s, "address"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(obj_decl_int(s, "offset"));
    if ((rc = decl_consts(root, c_pt)))
        return rc;
    CHECK(s = obj_decl_array(root, "segments", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "type"));
    CHECK(obj_decl_int(s, "flags"));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "virtual_address"));
    CHECK(obj_decl_int(s, "physical_address"));
    CHECK(obj_decl_int(s, "file_size"));
    CHECK(obj_decl_int(s, "memory_size"));
    CHECK(obj_decl_int(s, "alignment"));
    CHECK(obj_decl_int(root, "dynamic_section_entries"));
    CHECK(s = obj_decl_array(root, "dynamic", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "type"));
    CHECK(obj_decl_int(s, "val"));
    if ((rc = decl_symbols(root, "symtab_entries", "symtab")) ||
        (rc = decl_symbols(root, "dynsym_entries", "dynsym")))
        return rc;
    return 0;
}

static int elf_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                    size_t mod_data_len)
{
    elf_ctx e;
    for (int g = 0; const_groups[g]; g++)
        for (const elf_const *c = const_groups[g]; c->name; c++)
            SET(obj_set_int(root, c->value, c->name));
    if (!data || size < 16 || memcmp(data, "\x7f" "ELF", 4) != 0)
        return 0;
    if ((data[4] != 1 && data[4] != 2) || (data[5] != 1 && data[5] != 2))
        return 0;
    e.d = data;
    e.n = size;
    e.b64 = data[4] == 2;
    e.be = data[5] == 2;
    e.root = root;
    if (size <= EH_SIZE(&e))
        return 0;
    return parse_elf(&e);
}

const ks_module ks_module_elf = {"elf", elf_declare, elf_load, NULL};
