/*
 * dotnet.c - the `dotnet` module of YARA 4.2.3: .NET metadata of PE files (CLI header, metadata
 * root, stream headers, #GUID, #US and the #~ tables: Module, ModuleRef, Constant (strings),
 * CustomAttribute (GuidAttribute -> typelib), FieldRVA, Assembly, AssemblyRef,
 * ManifestResource). YARA 4.2.3 has no classes/methods (those came in 4.3), so neither has this.
 *
 * Facts reproduced from YARA 4.2.3 (validated against `yara -D`):
 *   - PE detection: "MZ", e_lfanew >= 0, "PE\0\0", the whole optional header in the data and a
 *     known machine; is_dotnet = 0 for a PE whose COM descriptor / CLI header (size 72) /
 *     metadata root ("BSJB", version length 1..255, multiple of 4) is missing or bad, and for a
 *     32-bit non-DLL whose entry point does not start with FF 25; undefined for non-PE data;
 *   - the number of streams is the low byte of the 16-bit field; stream names must be
 *     NUL-terminated within 32 bytes; #~/#-, #Strings, #Blob, #US: first wins, #GUID: last;
 *   - at most 16 GUIDs;
 *   - every blob (user strings, string constants, public keys, custom attribute values) loses
 *     its last byte (the #US terminal byte), and the blob parser does not check that the blob
 *     fits: user strings that do not fit are skipped (past their length prefix only), not
 *     ending the walk;
 *   - table parsing stops at the first table with more than 10000 rows, at an unknown table
 *     bit (including ParamPtr) or when the row-count array leaves the data; the EXTRA_DATA
 *     heap flag (0x40) is ignored;
 *   - #Strings entries are NUL-terminated within the data (not within the heap: the index is
 *     not bounded by the #Strings size) and at most 1024 bytes.
 * Hostile input: every read goes through fits(); loops are bounded by the row counts (<= 10000)
 * and the stream sizes.
 */
#include <stdio.h>
#include <string.h>

#include "modules/modutil.h"

typedef struct pe_ctx {
    const uint8_t *d;
    size_t n;
    uint64_t nt;       /* offset of the NT headers ("PE\0\0") */
    int is64;
    ks_object *root;
} pe_ctx;

/* YARA's fits_in_pe for an offset that may be negative or huge. */
static int fits(const pe_ctx *p, int64_t off, uint64_t size)
{
    return size <= p->n && off >= 0 && (uint64_t)off <= p->n - size;
}

static uint16_t u16(const pe_ctx *p, uint64_t o)
{
    return (uint16_t)(p->d[o] | p->d[o + 1] << 8);
}

static uint32_t u32(const pe_ctx *p, uint64_t o)
{
    return (uint32_t)p->d[o] | (uint32_t)p->d[o + 1] << 8 | (uint32_t)p->d[o + 2] << 16 |
           (uint32_t)p->d[o + 3] << 24;
}

static uint64_t u64(const pe_ctx *p, uint64_t o)
{
    return (uint64_t)u32(p, o) | (uint64_t)u32(p, o + 4) << 32;
}

#define FH(p) ((p)->nt + 4)            /* IMAGE_FILE_HEADER */
#define OH(p) ((p)->nt + 24)           /* optional header */

static const uint16_t known_machines[] = {
    0x0, 0x1d3, 0x8664, 0x1c0, 0x1c4, 0xaa64, 0xebc, 0x14c, 0x200, 0x9041, 0x266,
    0x366, 0x466, 0x1f0, 0x1f1, 0x166, 0x1a2, 0x1a3, 0x1a6, 0x1a8, 0x1c2, 0x169};

static int pe_header(pe_ctx *p)
{
    uint64_t hs;
    int32_t lfanew;
    if (p->n < 64 || p->d[0] != 'M' || p->d[1] != 'Z')
        return 0;
    lfanew = (int32_t)u32(p, 60);
    if (lfanew < 0)
        return 0;
    hs = (uint64_t)(uint32_t)lfanew + 4 + 20;
    if (p->n < hs)
        return 0;
    p->nt = (uint32_t)lfanew;
    if (memcmp(p->d + p->nt, "PE\0\0", 4) != 0)
        return 0;
    if (p->n < hs + 224)
        return 0;
    p->is64 = u16(p, OH(p)) == 0x20b;
    hs += p->is64 ? 240 : 224;
    if (p->n < hs)
        return 0;
    uint16_t m = u16(p, FH(p));
    for (size_t k = 0; k < sizeof known_machines / sizeof known_machines[0]; k++)
        if (known_machines[k] == m)
            return 1;
    return 0;
}

/* Offset of data directory `entry` (VirtualAddress, Size), or -1. */
static int64_t pe_directory(const pe_ctx *p, int entry)
{
    uint64_t start = p->is64 ? 112 : 96;
    uint16_t ohsize = u16(p, FH(p) + 16);
    if (start + (uint64_t)entry * 8 <= ohsize)
        return (int64_t)(OH(p) + start + (uint64_t)entry * 8);
    return -1;
}

#define MAX_PE_SECTIONS 96

