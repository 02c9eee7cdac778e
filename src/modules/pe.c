/*
 * pe.c - the `pe` module: the declarations of YARA 4.2.3's pe module and the parsing done at
 * load time (headers, data directories, sections, overlay, resources and version info, rich
 * signature, debug directory / pdb_path, imports, delayed imports, exports; Authenticode lives in
 * pe_sig.c, the module functions in pe_fn.c).
 *
 * Facts reproduced from YARA 4.2.3 (checked against `yara -D`):
 *   - declaration order (which fixes -D's print order), including 4.2.3's quirks: the delayed
 *     import array is declared as `delay_import_details` (and never filled), import function
 *     items are indexed by a counter running over all DLLs, and each DLL's number_of_functions
 *     is that running count;
 *   - header validation (MZ, e_lfanew >= 0, "PE\0\0", full optional header present, machine in
 *     YARA's list), rva->offset mapping (FileAlignment rounding capped at 0x200, the section
 *     with the highest VirtualAddress wins, RVAs below the first section map 1:1);
 *   - limits: 96 sections, 16384 imports, 8192 exports, 65536 resources, 3 resource levels.
 * Every read is bounds-checked (pe.h) and loops are capped, so hostile files cannot crash or hang
 * the scan.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modutil.h"
#include "modules/pe.h"

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)
#define CHECK_RC(x) do { int rc_ = (x); if (rc_ != 0) return rc_; } while (0)

/* ------------------------------------------------------------------ header helpers */

static const uint16_t known_machines[] = {
    0x0000, 0x01d3, 0x8664, 0x01c0, 0x01c4, 0xaa64, 0x0ebc, 0x014c, 0x0200, 0x9041, 0x0266,
    0x0366, 0x0466, 0x01f0, 0x01f1, 0x0166, 0x01a2, 0x01a3, 0x01a6, 0x01a8, 0x01c2, 0x0169,
};

int pe_open(pe_file *pe, const uint8_t *d, size_t n)
{
    uint32_t lfanew;
    uint64_t hs;
    uint16_t machine;
    size_t k;
    memset(pe, 0, sizeof *pe);
    pe->d = d;
    pe->n = n;
    pe->budget = PE_WORK_BUDGET;
    if (!d || n < 64 || pe_u16(pe, 0) != 0x5a4d)
        return -1;
    lfanew = pe_u32(pe, 0x3c);
    if ((int32_t)lfanew < 0)
        return -1;
    hs = (uint64_t)lfanew + 4 + 20;
    if (n < hs || pe_u32(pe, lfanew) != 0x00004550)
        return -1;
    if (n < hs + 224)
        return -1;
    pe->nt = lfanew;
    pe->opt = hs;
    pe->is64 = pe_u16(pe, hs) == 0x20b;
    hs += pe->is64 ? 240 : 224;
    if (n < hs)
        return -1;
    machine = (uint16_t)pe_u16(pe, lfanew + 4);
    for (k = 0; k < sizeof known_machines / sizeof known_machines[0]; k++)
        if (known_machines[k] == machine)
            break;
    if (k == sizeof known_machines / sizeof known_machines[0])
        return -1;
    pe->nsec = (uint16_t)pe_u16(pe, lfanew + 6);
    pe->optsize = (uint16_t)pe_u16(pe, lfanew + 20);
    pe->sec = pe->opt + pe->optsize;
    return 0;
}

uint64_t pe_dir_entry(const pe_file *pe, int entry)
{
    uint64_t start = pe->opt + (pe->is64 ? 112 : 96);
    if (entry < 0 || entry >= 16)
        return 0;
    if (start + 8 * (uint64_t)entry <= pe->opt + pe->optsize)
        return start + 8 * (uint64_t)entry;
    return 0;
}

int64_t pe_dir_offset(const pe_file *pe, int entry)
{
    uint64_t de = pe_dir_entry(pe, entry);
    if (!de || pe_u32(pe, de) == 0)
        return -1;
    return pe_rva_to_offset(pe, pe_u32(pe, de));
}

int64_t pe_rva_to_offset(const pe_file *pe, uint64_t rva)
{
    uint32_t lowest = 0xffffffffu, srva = 0, soff = 0, sraw = 0;
    int count = pe->nsec < PE_MAX_SECTIONS ? pe->nsec : PE_MAX_SECTIONS;
    uint64_t s = pe->sec;
    uint32_t falign = pe_u32(pe, pe->opt + 36);
    for (int i = 0; i < count; i++, s += 40) {
        uint32_t va, vs;
        if (!pe_fits(pe, s, 40))
            return -1;
        va = pe_u32(pe, s + 12);
        vs = pe_u32(pe, s + 8);
        if (lowest > va)
            lowest = va;
        if (rva >= va && rva - va < vs && srva <= va) {
            uint32_t align = falign < 0x200 ? falign : 0x200;
            srva = va;
            soff = pe_u32(pe, s + 20);
            sraw = pe_u32(pe, s + 16);
            if (align && soff % align)
                soff -= soff % align;
        }
    }
    if (rva < lowest) {
        srva = 0;
        soff = 0;
        sraw = (uint32_t)pe->n;
    }
    if (rva - srva >= sraw)
        return -1;
    uint64_t res = (uint64_t)soff + (rva - srva);
    if (res >= pe->n)
        return -1;
    return (int64_t)res;
}

/* The parse state of one load(). */
typedef struct pe_load {
    pe_file *pe;
    ks_object *root;
    int64_t resources;
    int64_t version_infos;
    int nomem;
} pe_load;

/* Record an obj_set_* result: only out-of-memory matters (YARA ignores failed sets). */
static void note(pe_load *L, int rc)
{
    if (rc == KS_ENOMEM)
        L->nomem = 1;
}

#define SETI(v, ...) note(L, obj_set_int(L->root, (int64_t)(v), __VA_ARGS__))
#define SETS(p, len, ...) note(L, obj_set_string(L->root, (p), (len), __VA_ARGS__))

static int spend(pe_file *pe, int64_t n)
{
    pe->budget -= n;
    return pe->budget >= 0;
}

/* ------------------------------------------------------------------ wide strings */

/* YARA's wide_string_fits_in_pe: a 0x0000 pair exists at an even distance before the end. */
static int wide_fits(pe_file *pe, uint64_t off)
{
    uint64_t left = pe_avail(pe, off), i = 0;
    while (left >= 2) {
        if (pe->d[off + i] == 0 && pe->d[off + i + 1] == 0)
            return 1;
        left -= 2;
        i += 2;
        if ((i & 0xfff) == 0 && !spend(pe, 1))
            return 0;
    }
    return 0;
}

/* Number of UTF-16 units before the 0x0000 pair (caller checked wide_fits). */
static uint64_t wide_len(const pe_file *pe, uint64_t off)
{
    uint64_t len = 0;
    while (pe_fits(pe, off, 2) && (pe->d[off] || pe->d[off + 1])) {
        off += 2;
        len++;
    }
    return len;
}

/* Compare a UTF-16LE string at off with ASCII s, as YARA's strcmp_w (0 = equal). */
static int wide_cmp(const pe_file *pe, uint64_t off, const char *s)
{
    while (*s && pe_u8(pe, off) == (uint8_t)*s && pe_u8(pe, off + 1) == 0) {
        off += 2;
        s++;
    }
    if (pe_u8(pe, off + 1) != 0)
        return 1;
    return (int)pe_u8(pe, off) - (int)(uint8_t)*s;
}

