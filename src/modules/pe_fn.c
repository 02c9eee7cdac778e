/*
 * pe_fn.c - the functions of the `pe` module (YARA 4.2.3 semantics): imphash, imports (all eight
 * overloads), exports / exports_index, section_index, locale, language, is_dll, is_32bit,
 * is_64bit, rva_to_offset, calculate_checksum and rich_signature.version / toolid.
 *
 * Functions that need the import lists re-parse them from the scanned bytes (kensa keeps no state
 * outside the object tree); everything else reads the values load() stored in the tree. As in
 * YARA: is_dll() returns characteristics & 0x2000 (not 0/1); imports(dll) returns the number of
 * functions imported from dll; name comparisons are ASCII case-insensitive; regex forms count
 * matches; exports(ordinal) is 0 when the ordinal exceeds number_of_exports.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/re.h"
#include "modules/modutil.h"
#include "modules/pe.h"

/* YARA's YR_UNDEFINED, for the few places where YARA compares against it as a number. */
#define YR_UNDEF_VALUE ((int64_t)0xFFFABADAFABADAFFull)

/* NUL-terminated copy of a string argument, cut at its first NUL (YARA passes C strings). */
static char *cstr(const ks_val *v)
{
    const void *z = v->len ? memchr(v->s, 0, v->len) : NULL;
    size_t len = z ? (size_t)((const uint8_t *)z - v->s) : v->len;
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, v->s, len);
        s[len] = 0;
    }
    return s;
}

static int64_t get_int(ks_object *root, int *def, const char *path, int64_t i)
{
    int d = 0;
    int64_t v = obj_get_int(root, &d, path, (long long)i);
    if (def)
        *def = d;
    return d ? v : YR_UNDEF_VALUE;
}

static const uint8_t *get_str(ks_object *root, size_t *len, const char *path, int64_t i)
{
    ks_object *o = obj_lookup(root, path, (long long)i);
    if (!o || obj_type_of(o) != OBJ_STRING || !obj_is_defined(o))
        return NULL;
    return obj_string(o, len);
}

/* ------------------------------------------------------------------ imports */

static int64_t imports_dll_count(const pe_dll *d, const char *dll)
{
    int64_t r = 0;
    for (; d; d = d->next)
        if (strcasecmp(d->name, dll) == 0)
            for (const pe_func *f = d->funcs; f; f = f->next)
                r++;
    return r;
}

static int imports_fn(const pe_dll *d, const char *dll, const char *fn)
{
    for (; d; d = d->next)
        if (strcasecmp(d->name, dll) == 0)
            for (const pe_func *f = d->funcs; f; f = f->next)
                if (strcasecmp(f->name, fn) == 0)
                    return 1;
    return 0;
}

static int imports_ord(const pe_dll *d, const char *dll, int64_t ord)
{
    for (; d; d = d->next)
        if (strcasecmp(d->name, dll) == 0)
            for (const pe_func *f = d->funcs; f; f = f->next)
                if (f->has_ordinal && f->ordinal == ord)
                    return 1;
    return 0;
}

static int re_hit(const struct re_code *re, const char *s, int *err)
{
    int rc = re_search(re, (const uint8_t *)s, strlen(s));
    if (rc < 0) {
        *err = rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
        return 0;
    }
    return rc > 0;
}

static int64_t imports_re(const pe_dll *d, const struct re_code *dre, const struct re_code *fre,
                          int *err)
{
    int64_t r = 0;
    for (; d && !*err; d = d->next)
        if (re_hit(dre, d->name, err))
            for (const pe_func *f = d->funcs; f && !*err; f = f->next)
                if (re_hit(fre, f->name, err))
                    r++;
    return r;
}

/* All imports(...) overloads. Signature letters tell the form: optional leading flags 'i', then
 * "ss" (dll, function), "si" (dll, ordinal), "s" (dll) or "rr" (regexes). */
