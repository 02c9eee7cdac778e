/*
 * macho.c - the `macho` module of YARA 4.2.3: Mach-O header, segments with their sections,
 * entry point and stack size, for thin files (32/64-bit, either byte order) and fat (universal)
 * files (fat_arch[] plus one parsed file[] entry per architecture), the MH_, CPU_, S_, SG_
 * constants, and file_index_for_arch() / entry_point_for_arch().
 *
 * Facts reproduced from YARA 4.2.3 (validated against `yara -D`):
 *   - the first 4 bytes, read little endian, select the format: MH_MAGIC/MH_CIGAM(_64) thin,
 *     FAT_MAGIC/FAT_CIGAM(_64) fat; `magic` is that little-endian value; a thin file is 32-bit
 *     when byte 0 or byte 3 is 0xce, and byte-swapped when the magic is a *_CIGAM value;
 *   - a thin file needs at least 32 bytes (the 64-bit header size) even when 32-bit; `reserved`
 *     is set only for 64-bit headers;
 *   - load commands are walked twice (segments first, then LC_UNIXTHREAD / LC_MAIN), stopping at
 *     the first command that does not fit or has cmdsize < 8; a segment command whose remaining
 *     data is shorter than the segment header still counts in number_of_segments but sets
 *     nothing; sections are listed while they fit in the segment's cmdsize;
 *   - LC_MAIN sets entry_point = entryoff and stack_size (the remaining data must hold 24 bytes);
 *     LC_UNIXTHREAD takes the PC of the thread state for the header's cputype (68k, 88k, SPARC,
 *     PowerPC(64), x86(_64), ARM(64)), bounded by min(remaining, cmdsize read *unswapped*), and
 *     maps it to a file offset through the segments (undefined segment values count as YARA's
 *     UNDEFINED constant 0xFFFABADAFABADAFF, as yr_get_integer returns);
 *   - fat headers are big endian; byte 3 == 0xbe means 20-byte fat_arch entries, else 32-byte;
 *     the entries are listed only if all fit; file[i] exists for entries whose offset + size
 *     lies in the data (even when too small to parse);
 *   - entry_point_for_arch() returns fat_arch[i].offset + file[i].entry_point even when the
 *     entry point is undefined (offset + 0xFFFABADAFABADAFF, a defined meaningless value);
 *   - any integer equal to 0xFFFABADAFABADAFF is undefined (it is YARA's UNDEFINED).
 * Hostile input: all reads are bounds-checked; the total number of load commands walked over
 * all files is capped at MACHO_MAX_COMMANDS (fat files may point every arch at the same data).
 */
#include <string.h>

#include "modules/modutil.h"

#define MACHO_UNDEF 0xFFFABADAFABADAFFULL
#define MACHO_MAX_COMMANDS 4000000u

#define MH_MAGIC 0xfeedfaceu
#define MH_CIGAM 0xcefaedfeu
#define MH_MAGIC_64 0xfeedfacfu
#define MH_CIGAM_64 0xcffaedfeu
#define FAT_MAGIC 0xcafebabeu
#define FAT_CIGAM 0xbebafecau
#define FAT_MAGIC_64 0xcafebabfu
#define FAT_CIGAM_64 0xbfbafecau

#define LC_SEGMENT 0x1u
#define LC_UNIXTHREAD 0x5u
#define LC_SEGMENT_64 0x19u
#define LC_MAIN 0x80000028u

typedef struct macho_ctx {
    const uint8_t *d;     /* this (sub)file */
    size_t n;
    int swap;             /* big-endian fields */
    ks_object *obj;       /* root, or file[i] */
    uint64_t budget;      /* load commands left */
    int err;              /* first KS_ENOMEM seen */
} macho_ctx;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Fields of the (sub)file in its byte order; callers check bounds. */
static uint32_t rd32(const macho_ctx *m, size_t off)
{
    return m->swap ? be32(m->d + off) : le32(m->d + off);
}