/* Low bytes of a UTF-16 string into dst (n bytes incl. NUL), stopping at a zero low byte. */
static void wide_copy(const pe_file *pe, char *dst, uint64_t off, size_t n)
{
    size_t k = 0;
    while (n > 1 && pe_fits(pe, off, 1) && pe->d[off] != 0) {
        dst[k++] = (char)pe->d[off];
        n--;
        off += 2;
    }
    dst[k] = 0;
}

/* ------------------------------------------------------------------ resources */

#define ALIGN4(x) (((uint64_t)(x) + 3) & ~(uint64_t)3)

static void parse_version_info(pe_load *L, uint32_t data_rva)
{
    pe_file *pe = L->pe;
    int64_t o = pe_rva_to_offset(pe, data_rva);
    uint64_t vi;
    if (o < 0)
        return;
    vi = (uint64_t)o;
    if (!pe_fits(pe, vi, 6) || !pe_fits(pe, vi + 6, 32) || wide_cmp(pe, vi + 6, "VS_VERSION_INFO"))
        return;
    vi += ALIGN4(6 + 86);
    while (pe_fits(pe, vi + 6, 24) && wide_cmp(pe, vi + 6, "VarFileInfo") == 0 &&
           pe_u16(pe, vi) != 0) {
        vi += ALIGN4(pe_u16(pe, vi));
        if (!spend(pe, 1))
            return;
    }
    while (pe_fits(pe, vi + 6, 30) && wide_cmp(pe, vi + 6, "StringFileInfo") == 0 &&
           pe_u16(pe, vi) != 0) {
        uint64_t st = vi + ALIGN4(6 + 30);
        vi += ALIGN4(pe_u16(pe, vi));
        while (pe_fits(pe, st, 6) && wide_fits(pe, st + 6) && pe_u16(pe, st) != 0 && st < vi) {
            uint64_t str = st + ALIGN4(6 + 2 * (wide_len(pe, st + 6) + 1));
            st += ALIGN4(pe_u16(pe, st));
            while (pe_fits(pe, str, 6) && wide_fits(pe, str + 6) && pe_u16(pe, str) != 0 &&
                   str < st) {
                uint64_t val = str + ALIGN4(6 + 2 * (wide_len(pe, str + 6) + 1));
                if (!spend(pe, 64))
                    return;
                if (wide_fits(pe, val)) {
                    char key[64], value[256];
                    wide_copy(pe, key, str + 6, sizeof key);
                    wide_copy(pe, value, val, sizeof value);
                    if (pe_u16(pe, str + 2) == 0)
                        value[0] = 0;
                    note(L, obj_set_string(L->root, value, strlen(value), "version_info[%s]", key));
                    SETS(key, strlen(key), "version_info_list[%lld].key",
                         (long long)L->version_infos);
                    SETS(value, strlen(value), "version_info_list[%lld].value",
                         (long long)L->version_infos);
                    L->version_infos++;
                }
                str += ALIGN4(pe_u16(pe, str));
            }
        }
    }
}

/* A resource name string (offset of its length word) when the entry is named and the string
 * fits; 0 otherwise. */
static uint64_t rsrc_name(pe_file *pe, uint64_t rsrc, uint32_t name)
{
    uint64_t s;
    if (!(name & 0x80000000u))
        return 0;
    s = rsrc + (name & 0x7fffffffu);
    if (!pe_fits(pe, s, 2) || !pe_fits(pe, s, 2 + 2 * (uint64_t)pe_u16(pe, s)))
        return 0;
    return s;
}

typedef struct rsrc_state {
    int64_t type, id, lang;
} rsrc_state;

static void rsrc_set(pe_load *L, uint64_t str, int64_t v, const char *sfmt, const char *ifmt)
{
    if (str) {
        uint64_t len = 2 * (uint64_t)pe_u16(L->pe, str);
        if (pe_fits(L->pe, str + 2, len))
            SETS(L->pe->d + str + 2, (size_t)len, sfmt, (long long)L->resources);
    } else {
        SETI(v, ifmt, (long long)L->resources);
    }
}

static void collect_resource(pe_load *L, uint64_t entry, rsrc_state *st, uint64_t tstr,
                             uint64_t nstr, uint64_t lstr)
{
    pe_file *pe = L->pe;
    uint32_t rva = pe_u32(pe, entry), size = pe_u32(pe, entry + 4);
    if (L->resources > PE_MAX_RESOURCES)
        return;
    SETI(rva, "resources[%lld].rva", (long long)L->resources);
    SETI(pe_rva_to_offset(pe, rva), "resources[%lld].offset", (long long)L->resources);
    SETI(size, "resources[%lld].length", (long long)L->resources);
    rsrc_set(L, tstr, st->type, "resources[%lld].type_string", "resources[%lld].type");
    rsrc_set(L, nstr, st->id, "resources[%lld].name_string", "resources[%lld].id");
    rsrc_set(L, lstr, st->lang, "resources[%lld].language_string", "resources[%lld].language");
    if (st->type == 16)
        parse_version_info(L, rva);
    L->resources++;
}

/* Returns 1 when the walk must stop (YARA's RESOURCE_ITERATOR_ABORTED). */
static int walk_resources(pe_load *L, uint64_t dir, uint64_t rsrc, int level, rsrc_state *st,
                          uint64_t tstr, uint64_t nstr, uint64_t lstr)
{
    pe_file *pe = L->pe;
    uint32_t named = pe_u16(pe, dir + 12), ids = pe_u16(pe, dir + 14);
    uint64_t entry = dir + 16;
    int aborted = 0;
    if (pe_u32(pe, dir) != 0 || named > 32768 || ids > 32768)
        return 0;
    for (uint32_t i = 0; i < named + ids; i++, entry += 8) {
        uint32_t name, od;
        if (!pe_fits(pe, entry, 8) || !spend(pe, 4))
            return 1;
        name = pe_u32(pe, entry);
        od = pe_u32(pe, entry + 4);
        switch (level) {
        case 0:
            st->type = name;
            tstr = rsrc_name(pe, rsrc, name);
            break;
        case 1:
            st->id = name;
            nstr = rsrc_name(pe, rsrc, name);
            break;
        default:
            st->lang = name;
            lstr = rsrc_name(pe, rsrc, name);
            break;
        }
        if ((od & 0x80000000u) && level < 2) {
            uint64_t sub = rsrc + (od & 0x7fffffffu);
            if (pe_fits(pe, sub, 16))
                aborted = walk_resources(L, sub, rsrc, level + 1, st, tstr, nstr, lstr);
            else
                aborted = 1;
        } else {
            uint64_t de = rsrc + (od & 0x7fffffffu);
            if (pe_fits(pe, de, 16))
                collect_resource(L, de, st, tstr, nstr, lstr);
            else
                aborted = 1;
        }
        if (aborted || L->nomem)
            return 1;
    }
    return 0;
}

static void parse_resources(pe_load *L)
{
    pe_file *pe = L->pe;
    rsrc_state st = {-1, -1, -1};
    int64_t o = pe_dir_offset(pe, 2);
    if (o < 0 || !pe_fits(pe, (uint64_t)o, 16))
        return;
    SETI(pe_u32(pe, (uint64_t)o + 4), "resource_timestamp");
    SETI(pe_u16(pe, (uint64_t)o + 8), "resource_version.major");
    SETI(pe_u16(pe, (uint64_t)o + 10), "resource_version.minor");
    walk_resources(L, (uint64_t)o, (uint64_t)o, 0, &st, 0, 0, 0);
}

/* ------------------------------------------------------------------ headers, sections */

static int c_isprint(int c)
{
    return c >= 0x20 && c < 0x7f;
}

static int c_isdigit(int c)
{
    return c >= '0' && c <= '9';
}