static int64_t pe_rva_to_offset(const pe_ctx *p, uint64_t rva)
{
    uint64_t sec = OH(p) + u16(p, FH(p) + 16);
    uint32_t lowest = 0xffffffffu, srva = 0, soff = 0, sraw = 0;
    int nsec = u16(p, FH(p) + 2);
    if (nsec > MAX_PE_SECTIONS)
        nsec = MAX_PE_SECTIONS;
    for (int i = 0; i < nsec; i++, sec += 40) {
        if (!fits(p, (int64_t)sec, 40))
            return -1;
        uint32_t va = u32(p, sec + 12), vsize = u32(p, sec + 8);
        if (lowest > va)
            lowest = va;
        if (rva >= va && rva - va < vsize && srva <= va) {
            uint32_t align = u32(p, OH(p) + 36);
            if (align > 0x200)
                align = 0x200;
            srva = va;
            soff = u32(p, sec + 20);
            sraw = u32(p, sec + 16);
            if (align) {
                uint32_t rest = soff % align;
                if (rest)
                    soff -= rest;
            }
        }
    }
    if (rva < lowest) {
        srva = 0;
        soff = 0;
        sraw = (uint32_t)p->n;
    }
    if (rva - srva >= sraw)
        return -1;
    uint64_t r = soff + (rva - srva);
    if (r >= p->n)
        return -1;
    return (int64_t)r;
}

/* ---- blobs and strings ---- */

typedef struct blob {
    uint32_t size;      /* bytes of the length prefix; 0 = invalid */
    uint32_t length;
} blob;

static blob parse_blob(const pe_ctx *p, int64_t o)
{
    blob r = {0, 0};
    if (!fits(p, o, 1))
        return r;
    uint8_t b = p->d[o];
    if ((b & 0x80) == 0) {
        r.length = b;
        r.size = 1;
    } else if ((b & 0xC0) == 0x80) {
        if (!fits(p, o, 2))
            return r;
        r.length = (uint32_t)(b & 0x3F) << 8 | p->d[o + 1];
        r.size = 2;
    } else if ((uint64_t)o + 4 < p->n && (b & 0xE0) == 0xC0) {
        if (!fits(p, o, 4))
            return r;
        r.length = (uint32_t)(b & 0x1F) << 24 | (uint32_t)p->d[o + 1] << 16 |
                   (uint32_t)p->d[o + 2] << 8 | p->d[o + 3];
        r.size = 4;
    } else {
        return r;
    }
    /* YARA 4.2.3 does not check here that the blob itself fits; callers do. */
    /* YARA 4.2.3 drops the last byte of every blob (the #US terminal byte). */
    if (r.length > 0)
        r.length--;
    return r;
}

/* A #Strings entry: returns its length and sets *out, or -1. */
static int64_t dn_string(const pe_ctx *p, int64_t heap, uint32_t heap_size, uint32_t index,
                         int64_t *out)
{
    int64_t s = heap + index;
    (void)heap_size;    /* YARA 4.2.3 does not bound the index by the heap size */
    if (!(s >= 0 && (uint64_t)s < p->n))
        return -1;
    const uint8_t *z = memchr(p->d + s, 0, p->n - (uint64_t)s);
    if (!z || z - (p->d + s) > 1024)
        return -1;
    *out = s;
    return z - (p->d + s);
}

#define SET(x) do { int rc_ = (x); if (rc_ != 0 && rc_ != KS_ELIMIT) return rc_; } while (0)

static int set_dn_string(pe_ctx *p, int64_t heap, uint32_t heap_size, uint32_t index,
                         const char *path, int i, int nonempty)
{
    int64_t s, len = dn_string(p, heap, heap_size, index, &s);
    if (len < 0 || (nonempty && len == 0))
        return 0;
    SET(obj_set_string(p->root, p->d + s, (size_t)len, path, i));
    return 0;
}

/* ---- streams ---- */

typedef struct stream {
    int present;
    uint32_t offset, size;
} stream;

typedef struct streams {
    int64_t root;   /* metadata root file offset */
    stream tilde, guid, string, blob, us;
} streams;

static int parse_stream_headers(pe_ctx *p, int64_t off, int64_t root, unsigned num,
                                streams *h)
{
    unsigned i;
    memset(h, 0, sizeof *h);
    h->root = root;
    for (i = 0; i < num; i++) {
        if (!fits(p, off, 8) || !fits(p, off + 8, 32))
            break;
        const uint8_t *name = p->d + off + 8;
        const uint8_t *eos = memchr(name, 0, 32);
        if (!eos)
            break;
        size_t nl = (size_t)(eos - name);
        uint32_t so = u32(p, (uint64_t)off), ss = u32(p, (uint64_t)off + 4);
        SET(obj_set_string(p->root, name, nl, "streams[%d].name", (int)i));
        SET(obj_set_int(p->root, root + so, "streams[%d].offset", (int)i));
        SET(obj_set_int(p->root, ss, "streams[%d].size", (int)i));
        stream st = {1, so, ss};
        if ((strncmp((const char *)name, "#~", 2) == 0 ||
             strncmp((const char *)name, "#-", 2) == 0) && !h->tilde.present)
            h->tilde = st;
        else if (strncmp((const char *)name, "#GUID", 5) == 0)
            h->guid = st;
        else if (strncmp((const char *)name, "#Strings", 8) == 0 && !h->string.present)
            h->string = st;
        else if (strncmp((const char *)name, "#Blob", 5) == 0 && !h->blob.present)
            h->blob = st;
        else if (strncmp((const char *)name, "#US", 3) == 0 && !h->us.present)
            h->us = st;
        off += 8 + (int64_t)nl + 4 - (int64_t)(nl % 4);
    }
    SET(obj_set_int(p->root, i, "number_of_streams"));
    return 0;
}