static uint64_t rd64(const macho_ctx *m, size_t off)
{
    uint64_t a = rd32(m, off), b = rd32(m, off + 4);
    return m->swap ? (a << 32 | b) : (b << 32 | a);
}

/* Set an integer unless it is YARA's UNDEFINED value; remember out-of-memory. */
#define SETI(m, v, ...)                                                                      \
    do {                                                                                     \
        uint64_t v_ = (uint64_t)(v);                                                         \
        if (v_ != MACHO_UNDEF) {                                                             \
            int rc_ = obj_set_int((m)->obj, (int64_t)v_, __VA_ARGS__);                       \
            if (rc_ == KS_ENOMEM && !(m)->err)                                               \
                (m)->err = rc_;                                                              \
        }                                                                                    \
    } while (0)

#define SETS(m, p, len, ...)                                                                 \
    do {                                                                                     \
        int rc_ = obj_set_string((m)->obj, (p), (len), __VA_ARGS__);                         \
        if (rc_ == KS_ENOMEM && !(m)->err)                                                   \
            (m)->err = rc_;                                                                  \
    } while (0)

/* yr_get_integer: the value, or YARA's UNDEFINED constant. */
static uint64_t geti(ks_object *o, const char *path, int i)
{
    int def = 0;
    int64_t v = obj_get_int(o, &def, path, i);
    return def ? (uint64_t)v : MACHO_UNDEF;
}

static uint64_t geti0(ks_object *o, const char *path)
{
    int def = 0;
    int64_t v = obj_get_int(o, &def, path);
    return def ? (uint64_t)v : MACHO_UNDEF;
}

static size_t name16(const uint8_t *p)
{
    size_t k = 0;
    while (k < 16 && p[k])
        k++;
    return k;
}

/* ---- segments ---- */

static void segment(macho_ctx *m, size_t off, size_t rem, int i, int b64)
{
    size_t hsz = b64 ? 72 : 56, ssz = b64 ? 80 : 68;
    if (rem < hsz)
        return;
    const uint8_t *p = m->d + off;
    uint32_t cmdsize = rd32(m, off + 4), nsects;
    SETS(m, p + 8, name16(p + 8), "segments[%d].segname", i);
    if (b64) {
        SETI(m, rd64(m, off + 24), "segments[%d].vmaddr", i);
        SETI(m, rd64(m, off + 32), "segments[%d].vmsize", i);
        SETI(m, rd64(m, off + 40), "segments[%d].fileoff", i);
        SETI(m, rd64(m, off + 48), "segments[%d].fsize", i);
        SETI(m, rd32(m, off + 56), "segments[%d].maxprot", i);
        SETI(m, rd32(m, off + 60), "segments[%d].initprot", i);
        nsects = rd32(m, off + 64);
        SETI(m, nsects, "segments[%d].nsects", i);
        SETI(m, rd32(m, off + 68), "segments[%d].flags", i);
    } else {
        SETI(m, rd32(m, off + 24), "segments[%d].vmaddr", i);
        SETI(m, rd32(m, off + 28), "segments[%d].vmsize", i);
        SETI(m, rd32(m, off + 32), "segments[%d].fileoff", i);
        SETI(m, rd32(m, off + 36), "segments[%d].fsize", i);
        SETI(m, rd32(m, off + 40), "segments[%d].maxprot", i);
        SETI(m, rd32(m, off + 44), "segments[%d].initprot", i);
        nsects = rd32(m, off + 48);
        SETI(m, nsects, "segments[%d].nsects", i);
        SETI(m, rd32(m, off + 52), "segments[%d].flags", i);
    }
    uint64_t parsed = hsz;
    for (uint32_t j = 0; j < nsects; j++) {
        parsed += ssz;
        if (cmdsize < parsed)   /* cmdsize <= rem was checked by the caller */
            break;
        size_t s = off + hsz + (size_t)j * ssz;
        const uint8_t *q = m->d + s;
        int jj = (int)j;
        SETS(m, q + 16, name16(q + 16), "segments[%d].sections[%d].segname", i, jj);
        SETS(m, q, name16(q), "segments[%d].sections[%d].sectname", i, jj);
        if (b64) {
            SETI(m, rd64(m, s + 32), "segments[%d].sections[%d].addr", i, jj);
            SETI(m, rd64(m, s + 40), "segments[%d].sections[%d].size", i, jj);
            s += 48;
        } else {
            SETI(m, rd32(m, s + 32), "segments[%d].sections[%d].addr", i, jj);
            SETI(m, rd32(m, s + 36), "segments[%d].sections[%d].size", i, jj);
            s += 40;
        }
        SETI(m, rd32(m, s), "segments[%d].sections[%d].offset", i, jj);
        SETI(m, rd32(m, s + 4), "segments[%d].sections[%d].align", i, jj);
        SETI(m, rd32(m, s + 8), "segments[%d].sections[%d].reloff", i, jj);
        SETI(m, rd32(m, s + 12), "segments[%d].sections[%d].nreloc", i, jj);
        SETI(m, rd32(m, s + 16), "segments[%d].sections[%d].flags", i, jj);
        SETI(m, rd32(m, s + 20), "segments[%d].sections[%d].reserved1", i, jj);
        SETI(m, rd32(m, s + 24), "segments[%d].sections[%d].reserved2", i, jj);
        if (b64)
            SETI(m, rd32(m, s + 28), "segments[%d].sections[%d].reserved3", i, jj);
    }
}

