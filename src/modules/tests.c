/*
 * tests.c - the `tests` module: kensa's equivalent of YARA's small test module. Fixed integers,
 * strings, arrays, dictionaries (some deliberately left empty or undefined) and a few functions
 * with overloads, used to exercise the language, undefined values and module plumbing.
 *
 * Facts reproduced from YARA 4.2.3 (values, names, declaration order, function results):
 *   constants.{one=1, two=2, foo="foo", empty=""}; undefined.{i, f} never set;
 *   module_data = the -x data (only when non-empty); integer_array = {0:0, 1:1, 2:2, 256:256};
 *   string_array = {"foo","bar","baz","foo\0bar"}; integer_dict empty; string_dict {foo, bar};
 *   struct_array[1].i = 1 (item 0 absent); struct_dict["foo"] = {i=1, s="foo"};
 *   empty_struct_dict, empty_struct_array (with nested struct_array / struct_dict) never filled.
 *   match(r, s): -1 if no match, else the end offset of the first match (YARA's scan length);
 *   isum/fsum with 2 or 3 arguments; length(s): bytes before the first NUL; empty() = "";
 *   foobar(1) = "foo", foobar(2) = "bar", otherwise "oops".
 */
#include <string.h>

#include "match/re.h"
#include "modules/modutil.h"

static int fn_fsum(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += a[k].f;
    return mod_ret_float(ret, s);
}

static int fn_isum(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    uint64_t s = 0;     /* wrap like two's complement, without signed-overflow UB */
    for (int k = 0; k < n; k++)
        s += (uint64_t)a[k].i;
    return mod_ret_int(ret, (int64_t)s);
}

static int fn_length(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    const void *z = a[0].len ? memchr(a[0].s, 0, a[0].len) : NULL;
    return mod_ret_int(ret, z ? (int64_t)((const uint8_t *)z - a[0].s) : (int64_t)a[0].len);
}

static int fn_empty(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return mod_ret_str(ctx, ret, "", 0);
}

/* YARA returns the number of bytes scanned up to the end of the first match, or -1. With only
 * an unanchored search available, this returns the smallest e such that s[0..e) contains a
 * match (exact for literal-like patterns; may be shorter than YARA for greedy quantifiers).
 * Like YARA, the subject is cut at its first NUL. */