static int parse_guid(pe_ctx *p, int64_t root, const stream *g)
{
    int64_t o = root + g->offset;
    uint32_t size = g->size < 256 ? g->size : 256;
    int i = 0;
    char buf[40];
    while (size >= 16 && fits(p, o, 16)) {
        const uint8_t *b = p->d + o;
        snprintf(buf, sizeof buf, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u32(p, (uint64_t)o), u16(p, (uint64_t)o + 4), u16(p, (uint64_t)o + 6), b[8],
                 b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        SET(obj_set_string(p->root, buf, 36, "guids[%d]", i));
        i++;
        size -= 16;
        o += 16;
    }
    SET(obj_set_int(p->root, i, "number_of_guids"));
    return 0;
}

static int parse_us(pe_ctx *p, int64_t root, const stream *us)
{
    int64_t o = root + us->offset, end = o + us->size;
    int i = 0;
    if (us->size == 0 || !fits(p, o, us->size))
        return 0;
    if (p->d[o] != 0)
        return 0;
    o++;
    while (o < end) {
        blob b = parse_blob(p, o);
        if (b.size == 0)
            break;
        o += b.size;
        if (b.length > 0 && fits(p, o, b.length)) {
            SET(obj_set_string(p->root, p->d + o, b.length, "user_strings[%d]", i));
            o += b.length;
            i++;
        }
    }
    SET(obj_set_int(p->root, i, "number_of_user_strings"));
    return 0;
}

/* ---- #~ tables ---- */

enum {
    BIT_MODULE = 0x00, BIT_TYPEREF, BIT_TYPEDEF, BIT_FIELDPTR, BIT_FIELD, BIT_METHODDEFPTR,
    BIT_METHODDEF, BIT_PARAMPTR, BIT_PARAM, BIT_INTERFACEIMPL, BIT_MEMBERREF, BIT_CONSTANT,
    BIT_CUSTOMATTRIBUTE, BIT_FIELDMARSHAL, BIT_DECLSECURITY, BIT_CLASSLAYOUT, BIT_FIELDLAYOUT,
    BIT_STANDALONESIG, BIT_EVENTMAP, BIT_EVENTPTR, BIT_EVENT, BIT_PROPERTYMAP,
    BIT_PROPERTYPTR, BIT_PROPERTY, BIT_METHODSEMANTICS, BIT_METHODIMPL, BIT_MODULEREF,
    BIT_TYPESPEC, BIT_IMPLMAP, BIT_FIELDRVA, BIT_ENCLOG, BIT_ENCMAP, BIT_ASSEMBLY,
    BIT_ASSEMBLYPROCESSOR, BIT_ASSEMBLYOS, BIT_ASSEMBLYREF, BIT_ASSEMBLYREFPROCESSOR,
    BIT_ASSEMBLYREFOS, BIT_FILE, BIT_EXPORTEDTYPE, BIT_MANIFESTRESOURCE, BIT_NESTEDCLASS,
    BIT_GENERICPARAM, BIT_METHODSPEC, BIT_GENERICPARAMCONSTRAINT
};

/* row counts of every table (0 if absent) and 2/4-byte index sizes */
typedef struct tabinfo {
    uint32_t rows[64];
    uint8_t big[64];    /* rows > 0xFFFF for tables YARA tracks with an index size */
    uint8_t str, guid, blob;
} tabinfo;

static uint32_t max_of(const tabinfo *t, int n, const int *bits)
{
    uint32_t m = 0;
    for (int k = 0; k < n; k++)
        if (t->rows[bits[k]] > m)
            m = t->rows[bits[k]];
    return m;
}

/* coded index size: 4 when the largest table has more rows than 0xFFFF >> shift */
static unsigned coded(const tabinfo *t, int shift, int n, const int *bits)
{
    return max_of(t, n, bits) > (0xFFFFu >> shift) ? 4 : 2;
}

#define CODED(t, shift, ...)                                                                 \
    coded(t, shift, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__})

static unsigned isz(const tabinfo *t, int bit)
{
    return t->big[bit] ? 4 : 2;
}

static uint32_t rd_index(const pe_ctx *p, uint64_t o, unsigned size)
{
    return size == 4 ? u32(p, o) : u16(p, o);
}

