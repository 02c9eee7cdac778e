/*
 * dex.c - the `dex` module of YARA 4.2.3 (Android Dalvik executables): the header, string_ids,
 * type_ids, proto_ids, field_ids, method_ids, map_list, class_defs, class_data_item, the
 * encoded fields (field[]) and methods (method[], with code_item), the DEX_FILE_MAGIC_*, ACC_*,
 * TYPE_* constants, and has_method() / has_class().
 *
 * Facts reproduced from YARA 4.2.3 (validated against `yara -D`):
 *   - the data must hold the 0x70-byte header and start with "dex\n035\0" ... "dex\n039\0";
 *   - each table is listed only if it fits entirely; a table that does not fit ends the parse
 *     (later tables, number_of_methods and number_of_fields stay undefined), and so does a
 *     class data header that does not fit; the map list's size check is YARA's (see parse()),
 *     then items are listed up to the first that does not fit, which also ends the parse;
 *   - string_ids[i] needs 4 bytes at its data offset; its value is `size` bytes (the ULEB128
 *     length) starting one byte after the offset, whatever the ULEB128's length;
 *   - encoded fields need 8 bytes and encoded methods 12 bytes at their start; a member whose
 *     *_ids entry is missing (index past the table or > 0x80000) stops that list and is
 *     overwritten by the next one (its diff/flags were already set); names, class names and
 *     protos are set when the chain of indexes resolves to a string;
 *   - code_item is read when code_off != 0 and 16 bytes fit; insns when insns_size * 2
 *     (32-bit arithmetic) bytes fit after it;
 *   - has_method / has_class compare C strings (up to the first NUL); a method whose class is
 *     undefined is not filtered out by the class argument; regexes match anywhere.
 * Hostile input: all reads are bounds-checked; the number of encoded fields and methods
 * walked is capped at DEX_MAX_MEMBERS in total (class_defs may share class data).
 */
#include <string.h>

#include "match/re.h"
#include "modules/modutil.h"

#define DEX_UNDEF 0xFFFABADAFABADAFFULL
#define DEX_MAX_MEMBERS 1000000u
#define DEX_HEADER_SIZE 0x70u

typedef struct dex_ctx {
    const uint8_t *d;
    size_t n;
    ks_object *root;
    uint64_t budget;      /* encoded members left */
    int err;
} dex_ctx;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* [off, off + len) inside the data? */
static int fits(const dex_ctx *x, uint64_t off, uint64_t len)
{
    return len <= x->n && off <= x->n - len;
}

#define SETI(x, v, ...)                                                                      \
    do {                                                                                     \
        int rc_ = obj_set_int((x)->root, (int64_t)(v), __VA_ARGS__);                         \
        if (rc_ == KS_ENOMEM && !(x)->err)                                                   \
            (x)->err = rc_;                                                                  \
    } while (0)

#define SETS(x, p, len, ...)                                                                 \
    do {                                                                                     \
        int rc_ = obj_set_string((x)->root, (p), (len), __VA_ARGS__);                        \
        if (rc_ == KS_ENOMEM && !(x)->err)                                                   \
            (x)->err = rc_;                                                                  \
    } while (0)

/* ULEB128 of at most 5 bytes at off, not reading past the data. Adds the bytes read to *size.
 * Returns 0 when the data ends first. */
static int uleb(const dex_ctx *x, uint64_t off, uint32_t *size, uint32_t *out)
{
    uint32_t r = 0;
    for (int k = 0; k < 5; k++) {
        if (off + (uint64_t)k >= x->n)
            return 0;
        uint32_t c = x->d[off + (uint64_t)k];
        *size += 1;
        if (k == 4) {
            r |= c << 28;   /* garbage in the high bits is tolerated, as in YARA */
            break;
        }
        r |= (c & 0x7f) << (7 * k);
        if (c <= 0x7f)
            break;
    }
    *out = r;
    return 1;
}