static int do_imports(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret, int with_flags)
{
    pe_file pe;
    pe_dll *std = NULL, *del = NULL;
    int64_t flags = PE_IMPORT_STANDARD, result = 0;
    int nomem = 0, err = 0;
    char *dll = NULL, *fn = NULL;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    if (with_flags) {
        flags = a[0].i;
        a++;
        n--;
    }
    if (flags & PE_IMPORT_STANDARD)
        std = pe_parse_imports(&pe, NULL, NULL, &nomem);
    if ((flags & PE_IMPORT_DELAYED) && !nomem)
        del = pe_parse_delayed(&pe, NULL, NULL, &nomem);
    if (nomem)
        goto oom;
    if (a[0].type == V_REGEX) {
        result = imports_re(std, a[0].re, a[1].re, &err);
        if (!err)
            result += imports_re(del, a[0].re, a[1].re, &err);
    } else {
        if (!(dll = cstr(&a[0])))
            goto oom;
        if (n == 1) {
            result = imports_dll_count(std, dll) + imports_dll_count(del, dll);
        } else if (a[1].type == V_INT) {
            result = imports_ord(std, dll, a[1].i) || imports_ord(del, dll, a[1].i);
        } else {
            if (!(fn = cstr(&a[1])))
                goto oom;
            result = imports_fn(std, dll, fn) || imports_fn(del, dll, fn);
        }
    }
    free(dll);
    free(fn);
    pe_free_dlls(std);
    pe_free_dlls(del);
    return err ? err : mod_ret_int(ret, result);
oom:
    free(dll);
    free(fn);
    pe_free_dlls(std);
    pe_free_dlls(del);
    return KS_ENOMEM;
}

static int fn_imports(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return do_imports(ctx, a, n, ret, 0);
}

static int fn_imports_flags(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return do_imports(ctx, a, n, ret, 1);
}

/* pe.imphash() result of the current scan, kept on the module root (its udata): rule sets
 * call it hundreds of times per file (signature-base: 329 calls). */
typedef struct imphash_cache {
    int state;                   /* 0 not computed, 1 hex valid, 2 undefined */
    char hex[33];
} imphash_cache;

static int fn_imphash_compute(ks_fnctx *ctx, ks_val *ret);

static int fn_imphash(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)a;
    (void)n;
    imphash_cache *c = ctx->module_root ? obj_get_udata(ctx->module_root) : NULL;
    if (!c && ctx->module_root) {
        c = calloc(1, sizeof *c);
        if (c && obj_set_udata(ctx->module_root, c, free) != 0) {
            free(c);
            c = NULL;
        }
    }
    if (c && c->state == 1)
        return mod_ret_str(ctx, ret, c->hex, 32);
    if (c && c->state == 2)
        return mod_ret_undef(ret);
    int rc = fn_imphash_compute(ctx, ret);
    if (c && rc == KS_OK) {
        if (ret->type == V_STR && ret->len == 32) {
            memcpy(c->hex, ret->s, 32);
            c->hex[32] = 0;
            c->state = 1;
        } else if (ret->type == V_UNDEF) {
            c->state = 2;
        }
    }
    return rc;
}

static int fn_imphash_compute(ks_fnctx *ctx, ks_val *ret)
{
    static const char hexd[] = "0123456789abcdef";
    pe_file pe;
    pe_dll *dlls;
    int nomem = 0, first = 1, ok = 1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE];
    EVP_MD_CTX *mc;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    dlls = pe_parse_imports(&pe, NULL, NULL, &nomem);
    if (nomem) {
        pe_free_dlls(dlls);
        return KS_ENOMEM;
    }
    mc = EVP_MD_CTX_new();
    if (!mc || !EVP_DigestInit_ex(mc, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(mc);
        pe_free_dlls(dlls);
        return KS_ENOMEM;
    }
    for (pe_dll *d = dlls; d && ok; d = d->next) {
        /* the DLL name loses a ".ocx", ".sys" or ".dll" starting at its first dot */
        const char *dot = strchr(d->name, '.');
        size_t dl = strlen(d->name);
        if (dot && (strncasecmp(dot, ".ocx", 4) == 0 || strncasecmp(dot, ".sys", 4) == 0 ||
                    strncasecmp(dot, ".dll", 4) == 0))
            dl = (size_t)(dot - d->name);
        for (pe_func *f = d->funcs; f && ok; f = f->next) {
            size_t fl = strlen(f->name), len = (first ? 0 : 1) + dl + 1 + fl, k = 0;
            char *s = malloc(len + 1);
            if (!s) {
                ok = 0;
                break;
            }
            if (!first)
                s[k++] = ',';
            memcpy(s + k, d->name, dl);
            k += dl;
            s[k++] = '.';
            memcpy(s + k, f->name, fl);
            for (size_t j = 0; j < len; j++)
                s[j] = (char)tolower((unsigned char)s[j]);
            ok = EVP_DigestUpdate(mc, s, len);
            free(s);
            first = 0;
        }
    }
    pe_free_dlls(dlls);
    if (!ok || !EVP_DigestFinal_ex(mc, md, &mdlen)) {
        EVP_MD_CTX_free(mc);
        return KS_ENOMEM;
    }
    EVP_MD_CTX_free(mc);
    for (unsigned k = 0; k < mdlen; k++) {
        hex[2 * k] = hexd[md[k] >> 4];
        hex[2 * k + 1] = hexd[md[k] & 15];
    }
    return mod_ret_str(ctx, ret, hex, 2 * (size_t)mdlen);
}