static int parse_tables(pe_ctx *p, const streams *h, int64_t tilde, int64_t resource_base,
                        const tabinfo *t)
{
    uint64_t valid = u64(p, (uint64_t)tilde + 8);
    int64_t row_off = tilde + 24, tab;
    unsigned valid_rows = 0, matched = 0;
    int64_t str_heap = h->root + h->string.offset;
    uint32_t str_size = h->string.size;
    int64_t blob_heap = h->root + h->blob.offset;
    int64_t typeref_ptr = -1, memberref_ptr = -1;
    uint32_t typeref_row_size = 0, memberref_row_size = 0;
    ks_object *r = p->root;

    for (int i = 0; i < 64; i++)
        valid_rows += (valid >> i) & 1;
    tab = row_off + 4 * (int64_t)valid_rows;
    /* (YARA 4.2.3 ignores the EXTRA_DATA heap flag 0x40.) */

    for (int bit = 0; bit < 64; bit++) {
        if (!((valid >> bit) & 1))
            continue;
        if (!fits(p, row_off + 4 * (int64_t)matched, 4))
            return 0;
        uint32_t num_rows = u32(p, (uint64_t)(row_off + 4 * (int64_t)matched));
        uint32_t row_size, counter, i;
        unsigned is, is2;
        int64_t row;
        if (num_rows > 10000)
            return 0;
        switch (bit) {
        case BIT_MODULE:
            if (!fits(p, tab, 18))
                break;
            SET(set_dn_string(p, str_heap, str_size, rd_index(p, (uint64_t)tab + 2, t->str),
                              "module_name", 0, 0));
            tab += (int64_t)(2 + t->str + t->guid * 3) * num_rows;
            break;
        case BIT_TYPEREF:
            is = CODED(t, 2, BIT_MODULE, BIT_MODULEREF, BIT_ASSEMBLYREF, BIT_TYPEREF);
            typeref_row_size = is + t->str * 2;
            typeref_ptr = tab;
            tab += (int64_t)typeref_row_size * num_rows;
            break;
        case BIT_TYPEDEF:
            is = CODED(t, 2, BIT_TYPEDEF, BIT_TYPEREF, BIT_TYPESPEC);
            tab += (int64_t)(4 + t->str * 2 + is + isz(t, BIT_FIELD) + isz(t, BIT_METHODDEF)) *
                   num_rows;
            break;
        case BIT_FIELDPTR:
            tab += (int64_t)isz(t, BIT_FIELD) * num_rows;
            break;
        case BIT_FIELD:
            tab += (int64_t)(2 + t->str + t->blob) * num_rows;
            break;
        case BIT_METHODDEFPTR:
            tab += (int64_t)isz(t, BIT_METHODDEF) * num_rows;
            break;
        case BIT_METHODDEF:
            tab += (int64_t)(4 + 2 + 2 + t->str + t->blob + isz(t, BIT_PARAM)) * num_rows;
            break;
        case BIT_PARAM:
            tab += (int64_t)(2 + 2 + t->str) * num_rows;
            break;
        case BIT_INTERFACEIMPL:
            is = CODED(t, 2, BIT_TYPEDEF, BIT_TYPEREF, BIT_TYPESPEC);
            tab += (int64_t)(isz(t, BIT_TYPEDEF) + is) * num_rows;
            break;
        case BIT_MEMBERREF:
            is = CODED(t, 3, BIT_METHODDEF, BIT_MODULEREF, BIT_TYPEREF, BIT_TYPESPEC);
            memberref_row_size = is + t->str + t->blob;
            memberref_ptr = tab;
            tab += (int64_t)memberref_row_size * num_rows;
            break;
        case BIT_CONSTANT:
            is = CODED(t, 2, BIT_PARAM, BIT_FIELD, BIT_PROPERTY);
            counter = 0;
            row_size = 1 + 1 + is + t->blob;
            row = tab;
            for (i = 0; i < num_rows; i++, row += row_size) {
                if (!fits(p, row, row_size))
                    break;
                if (u16(p, (uint64_t)row) != 0x0e)
                    continue;
                uint32_t bi = rd_index(p, (uint64_t)row + 2 + is, t->blob);
                int64_t bo = blob_heap + bi;
                blob b = parse_blob(p, bo);
                if (b.size == 0)
                    continue;
                bo += b.size;
                if (bo + (int64_t)b.length >= (int64_t)p->n)
                    continue;
                SET(obj_set_string(r, p->d + bo, b.length, "constants[%d]", (int)counter));
                counter++;
            }
            SET(obj_set_int(r, counter, "number_of_constants"));
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_CUSTOMATTRIBUTE:
            is = CODED(t, 5, BIT_METHODDEF, BIT_FIELD, BIT_TYPEREF, BIT_TYPEDEF, BIT_PARAM,
                       BIT_INTERFACEIMPL, BIT_MEMBERREF, BIT_MODULE, BIT_PROPERTY, BIT_EVENT,
                       BIT_STANDALONESIG, BIT_MODULEREF, BIT_TYPESPEC, BIT_ASSEMBLY,
                       BIT_ASSEMBLYREF, BIT_FILE, BIT_EXPORTEDTYPE, BIT_MANIFESTRESOURCE,
                       BIT_GENERICPARAM, BIT_GENERICPARAMCONSTRAINT, BIT_METHODSPEC);
            is2 = CODED(t, 3, BIT_METHODDEF, BIT_MEMBERREF);
            row_size = is + is2 + t->blob;
            if (typeref_ptr >= 0 && memberref_ptr >= 0) {
                row = tab;
                for (i = 0; i < num_rows; i++, row += row_size) {
                    if (!fits(p, row, row_size))
                        break;
                    uint32_t parent = rd_index(p, (uint64_t)row, is);
                    if ((parent & 0x1F) != 0x0E)
                        continue;
                    uint32_t type = rd_index(p, (uint64_t)row + is, is2);
                    if ((type & 0x07) != 0x03)
                        continue;
                    uint32_t type_index = type >> 3;
                    if (type_index > 0)
                        type_index--;
                    int64_t mr = memberref_ptr + (int64_t)memberref_row_size * type_index;
                    if (!fits(p, mr, memberref_row_size))
                        break;
                    uint32_t cls = rd_index(p, (uint64_t)mr, isz(t, BIT_MEMBERREF));
                    if ((cls & 0x07) != 0x01)
                        continue;
                    uint32_t class_index = cls >> 3;
                    if (class_index > 0)
                        class_index--;
                    int64_t tr = typeref_ptr + (int64_t)typeref_row_size * class_index;
                    if (!fits(p, tr, typeref_row_size))
                        break;
                    tr += CODED(t, 2, BIT_MODULE, BIT_MODULEREF, BIT_ASSEMBLYREF, BIT_TYPEREF);
                    int64_t ns;
                    int64_t nl = dn_string(p, str_heap, str_size, rd_index(p, (uint64_t)tr, t->str),
                                           &ns);
                    if (nl >= 0 && strncmp((const char *)p->d + ns, "GuidAttribute", 13) != 0)
                        continue;
                    uint32_t bi = rd_index(p, (uint64_t)row + is + is2, t->blob);
                    int64_t bo = blob_heap + bi;
                    if (bi == 0 || bo >= (int64_t)p->n)
                        continue;
                    blob b = parse_blob(p, bo);
                    if (b.size == 0)
                        continue;
                    bo += b.size;
                    if (b.length < 3 || bo + (int64_t)b.length >= (int64_t)p->n)
                        continue;
                    if (u16(p, (uint64_t)bo) != 0x0001)
                        continue;
                    bo += 2;
                    uint8_t sl = p->d[bo];
                    bo += 1;
                    if (bo + sl > (int64_t)p->n)
                        continue;
                    if (p->d[bo] == 0xFF || p->d[bo] == 0x00) {
                        SET(obj_set_string(r, "", 0, "typelib"));
                    } else {
                        const uint8_t *z = memchr(p->d + bo, 0, sl);
                        size_t l = z ? (size_t)(z - (p->d + bo)) : sl;
                        SET(obj_set_string(r, p->d + bo, l, "typelib"));
                    }
                }
            }
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_FIELDMARSHAL:
            is = CODED(t, 1, BIT_FIELD, BIT_PARAM);
            tab += (int64_t)(is + t->blob) * num_rows;
            break;
        case BIT_DECLSECURITY:
            is = CODED(t, 2, BIT_TYPEDEF, BIT_METHODDEF, BIT_ASSEMBLY);
            tab += (int64_t)(2 + is + t->blob) * num_rows;
            break;
        case BIT_CLASSLAYOUT:
            tab += (int64_t)(2 + 4 + isz(t, BIT_TYPEDEF)) * num_rows;
            break;
        case BIT_FIELDLAYOUT:
            tab += (int64_t)(4 + isz(t, BIT_FIELD)) * num_rows;
            break;
        case BIT_STANDALONESIG:
            tab += (int64_t)t->blob * num_rows;
            break;
        case BIT_EVENTMAP:
            tab += (int64_t)(isz(t, BIT_TYPEDEF) + isz(t, BIT_EVENT)) * num_rows;
            break;
        case BIT_EVENTPTR:
            tab += (int64_t)isz(t, BIT_EVENT) * num_rows;
            break;
        case BIT_EVENT:
            is = CODED(t, 2, BIT_TYPEDEF, BIT_TYPEREF, BIT_TYPESPEC);
            tab += (int64_t)(2 + t->str + is) * num_rows;
            break;
        case BIT_PROPERTYMAP:
            tab += (int64_t)(isz(t, BIT_TYPEDEF) + isz(t, BIT_PROPERTY)) * num_rows;
            break;
        case BIT_PROPERTYPTR:
            tab += (int64_t)isz(t, BIT_PROPERTY) * num_rows;
            break;
        case BIT_PROPERTY:
            tab += (int64_t)(2 + t->str + t->blob) * num_rows;
            break;
        case BIT_METHODSEMANTICS:
            is = CODED(t, 1, BIT_EVENT, BIT_PROPERTY);
            tab += (int64_t)(2 + isz(t, BIT_METHODDEF) + is) * num_rows;
            break;
        case BIT_METHODIMPL:
            is = CODED(t, 1, BIT_METHODDEF, BIT_MEMBERREF);
            tab += (int64_t)(isz(t, BIT_TYPEDEF) + is * 2) * num_rows;
            break;
        case BIT_MODULEREF:
            row = tab;
            counter = 0;
            for (i = 0; i < num_rows; i++, row += t->str) {
                if (!fits(p, row, 4))
                    break;
                int64_t s, l = dn_string(p, str_heap, str_size, rd_index(p, (uint64_t)row, t->str),
                                         &s);
                if (l >= 0) {
                    SET(obj_set_string(r, p->d + s, (size_t)l, "modulerefs[%d]", (int)counter));
                    counter++;
                }
            }
            SET(obj_set_int(r, counter, "number_of_modulerefs"));
            tab += (int64_t)t->str * num_rows;
            break;
        case BIT_TYPESPEC:
            tab += (int64_t)t->blob * num_rows;
            break;
        case BIT_IMPLMAP:
            is = CODED(t, 1, BIT_FIELD, BIT_METHODDEF);
            tab += (int64_t)(2 + is + t->str + isz(t, BIT_MODULEREF)) * num_rows;
            break;
        case BIT_FIELDRVA:
            row_size = 4 + isz(t, BIT_FIELD);
            row = tab;
            counter = 0;
            for (i = 0; i < num_rows; i++, row += row_size) {
                if (!fits(p, row, 8))
                    break;
                int64_t fo = pe_rva_to_offset(p, u32(p, (uint64_t)row));
                if (fo >= 0) {
                    SET(obj_set_int(r, fo, "field_offsets[%d]", (int)counter));
                    counter++;
                }
            }
            SET(obj_set_int(r, counter, "number_of_field_offsets"));
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_ENCLOG:
            tab += (int64_t)8 * num_rows;
            break;
        case BIT_ENCMAP:
            tab += (int64_t)4 * num_rows;
            break;
        case BIT_ASSEMBLY:
            row_size = 4 + 2 + 2 + 2 + 2 + 4 + t->blob + t->str * 2;
            if (!fits(p, tab, row_size))
                break;
            SET(obj_set_int(r, u16(p, (uint64_t)tab + 4), "assembly.version.major"));
            SET(obj_set_int(r, u16(p, (uint64_t)tab + 6), "assembly.version.minor"));
            SET(obj_set_int(r, u16(p, (uint64_t)tab + 8), "assembly.version.build_number"));
            SET(obj_set_int(r, u16(p, (uint64_t)tab + 10), "assembly.version.revision_number"));
            SET(set_dn_string(p, str_heap, str_size,
                              rd_index(p, (uint64_t)tab + 16 + t->blob, t->str), "assembly.name",
                              0, 0));
            SET(set_dn_string(p, str_heap, str_size,
                              rd_index(p, (uint64_t)tab + 16 + t->blob + t->str, t->str),
                              "assembly.culture", 0, 1));
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_ASSEMBLYPROCESSOR:
            tab += (int64_t)4 * num_rows;
            break;
        case BIT_ASSEMBLYOS:
            tab += (int64_t)12 * num_rows;
            break;
        case BIT_ASSEMBLYREF:
            row_size = 2 + 2 + 2 + 2 + 4 + t->blob * 2 + t->str * 2;
            row = tab;
            for (i = 0; i < num_rows; i++, row += row_size) {
                if (!fits(p, row, row_size))
                    break;
                SET(obj_set_int(r, u16(p, (uint64_t)row), "assembly_refs[%d].version.major",
                                (int)i));
                SET(obj_set_int(r, u16(p, (uint64_t)row + 2), "assembly_refs[%d].version.minor",
                                (int)i));
                SET(obj_set_int(r, u16(p, (uint64_t)row + 4),
                                "assembly_refs[%d].version.build_number", (int)i));
                SET(obj_set_int(r, u16(p, (uint64_t)row + 6),
                                "assembly_refs[%d].version.revision_number", (int)i));
                int64_t bo = blob_heap + rd_index(p, (uint64_t)row + 12, t->blob);
                blob b = parse_blob(p, bo);
                bo += b.size;
                if (b.size == 0 || !fits(p, bo, b.length))
                    continue;
                if (b.length > 0)
                    SET(obj_set_string(r, p->d + bo, b.length,
                                       "assembly_refs[%d].public_key_or_token", (int)i));
                SET(set_dn_string(p, str_heap, str_size,
                                  rd_index(p, (uint64_t)row + 12 + t->blob, t->str),
                                  "assembly_refs[%d].name", (int)i, 0));
            }
            SET(obj_set_int(r, i, "number_of_assembly_refs"));
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_ASSEMBLYREFPROCESSOR:
            tab += (int64_t)(4 + isz(t, BIT_ASSEMBLYREFPROCESSOR)) * num_rows;
            break;
        case BIT_ASSEMBLYREFOS:
            tab += (int64_t)(12 + isz(t, BIT_ASSEMBLYREF)) * num_rows;
            break;
        case BIT_FILE:
            tab += (int64_t)(4 + t->str + t->blob) * num_rows;
            break;
        case BIT_EXPORTEDTYPE:
            is = CODED(t, 2, BIT_FILE, BIT_ASSEMBLYREF, BIT_EXPORTEDTYPE);
            tab += (int64_t)(4 + 4 + t->str * 2 + is) * num_rows;
            break;
        case BIT_MANIFESTRESOURCE:
            is = CODED(t, 2, BIT_FILE, BIT_ASSEMBLYREF);
            row_size = 4 + 4 + t->str + is;
            counter = 0;
            row = tab;
            for (i = 0; i < num_rows; i++, row += row_size) {
                if (!fits(p, row, row_size))
                    break;
                int64_t ro = u32(p, (uint64_t)row);
                uint32_t impl = rd_index(p, (uint64_t)row + 8 + t->str, is);
                if (impl != 0)
                    continue;
                int64_t at = resource_base + ro;
                if (!fits(p, at, 4))
                    continue;
                uint32_t rsize = u32(p, (uint64_t)at);
                if (!fits(p, at, rsize))
                    continue;
                SET(obj_set_int(r, at + 4, "resources[%d].offset", (int)counter));
                SET(obj_set_int(r, rsize, "resources[%d].length", (int)counter));
                SET(set_dn_string(p, str_heap, str_size, rd_index(p, (uint64_t)row + 8, t->str),
                                  "resources[%d].name", (int)counter, 0));
                counter++;
            }
            SET(obj_set_int(r, counter, "number_of_resources"));
            tab += (int64_t)row_size * num_rows;
            break;
        case BIT_NESTEDCLASS:
            tab += (int64_t)isz(t, BIT_TYPEDEF) * 2 * num_rows;
            break;
        case BIT_GENERICPARAM:
            is = CODED(t, 1, BIT_TYPEDEF, BIT_METHODDEF);
            tab += (int64_t)(2 + 2 + is + t->str) * num_rows;
            break;
        case BIT_METHODSPEC:
            is = CODED(t, 1, BIT_METHODDEF, BIT_MEMBERREF);
            tab += (int64_t)(is + t->blob) * num_rows;
            break;
        case BIT_GENERICPARAMCONSTRAINT:
            is = CODED(t, 2, BIT_TYPEDEF, BIT_TYPEREF, BIT_TYPESPEC);
            tab += (int64_t)(isz(t, BIT_GENERICPARAM) + is) * num_rows;
            break;
        default:
            return 0;
        }
        matched++;
    }
    return 0;
}