static void parse_header(pe_load *L)
{
    pe_file *pe = L->pe;
    uint64_t nt = pe->nt, opt = pe->opt;
    int is64 = pe->is64;
    uint64_t hi_ofs = 0, hi_siz = 0, last_end;
    int count, dd;
    uint32_t ep = pe_u32(pe, opt + 16);

    SETI(1, "is_pe");
    SETI(pe_u16(pe, nt + 4), "machine");
    SETI(pe->nsec, "number_of_sections");
    SETI(pe_u32(pe, nt + 8), "timestamp");
    SETI(pe_u32(pe, nt + 12), "pointer_to_symbol_table");
    SETI(pe_u32(pe, nt + 16), "number_of_symbols");
    SETI(pe->optsize, "size_of_optional_header");
    SETI(pe_u16(pe, nt + 22), "characteristics");
    SETI(pe_rva_to_offset(pe, ep), "entry_point");
    SETI(ep, "entry_point_raw");
    SETI(is64 ? pe_u64(pe, opt + 24) : pe_u32(pe, opt + 28), "image_base");
    SETI(pe_u32(pe, opt + (is64 ? 108 : 92)), "number_of_rva_and_sizes");
    SETI(pe_u16(pe, opt), "opthdr_magic");
    SETI(pe_u8(pe, opt + 2), "linker_version.major");
    SETI(pe_u8(pe, opt + 3), "linker_version.minor");
    SETI(pe_u32(pe, opt + 4), "size_of_code");
    SETI(pe_u32(pe, opt + 8), "size_of_initialized_data");
    SETI(pe_u32(pe, opt + 12), "size_of_uninitialized_data");
    SETI(pe_u32(pe, opt + 20), "base_of_code");
    if (!is64)
        SETI(pe_u32(pe, opt + 24), "base_of_data");
    SETI(pe_u32(pe, opt + 32), "section_alignment");
    SETI(pe_u32(pe, opt + 36), "file_alignment");
    SETI(pe_u16(pe, opt + 40), "os_version.major");
    SETI(pe_u16(pe, opt + 42), "os_version.minor");
    SETI(pe_u16(pe, opt + 44), "image_version.major");
    SETI(pe_u16(pe, opt + 46), "image_version.minor");
    SETI(pe_u16(pe, opt + 48), "subsystem_version.major");
    SETI(pe_u16(pe, opt + 50), "subsystem_version.minor");
    SETI(pe_u32(pe, opt + 52), "win32_version_value");
    SETI(pe_u32(pe, opt + 56), "size_of_image");
    SETI(pe_u32(pe, opt + 60), "size_of_headers");
    SETI(pe_u32(pe, opt + 64), "checksum");
    SETI(pe_u16(pe, opt + 68), "subsystem");
    SETI(pe_u16(pe, opt + 70), "dll_characteristics");
    if (is64) {
        SETI(pe_u64(pe, opt + 72), "size_of_stack_reserve");
        SETI(pe_u64(pe, opt + 80), "size_of_stack_commit");
        SETI(pe_u64(pe, opt + 88), "size_of_heap_reserve");
        SETI(pe_u64(pe, opt + 96), "size_of_heap_commit");
        SETI(pe_u32(pe, opt + 104), "loader_flags");
    } else {
        SETI(pe_u32(pe, opt + 72), "size_of_stack_reserve");
        SETI(pe_u32(pe, opt + 76), "size_of_stack_commit");
        SETI(pe_u32(pe, opt + 80), "size_of_heap_reserve");
        SETI(pe_u32(pe, opt + 84), "size_of_heap_commit");
        SETI(pe_u32(pe, opt + 88), "loader_flags");
    }

    dd = (int)(pe_u32(pe, opt + (is64 ? 108 : 92)) < 16 ? pe_u32(pe, opt + (is64 ? 108 : 92)) : 16);
    for (int i = 0; i < dd; i++) {
        uint64_t e = opt + (is64 ? 112 : 96) + 8 * (uint64_t)i;
        if (!pe_fits(pe, e, 8))
            break;
        SETI(pe_u32(pe, e), "data_directories[%d].virtual_address", i);
        SETI(pe_u32(pe, e + 4), "data_directories[%d].size", i);
    }

    parse_resources(L);
    SETI(L->resources, "number_of_resources");
    SETI(L->version_infos, "number_of_version_infos");

    count = pe->nsec < PE_MAX_SECTIONS ? pe->nsec : PE_MAX_SECTIONS;
    for (int i = 0; i < count; i++) {
        uint64_t s = pe->sec + 40 * (uint64_t)i;
        char name[9];
        int nl;
        uint64_t end;
        if (!pe_fits(pe, s, 40))
            break;
        memcpy(name, pe->d + s, 8);
        name[8] = 0;
        for (nl = 7; nl >= 0; nl--)
            if (name[nl] != 0)
                break;
        SETS(name, (size_t)(nl + 1), "sections[%d].name", i);
        /* full_name: "/N" names resolve through the COFF string table */
        {
            uint64_t symtab = pe_u32(pe, nt + 12), nsym = pe_u32(pe, nt + 16);
            if (symtab == 0 || name[0] != '/') {
                SETS(name, (size_t)(nl + 1), "sections[%d].full_name", i);
            } else {
                uint64_t idx = 0, str;
                for (int k = 1; k < 8 && c_isdigit((unsigned char)name[k]); k++)
                    idx = idx * 10 + (uint64_t)(name[k] - '0');
                str = symtab + nsym * 18 + idx;
                for (uint64_t len = 0; pe_fits(pe, str, len + 1); len++) {
                    uint8_t c = pe->d[str + len];
                    if (c == 0) {
                        SETS(pe->d + str, (size_t)len, "sections[%d].full_name", i);
                        break;
                    }
                    if (!c_isprint(c) || !spend(pe, 1))
                        break;
                }
            }
        }
        SETI(pe_u32(pe, s + 36), "sections[%d].characteristics", i);
        SETI(pe_u32(pe, s + 16), "sections[%d].raw_data_size", i);
        SETI(pe_u32(pe, s + 20), "sections[%d].raw_data_offset", i);
        SETI(pe_u32(pe, s + 12), "sections[%d].virtual_address", i);
        SETI(pe_u32(pe, s + 8), "sections[%d].virtual_size", i);
        SETI(pe_u32(pe, s + 24), "sections[%d].pointer_to_relocations", i);
        SETI(pe_u32(pe, s + 28), "sections[%d].pointer_to_line_numbers", i);
        SETI(pe_u16(pe, s + 32), "sections[%d].number_of_relocations", i);
        SETI(pe_u16(pe, s + 34), "sections[%d].number_of_line_numbers", i);
        end = (uint64_t)pe_u32(pe, s + 20) + pe_u32(pe, s + 16);
        if (end > hi_ofs + hi_siz) {
            hi_ofs = pe_u32(pe, s + 20);
            hi_siz = pe_u32(pe, s + 16);
        }
    }
    last_end = hi_ofs + hi_siz;
    if (last_end && pe->n > last_end) {
        SETI(last_end, "overlay.offset");
        SETI(pe->n - last_end, "overlay.size");
    } else {
        SETI(0, "overlay.offset");
        SETI(0, "overlay.size");
    }
}

/* ------------------------------------------------------------------ rich signature */

#define RICH_RICH 0x68636952u
#define RICH_DANS 0x536e6144u