static int fn_match(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    const ks_val *r = &a[0], *s = &a[1];
    const void *z;
    size_t len = s->len, lo, hi;
    int rc;
    if (!r->re)
        return mod_ret_undef(ret);
    z = len ? memchr(s->s, 0, len) : NULL;
    if (z)
        len = (size_t)((const uint8_t *)z - s->s);
    rc = re_search(r->re, s->s, len);
    if (rc < 0)
        return rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
    if (rc == 0)
        return mod_ret_int(ret, -1);
    lo = 0;
    hi = len;       /* invariant: s[0..hi) matches */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        rc = re_search(r->re, s->s, mid);
        if (rc < 0)
            return rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
        if (rc > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return mod_ret_int(ret, (int64_t)hi);
}

static int fn_foobar(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    switch (a[0].i) {
    case 1:
        return mod_ret_str(ctx, ret, "foo", 3);
    case 2:
        return mod_ret_str(ctx, ret, "bar", 3);
    default:
        return mod_ret_str(ctx, ret, "oops", 4);
    }
}

#define CHECK(x) do { if (!(x)) return KS_ENOMEM; } while (0)
#define CHECK_RC(x) do { int rc_ = (x); if (rc_ != 0) return rc_; } while (0)

static int tests_declare(ks_object *root)
{
    ks_object *s, *e;
    CHECK(s = obj_decl_struct(root, "constants"));
    CHECK(obj_decl_int(s, "one"));
    CHECK(obj_decl_int(s, "two"));
    CHECK(obj_decl_string(s, "foo"));
    CHECK(obj_decl_string(s, "empty"));
    CHECK(s = obj_decl_struct(root, "undefined"));
    CHECK(obj_decl_int(s, "i"));
    CHECK(obj_decl_float(s, "f"));
    CHECK(obj_decl_string(root, "module_data"));
    CHECK(obj_decl_array(root, "integer_array", OBJ_INT));
    CHECK(obj_decl_array(root, "string_array", OBJ_STRING));
    CHECK(obj_decl_dict(root, "integer_dict", OBJ_INT));
    CHECK(obj_decl_dict(root, "string_dict", OBJ_STRING));
    CHECK(s = obj_decl_array(root, "struct_array", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "i"));
    CHECK(obj_decl_string(s, "s"));
    CHECK(s = obj_decl_dict(root, "struct_dict", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "i"));
    CHECK(obj_decl_string(s, "s"));
    CHECK(s = obj_decl_dict(root, "empty_struct_dict", OBJ_STRUCT));
    CHECK(obj_decl_int(s, "unused"));
    CHECK(s = obj_decl_array(root, "empty_struct_array", OBJ_STRUCT));
    CHECK(e = obj_decl_array(s, "struct_array", OBJ_STRUCT));
    CHECK(obj_decl_string(e, "unused"));
    CHECK(e = obj_decl_dict(s, "struct_dict", OBJ_STRUCT));
    CHECK(obj_decl_string(e, "unused"));
    CHECK_RC(obj_decl_func(root, "match", "rs", 'i', fn_match));
    CHECK_RC(obj_decl_func(root, "isum", "ii", 'i', fn_isum));
    CHECK_RC(obj_decl_func(root, "isum", "iii", 'i', fn_isum));
    CHECK_RC(obj_decl_func(root, "fsum", "ff", 'f', fn_fsum));
    CHECK_RC(obj_decl_func(root, "fsum", "fff", 'f', fn_fsum));
    CHECK_RC(obj_decl_func(root, "length", "s", 'i', fn_length));
    CHECK_RC(obj_decl_func(root, "empty", "", 's', fn_empty));
    CHECK_RC(obj_decl_func(root, "foobar", "i", 's', fn_foobar));
    return 0;
}

static int tests_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                      size_t mod_data_len)
{
    CHECK_RC(obj_set_int(root, 1, "constants.one"));
    CHECK_RC(obj_set_int(root, 2, "constants.two"));
    CHECK_RC(obj_set_string(root, "foo", 3, "constants.foo"));
    CHECK_RC(obj_set_string(root, "", 0, "constants.empty"));
    CHECK_RC(obj_set_int(root, 1, "struct_array[1].i"));
    CHECK_RC(obj_set_int(root, 0, "integer_array[%d]", 0));
    CHECK_RC(obj_set_int(root, 1, "integer_array[%d]", 1));
    CHECK_RC(obj_set_int(root, 2, "integer_array[%d]", 2));
    CHECK_RC(obj_set_int(root, 256, "integer_array[%d]", 256));
    CHECK_RC(obj_set_string(root, "foo", 3, "string_array[%d]", 0));
    CHECK_RC(obj_set_string(root, "bar", 3, "string_array[%d]", 1));
    CHECK_RC(obj_set_string(root, "baz", 3, "string_array[%d]", 2));
    CHECK_RC(obj_set_string(root, "foo\0bar", 7, "string_array[%d]", 3));
    CHECK_RC(obj_set_string(root, "foo", 3, "string_dict[%s]", "foo"));
    CHECK_RC(obj_set_string(root, "bar", 3, "string_dict[\"bar\"]"));
    CHECK_RC(obj_set_string(root, "foo", 3, "struct_dict[%s].s", "foo"));
    CHECK_RC(obj_set_int(root, 1, "struct_dict[%s].i", "foo"));
    if (mod_data && mod_data_len > 0)
        CHECK_RC(obj_set_string(root, mod_data, mod_data_len, "module_data"));
    return 0;
}

const ks_module ks_module_tests = {"tests", tests_declare, tests_load, NULL};