/* Tables whose row count YARA records (and whose index size it widens past 0xFFFF rows). */
static const int8_t tracked[64] = {
    [BIT_MODULE] = 2, [BIT_MODULEREF] = 2, [BIT_ASSEMBLYREF] = 2,
    [BIT_ASSEMBLYREFPROCESSOR] = 2, [BIT_TYPEREF] = 2, [BIT_METHODDEF] = 2,
    [BIT_MEMBERREF] = 2, [BIT_TYPEDEF] = 2, [BIT_TYPESPEC] = 2, [BIT_FIELD] = 2,
    [BIT_PARAM] = 2, [BIT_PROPERTY] = 2, [BIT_INTERFACEIMPL] = 2, [BIT_EVENT] = 2,
    [BIT_STANDALONESIG] = 1, [BIT_ASSEMBLY] = 2, [BIT_FILE] = 1, [BIT_EXPORTEDTYPE] = 1,
    [BIT_MANIFESTRESOURCE] = 1, [BIT_GENERICPARAM] = 2, [BIT_GENERICPARAMCONSTRAINT] = 1,
    [BIT_METHODSPEC] = 2,
};

static int parse_tilde(pe_ctx *p, int64_t cli, const streams *h)
{
    int64_t tilde = h->root + h->tilde.offset;
    tabinfo t;
    unsigned matched = 0;
    if (!fits(p, tilde, 24))
        return 0;
    memset(&t, 0, sizeof t);
    uint8_t heap = p->d[tilde + 6];
    t.str = heap & 1 ? 4 : 2;
    t.guid = heap & 2 ? 4 : 2;
    t.blob = heap & 4 ? 4 : 2;
    uint64_t valid = u64(p, (uint64_t)tilde + 8);
    int64_t row_off = tilde + 24;
    for (int bit = 0; bit < 64; bit++) {
        if (!((valid >> bit) & 1))
            continue;
        if (tracked[bit] && fits(p, row_off, (uint64_t)(matched + 1) * 4)) {
            t.rows[bit] = u32(p, (uint64_t)(row_off + 4 * (int64_t)matched));
            if (tracked[bit] == 2 && t.rows[bit] > 0xFFFF)
                t.big[bit] = 1;
        }
        matched++;
    }
    int64_t resource_base = pe_rva_to_offset(p, u32(p, (uint64_t)cli + 24));
    return parse_tables(p, h, tilde, resource_base, &t);
}