static void parse_rich(pe_load *L)
{
    pe_file *pe = L->pe;
    uint32_t nthdr = pe_u32(pe, 0x3c), key = 0, key1;
    int64_t p, rich = -1, sig = -1;
    uint64_t len;
    uint8_t *buf;
    if (pe->n < 64 || pe_u16(pe, 0) != 0x5a4d)
        return;
    if ((uint64_t)nthdr > (uint64_t)pe->n + 4 || nthdr < 4)
        return;
    for (p = (int64_t)nthdr - 4; p >= 64; p -= 4) {
        if (pe_u32(pe, (uint64_t)p) == RICH_RICH) {
            key = pe_u32(pe, (uint64_t)p + 4);
            rich = p;
            p -= 4;
            break;
        }
    }
    if (key == 0)
        return;
    for (; p >= 64; p -= 4) {
        if ((pe_u32(pe, (uint64_t)p) ^ key) == RICH_DANS) {
            sig = p;
            break;
        }
    }
    if (sig < 0)
        return;
    key1 = pe_u32(pe, (uint64_t)sig + 4);
    if (key1 != pe_u32(pe, (uint64_t)sig + 8) || pe_u32(pe, (uint64_t)sig + 8) != pe_u32(pe, (uint64_t)sig + 12) ||
        (pe_u32(pe, (uint64_t)sig) ^ key1) != RICH_DANS)
        return;
    len = (uint64_t)(rich - sig);
    SETI(sig, "rich_signature.offset");
    SETI(len, "rich_signature.length");
    SETI(key1, "rich_signature.key");
    SETS(pe->d + sig, (size_t)len, "rich_signature.raw_data");
    buf = malloc(len ? len : 1);
    if (!buf) {
        L->nomem = 1;
        return;
    }
    memcpy(buf, pe->d + sig, len);
    for (uint64_t k = 0; k + 4 <= len; k += 4) {
        buf[k] ^= (uint8_t)key1;
        buf[k + 1] ^= (uint8_t)(key1 >> 8);
        buf[k + 2] ^= (uint8_t)(key1 >> 16);
        buf[k + 3] ^= (uint8_t)(key1 >> 24);
    }
    SETS(buf, (size_t)len, "rich_signature.clear_data");
    free(buf);
}

/* ------------------------------------------------------------------ debug directory */