/* ------------------------------------------------------------------ exports */

static int is_pe(ks_fnctx *ctx)
{
    int d = 0;
    return ctx->module_root && obj_get_int(ctx->module_root, &d, "is_pe") == 1 && d;
}

static int icase_eq(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl)
{
    if (xl != yl)
        return 0;
    for (size_t k = 0; k < xl; k++)
        if (tolower(x[k]) != tolower(y[k]))
            return 0;
    return 1;
}

/* Index of the first export matching a[0] (string, regex or ordinal); -1 none; <-1 error. */
static int64_t export_find(ks_fnctx *ctx, const ks_val *a, int64_t nexp)
{
    ks_object *root = ctx->module_root;
    if (a[0].type == V_INT) {
        if (a[0].i == 0 || a[0].i > nexp)
            return -1;
        for (int64_t i = 0; i < nexp; i++)
            if (get_int(root, NULL, "export_details[%lld].ordinal", i) == a[0].i)
                return i;
        return -1;
    }
    for (int64_t i = 0; i < nexp; i++) {
        size_t len;
        const uint8_t *s = get_str(root, &len, "export_details[%lld].name", i);
        if (!s)
            continue;
        if (a[0].type == V_REGEX) {
            const void *z = len ? memchr(s, 0, len) : NULL;
            int rc = re_search(a[0].re, s, z ? (size_t)((const uint8_t *)z - s) : len);
            if (rc < 0)
                return rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
            if (rc > 0)
                return i;
        } else if (icase_eq(s, len, a[0].s, a[0].len)) {
            return i;
        }
    }
    return -1;
}

static int fn_exports(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    int64_t nexp, r;
    if (!is_pe(ctx))
        return mod_ret_undef(ret);
    nexp = (int)get_int(ctx->module_root, NULL, "number_of_exports", 0);
    if (nexp == 0)
        return mod_ret_int(ret, 0);
    r = export_find(ctx, a, nexp);
    if (r < -1)
        return (int)r;
    return mod_ret_int(ret, r >= 0);
}

static int fn_exports_index(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    int64_t nexp, r;
    if (!is_pe(ctx))
        return mod_ret_undef(ret);
    nexp = (int)get_int(ctx->module_root, NULL, "number_of_exports", 0);
    if (nexp == 0)
        return mod_ret_undef(ret);
    r = export_find(ctx, a, nexp);
    if (r < -1)
        return (int)r;
    return r >= 0 ? mod_ret_int(ret, r) : mod_ret_undef(ret);
}

/* ------------------------------------------------------------------ sections, misc */

static int fn_section_index(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    ks_object *root = ctx->module_root;
    int def = 0;
    int64_t ns;
    if (!root)
        return mod_ret_undef(ret);
    ns = get_int(root, &def, "number_of_sections", 0);
    if (!def)
        return mod_ret_undef(ret);
    if (ns > PE_MAX_SECTIONS)
        ns = PE_MAX_SECTIONS;
    if (a[0].type == V_INT) {
        for (int64_t i = 0; i < ns; i++) {
            int64_t off = get_int(root, NULL, "sections[%lld].raw_data_offset", i);
            int64_t sz = get_int(root, NULL, "sections[%lld].raw_data_size", i);
            if (a[0].i >= off && a[0].i < (int64_t)((uint64_t)off + (uint64_t)sz))
                return mod_ret_int(ret, i);
        }
        return mod_ret_undef(ret);
    }
    char *name = cstr(&a[0]);
    if (!name)
        return KS_ENOMEM;
    for (int64_t i = 0; i < ns; i++) {
        size_t len;
        const uint8_t *s = get_str(root, &len, "sections[%lld].name", i);
        if (s && strcmp(name, (const char *)s) == 0) {
            free(name);
            return mod_ret_int(ret, i);
        }
    }
    free(name);
    return mod_ret_undef(ret);
}