/* ---- entry point ---- */

static int rva_to_offset(macho_ctx *m, uint64_t addr, uint64_t *out)
{
    uint64_t count = geti0(m->obj, "number_of_segments");
    for (uint64_t i = 0; i < count && i < INT32_MAX; i++) {
        uint64_t start = geti(m->obj, "segments[%d].vmaddr", (int)i);
        uint64_t end = start + geti(m->obj, "segments[%d].vmsize", (int)i);
        if (addr >= start && addr < end) {
            *out = geti(m->obj, "segments[%d].fileoff", (int)i) + (addr - start);
            return 1;
        }
    }
    return 0;
}

#define CPU_TYPE_MC680X0 0x6u
#define CPU_TYPE_X86 0x7u
#define CPU_TYPE_X86_64 0x01000007u
#define CPU_TYPE_ARM 0xcu
#define CPU_TYPE_ARM64 0x0100000cu
#define CPU_TYPE_MC88000 0xdu
#define CPU_TYPE_SPARC 0xeu
#define CPU_TYPE_POWERPC 0x12u
#define CPU_TYPE_POWERPC64 0x01000012u

static void unixthread(macho_ctx *m, size_t off, size_t rem)
{
    if (rem < 16)
        return;
    /* YARA bounds the command by its cmdsize read in host (little-endian) order */
    uint64_t csz = le32(m->d + off + 4);
    if (csz > rem)
        csz = rem;
    if (csz < 16)
        return;
    uint64_t tss = csz - 16;
    size_t ts = off + 16;
    size_t need, pc;
    int b64 = 0;
    switch (geti0(m->obj, "cputype")) {
    case CPU_TYPE_MC680X0: need = 72; pc = 68; break;
    case CPU_TYPE_MC88000: need = 136; pc = 124; break;
    case CPU_TYPE_SPARC: need = 76; pc = 4; break;
    case CPU_TYPE_POWERPC: need = 160; pc = 0; break;
    case CPU_TYPE_X86: need = 64; pc = 40; break;
    case CPU_TYPE_ARM: need = 68; pc = 60; break;
    case CPU_TYPE_X86_64: need = 168; pc = 128; b64 = 1; break;
    case CPU_TYPE_ARM64: need = 272; pc = 256; b64 = 1; break;
    case CPU_TYPE_POWERPC64: need = 304; pc = 0; b64 = 1; break;
    default: return;
    }
    if (tss < need)
        return;
    uint64_t addr = b64 ? rd64(m, ts + pc) : rd32(m, ts + pc), ep;
    if (rva_to_offset(m, addr, &ep))
        SETI(m, ep, "entry_point");
}