/* YARA's dex_get_integer: table lookups with an index that may be undefined or huge. */
static uint64_t tget(ks_object *r, const char *path, uint64_t index)
{
    int def = 0;
    if (index == DEX_UNDEF || (int64_t)index < 0 || index > 0x80000)
        return DEX_UNDEF;
    int64_t v = obj_get_int(r, &def, path, (int)index);
    return def ? (uint64_t)v : DEX_UNDEF;
}

static const uint8_t *sget(ks_object *r, uint64_t index, size_t *len)
{
    if (index == DEX_UNDEF || (int64_t)index < 0 || index > 0x80000)
        return NULL;
    ks_object *o = obj_lookup(r, "string_ids[%d].value", (int)index);
    return o && obj_is_defined(o) ? obj_string(o, len) : NULL;
}

/* An int-typed intermediate in YARA: values >= 2^31 become negative (= not found). */
static uint64_t as_c_int(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

static uint32_t encoded_field(dex_ctx *x, uint64_t start, uint32_t *prev, int idx, int unused)
{
    (void)unused;
    ks_object *r = x->root;
    uint32_t cur = 0, diff, flags;
    const uint8_t *s;
    size_t len;
    if (!fits(x, start, 8))
        return 0;
    if (!uleb(x, start, &cur, &diff) || !uleb(x, start + cur, &cur, &flags))
        return 0;
    SETI(x, diff, "field[%d].field_idx_diff", idx);
    SETI(x, flags, "field[%d].access_flags", idx);
    *prev += diff;
    uint64_t name_idx = tget(r, "field_ids[%d].name_idx", *prev);
    if (name_idx == DEX_UNDEF)
        return 0;
    if ((s = sget(r, name_idx, &len)))
        SETS(x, s, len, "field[%d].name", idx);
    uint64_t class_idx = tget(r, "field_ids[%d].class_idx", *prev);
    uint64_t desc = tget(r, "type_ids[%d].descriptor_idx", class_idx);
    if ((s = sget(r, desc, &len)))
        SETS(x, s, len, "field[%d].class_name", idx);
    uint64_t type_idx = as_c_int(tget(r, "field_ids[%d].type_idx", *prev));
    uint64_t shorty = as_c_int(tget(r, "type_ids[%d].descriptor_idx", type_idx));
    if ((s = sget(r, shorty, &len)))
        SETS(x, s, len, "field[%d].proto", idx);
    return cur;
}

static uint32_t encoded_method(dex_ctx *x, uint64_t start, uint32_t *prev, int idx, int direct)
{
    ks_object *r = x->root;
    uint32_t cur = 0, diff, flags, code_off;
    const uint8_t *s;
    size_t len;
    if (!fits(x, start, 12))
        return 0;
    if (!uleb(x, start, &cur, &diff) || !uleb(x, start + cur, &cur, &flags) ||
        !uleb(x, start + cur, &cur, &code_off))
        return 0;
    SETI(x, diff, "method[%d].method_idx_diff", idx);
    SETI(x, flags, "method[%d].access_flags", idx);
    SETI(x, code_off, "method[%d].code_off", idx);
    SETI(x, direct, "method[%d].direct", idx);
    SETI(x, !direct, "method[%d].virtual", idx);
    *prev += diff;
    uint64_t name_idx = tget(r, "method_ids[%d].name_idx", *prev);
    if (name_idx == DEX_UNDEF)
        return 0;
    if ((s = sget(r, name_idx, &len)))
        SETS(x, s, len, "method[%d].name", idx);
    uint64_t class_idx = tget(r, "method_ids[%d].class_idx", *prev);
    uint64_t desc = tget(r, "type_ids[%d].descriptor_idx", class_idx);
    if ((s = sget(r, desc, &len)))
        SETS(x, s, len, "method[%d].class_name", idx);
    uint64_t proto_idx = tget(r, "method_ids[%d].proto_idx", *prev);
    uint64_t shorty = tget(r, "proto_ids[%d].shorty_idx", proto_idx);
    if ((s = sget(r, shorty, &len)))
        SETS(x, s, len, "method[%d].proto", idx);
    if (code_off != 0 && fits(x, code_off, 16)) {
        const uint8_t *c = x->d + code_off;
        uint32_t insns = le32(c + 12);
        SETI(x, le16(c), "method[%d].code_item.registers_size", idx);
        SETI(x, le16(c + 2), "method[%d].code_item.ins_size", idx);
        SETI(x, le16(c + 4), "method[%d].code_item.outs_size", idx);
        SETI(x, le16(c + 6), "method[%d].code_item.tries_size", idx);
        SETI(x, le32(c + 8), "method[%d].code_item.debug_info_off", idx);
        SETI(x, insns, "method[%d].code_item.insns_size", idx);
        uint32_t ilen = insns * 2u;
        if (fits(x, (uint64_t)code_off + 16, ilen))
            SETS(x, c + 16, ilen, "method[%d].code_item.insns", idx);
    }
    return cur;
}

static void parse(dex_ctx *x)
{
    const uint8_t *h = x->d;
    uint32_t n_fields = 0, n_methods = 0, n_cdi = 0;
    static const char *const hdr[] = {
        "header.file_size", "header.header_size", "header.endian_tag", "header.link_size",
        "header.link_offset", "header.map_offset", "header.string_ids_size",
        "header.string_ids_offset", "header.type_ids_size", "header.type_ids_offset",
        "header.proto_ids_size", "header.proto_ids_offset", "header.field_ids_size",
        "header.field_ids_offset", "header.method_ids_size", "header.method_ids_offset",
        "header.class_defs_size", "header.class_defs_offset", "header.data_size",
        "header.data_offset", NULL};
    SETS(x, h, strnlen((const char *)h, 8), "header.magic");
    SETI(x, le32(h + 8), "header.checksum");
    SETS(x, h + 12, strnlen((const char *)h + 12, 20), "header.signature");
    for (int k = 0; hdr[k]; k++)
        SETI(x, le32(h + 32 + 4 * k), hdr[k]);

    uint32_t map_off = le32(h + 52);
    uint32_t str_n = le32(h + 56), str_o = le32(h + 60);
    uint32_t typ_n = le32(h + 64), typ_o = le32(h + 68);
    uint32_t pro_n = le32(h + 72), pro_o = le32(h + 76);
    uint32_t fld_n = le32(h + 80), fld_o = le32(h + 84);
    uint32_t met_n = le32(h + 88), met_o = le32(h + 92);
    uint32_t cls_n = le32(h + 96), cls_o = le32(h + 100);

    if (!fits(x, str_o, (uint64_t)str_n * 4))
        return;
    for (uint32_t i = 0; i < str_n; i++) {
        uint32_t off = le32(x->d + str_o + (uint64_t)i * 4), sz = 0, value;
        if (!fits(x, off, 4) || !uleb(x, off, &sz, &value) || !fits(x, (uint64_t)off + 1, value))
            continue;
        SETI(x, off, "string_ids[%d].offset", (int)i);
        SETI(x, value, "string_ids[%d].size", (int)i);
        SETS(x, x->d + off + 1, value, "string_ids[%d].value", (int)i);
    }
    if (!fits(x, typ_o, (uint64_t)typ_n * 4))
        return;
    for (uint32_t i = 0; i < typ_n; i++)
        SETI(x, le32(x->d + typ_o + (uint64_t)i * 4), "type_ids[%d].descriptor_idx", (int)i);
    if (!fits(x, pro_o, (uint64_t)pro_n * 12))
        return;
    for (uint32_t i = 0; i < pro_n; i++) {
        const uint8_t *p = x->d + pro_o + (uint64_t)i * 12;
        SETI(x, le32(p), "proto_ids[%d].shorty_idx", (int)i);
        SETI(x, le32(p + 4), "proto_ids[%d].return_type_idx", (int)i);
        SETI(x, le32(p + 8), "proto_ids[%d].parameters_offset", (int)i);
    }
    if (!fits(x, fld_o, (uint64_t)fld_n * 8))
        return;
    for (uint32_t i = 0; i < fld_n; i++) {
        const uint8_t *p = x->d + fld_o + (uint64_t)i * 8;
        SETI(x, le16(p), "field_ids[%d].class_idx", (int)i);
        SETI(x, le16(p + 2), "field_ids[%d].type_idx", (int)i);
        SETI(x, le32(p + 4), "field_ids[%d].name_idx", (int)i);
    }
    if (!fits(x, met_o, (uint64_t)met_n * 8))
        return;
    for (uint32_t i = 0; i < met_n; i++) {
        const uint8_t *p = x->d + met_o + (uint64_t)i * 8;
        SETI(x, le16(p), "method_ids[%d].class_idx", (int)i);
        SETI(x, le16(p + 2), "method_ids[%d].proto_idx", (int)i);
        SETI(x, le32(p + 4), "method_ids[%d].name_idx", (int)i);
    }
    if (map_off != 0 && fits(x, map_off, 4)) {
        uint32_t cnt = le32(x->d + map_off);
        SETI(x, cnt, "map_list.size");
        /* YARA's bounds macro expands `4 + cnt * 12` unparenthesised into
         * `end - 4 + cnt * 12`, so the whole list need not fit: only 4 + cnt * 12 <= size
         * and map_off <= size - 4 + cnt * 12; then each item is checked on its own. */
        uint64_t need = 4 + (uint64_t)cnt * 12;
        if (need > x->n || (uint64_t)map_off > (uint64_t)x->n - 4 + (uint64_t)cnt * 12)
            return;
        for (uint32_t i = 0; i < cnt; i++) {
            uint64_t o = (uint64_t)map_off + 4 + (uint64_t)i * 12;
            if (!fits(x, o, 12))
                return;     /* items before this one stay listed */
            const uint8_t *p = x->d + o;
            SETI(x, le16(p), "map_list.map_item[%d].type", (int)i);
            SETI(x, le16(p + 2), "map_list.map_item[%d].unused", (int)i);
            SETI(x, le32(p + 4), "map_list.map_item[%d].size", (int)i);
            SETI(x, le32(p + 8), "map_list.map_item[%d].offset", (int)i);
        }
    }
    if (!fits(x, cls_o, (uint64_t)cls_n * 32))
        return;
    static const char *const cls[] = {
        "class_defs[%d].class_idx", "class_defs[%d].access_flags",
        "class_defs[%d].super_class_idx", "class_defs[%d].interfaces_offset",
        "class_defs[%d].source_file_idx", "class_defs[%d].annotations_offset",
        "class_defs[%d].class_data_offset", "class_defs[%d].static_values_offset", NULL};
    for (uint32_t i = 0; i < cls_n; i++) {
        const uint8_t *p = x->d + cls_o + (uint64_t)i * 32;
        for (int k = 0; cls[k]; k++)
            SETI(x, le32(p + 4 * k), cls[k], (int)i);
        uint32_t cdo = le32(p + 24);
        if (cdo == 0)
            continue;
        if (!fits(x, cdo, 16))
            return;
        uint32_t used = 0, sizes[4];
        for (int k = 0; k < 4; k++)
            if (!uleb(x, (uint64_t)cdo + used, &used, &sizes[k]))
                return;
        SETI(x, sizes[0], "class_data_item[%d].static_fields_size", (int)n_cdi);
        SETI(x, sizes[1], "class_data_item[%d].instance_fields_size", (int)n_cdi);
        SETI(x, sizes[2], "class_data_item[%d].direct_methods_size", (int)n_cdi);
        SETI(x, sizes[3], "class_data_item[%d].virtual_methods_size", (int)n_cdi);
        for (int list = 0; list < 4; list++) {
            uint32_t prev = 0;
            for (uint32_t j = 0; j < sizes[list] && x->budget > 0; j++) {
                uint32_t got;
                x->budget--;
                if (list < 2)
                    got = encoded_field(x, (uint64_t)cdo + used, &prev, (int)n_fields, list == 0);
                else
                    got = encoded_method(x, (uint64_t)cdo + used, &prev, (int)n_methods,
                                         list == 2);
                if (got == 0)
                    break;
                used += got;
                if (list < 2)
                    n_fields++;
                else
                    n_methods++;
            }
        }
        n_cdi++;
    }
    SETI(x, n_methods, "number_of_methods");
    SETI(x, n_fields, "number_of_fields");
}

/* ---- functions ---- */

/* C-string view of a V_STR argument (YARA compares up to the first NUL). */
static size_t cstr_len(const uint8_t *s, size_t n)
{
    const uint8_t *z = n ? memchr(s, 0, n) : NULL;
    return z ? (size_t)(z - s) : n;
}

/* 1 when method[i].<field> is defined, with *s / *n its C string. */
static int mstr(ks_object *r, int64_t i, const char *path, const uint8_t **s, size_t *n)
{
    ks_object *o = obj_lookup(r, path, (int)i);
    if (!o || !obj_is_defined(o))
        return 0;
    *s = obj_string(o, n);
    *n = cstr_len(*s, *n);
    return 1;
}

/* 1 if the argument (string or regex) accepts the C string s; <0 on error. */
static int accepts(const ks_val *a, const uint8_t *s, size_t n)
{
    if (a->type == V_REGEX) {
        if (!a->re)
            return 0;
        int rc = re_search(a->re, s, n);
        if (rc < 0)
            return rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
        return rc > 0;
    }
    size_t al = cstr_len(a->s, a->len);
    return al == n && memcmp(a->s, s, n) == 0;
}

/* has_method(name) / has_method(class, name) / has_class(class), strings or regexes. */
static int lookup(ks_fnctx *ctx, const ks_val *cls, const ks_val *name, ks_val *ret)
{
    ks_object *r = ctx->module_root;
    int def = 0;
    int64_t cnt = obj_get_int(r, &def, "number_of_methods");
    if (!def)
        return mod_ret_undef(ret);
    int64_t len = obj_length(obj_field(r, "method"));
    if (len < cnt)
        cnt = len;   /* items past the array are undefined: they never match */
    for (int64_t i = 0; i < cnt && i < INT32_MAX; i++) {
        const uint8_t *s;
        size_t n;
        int rc;
        if (cls && mstr(r, i, "method[%d].class_name", &s, &n)) {
            if ((rc = accepts(cls, s, n)) < 0)
                return rc;
            if (!rc)
                continue;
            if (!name)
                return mod_ret_int(ret, 1);
        }
        if (name && mstr(r, i, "method[%d].name", &s, &n)) {
            if ((rc = accepts(name, s, n)) < 0)
                return rc;
            if (rc)
                return mod_ret_int(ret, 1);
        }
    }
    return mod_ret_int(ret, 0);
}

static int fn_has_method(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return n >= 2 ? lookup(ctx, &a[0], &a[1], ret) : lookup(ctx, NULL, &a[0], ret);
}

static int fn_has_class(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return lookup(ctx, &a[0], NULL, ret);
}

/* ---- declarations ---- */

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)