/* YARA's dotnet_is_dotnet; on success sets *cli and *md (file offsets). */
static int is_dotnet(const pe_ctx *p, int64_t *cli, int64_t *md)
{
    int64_t dir = pe_directory(p, 14);
    if (dir < 0)
        return 0;
    int64_t off = pe_rva_to_offset(p, u32(p, (uint64_t)dir));
    if (off < 0 || !fits(p, off, 72))
        return 0;
    if (u32(p, (uint64_t)off) != 72)
        return 0;
    *cli = off;
    int64_t root = pe_rva_to_offset(p, u32(p, (uint64_t)off + 8));
    if (!fits(p, root, 16))
        return 0;
    if (u32(p, (uint64_t)root) != 0x424A5342)
        return 0;
    uint32_t md_len = u32(p, (uint64_t)root + 12);
    if (md_len == 0 || md_len > 255 || md_len % 4 != 0 || !fits(p, root + 16, md_len))
        return 0;
    *md = root;
    if (p->is64) {
        if (u32(p, OH(p) + 108) < 14)
            return 0;
    } else if (!(u16(p, FH(p) + 18) & 0x2000)) {
        int64_t e = pe_rva_to_offset(p, u32(p, OH(p) + 16));
        if (e < 0 || !fits(p, e, 2))
            return 0;
        if (!(p->d[e] == 0xFF && p->d[e + 1] == 0x25))
            return 0;
    }
    return 1;
}