static void lc_main(macho_ctx *m, size_t off, size_t rem)
{
    if (rem < 24)
        return;
    SETI(m, rd64(m, off + 8), "entry_point");
    SETI(m, rd64(m, off + 16), "stack_size");
}

/* ---- files ---- */

static int is_thin(uint32_t magic)
{
    return magic == MH_MAGIC || magic == MH_CIGAM || magic == MH_MAGIC_64 ||
           magic == MH_CIGAM_64;
}

static int is_fat(uint32_t magic)
{
    return magic == FAT_MAGIC || magic == FAT_CIGAM || magic == FAT_MAGIC_64 ||
           magic == FAT_CIGAM_64;
}

/* Walk the load commands; pass 1 = segments, pass 2 = entry point. Returns segments seen. */
static uint64_t walk(macho_ctx *m, size_t hsz, uint32_t ncmds, int pass)
{
    size_t off = hsz;
    uint64_t segs = 0;
    for (uint32_t i = 0; i < ncmds; i++) {
        if (m->budget == 0)
            break;
        m->budget--;
        if (m->n - off < 8)
            break;
        uint32_t cmd = rd32(m, off), cmdsize = rd32(m, off + 4);
        if (m->n - off < cmdsize || cmdsize < 8)
            break;
        if (pass == 1 && (cmd == LC_SEGMENT || cmd == LC_SEGMENT_64)) {
            if (segs < INT32_MAX)
                segment(m, off, m->n - off, (int)segs, cmd == LC_SEGMENT_64);
            segs++;
        } else if (pass == 2 && cmd == LC_UNIXTHREAD) {
            unixthread(m, off, m->n - off);
        } else if (pass == 2 && cmd == LC_MAIN) {
            lc_main(m, off, m->n - off);
        }
        off += cmdsize;
    }
    return segs;
}

static void parse_file(macho_ctx *m)
{
    if (m->n < 32)
        return;
    const uint8_t *d = m->d;
    uint32_t magic = le32(d);
    int is32 = d[0] == 0xce || d[3] == 0xce;
    size_t hsz = is32 ? 28 : 32;
    m->swap = magic == MH_CIGAM || magic == MH_CIGAM_64 || magic == FAT_CIGAM ||
              magic == FAT_CIGAM_64;
    uint32_t ncmds = rd32(m, 16);
    SETI(m, magic, "magic");
    SETI(m, rd32(m, 4), "cputype");
    SETI(m, rd32(m, 8), "cpusubtype");
    SETI(m, rd32(m, 12), "filetype");
    SETI(m, ncmds, "ncmds");
    SETI(m, rd32(m, 20), "sizeofcmds");
    SETI(m, rd32(m, 24), "flags");
    if (!is32)
        SETI(m, rd32(m, 28), "reserved");
    uint64_t segs = walk(m, hsz, ncmds, 1);
    SETI(m, segs, "number_of_segments");
    walk(m, hsz, ncmds, 2);
}

static void parse_fat(macho_ctx *top)
{
    const uint8_t *d = top->d;
    size_t n = top->n;
    if (n < 8)
        return;
    SETI(top, be32(d), "fat_magic");
    uint32_t count = be32(d + 4);
    SETI(top, count, "nfat_arch");
    int is32 = d[3] == 0xbe;
    uint64_t asz = is32 ? 20 : 32;
    if ((uint64_t)n < 8 + (uint64_t)count * asz)
        return;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *a = d + 8 + (uint64_t)i * asz;
        uint64_t off, size, align;
        int ii = (int)i;
        if (is32) {
            off = be32(a + 8);
            size = be32(a + 12);
            align = be32(a + 16);
        } else {
            off = be64(a + 8);
            size = be64(a + 16);
            align = be32(a + 24);
        }
        SETI(top, be32(a), "fat_arch[%d].cputype", ii);
        SETI(top, be32(a + 4), "fat_arch[%d].cpusubtype", ii);
        SETI(top, off, "fat_arch[%d].offset", ii);
        SETI(top, size, "fat_arch[%d].size", ii);
        SETI(top, align, "fat_arch[%d].align", ii);
        if (off + size < off || n < off + size)
            continue;
        /* Create file[i] even if nothing below gets set (YARA sets file[i].magic to
         * UNDEFINED): a type-mismatched set resolves, and so creates, the item. */
        (void)obj_set_string(top->obj, NULL, 0, "file[%d].magic", ii);
        ks_object *f = obj_lookup(top->obj, "file[%d]", ii);
        if (!f) {
            if (!top->err)
                top->err = KS_ENOMEM;
            continue;
        }
        macho_ctx sub = {d + off, (size_t)size, 0, f, top->budget, 0};
        parse_file(&sub);
        top->budget = sub.budget;
        if (sub.err && !top->err)
            top->err = sub.err;
    }
}