static void parse_debug(pe_load *L)
{
    pe_file *pe = L->pe;
    uint64_t de = pe_dir_entry(pe, 6);
    uint32_t size, rva;
    int64_t dir;
    if (!de)
        return;
    size = pe_u32(pe, de + 4);
    rva = pe_u32(pe, de);
    if (size == 0 || size % 28 != 0 || rva == 0)
        return;
    dir = pe_rva_to_offset(pe, rva);
    if (dir < 0)
        return;
    for (uint32_t i = 0; i < size / 28; i++) {
        uint64_t d = (uint64_t)dir + 28 * (uint64_t)i, name = 0;
        int64_t cv = 0;
        uint32_t sig;
        if (!pe_fits(pe, d, 28) || !spend(pe, 1))
            break;
        if (pe_u32(pe, d + 12) != 2)     /* IMAGE_DEBUG_TYPE_CODEVIEW */
            continue;
        if (pe_u32(pe, d + 20) != 0)
            cv = pe_rva_to_offset(pe, pe_u32(pe, d + 20));
        if (cv <= 0 && pe_u32(pe, d + 24) != 0)
            cv = pe_u32(pe, d + 24);
        if (cv <= 0 || !pe_fits(pe, (uint64_t)cv, 8))
            continue;
        sig = pe_u32(pe, (uint64_t)cv);
        if (sig == 0x3031424e) {            /* "NB10" */
            if (pe_fits(pe, (uint64_t)cv, 20))
                name = (uint64_t)cv + 16;
        } else if (sig == 0x53445352) {     /* "RSDS" */
            if (pe_fits(pe, (uint64_t)cv, 28))
                name = (uint64_t)cv + 24;
        } else if (sig == 0x434f544d) {     /* "MTOC" */
            if (pe_fits(pe, (uint64_t)cv, 24))
                name = (uint64_t)cv + 20;
        }
        if (name) {
            uint64_t max = pe_avail(pe, name) < 260 ? pe_avail(pe, name) : 260;
            const void *z = memchr(pe->d + name, 0, (size_t)max);
            uint64_t len = z ? (uint64_t)((const uint8_t *)z - (pe->d + name)) : max;
            if (len > 0 && len < 260) {
                SETS(pe->d + name, (size_t)len, "pdb_path");
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------ imports */

void pe_free_dlls(pe_dll *d)
{
    while (d) {
        pe_dll *nd = d->next;
        pe_func *f = d->funcs;
        while (f) {
            pe_func *nf = f->next;
            free(f->name);
            free(f);
            f = nf;
        }
        free(d->name);
        free(d);
        d = nd;
    }
}

static char *dup_n(const uint8_t *p, size_t max)
{
    const void *z = max ? memchr(p, 0, max) : NULL;
    size_t len = z ? (size_t)((const uint8_t *)z - p) : max;
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, p, len);
        s[len] = 0;
    }
    return s;
}

/* YARA's pe_valid_dll_name: printable-ish, no "*<>?| and NUL-terminated within n. */
static int valid_dll_name(const uint8_t *p, uint64_t n)
{
    uint64_t l = 0;
    while (l < n && p[l] != 0) {
        uint8_t c = p[l];
        if (c < ' ' || c == '"' || c == '*' || c == '<' || c == '>' || c == '?' || c == '|')
            return 0;
        l++;
    }
    return l > 0 && l < n;
}

static pe_func *new_func(char *name, int has_ord, uint16_t ord, int *nomem)
{
    pe_func *f = calloc(1, sizeof *f);
    if (!f) {
        free(name);
        *nomem = 1;
        return NULL;
    }
    f->name = name;
    f->has_ordinal = has_ord;
    f->ordinal = ord;
    return f;
}

static pe_func *parse_thunks(pe_file *pe, uint64_t desc, const char *dll, int64_t *nfuncs,
                             int *nomem)
{
    pe_func *head = NULL, *tail = NULL;
    int64_t off = pe_rva_to_offset(pe, pe_u32(pe, desc));
    unsigned tsz = pe->is64 ? 8 : 4;
    if (off <= 0)
        off = pe_rva_to_offset(pe, pe_u32(pe, desc + 16));
    if (off < 0)
        return NULL;
    for (uint64_t t = (uint64_t)off; pe_fits(pe, t, tsz) && *nfuncs < PE_MAX_IMPORTS; t += tsz) {
        uint64_t v = pe->is64 ? pe_u64(pe, t) : pe_u32(pe, t);
        uint64_t ordflag = pe->is64 ? 0x8000000000000000ull : 0x80000000ull;
        char *name = NULL;
        int has_ord = 0;
        uint16_t ord = 0;
        if (v == 0 || !spend(pe, 1))
            break;
        if (!(v & ordflag)) {
            int64_t o = pe_rva_to_offset(pe, pe->is64 ? v : (uint32_t)v);
            if (o >= 0 && pe_fits(pe, (uint64_t)o, 4)) {
                uint64_t a = pe_avail(pe, (uint64_t)o + 2);
                name = dup_n(pe->d + o + 2, (size_t)(a < 512 ? a : 512));
                if (!name) {
                    *nomem = 1;
                    break;
                }
            }
        } else {
            char buf[64];
            ord = (uint16_t)(v & 0xffff);
            has_ord = 1;
            pe_ord_lookup(dll, ord, buf, sizeof buf);
            name = strdup(buf);
            if (!name) {
                *nomem = 1;
                break;
            }
        }
        if (name || has_ord) {
            pe_func *f = new_func(name, has_ord, ord, nomem);
            if (!f)
                break;
            if (!head)
                head = f;
            else
                tail->next = f;
            tail = f;
            (*nfuncs)++;
        }
    }
    return head;
}

pe_dll *pe_parse_imports(pe_file *pe, int64_t *ndlls, int64_t *nfuncs, int *nomem)
{
    pe_dll *head = NULL, *tail = NULL;
    int64_t nd = 0, nf = 0;
    uint64_t desc;
    int64_t off;
    int parsed = 0;
    if (ndlls)
        *ndlls = 0;
    if (nfuncs)
        *nfuncs = 0;
    off = pe_dir_offset(pe, 1);
    if (off < 0)
        return NULL;
    for (desc = (uint64_t)off; pe_fits(pe, desc, 20) && pe_u32(pe, desc + 12) != 0 &&
                               parsed < PE_MAX_IMPORTS && !*nomem;
         desc += 20) {
        int64_t no;
        parsed++;
        if (!spend(pe, 1))
            break;
        no = pe_rva_to_offset(pe, pe_u32(pe, desc + 12));
        if (no >= 0) {
            const uint8_t *dn = pe->d + no;
            pe_func *funcs;
            char *name;
            if (!valid_dll_name(dn, pe->n - (uint64_t)no))
                continue;
            name = strdup((const char *)dn);
            if (!name) {
                *nomem = 1;
                break;
            }
            funcs = parse_thunks(pe, desc, name, &nf, nomem);
            if (funcs) {
                pe_dll *d = calloc(1, sizeof *d);
                if (!d) {
                    *nomem = 1;
                    free(name);
                    pe_dll tmp = {NULL, funcs, NULL};
                    pe_free_dlls(&tmp);
                    break;
                }
                d->name = name;
                d->funcs = funcs;
                if (!head)
                    head = d;
                else
                    tail->next = d;
                tail = d;
                nd++;
            } else {
                free(name);
            }
        }
    }
    if (ndlls)
        *ndlls = nd;
    if (nfuncs)
        *nfuncs = nf;
    return head;
}

static uint64_t delay_norm(uint64_t base, uint64_t va)
{
    if (va != 0 && va > base)
        va -= base;
    return va;
}

#define PE_UNDEF_PTR UINT64_MAX

static uint64_t delay_ptr(pe_file *pe, uint64_t rva)
{
    int64_t o = pe_rva_to_offset(pe, rva);
    unsigned sz = pe->is64 ? 8 : 4;
    if (o < 0 || !pe_fits(pe, (uint64_t)o, sz))
        return PE_UNDEF_PTR;
    return pe->is64 ? pe_u64(pe, (uint64_t)o) : pe_u32(pe, (uint64_t)o);
}

pe_dll *pe_parse_delayed(pe_file *pe, int64_t *ndlls, int64_t *nfuncs, int *nomem)
{
    pe_dll *head = NULL, *tail = NULL;
    int64_t nd = 0, nf = 0;
    uint64_t desc;
    uint64_t base = pe->is64 ? pe_u64(pe, pe->opt + 24) : pe_u32(pe, pe->opt + 28);
    uint64_t image_size = pe_u32(pe, pe->opt + 56);
    uint64_t psz = pe->is64 ? 8 : 4;
    uint64_t ordmask = pe->is64 ? 0x8000000000000000ull : 0x80000000ull;
    int64_t off;
    if (ndlls)
        *ndlls = 0;
    if (nfuncs)
        *nfuncs = 0;
    off = pe_dir_offset(pe, 13);
    if (off < 0)
        return NULL;
    for (desc = (uint64_t)off; pe_fits(pe, desc, 32) && !*nomem; desc += 32) {
        uint32_t attr = pe_u32(pe, desc), namerva = pe_u32(pe, desc + 4);
        uint32_t iat = pe_u32(pe, desc + 12),int_ = pe_u32(pe, desc + 16);
        int allzero = 1;
        for (int k = 0; k < 32; k++)
            if (pe->d[desc + (uint64_t)k]) {
                allzero = 0;
                break;
            }
        if (allzero || !spend(pe, 1))
            break;
        if (attr > 1)
            break;
        if (!pe->is64 && !attr) {
            namerva = (uint32_t)delay_norm(base, namerva);
            iat = (uint32_t)delay_norm(base, iat);
            int_ = (uint32_t)delay_norm(base, int_);
        }
        if (int_ >= image_size || iat >= image_size || namerva < 64 || int_ < 64)
            break;
        int64_t no = pe_rva_to_offset(pe, namerva);
        if (no < 0 || !valid_dll_name(pe->d + no, pe->n - (uint64_t)no))
            continue;
        pe_dll *d = calloc(1, sizeof *d);
        if (!d || !(d->name = strdup((const char *)pe->d + no))) {
            free(d);
            *nomem = 1;
            break;
        }
        pe_func *ftail = NULL;
        uint64_t nrva = int_, frva = iat;
        for (;;) {
            uint64_t na = delay_ptr(pe, nrva), fa = delay_ptr(pe, frva);
            char *name;
            int has_ord = 0;
            uint16_t ord = 0;
            if (na == PE_UNDEF_PTR || fa == PE_UNDEF_PTR || na == 0 || fa == 0)
                break;
            if (!spend(pe, 1))
                break;
            if (!(na & ordmask)) {
                int64_t o;
                if (!attr)
                    na = delay_norm(base, na);
                o = pe_rva_to_offset(pe, na + 2);
                if (o >= 0) {
                    uint64_t a = pe_avail(pe, (uint64_t)o);
                    name = dup_n(pe->d + o, (size_t)(a < 512 ? a : 512));
                } else {
                    name = strdup("");
                }
            } else {
                char buf[64];
                ord = (uint16_t)(na & 0xffff);
                has_ord = 1;
                pe_ord_lookup(d->name, ord, buf, sizeof buf);
                name = strdup(buf);
            }
            if (!name) {
                *nomem = 1;
                break;
            }
            pe_func *f = new_func(name, has_ord, ord, nomem);
            if (!f)
                break;
            nf++;
            nrva += psz;
            frva += psz;
            if (!d->funcs)
                d->funcs = f;
            else
                ftail->next = f;
            ftail = f;
        }
        nd++;
        if (!head)
            head = d;
        else
            tail->next = d;
        tail = d;
    }
    if (ndlls)
        *ndlls = nd;
    if (nfuncs)
        *nfuncs = nf;
    return head;
}

static void set_imports(pe_load *L)
{
    int64_t nd = 0, nf = 0, fun = 0, k = 0;
    pe_dll *dlls;
    SETI(0, "number_of_imports");
    SETI(0, "number_of_imported_functions");
    dlls = pe_parse_imports(L->pe, &nd, &nf, &L->nomem);
    SETI(nd, "number_of_imports");
    SETI(nf, "number_of_imported_functions");
    /* 4.2.3: the function index runs over all DLLs, and number_of_functions is that count. */
    for (pe_dll *d = dlls; d; d = d->next, k++) {
        for (pe_func *f = d->funcs; f; f = f->next, fun++) {
            SETS(f->name, strlen(f->name), "import_details[%lld].functions[%lld].name",
                 (long long)k, (long long)fun);
            if (f->has_ordinal)
                SETI(f->ordinal, "import_details[%lld].functions[%lld].ordinal", (long long)k,
                     (long long)fun);
        }
        SETS(d->name, strlen(d->name), "import_details[%lld].library_name", (long long)k);
        SETI(fun, "import_details[%lld].number_of_functions", (long long)k);
    }
    pe_free_dlls(dlls);

    SETI(0, "number_of_delayed_imports");
    SETI(0, "number_of_delayed_imported_functions");
    dlls = pe_parse_delayed(L->pe, &nd, &nf, &L->nomem);
    SETI(nd, "number_of_delayed_imports");
    SETI(nf, "number_of_delayed_imported_functions");
    pe_free_dlls(dlls);
}

/* ------------------------------------------------------------------ exports */

static void parse_exports(pe_load *L)
{
    pe_file *pe = L->pe;
    uint64_t de = pe_dir_entry(pe, 0), ex;
    int64_t off, start;
    uint32_t nexp, nnames, base;
    uint64_t esize, names = 0, ords, funcs;
    int have_names = 0;
    int32_t *first = NULL;
    int64_t cnt = 0;

    SETI(0, "number_of_exports");
    if (!de || pe_u32(pe, de) == 0)
        return;
    off = pe_rva_to_offset(pe, pe_u32(pe, de));
    if (off < 0)
        return;
    start = off;
    esize = pe_u32(pe, de + 4);
    ex = (uint64_t)off;
    if (!pe_fits(pe, ex, 40))
        return;
    nexp = pe_u32(pe, ex + 20) < PE_MAX_EXPORTS ? pe_u32(pe, ex + 20) : PE_MAX_EXPORTS;
    base = pe_u32(pe, ex + 16);
    SETI(pe_u32(pe, ex + 4), "export_timestamp");
    off = pe_rva_to_offset(pe, pe_u32(pe, ex + 12));
    if (off > 0) {
        uint64_t rem = pe->n - (uint64_t)off;
        const void *z = memchr(pe->d + off, 0, (size_t)rem);
        SETS(pe->d + off, z ? (size_t)((const uint8_t *)z - (pe->d + off)) : (size_t)rem,
             "dll_name");
    }
    if ((uint64_t)nexp * 4 > (uint64_t)pe->n - (uint64_t)off)
        return;
    if (pe_u32(pe, ex + 24) > 0) {
        off = pe_rva_to_offset(pe, pe_u32(pe, ex + 32));
        if (off < 0)
            return;
        if ((uint64_t)pe_u32(pe, ex + 24) * 4 > (uint64_t)pe->n - (uint64_t)off)
            return;
        names = (uint64_t)off;
        have_names = 1;
    }
    off = pe_rva_to_offset(pe, pe_u32(pe, ex + 36));
    if (off < 0)
        return;
    ords = (uint64_t)off;
    if (pe_avail(pe, ords) < 2 * (uint64_t)nexp)
        return;
    off = pe_rva_to_offset(pe, pe_u32(pe, ex + 28));
    if (off < 0)
        return;
    funcs = (uint64_t)off;
    if (pe_avail(pe, funcs) < 4 * (uint64_t)nexp)
        return;
    nnames = pe_u32(pe, ex + 24) < nexp ? pe_u32(pe, ex + 24) : nexp;

    /* first[i] = smallest j < nnames with ordinals[j] == i (YARA's inner search) */
    if (have_names && nexp) {
        first = malloc(sizeof *first * nexp);
        if (!first) {
            L->nomem = 1;
            return;
        }
        for (uint32_t i = 0; i < nexp; i++)
            first[i] = -1;
        for (uint32_t j = nnames; j-- > 0;) {
            uint32_t o = pe_u16(pe, ords + 2 * (uint64_t)j);
            if (o < nexp)
                first[o] = (int32_t)j;
        }
    }
    for (uint32_t i = 0; i < nexp; i++) {
        uint32_t frva = pe_u32(pe, funcs + 4 * (uint64_t)i);
        int64_t fo = pe_rva_to_offset(pe, frva);
        SETI((uint64_t)base + i, "export_details[%lld].ordinal", (long long)cnt);
        if (fo > start && (uint64_t)fo < (uint64_t)start + esize) {
            uint64_t rem = pe->n - (uint64_t)fo;
            const void *z = memchr(pe->d + fo, 0, (size_t)rem);
            uint64_t len = z ? (uint64_t)((const uint8_t *)z - (pe->d + fo)) : rem;
            SETS(pe->d + fo, (size_t)(len < PE_MAX_EXPORT_NAME ? len : PE_MAX_EXPORT_NAME),
                 "export_details[%lld].forward_name", (long long)cnt);
        } else {
            SETI(fo, "export_details[%lld].offset", (long long)cnt);
        }
        if (first && first[i] >= 0) {
            int64_t no = pe_rva_to_offset(pe, pe_u32(pe, names + 4 * (uint64_t)first[i]));
            if (no > 0) {
                uint64_t rem = pe->n - (uint64_t)no;
                const void *z = memchr(pe->d + no, 0, (size_t)rem);
                uint64_t len = z ? (uint64_t)((const uint8_t *)z - (pe->d + no)) : rem;
                SETS(pe->d + no, (size_t)(len < PE_MAX_EXPORT_NAME ? len : PE_MAX_EXPORT_NAME),
                     "export_details[%lld].name", (long long)cnt);
            }
        }
        cnt++;
        if (L->nomem)
            break;
    }
    free(first);
    SETI(cnt, "number_of_exports");
}

/* ------------------------------------------------------------------ declarations */

static const struct pe_const {
    const char *name;
    int64_t v;
} pe_consts[] = {
    {"MACHINE_UNKNOWN", 0x0}, {"MACHINE_AM33", 0x1d3}, {"MACHINE_AMD64", 0x8664},
    {"MACHINE_ARM", 0x1c0}, {"MACHINE_ARMNT", 0x1c4}, {"MACHINE_ARM64", 0xaa64},
    {"MACHINE_EBC", 0xebc}, {"MACHINE_I386", 0x14c}, {"MACHINE_IA64", 0x200},
    {"MACHINE_M32R", 0x9041}, {"MACHINE_MIPS16", 0x266}, {"MACHINE_MIPSFPU", 0x366},
    {"MACHINE_MIPSFPU16", 0x466}, {"MACHINE_POWERPC", 0x1f0}, {"MACHINE_POWERPCFP", 0x1f1},
    {"MACHINE_R4000", 0x166}, {"MACHINE_SH3", 0x1a2}, {"MACHINE_SH3DSP", 0x1a3},
    {"MACHINE_SH4", 0x1a6}, {"MACHINE_SH5", 0x1a8}, {"MACHINE_THUMB", 0x1c2},
    {"MACHINE_WCEMIPSV2", 0x169}, {"MACHINE_TARGET_HOST", 0x1}, {"MACHINE_R3000", 0x162},
    {"MACHINE_R10000", 0x168}, {"MACHINE_ALPHA", 0x184}, {"MACHINE_SH3E", 0x1a4},
    {"MACHINE_ALPHA64", 0x284}, {"MACHINE_AXP64", 0x284}, {"MACHINE_TRICORE", 0x520},
    {"MACHINE_CEF", 0xcef}, {"MACHINE_CEE", 0xc0ee},
    {"SUBSYSTEM_UNKNOWN", 0}, {"SUBSYSTEM_NATIVE", 1}, {"SUBSYSTEM_WINDOWS_GUI", 2},
    {"SUBSYSTEM_WINDOWS_CUI", 3}, {"SUBSYSTEM_OS2_CUI", 5}, {"SUBSYSTEM_POSIX_CUI", 7},
    {"SUBSYSTEM_NATIVE_WINDOWS", 8}, {"SUBSYSTEM_WINDOWS_CE_GUI", 9},
    {"SUBSYSTEM_EFI_APPLICATION", 10}, {"SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER", 11},
    {"SUBSYSTEM_EFI_RUNTIME_DRIVER", 12}, {"SUBSYSTEM_EFI_ROM_IMAGE", 13}, {"SUBSYSTEM_XBOX", 14},
    {"SUBSYSTEM_WINDOWS_BOOT_APPLICATION", 16},
    {"HIGH_ENTROPY_VA", 0x20}, {"DYNAMIC_BASE", 0x40}, {"FORCE_INTEGRITY", 0x80},
    {"NX_COMPAT", 0x100}, {"NO_ISOLATION", 0x200}, {"NO_SEH", 0x400}, {"NO_BIND", 0x800},
    {"APPCONTAINER", 0x1000}, {"WDM_DRIVER", 0x2000}, {"GUARD_CF", 0x4000},
    {"TERMINAL_SERVER_AWARE", 0x8000},
    {"RELOCS_STRIPPED", 0x1}, {"EXECUTABLE_IMAGE", 0x2}, {"LINE_NUMS_STRIPPED", 0x4},
    {"LOCAL_SYMS_STRIPPED", 0x8}, {"AGGRESIVE_WS_TRIM", 0x10}, {"LARGE_ADDRESS_AWARE", 0x20},
    {"BYTES_REVERSED_LO", 0x80}, {"MACHINE_32BIT", 0x100}, {"DEBUG_STRIPPED", 0x200},
    {"REMOVABLE_RUN_FROM_SWAP", 0x400}, {"NET_RUN_FROM_SWAP", 0x800}, {"SYSTEM", 0x1000},
    {"DLL", 0x2000}, {"UP_SYSTEM_ONLY", 0x4000}, {"BYTES_REVERSED_HI", 0x8000},
    {"IMAGE_DIRECTORY_ENTRY_EXPORT", 0}, {"IMAGE_DIRECTORY_ENTRY_IMPORT", 1},
    {"IMAGE_DIRECTORY_ENTRY_RESOURCE", 2}, {"IMAGE_DIRECTORY_ENTRY_EXCEPTION", 3},
    {"IMAGE_DIRECTORY_ENTRY_SECURITY", 4}, {"IMAGE_DIRECTORY_ENTRY_BASERELOC", 5},
    {"IMAGE_DIRECTORY_ENTRY_DEBUG", 6}, {"IMAGE_DIRECTORY_ENTRY_ARCHITECTURE", 7},
    {"IMAGE_DIRECTORY_ENTRY_COPYRIGHT", 7}, {"IMAGE_DIRECTORY_ENTRY_GLOBALPTR", 8},
    {"IMAGE_DIRECTORY_ENTRY_TLS", 9}, {"IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG", 10},
    {"IMAGE_DIRECTORY_ENTRY_BOUND_IMPORT", 11}, {"IMAGE_DIRECTORY_ENTRY_IAT", 12},
    {"IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT", 13}, {"IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR", 14},
    {"IMAGE_NT_OPTIONAL_HDR32_MAGIC", 0x10b}, {"IMAGE_NT_OPTIONAL_HDR64_MAGIC", 0x20b},
    {"IMAGE_ROM_OPTIONAL_HDR_MAGIC", 0x107},
    {"SECTION_NO_PAD", 0x8}, {"SECTION_CNT_CODE", 0x20}, {"SECTION_CNT_INITIALIZED_DATA", 0x40},
    {"SECTION_CNT_UNINITIALIZED_DATA", 0x80}, {"SECTION_LNK_OTHER", 0x100},
    {"SECTION_LNK_INFO", 0x200}, {"SECTION_LNK_REMOVE", 0x800}, {"SECTION_LNK_COMDAT", 0x1000},
    {"SECTION_NO_DEFER_SPEC_EXC", 0x4000}, {"SECTION_GPREL", 0x8000},
    {"SECTION_MEM_FARDATA", 0x8000}, {"SECTION_MEM_PURGEABLE", 0x20000},
    {"SECTION_MEM_16BIT", 0x20000}, {"SECTION_MEM_LOCKED", 0x40000},
    {"SECTION_MEM_PRELOAD", 0x80000}, {"SECTION_ALIGN_1BYTES", 0x100000},
    {"SECTION_ALIGN_2BYTES", 0x200000}, {"SECTION_ALIGN_4BYTES", 0x300000},
    {"SECTION_ALIGN_8BYTES", 0x400000}, {"SECTION_ALIGN_16BYTES", 0x500000},
    {"SECTION_ALIGN_32BYTES", 0x600000}, {"SECTION_ALIGN_64BYTES", 0x700000},
    {"SECTION_ALIGN_128BYTES", 0x800000}, {"SECTION_ALIGN_256BYTES", 0x900000},
    {"SECTION_ALIGN_512BYTES", 0xa00000}, {"SECTION_ALIGN_1024BYTES", 0xb00000},
    {"SECTION_ALIGN_2048BYTES", 0xc00000}, {"SECTION_ALIGN_4096BYTES", 0xd00000},
    {"SECTION_ALIGN_8192BYTES", 0xe00000}, {"SECTION_ALIGN_MASK", 0xf00000},
    {"SECTION_LNK_NRELOC_OVFL", 0x1000000}, {"SECTION_MEM_DISCARDABLE", 0x2000000},
    {"SECTION_MEM_NOT_CACHED", 0x4000000}, {"SECTION_MEM_NOT_PAGED", 0x8000000},
    {"SECTION_MEM_SHARED", 0x10000000}, {"SECTION_MEM_EXECUTE", 0x20000000},
    {"SECTION_MEM_READ", 0x40000000}, {"SECTION_MEM_WRITE", 0x80000000},
    {"SECTION_SCALE_INDEX", 0x1},
    {"RESOURCE_TYPE_CURSOR", 1}, {"RESOURCE_TYPE_BITMAP", 2}, {"RESOURCE_TYPE_ICON", 3},
    {"RESOURCE_TYPE_MENU", 4}, {"RESOURCE_TYPE_DIALOG", 5}, {"RESOURCE_TYPE_STRING", 6},
    {"RESOURCE_TYPE_FONTDIR", 7}, {"RESOURCE_TYPE_FONT", 8}, {"RESOURCE_TYPE_ACCELERATOR", 9},
    {"RESOURCE_TYPE_RCDATA", 10}, {"RESOURCE_TYPE_MESSAGETABLE", 11},
    {"RESOURCE_TYPE_GROUP_CURSOR", 12}, {"RESOURCE_TYPE_GROUP_ICON", 14},
    {"RESOURCE_TYPE_VERSION", 16}, {"RESOURCE_TYPE_DLGINCLUDE", 17},
    {"RESOURCE_TYPE_PLUGPLAY", 19}, {"RESOURCE_TYPE_VXD", 20}, {"RESOURCE_TYPE_ANICURSOR", 21},
    {"RESOURCE_TYPE_ANIICON", 22}, {"RESOURCE_TYPE_HTML", 23}, {"RESOURCE_TYPE_MANIFEST", 24},
    {"IMAGE_DEBUG_TYPE_UNKNOWN", 0}, {"IMAGE_DEBUG_TYPE_COFF", 1},
    {"IMAGE_DEBUG_TYPE_CODEVIEW", 2}, {"IMAGE_DEBUG_TYPE_FPO", 3}, {"IMAGE_DEBUG_TYPE_MISC", 4},
    {"IMAGE_DEBUG_TYPE_EXCEPTION", 5}, {"IMAGE_DEBUG_TYPE_FIXUP", 6},
    {"IMAGE_DEBUG_TYPE_OMAP_TO_SRC", 7}, {"IMAGE_DEBUG_TYPE_OMAP_FROM_SRC", 8},
    {"IMAGE_DEBUG_TYPE_BORLAND", 9}, {"IMAGE_DEBUG_TYPE_RESERVED10", 10},
    {"IMAGE_DEBUG_TYPE_CLSID", 11}, {"IMAGE_DEBUG_TYPE_VC_FEATURE", 12},
    {"IMAGE_DEBUG_TYPE_POGO", 13}, {"IMAGE_DEBUG_TYPE_ILTCG", 14}, {"IMAGE_DEBUG_TYPE_MPX", 15},
    {"IMAGE_DEBUG_TYPE_REPRO", 16},
};

static int decl_ints(ks_object *o, const char *const *names)
{
    for (; *names; names++)
        CHECK(obj_decl_int(o, *names));
    return 0;
}

static int decl_major_minor(ks_object *root, const char *name)
{
    ks_object *s;
    CHECK(s = obj_decl_struct(root, name));
    CHECK(obj_decl_int(s, "major"));
    CHECK(obj_decl_int(s, "minor"));
    return 0;
}

static int pe_declare(ks_object *root)
{
    ks_object *s, *f;
    static const char *const hdr1[] = {
        "is_pe", "machine", "number_of_sections", "timestamp", "pointer_to_symbol_table",
        "number_of_symbols", "size_of_optional_header", "characteristics", "entry_point",
        "entry_point_raw", "image_base", "number_of_rva_and_sizes", "number_of_version_infos",
        NULL};
    static const char *const hdr2[] = {
        "opthdr_magic", "size_of_code", "size_of_initialized_data", "size_of_uninitialized_data",
        "base_of_code", "base_of_data", "section_alignment", "file_alignment", NULL};
    static const char *const hdr3[] = {"win32_version_value", "size_of_image", "size_of_headers",
                                       "checksum", "subsystem", "dll_characteristics",
                                       "size_of_stack_reserve", "size_of_stack_commit",
                                       "size_of_heap_reserve", "size_of_heap_commit",
                                       "loader_flags", NULL};
    static const char *const sect_ints[] = {
        "characteristics", "virtual_address", "virtual_size", "raw_data_offset", "raw_data_size",
        "pointer_to_relocations", "pointer_to_line_numbers", "number_of_relocations",
        "number_of_line_numbers", NULL};
    static const char *const counts[] = {
        "number_of_imports", "number_of_imported_functions", "number_of_delayed_imports",
        "number_of_delayed_imported_functions", "number_of_exports", NULL};
    static const char *const cert_str1[] = {"thumbprint", "issuer", "subject", NULL};
    static const char *const cert_str2[] = {"algorithm", "algorithm_oid", "serial", NULL};

    for (size_t k = 0; k < sizeof pe_consts / sizeof pe_consts[0]; k++)
        CHECK(obj_decl_int(root, pe_consts[k].name));
    CHECK_RC(decl_ints(root, hdr1));
    CHECK(obj_decl_dict(root, "version_info", OBJ_STRING));
    CHECK(s = obj_decl_array(root, "version_info_list", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "key"));
    CHECK(obj_decl_string(s, "value"));
    CHECK_RC(decl_ints(root, hdr2));
    CHECK_RC(decl_major_minor(root, "linker_version"));
    CHECK_RC(decl_major_minor(root, "os_version"));
    CHECK_RC(decl_major_minor(root, "image_version"));
    CHECK_RC(decl_major_minor(root, "subsystem_version"));
    CHECK_RC(decl_ints(root, hdr3));
    CHECK(s = obj_decl_array(root, "data_directories", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "virtual_address"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(s = obj_decl_array(root, "sections", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_string(s, "full_name"));
    CHECK_RC(decl_ints(s, sect_ints));
    CHECK(s = obj_decl_struct(root, "overlay"));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(s = obj_decl_struct(root, "rich_signature"));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "length"));
    CHECK(obj_decl_int(s, "key"));
    CHECK(obj_decl_string(s, "raw_data"));
    CHECK(obj_decl_string(s, "clear_data"));
    CHECK_RC(pe_declare_rich_functions(s));
    CHECK(obj_decl_int(root, "IMPORT_DELAYED"));
    CHECK(obj_decl_int(root, "IMPORT_STANDARD"));
    CHECK(obj_decl_int(root, "IMPORT_ANY"));
    CHECK_RC(pe_declare_functions(root));
    CHECK_RC(decl_ints(root, counts));
    CHECK(obj_decl_string(root, "dll_name"));
    CHECK(obj_decl_int(root, "export_timestamp"));
    CHECK(s = obj_decl_array(root, "export_details", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_string(s, "forward_name"));
    CHECK(obj_decl_int(s, "ordinal"));
    CHECK(s = obj_decl_array(root, "import_details", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "library_name"));
    CHECK(obj_decl_int(s, "number_of_functions"));
    CHECK(f = obj_decl_array(s, "functions", OBJ_STRUCT));
    CHECK(obj_decl_string(f, "name"));
    CHECK(obj_decl_int(f, "ordinal"));
    CHECK(s = obj_decl_array(root, "delay_import_details", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "library_name"));
    CHECK(f = obj_decl_array(s, "functions", OBJ_STRUCT));
    CHECK(obj_decl_string(f, "name"));
    CHECK(obj_decl_int(f, "ordinal"));
    CHECK(obj_decl_int(root, "resource_timestamp"));
    CHECK_RC(decl_major_minor(root, "resource_version"));
    CHECK(s = obj_decl_array(root, "resources", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "rva"));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "length"));
    CHECK(obj_decl_int(s, "type"));
    CHECK(obj_decl_int(s, "id"));
    CHECK(obj_decl_int(s, "language"));
    CHECK(obj_decl_string(s, "type_string"));
    CHECK(obj_decl_string(s, "name_string"));
    CHECK(obj_decl_string(s, "language_string"));
    CHECK(obj_decl_int(root, "number_of_resources"));
    CHECK(obj_decl_string(root, "pdb_path"));
    CHECK(s = obj_decl_array(root, "signatures", OBJ_STRUCT));
    for (int k = 0; cert_str1[k]; k++)
        CHECK(obj_decl_string(s, cert_str1[k]));
    CHECK(obj_decl_int(s, "version"));
    for (int k = 0; cert_str2[k]; k++)
        CHECK(obj_decl_string(s, cert_str2[k]));
    CHECK(obj_decl_int(s, "not_before"));
    CHECK(obj_decl_int(s, "not_after"));
    CHECK_RC(obj_decl_func(s, "valid_on", "i", 'i', pe_fn_valid_on));
    CHECK(obj_decl_int(root, "number_of_signatures"));
    return 0;
}

static int pe_load_fn(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                      size_t mod_data_len)
{
    pe_file pe;
    pe_load L;
    int rc;
    memset(&L, 0, sizeof L);
    L.root = root;
    L.pe = &pe;
    /* the constants: set on the first load, kept by the scanner's resets (~150 name lookups
     * a file otherwise) */
    if (!obj_is_defined(obj_field(root, "IMPORT_ANY"))) {
        for (size_t k = 0; k < sizeof pe_consts / sizeof pe_consts[0]; k++)
            CHECK_RC(obj_set_const_int(root, pe_consts[k].v, pe_consts[k].name));
        CHECK_RC(obj_set_const_int(root, PE_IMPORT_DELAYED, "IMPORT_DELAYED"));
        CHECK_RC(obj_set_const_int(root, PE_IMPORT_STANDARD, "IMPORT_STANDARD"));
        CHECK_RC(obj_set_const_int(root, PE_IMPORT_ANY, "IMPORT_ANY"));
    }
    CHECK_RC(obj_set_int(root, 0, "is_pe"));
    if (pe_open(&pe, data, size) != 0)
        return 0;
    L.pe = &pe;
    parse_header(&L);
    parse_rich(&L);
    parse_debug(&L);
    rc = pe_parse_certificates(&pe, root);
    if (rc == KS_ENOMEM)
        return rc;
    set_imports(&L);
    parse_exports(&L);
    return L.nomem ? KS_ENOMEM : 0;
}

const ks_module ks_module_pe = {"pe", pe_declare, pe_load_fn, NULL};