static int parse_com(pe_ctx *p)
{
    int64_t cli, root, off;
    streams h;
    if (!is_dotnet(p, &cli, &root)) {
        SET(obj_set_int(p->root, 0, "is_dotnet"));
        return 0;
    }
    SET(obj_set_int(p->root, 1, "is_dotnet"));
    uint32_t md_len = u32(p, (uint64_t)root + 12);
    const uint8_t *ver = p->d + root + 16;
    const uint8_t *end = memchr(ver, 0, md_len);
    if (end)
        SET(obj_set_string(p->root, ver, (size_t)(end - ver), "version"));
    off = root + 16 + md_len + 2;
    if (!fits(p, off, 2))
        return 0;
    unsigned num = p->d[off];
    off += 2;
    int rc = parse_stream_headers(p, off, root, num, &h);
    if (rc)
        return rc;
    if (h.guid.present && (rc = parse_guid(p, root, &h.guid)))
        return rc;
    if (h.tilde.present && h.string.present && h.blob.present && (rc = parse_tilde(p, cli, &h)))
        return rc;
    if (h.us.present && (rc = parse_us(p, root, &h.us)))
        return rc;
    return 0;
}

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)

static int decl_version(ks_object *s)
{
    ks_object *v;
    CHECK(v = obj_decl_struct(s, "version"));
    CHECK(obj_decl_int(v, "major"));
    CHECK(obj_decl_int(v, "minor"));
    CHECK(obj_decl_int(v, "build_number"));
    CHECK(obj_decl_int(v, "revision_number"));
    return 0;
}