/* ---- constants ---- */

typedef struct macho_const {
    const char *name;
    uint32_t value;
} macho_const;

static const macho_const consts[] = {
    {"MH_MAGIC", MH_MAGIC}, {"MH_CIGAM", MH_CIGAM}, {"MH_MAGIC_64", MH_MAGIC_64},
    {"MH_CIGAM_64", MH_CIGAM_64}, {"FAT_MAGIC", FAT_MAGIC}, {"FAT_CIGAM", FAT_CIGAM},
    {"FAT_MAGIC_64", FAT_MAGIC_64}, {"FAT_CIGAM_64", FAT_CIGAM_64},
    {"CPU_ARCH_ABI64", 0x01000000u}, {"CPU_SUBTYPE_LIB64", 0x80000000u},
    {"CPU_TYPE_MC680X0", 0x6}, {"CPU_TYPE_X86", 0x7}, {"CPU_TYPE_I386", 0x7},
    {"CPU_TYPE_X86_64", 0x01000007u}, {"CPU_TYPE_MIPS", 0x8}, {"CPU_TYPE_MC98000", 0xa},
    {"CPU_TYPE_ARM", 0xc}, {"CPU_TYPE_ARM64", 0x0100000cu}, {"CPU_TYPE_MC88000", 0xd},
    {"CPU_TYPE_SPARC", 0xe}, {"CPU_TYPE_POWERPC", 0x12}, {"CPU_TYPE_POWERPC64", 0x01000012u},
    {"CPU_SUBTYPE_INTEL_MODEL_ALL", 0}, {"CPU_SUBTYPE_386", 3}, {"CPU_SUBTYPE_I386_ALL", 3},
    {"CPU_SUBTYPE_X86_64_ALL", 3}, {"CPU_SUBTYPE_486", 4}, {"CPU_SUBTYPE_486SX", 0x84},
    {"CPU_SUBTYPE_586", 5}, {"CPU_SUBTYPE_PENT", 5}, {"CPU_SUBTYPE_PENTPRO", 0x16},
    {"CPU_SUBTYPE_PENTII_M3", 0x36}, {"CPU_SUBTYPE_PENTII_M5", 0x56},
    {"CPU_SUBTYPE_CELERON", 0x67}, {"CPU_SUBTYPE_CELERON_MOBILE", 0x77},
    {"CPU_SUBTYPE_PENTIUM_3", 8}, {"CPU_SUBTYPE_PENTIUM_3_M", 0x18},
    {"CPU_SUBTYPE_PENTIUM_3_XEON", 0x28}, {"CPU_SUBTYPE_PENTIUM_M", 9},
    {"CPU_SUBTYPE_PENTIUM_4", 0xa}, {"CPU_SUBTYPE_PENTIUM_4_M", 0x1a},
    {"CPU_SUBTYPE_ITANIUM", 0xb}, {"CPU_SUBTYPE_ITANIUM_2", 0x1b}, {"CPU_SUBTYPE_XEON", 0xc},
    {"CPU_SUBTYPE_XEON_MP", 0x1c}, {"CPU_SUBTYPE_ARM_ALL", 0}, {"CPU_SUBTYPE_ARM_V4T", 5},
    {"CPU_SUBTYPE_ARM_V6", 6}, {"CPU_SUBTYPE_ARM_V5", 7}, {"CPU_SUBTYPE_ARM_V5TEJ", 7},
    {"CPU_SUBTYPE_ARM_XSCALE", 8}, {"CPU_SUBTYPE_ARM_V7", 9}, {"CPU_SUBTYPE_ARM_V7F", 0xa},
    {"CPU_SUBTYPE_ARM_V7S", 0xb}, {"CPU_SUBTYPE_ARM_V7K", 0xc}, {"CPU_SUBTYPE_ARM_V6M", 0xe},
    {"CPU_SUBTYPE_ARM_V7M", 0xf}, {"CPU_SUBTYPE_ARM_V7EM", 0x10},
    {"CPU_SUBTYPE_ARM64_ALL", 0}, {"CPU_SUBTYPE_SPARC_ALL", 0},
    {"CPU_SUBTYPE_POWERPC_ALL", 0}, {"CPU_SUBTYPE_MC980000_ALL", 0},
    {"CPU_SUBTYPE_POWERPC_601", 1}, {"CPU_SUBTYPE_MC98601", 1}, {"CPU_SUBTYPE_POWERPC_602", 2},
    {"CPU_SUBTYPE_POWERPC_603", 3}, {"CPU_SUBTYPE_POWERPC_603e", 4},
    {"CPU_SUBTYPE_POWERPC_603ev", 5}, {"CPU_SUBTYPE_POWERPC_604", 6},
    {"CPU_SUBTYPE_POWERPC_604e", 7}, {"CPU_SUBTYPE_POWERPC_620", 8},
    {"CPU_SUBTYPE_POWERPC_750", 9}, {"CPU_SUBTYPE_POWERPC_7400", 0xa},
    {"CPU_SUBTYPE_POWERPC_7450", 0xb}, {"CPU_SUBTYPE_POWERPC_970", 0x64},
    {"MH_OBJECT", 1}, {"MH_EXECUTE", 2}, {"MH_FVMLIB", 3}, {"MH_CORE", 4}, {"MH_PRELOAD", 5},
    {"MH_DYLIB", 6}, {"MH_DYLINKER", 7}, {"MH_BUNDLE", 8}, {"MH_DYLIB_STUB", 9},
    {"MH_DSYM", 0xa}, {"MH_KEXT_BUNDLE", 0xb},
    {"MH_NOUNDEFS", 0x1}, {"MH_INCRLINK", 0x2}, {"MH_DYLDLINK", 0x4}, {"MH_BINDATLOAD", 0x8},
    {"MH_PREBOUND", 0x10}, {"MH_SPLIT_SEGS", 0x20}, {"MH_LAZY_INIT", 0x40},
    {"MH_TWOLEVEL", 0x80}, {"MH_FORCE_FLAT", 0x100}, {"MH_NOMULTIDEFS", 0x200},
    {"MH_NOFIXPREBINDING", 0x400}, {"MH_PREBINDABLE", 0x800}, {"MH_ALLMODSBOUND", 0x1000},
    {"MH_SUBSECTIONS_VIA_SYMBOLS", 0x2000}, {"MH_CANONICAL", 0x4000},
    {"MH_WEAK_DEFINES", 0x8000}, {"MH_BINDS_TO_WEAK", 0x10000},
    {"MH_ALLOW_STACK_EXECUTION", 0x20000}, {"MH_ROOT_SAFE", 0x40000},
    {"MH_SETUID_SAFE", 0x80000}, {"MH_NO_REEXPORTED_DYLIBS", 0x100000}, {"MH_PIE", 0x200000},
    {"MH_DEAD_STRIPPABLE_DYLIB", 0x400000}, {"MH_HAS_TLV_DESCRIPTORS", 0x800000},
    {"MH_NO_HEAP_EXECUTION", 0x1000000}, {"MH_APP_EXTENSION_SAFE", 0x2000000},
    {"SG_HIGHVM", 1}, {"SG_FVMLIB", 2}, {"SG_NORELOC", 4}, {"SG_PROTECTED_VERSION_1", 8},
    {"SECTION_TYPE", 0xff}, {"SECTION_ATTRIBUTES", 0xffffff00u},
    {"S_REGULAR", 0}, {"S_ZEROFILL", 1}, {"S_CSTRING_LITERALS", 2}, {"S_4BYTE_LITERALS", 3},
    {"S_8BYTE_LITERALS", 4}, {"S_LITERAL_POINTERS", 5}, {"S_NON_LAZY_SYMBOL_POINTERS", 6},
    {"S_LAZY_SYMBOL_POINTERS", 7}, {"S_SYMBOL_STUBS", 8}, {"S_MOD_INIT_FUNC_POINTERS", 9},
    {"S_MOD_TERM_FUNC_POINTERS", 0xa}, {"S_COALESCED", 0xb}, {"S_GB_ZEROFILL", 0xc},
    {"S_INTERPOSING", 0xd}, {"S_16BYTE_LITERALS", 0xe}, {"S_DTRACE_DOF", 0xf},
    {"S_LAZY_DYLIB_SYMBOL_POINTERS", 0x10}, {"S_THREAD_LOCAL_REGULAR", 0x11},
    {"S_THREAD_LOCAL_ZEROFILL", 0x12}, {"S_THREAD_LOCAL_VARIABLES", 0x13},
    {"S_THREAD_LOCAL_VARIABLE_POINTERS", 0x14}, {"S_THREAD_LOCAL_INIT_FUNCTION_POINTERS", 0x15},
    {"S_ATTR_PURE_INSTRUCTIONS", 0x80000000u}, {"S_ATTR_NO_TOC", 0x40000000u},
    {"S_ATTR_STRIP_STATIC_SYMS", 0x20000000u}, {"S_ATTR_NO_DEAD_STRIP", 0x10000000u},
    {"S_ATTR_LIVE_SUPPORT", 0x08000000u}, {"S_ATTR_SELF_MODIFYING_CODE", 0x04000000u},
    {"S_ATTR_DEBUG", 0x02000000u}, {"S_ATTR_SOME_INSTRUCTIONS", 0x400},
    {"S_ATTR_EXT_RELOC", 0x200}, {"S_ATTR_LOC_RELOC", 0x100},
    {NULL, 0},
};