static int lang_match(ks_fnctx *ctx, const ks_val *a, ks_val *ret, uint64_t mask)
{
    ks_object *root = ctx->module_root;
    int def = 0;
    int64_t nr;
    if (!root)
        return mod_ret_undef(ret);
    nr = get_int(root, &def, "number_of_resources", 0);
    if (!def || !is_pe(ctx))
        return mod_ret_undef(ret);
    for (int64_t i = 0; i < (int)nr; i++) {
        uint64_t l = (uint64_t)get_int(root, NULL, "resources[%lld].language", i);
        if ((l & mask) == (uint64_t)a[0].i)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

static int fn_locale(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return lang_match(ctx, a, ret, 0xffff);
}

static int fn_language(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return lang_match(ctx, a, ret, 0xff);
}

static int fn_is_dll(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    int def = 0;
    int64_t c;
    if (!ctx->module_root)
        return mod_ret_undef(ret);
    c = get_int(ctx->module_root, &def, "characteristics", 0);
    return def ? mod_ret_int(ret, c & 0x2000) : mod_ret_undef(ret);
}

static int fn_is_32bit(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    pe_file pe;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    return mod_ret_int(ret, !pe.is64);
}

static int fn_is_64bit(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    pe_file pe;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    return mod_ret_int(ret, pe.is64);
}

static int fn_rva_to_offset(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    pe_file pe;
    int64_t o;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    o = pe_rva_to_offset(&pe, (uint64_t)a[0].i);
    return o == -1 ? mod_ret_undef(ret) : mod_ret_int(ret, o);
}

static int fn_calculate_checksum(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    pe_file pe;
    uint64_t csum = 0, csum_off;
    const uint8_t *d = ctx->data;
    size_t sz = ctx->size;
    if (pe_open(&pe, ctx->data, ctx->size) != 0)
        return mod_ret_undef(ret);
    csum_off = pe.opt + 64;
    for (size_t i = 0; i <= sz / 4; i++) {
        if (4 * (uint64_t)i == csum_off)
            continue;
        if (4 * i + 4 <= sz) {
            csum += (uint64_t)d[4 * i] | (uint64_t)d[4 * i + 1] << 8 |
                    (uint64_t)d[4 * i + 2] << 16 | (uint64_t)d[4 * i + 3] << 24;
        } else {
            for (size_t j = 0; j < sz % 4; j++)
                csum += (uint64_t)d[4 * i + j] << (8 * j);
        }
        if (csum > 0xffffffffull)
            csum = (csum & 0xffffffffull) + (csum >> 32);
    }
    csum = (csum & 0xffff) + (csum >> 16);
    csum += csum >> 16;
    csum &= 0xffff;
    csum += sz;
    return mod_ret_int(ret, (int64_t)csum);
}

/* ------------------------------------------------------------------ rich signature */

static int rich(ks_fnctx *ctx, ks_val *ret, int has_ver, int64_t ver, int has_tool, int64_t tool)
{
    ks_object *root = ctx->module_root;
    int def = 0;
    size_t len = 0;
    const uint8_t *clear;
    uint64_t result = 0;
    if (!root)
        return mod_ret_undef(ret);
    get_int(root, &def, "rich_signature.length", 0);
    if (!def)
        return mod_ret_undef(ret);
    clear = get_str(root, &len, "rich_signature.clear_data", 0);
    if (!clear)
        return mod_ret_undef(ret);
    for (size_t off = 16; len >= 16 && off + 8 <= len; off += 8) {
        uint32_t idv = (uint32_t)clear[off] | (uint32_t)clear[off + 1] << 8 |
                       (uint32_t)clear[off + 2] << 16 | (uint32_t)clear[off + 3] << 24;
        uint32_t times = (uint32_t)clear[off + 4] | (uint32_t)clear[off + 5] << 8 |
                         (uint32_t)clear[off + 6] << 16 | (uint32_t)clear[off + 7] << 24;
        if ((!has_ver || ver == (int64_t)(idv & 0xffff)) &&
            (!has_tool || tool == (int64_t)(idv >> 16)))
            result += times;
    }
    return mod_ret_int(ret, (int64_t)result);
}

static int fn_rich_version(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return rich(ctx, ret, 1, a[0].i, n > 1, n > 1 ? a[1].i : 0);
}

static int fn_rich_toolid(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return rich(ctx, ret, n > 1, n > 1 ? a[1].i : 0, 1, a[0].i);
}

/* ------------------------------------------------------------------ valid_on */

/* valid_on(t) is evaluated against the signature it is called on (ctx->self, the item
 * pe.signatures[i]): not_before <= t <= not_after. Without that context (a caller that does not
 * set it) the answer is exact only when every signature agrees, and undefined otherwise. */
int pe_fn_valid_on(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    ks_object *root = ctx->module_root;
    int def = 0, answer = -1;
    int64_t ns;
    if (ctx->self && obj_type_of(ctx->self) == OBJ_STRUCT) {
        int d1 = 0, d2 = 0;
        int64_t nb = obj_get_int(ctx->self, &d1, "not_before");
        int64_t na = obj_get_int(ctx->self, &d2, "not_after");
        if (!d1 || !d2)
            return mod_ret_undef(ret);
        return mod_ret_int(ret, a[0].i >= nb && a[0].i <= na);
    }
    if (!root)
        return mod_ret_undef(ret);
    ns = get_int(root, &def, "number_of_signatures", 0);
    if (!def || ns <= 0)
        return mod_ret_undef(ret);
    for (int64_t i = 0; i < ns; i++) {
        int d1 = 0, d2 = 0, r;
        int64_t nb = get_int(root, &d1, "signatures[%lld].not_before", i);
        int64_t na = get_int(root, &d2, "signatures[%lld].not_after", i);
        if (!d1 || !d2)
            return mod_ret_undef(ret);
        r = a[0].i >= nb && a[0].i <= na;
        if (answer >= 0 && r != answer)
            return mod_ret_undef(ret);
        answer = r;
    }
    return mod_ret_int(ret, answer);
}

/* ------------------------------------------------------------------ declarations */

int pe_declare_rich_functions(ks_object *rich_obj)
{
    int rc = 0;
    if (!rc) rc = obj_decl_func(rich_obj, "version", "i", 'i', fn_rich_version);
    if (!rc) rc = obj_decl_func(rich_obj, "version", "ii", 'i', fn_rich_version);
    if (!rc) rc = obj_decl_func(rich_obj, "toolid", "i", 'i', fn_rich_toolid);
    if (!rc) rc = obj_decl_func(rich_obj, "toolid", "ii", 'i', fn_rich_toolid);
    return rc;
}

int pe_declare_functions(ks_object *root)
{
    static const struct { const char *name, *args; ks_fn fn; } fns[] = {
        {"imphash", "", fn_imphash},
        {"section_index", "s", fn_section_index},
        {"section_index", "i", fn_section_index},
        {"exports", "s", fn_exports},
        {"exports", "r", fn_exports},
        {"exports", "i", fn_exports},
        {"exports_index", "s", fn_exports_index},
        {"exports_index", "i", fn_exports_index},
        {"exports_index", "r", fn_exports_index},
        {"imports", "ss", fn_imports},
        {"imports", "si", fn_imports},
        {"imports", "s", fn_imports},
        {"imports", "rr", fn_imports},
        {"imports", "iss", fn_imports_flags},
        {"imports", "isi", fn_imports_flags},
        {"imports", "is", fn_imports_flags},
        {"imports", "irr", fn_imports_flags},
        {"locale", "i", fn_locale},
        {"language", "i", fn_language},
        {"is_dll", "", fn_is_dll},
        {"is_32bit", "", fn_is_32bit},
        {"is_64bit", "", fn_is_64bit},
        {"calculate_checksum", "", fn_calculate_checksum},
        {"rva_to_offset", "i", fn_rva_to_offset},
    };
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        int rc = obj_decl_func(root, fns[k].name, fns[k].args, fns[k].name[0] == 'i' &&
                               fns[k].name[1] == 'm' && fns[k].name[2] == 'p' &&
                               fns[k].name[3] == 'h' ? 's' : 'i', fns[k].fn);
        if (rc != 0)
            return rc;
    }
    return 0;
}