static int dotnet_declare(ks_object *root)
{
    ks_object *s;
    int rc;
    CHECK(obj_decl_int(root, "is_dotnet"));
    CHECK(obj_decl_string(root, "version"));
    CHECK(obj_decl_string(root, "module_name"));
    CHECK(s = obj_decl_array(root, "streams", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(obj_decl_int(root, "number_of_streams"));
    CHECK(obj_decl_array(root, "guids", OBJ_STRING));
    CHECK(obj_decl_int(root, "number_of_guids"));
    CHECK(s = obj_decl_array(root, "resources", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "length"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_int(root, "number_of_resources"));
    CHECK(s = obj_decl_array(root, "assembly_refs", OBJ_STRUCT));
    if ((rc = decl_version(s)))
        return rc;
    CHECK(obj_decl_string(s, "public_key_or_token"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_int(root, "number_of_assembly_refs"));
    CHECK(s = obj_decl_struct(root, "assembly"));
    if ((rc = decl_version(s)))
        return rc;
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_string(s, "culture"));
    CHECK(obj_decl_array(root, "modulerefs", OBJ_STRING));
    CHECK(obj_decl_int(root, "number_of_modulerefs"));
    CHECK(obj_decl_array(root, "user_strings", OBJ_STRING));
    CHECK(obj_decl_int(root, "number_of_user_strings"));
    CHECK(obj_decl_string(root, "typelib"));
    CHECK(obj_decl_array(root, "constants", OBJ_STRING));
    CHECK(obj_decl_int(root, "number_of_constants"));
    CHECK(obj_decl_array(root, "field_offsets", OBJ_INT));
    CHECK(obj_decl_int(root, "number_of_field_offsets"));
    return 0;
}

static int dotnet_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                       size_t mod_data_len)
{
    pe_ctx p;
    memset(&p, 0, sizeof p);
    p.d = data;
    p.n = size;
    p.root = root;
    if (!data || !pe_header(&p))
        return 0;
    return parse_com(&p);
}

const ks_module ks_module_dotnet = {"dotnet", dotnet_declare, dotnet_load, NULL};