/* ---- functions ---- */

static int64_t nfat_items(ks_object *root, const char *arr, uint64_t nfat)
{
    int64_t len = obj_length(obj_field(root, arr));
    if (len < 0)
        len = 0;
    return (uint64_t)len < nfat ? len : (int64_t)nfat;
}

/* file_index_for_arch(cputype[, cpusubtype]) */
static int fn_file_index(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    ks_object *r = ctx->module_root;
    uint64_t nfat = geti0(r, "nfat_arch");
    if (nfat == MACHO_UNDEF)
        return mod_ret_undef(ret);
    int64_t lim = nfat_items(r, "file", nfat);
    for (int64_t i = 0; i < lim; i++) {
        if ((int64_t)geti(r, "file[%d].cputype", (int)i) == a[0].i &&
            (n < 2 || (int64_t)geti(r, "file[%d].cpusubtype", (int)i) == a[1].i))
            return mod_ret_int(ret, i);
    }
    /* past the listed files every value is YARA's UNDEFINED */
    if ((uint64_t)lim < nfat && (uint64_t)a[0].i == MACHO_UNDEF &&
        (n < 2 || (uint64_t)a[1].i == MACHO_UNDEF) && lim < INT32_MAX)
        return mod_ret_int(ret, lim);
    return mod_ret_undef(ret);
}