typedef struct dex_const {
    const char *name;
    uint32_t value;
} dex_const;

static const dex_const consts[] = {
    {"ENDIAN_CONSTANT", 0x12345678}, {"REVERSE_ENDIAN_CONSTANT", 0x78563412},
    {"NO_INDEX", 0xffffffffu}, {"ACC_PUBLIC", 0x1}, {"ACC_PRIVATE", 0x2},
    {"ACC_PROTECTED", 0x4}, {"ACC_STATIC", 0x8}, {"ACC_FINAL", 0x10},
    {"ACC_SYNCHRONIZED", 0x20}, {"ACC_VOLATILE", 0x40}, {"ACC_BRIDGE", 0x40},
    {"ACC_TRANSIENT", 0x80}, {"ACC_VARARGS", 0x80}, {"ACC_NATIVE", 0x100},
    {"ACC_INTERFACE", 0x200}, {"ACC_ABSTRACT", 0x400}, {"ACC_STRICT", 0x800},
    {"ACC_SYNTHETIC", 0x1000}, {"ACC_ANNOTATION", 0x2000}, {"ACC_ENUM", 0x4000},
    {"ACC_CONSTRUCTOR", 0x10000}, {"ACC_DECLARED_SYNCHRONIZED", 0x20000},
    {"TYPE_HEADER_ITEM", 0x0}, {"TYPE_STRING_ID_ITEM", 0x1}, {"TYPE_TYPE_ID_ITEM", 0x2},
    {"TYPE_PROTO_ID_ITEM", 0x3}, {"TYPE_FIELD_ID_ITEM", 0x4}, {"TYPE_METHOD_ID_ITEM", 0x5},
    {"TYPE_CLASS_DEF_ITEM", 0x6}, {"TYPE_CALL_SITE_ID_ITEM", 0x7},
    {"TYPE_METHOD_HANDLE_ITEM", 0x8}, {"TYPE_MAP_LIST", 0x1000}, {"TYPE_TYPE_LIST", 0x1001},
    {"TYPE_ANNOTATION_SET_REF_LIST", 0x1002}, {"TYPE_ANNOTATION_SET_ITEM", 0x1003},
    {"TYPE_CLASS_DATA_ITEM", 0x2000}, {"TYPE_CODE_ITEM", 0x2001},
    {"TYPE_STRING_DATA_ITEM", 0x2002}, {"TYPE_DEBUG_INFO_ITEM", 0x2003},
    {"TYPE_ANNOTATION_ITEM", 0x2004}, {"TYPE_ENCODED_ARRAY_ITEM", 0x2005},
    {"TYPE_ANNOTATIONS_DIRECTORY_ITEM", 0x2006}, {NULL, 0},
};