/* entry_point_for_arch(cputype[, cpusubtype]): fat_arch offset + that file's entry point */
static int fn_entry_point(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    ks_object *r = ctx->module_root;
    uint64_t nfat = geti0(r, "nfat_arch");
    if (nfat == MACHO_UNDEF)
        return mod_ret_undef(ret);
    int64_t lim = nfat_items(r, "fat_arch", nfat);
    for (int64_t i = 0; i < lim; i++) {
        if ((int64_t)geti(r, "fat_arch[%d].cputype", (int)i) != a[0].i)
            continue;
        if (n >= 2 && (int64_t)geti(r, "fat_arch[%d].cpusubtype", (int)i) != a[1].i)
            continue;
        uint64_t ep = geti(r, "file[%d].entry_point", (int)i);
        uint64_t off = geti(r, "fat_arch[%d].offset", (int)i);
        /* YARA 4.2.3 adds even an undefined entry point (its UNDEFINED constant) */
        uint64_t v = off + ep;
        return v == MACHO_UNDEF ? mod_ret_undef(ret) : mod_ret_int(ret, (int64_t)v);
    }
    return mod_ret_undef(ret);
}

/* ---- declarations ---- */

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)

static int decl_file(ks_object *s)
{
    static const char *const hdr[] = {"magic", "cputype", "cpusubtype", "filetype", "ncmds",
                                      "sizeofcmds", "flags", "reserved", "number_of_segments",
                                      NULL};
    static const char *const seg[] = {"vmaddr", "vmsize", "fileoff", "fsize", "maxprot",
                                      "initprot", "nsects", "flags", NULL};
    static const char *const sec[] = {"addr", "size", "offset", "align", "reloff", "nreloc",
                                      "flags", "reserved1", "reserved2", "reserved3", NULL};
    ks_object *g, *c;
    for (int k = 0; hdr[k]; k++)
        CHECK(obj_decl_int(s, hdr[k]));
    CHECK(g = obj_decl_array(s, "segments", OBJ_STRUCT));
    CHECK(obj_decl_string(g, "segname"));
    for (int k = 0; seg[k]; k++)
        CHECK(obj_decl_int(g, seg[k]));
    CHECK(c = obj_decl_array(g, "sections", OBJ_STRUCT));
    CHECK(obj_decl_string(c, "sectname"));
    CHECK(obj_decl_string(c, "segname"));
    for (int k = 0; sec[k]; k++)
        CHECK(obj_decl_int(c, sec[k]));
    CHECK(obj_decl_int(s, "entry_point"));
    CHECK(obj_decl_int(s, "stack_size"));
    return 0;
}