static const char *const magics[] = {"DEX_FILE_MAGIC_035", "DEX_FILE_MAGIC_036",
                                     "DEX_FILE_MAGIC_037", "DEX_FILE_MAGIC_038",
                                     "DEX_FILE_MAGIC_039", NULL};

static int decl_ints(ks_object *s, const char *const *names)
{
    for (int k = 0; names[k]; k++)
        CHECK(obj_decl_int(s, names[k]));
    return 0;
}

static int dex_declare(ks_object *root)
{
    static const char *const hdr[] = {
        "file_size", "header_size", "endian_tag", "link_size", "link_offset", "map_offset",
        "string_ids_size", "string_ids_offset", "type_ids_size", "type_ids_offset",
        "proto_ids_size", "proto_ids_offset", "field_ids_size", "field_ids_offset",
        "method_ids_size", "method_ids_offset", "class_defs_size", "class_defs_offset",
        "data_size", "data_offset", NULL};
    static const char *const proto[] = {"shorty_idx", "return_type_idx", "parameters_offset",
                                        NULL};
    static const char *const fid[] = {"class_idx", "type_idx", "name_idx", NULL};
    static const char *const mid[] = {"class_idx", "proto_idx", "name_idx", NULL};
    static const char *const cdef[] = {"class_idx", "access_flags", "super_class_idx",
                                       "interfaces_offset", "source_file_idx",
                                       "annotations_offset", "class_data_offset",
                                       "static_values_offset", NULL};
    static const char *const cdi[] = {"static_fields_size", "instance_fields_size",
                                      "direct_methods_size", "virtual_methods_size", NULL};
    static const char *const mi[] = {"type", "unused", "size", "offset", NULL};
    static const char *const meth[] = {"direct", "virtual", "method_idx_diff", "access_flags",
                                       "code_off", NULL};
    static const char *const code[] = {"registers_size", "ins_size", "outs_size", "tries_size",
                                       "debug_info_off", "insns_size", NULL};
    ks_object *s, *t;
    int rc;
    for (int k = 0; magics[k]; k++)
        CHECK(obj_decl_string(root, magics[k]));
    for (const dex_const *c = consts; c->name; c++)
        CHECK(obj_decl_int(root, c->name));
    CHECK(s = obj_decl_struct(root, "header"));
    CHECK(obj_decl_string(s, "magic"));
    CHECK(obj_decl_int(s, "checksum"));
    CHECK(obj_decl_string(s, "signature"));
    if ((rc = decl_ints(s, hdr)) != 0)
        return rc;
    CHECK(s = obj_decl_array(root, "string_ids", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "offset"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(obj_decl_string(s, "value"));
    CHECK(s = obj_decl_array(root, "type_ids", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "descriptor_idx"));
    CHECK(s = obj_decl_array(root, "proto_ids", OBJ_STRUCT));
    if ((rc = decl_ints(s, proto)) != 0)
        return rc;
    CHECK(s = obj_decl_array(root, "field_ids", OBJ_STRUCT));
    if ((rc = decl_ints(s, fid)) != 0)
        return rc;
    CHECK(s = obj_decl_array(root, "method_ids", OBJ_STRUCT));
    if ((rc = decl_ints(s, mid)) != 0)
        return rc;
    CHECK(s = obj_decl_array(root, "class_defs", OBJ_STRUCT));
    if ((rc = decl_ints(s, cdef)) != 0)
        return rc;
    CHECK(s = obj_decl_array(root, "class_data_item", OBJ_STRUCT));
    if ((rc = decl_ints(s, cdi)) != 0)
        return rc;
    CHECK(s = obj_decl_struct(root, "map_list"));
    CHECK(obj_decl_int(s, "size"));
    CHECK(t = obj_decl_array(s, "map_item", OBJ_STRUCT));
    if ((rc = decl_ints(t, mi)) != 0)
        return rc;
    CHECK(obj_decl_int(root, "number_of_fields"));
    CHECK(s = obj_decl_array(root, "field", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "class_name"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_string(s, "proto"));
    CHECK(obj_decl_int(s, "field_idx_diff"));
    CHECK(obj_decl_int(s, "access_flags"));
    if (obj_decl_func(root, "has_method", "s", 'i', fn_has_method) ||
        obj_decl_func(root, "has_method", "ss", 'i', fn_has_method) ||
        obj_decl_func(root, "has_method", "r", 'i', fn_has_method) ||
        obj_decl_func(root, "has_method", "rr", 'i', fn_has_method) ||
        obj_decl_func(root, "has_class", "s", 'i', fn_has_class) ||
        obj_decl_func(root, "has_class", "r", 'i', fn_has_class))
        return KS_ENOMEM;
    CHECK(obj_decl_int(root, "number_of_methods"));
    CHECK(s = obj_decl_array(root, "method", OBJ_STRUCT));
    CHECK(obj_decl_string(s, "class_name"));
    CHECK(obj_decl_string(s, "name"));
    CHECK(obj_decl_string(s, "proto"));
    if ((rc = decl_ints(s, meth)) != 0)
        return rc;
    CHECK(t = obj_decl_struct(s, "code_item"));
    if ((rc = decl_ints(t, code)) != 0)
        return rc;
    CHECK(obj_decl_string(t, "insns"));
    CHECK(obj_decl_int(t, "padding"));
    CHECK(obj_decl_struct(t, "tries"));
    CHECK(obj_decl_array(t, "handlers", OBJ_STRUCT));
    return 0;
}

static int dex_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                    size_t mod_data_len)
{
    (void)mod_data;
    (void)mod_data_len;
    dex_ctx x = {data, size, root, DEX_MAX_MEMBERS, 0};
    static const char magic_value[] = "dex\n03";
    for (int k = 0; magics[k]; k++) {
        char v[8];
        memcpy(v, magic_value, 6);
        v[6] = (char)('5' + k);
        v[7] = 0;
        SETS(&x, v, 7, magics[k]);
    }
    for (const dex_const *c = consts; c->name; c++)
        SETI(&x, c->value, c->name);
    if (data && size >= DEX_HEADER_SIZE && memcmp(data, "dex\n03", 6) == 0 && data[6] >= '5' &&
        data[6] <= '9' && data[7] == 0)
        parse(&x);
    return x.err;
}

const ks_module ks_module_dex = {"dex", dex_declare, dex_load, NULL};