static int macho_declare(ks_object *root)
{
    static const char *const fat[] = {"cputype", "cpusubtype", "offset", "size", "align", NULL};
    ks_object *s;
    int rc;
    for (const macho_const *c = consts; c->name; c++)
        CHECK(obj_decl_int(root, c->name));
    if ((rc = decl_file(root)) != 0)
        return rc;
    CHECK(obj_decl_int(root, "fat_magic"));
    CHECK(obj_decl_int(root, "nfat_arch"));
    CHECK(s = obj_decl_array(root, "fat_arch", OBJ_STRUCT));
    for (int k = 0; fat[k]; k++)
        CHECK(obj_decl_int(s, fat[k]));
    CHECK(s = obj_decl_array(root, "file", OBJ_STRUCT));
    if ((rc = decl_file(s)) != 0)
        return rc;
    if (obj_decl_func(root, "file_index_for_arch", "i", 'i', fn_file_index) ||
        obj_decl_func(root, "file_index_for_arch", "ii", 'i', fn_file_index) ||
        obj_decl_func(root, "entry_point_for_arch", "i", 'i', fn_entry_point) ||
        obj_decl_func(root, "entry_point_for_arch", "ii", 'i', fn_entry_point))
        return KS_ENOMEM;
    return 0;
}

static int macho_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                      size_t mod_data_len)
{
    (void)mod_data;
    (void)mod_data_len;
    macho_ctx m = {data, size, 0, root, MACHO_MAX_COMMANDS, 0};
    if (data && size >= 4) {
        uint32_t magic = le32(data);
        if (is_thin(magic))
            parse_file(&m);
        else if (is_fat(magic))
            parse_fat(&m);
    }
    for (const macho_const *c = consts; c->name; c++)
        SETI(&m, c->value, c->name);
    return m.err;
}

const ks_module ks_module_macho = {"macho", macho_declare, macho_load, NULL};
