/*
 * test_object.c - unit tests for the module object model (src/eval/object.c): declaring trees,
 * the obj_set_* path language (good and malformed paths, %d / %s / %.*s / literal keys), array
 * and dict semantics, limits, navigation, the scratch arena, and `yara -D`-identical printing
 * (expected texts were captured from yara 4.2.3, e.g. `yara -D` with `import "tests"`).
 * Exit status 0 = all passed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/object.h"
#include "kensa.h"

static int failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static int dummy_fn(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    ret->type = V_INT;
    ret->i = 42;
    return 0;
}

/* obj_print into a malloc'ed string */
static char *print_to_string(const ks_object *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    obj_print(f, o);
    fclose(f);
    return buf;
}

static void test_declare_and_set(void)
{
    ks_object *r = obj_new_root("m");
    ks_object *s, *a, *d, *o;
    int def = -1;
    CHECK(r != NULL);
    CHECK(obj_type_of(r) == OBJ_STRUCT);
    CHECK(strcmp(obj_name(r), "m") == 0);

    CHECK(obj_decl_int(r, "n") != NULL);
    CHECK(obj_decl_int(r, "n") == NULL);             /* duplicate */
    CHECK(obj_decl_int(r, "bad name") == NULL);      /* not an identifier */
    CHECK(obj_decl_int(r, "") == NULL);
    CHECK(obj_decl_float(r, "f") != NULL);
    CHECK(obj_decl_string(r, "s") != NULL);
    s = obj_decl_struct(r, "st");
    CHECK(s && obj_decl_int(s, "x"));
    a = obj_decl_array(r, "arr", OBJ_STRUCT);
    CHECK(a && obj_type_of(a) == OBJ_STRUCT);        /* returns the prototype */
    CHECK(obj_decl_string(a, "name"));
    CHECK(obj_decl_array(r, "ints", OBJ_INT) != NULL);
    d = obj_decl_dict(r, "dict", OBJ_STRING);
    CHECK(d && obj_type_of(d) == OBJ_DICT);
    CHECK(obj_decl_dict(r, "sd", OBJ_STRUCT) != NULL);
    CHECK(obj_decl_int(obj_item_proto(obj_field(r, "sd")), "v") != NULL);
    CHECK(obj_decl_array(r, "bad", OBJ_FUNC) == NULL);
    CHECK(obj_decl_func(r, "fn", "ii", 'i', dummy_fn) == 0);
    CHECK(obj_decl_func(r, "fn", "s", 'i', dummy_fn) == 0);
    CHECK(obj_decl_func(r, "fn", "s", 'i', dummy_fn) == KS_EARG);   /* same overload */
    CHECK(obj_decl_func(r, "fn", "f", 's', dummy_fn) == KS_ETYPE);  /* other return type */
    CHECK(obj_decl_func(r, "n", "", 'i', dummy_fn) == KS_ETYPE);    /* not a function */
    CHECK(obj_decl_func(r, "g", "x", 'i', dummy_fn) == KS_EARG);    /* bad arg letter */

    CHECK(obj_field_count(r) == 9);     /* n f s st arr ints dict sd fn */
    CHECK(strcmp(obj_name(obj_field_at(r, 0)), "n") == 0);
    CHECK(obj_field_at(r, 9) == NULL && obj_field_at(r, -1) == NULL);
    CHECK(obj_parent(obj_field(r, "n")) == r && obj_parent(r) == NULL);
    o = obj_field(r, "fn");
    CHECK(obj_type_of(o) == OBJ_FUNC);
    CHECK(obj_func_count(o) == 2);
    CHECK(strcmp(obj_func_args(o, 0), "ii") == 0 && strcmp(obj_func_args(o, 1), "s") == 0);
    CHECK(obj_func_ret(o, 1) == 'i');
    CHECK(obj_func_impl(o, 0) == dummy_fn);
    CHECK(obj_func_args(o, 2) == NULL);

    /* leaves start undefined */
    CHECK(!obj_is_defined(obj_field(r, "n")));
    CHECK(!obj_is_defined(obj_field(r, "f")));
    CHECK(!obj_is_defined(obj_field(r, "s")));
    CHECK(obj_get_int(r, &def, "n") == 0 && def == 0);

    CHECK(obj_set_int(r, -7, "n") == 0);
    CHECK(obj_get_int(r, &def, "n") == -7 && def == 1);
    CHECK(obj_set_float(r, 2.5, "f") == 0);
    CHECK(obj_float(obj_field(r, "f")) == 2.5);
    CHECK(obj_set_float(r, NAN, "f") == 0);          /* NaN = undefined, like YARA */
    CHECK(!obj_is_defined(obj_field(r, "f")));
    CHECK(obj_set_string(r, "a\0b", 3, "s") == 0);
    {
        size_t len = 0;
        const uint8_t *p = obj_string(obj_field(r, "s"), &len);
        CHECK(p && len == 3 && memcmp(p, "a\0b", 3) == 0);
    }
    CHECK(obj_set_int(r, 5, "st.x") == 0);
    CHECK(obj_get_int(r, NULL, "st.x") == 5);

    /* arrays: created on demand, sparse, length = highest index + 1 */
    CHECK(obj_length(obj_field(r, "arr")) == 0);
    CHECK(obj_set_string(r, ".text", 5, "arr[%d].name", 3) == 0);
    CHECK(obj_length(obj_field(r, "arr")) == 4);
    CHECK(obj_index(obj_field(r, "arr"), 0) == NULL);
    CHECK(obj_index(obj_field(r, "arr"), 3) != NULL);
    CHECK(obj_index(obj_field(r, "arr"), 4) == NULL);
    CHECK(obj_index(obj_field(r, "arr"), -1) == NULL);
    CHECK(obj_lookup(r, "arr[3].name") == obj_field(obj_index(obj_field(r, "arr"), 3), "name"));
    CHECK(obj_lookup(r, "arr[%d].name", 1) == NULL);
    CHECK(obj_set_int(r, 9, "ints[%d]", 2) == 0);
    CHECK(obj_set_int(r, 10, "ints[%zu]", (size_t)5) == 0);
    CHECK(obj_set_int(r, 11, "ints[%lld]", 6LL) == 0);
    CHECK(obj_set_int(r, 12, "ints[%u]", 7u) == 0);
    CHECK(obj_set_int(r, 13, "ints[8]") == 0);
    CHECK(obj_get_int(r, NULL, "ints[%d]", 5) == 10);
    CHECK(obj_get_int(r, NULL, "ints[6]") == 11);
    CHECK(obj_get_int(r, NULL, "ints[%d]", 7) == 12);
    CHECK(obj_get_int(r, NULL, "ints[8]") == 13);
    CHECK(obj_length(obj_field(r, "ints")) == 9);
    CHECK(obj_int(obj_index(obj_field(r, "ints"), 2)) == 9);
    /* limits and bad indexes */
    CHECK(obj_set_int(r, 1, "ints[%d]", -1) == KS_ELIMIT);
    CHECK(obj_set_int(r, 1, "ints[%d]", 1000000) == KS_ELIMIT);
    CHECK(obj_set_int(r, 1, "ints[%d]", 999999) == 0);
    CHECK(obj_length(obj_field(r, "ints")) == 1000000);
    CHECK(obj_set_int(r, 1, "ints[99999999999999999999999]") == KS_ELIMIT);

    /* dicts: string keys via %s, %.*s or a literal; insertion order */
    CHECK(obj_set_string(r, "v1", 2, "dict[%s]", "k1") == 0);
    CHECK(obj_set_string(r, "v2", 2, "dict[\"k.2]\"]") == 0);
    CHECK(obj_set_string(r, "v3", 2, "dict[%.*s]", 3, "a\0b") == 0);
    CHECK(obj_set_string(r, "v1b", 3, "dict[%s]", "k1") == 0);    /* overwrite, no new entry */
    CHECK(obj_length(obj_field(r, "dict")) == 3);
    {
        const uint8_t *k;
        size_t kl;
        size_t vl;
        ks_object *e = obj_dict_entry(obj_field(r, "dict"), 0, &k, &kl);
        CHECK(e && kl == 2 && memcmp(k, "k1", 2) == 0);
        CHECK(e && memcmp(obj_string(e, &vl), "v1b", 3) == 0 && vl == 3);
        e = obj_dict_entry(obj_field(r, "dict"), 1, &k, &kl);
        CHECK(e && kl == 4 && memcmp(k, "k.2]", 4) == 0);
        e = obj_dict_entry(obj_field(r, "dict"), 2, &k, &kl);
        CHECK(e && kl == 3 && memcmp(k, "a\0b", 3) == 0);
        CHECK(obj_dict_entry(obj_field(r, "dict"), 3, &k, &kl) == NULL);
        CHECK(obj_key(obj_field(r, "dict"), (const uint8_t *)"a\0b", 3) == e);
        CHECK(obj_key(obj_field(r, "dict"), (const uint8_t *)"a", 1) == NULL);
    }
    /* a key containing '.' and ']' given through %s */
    CHECK(obj_set_int(r, 4, "sd[%s].v", "x.y]z") == 0);
    CHECK(obj_get_int(r, NULL, "sd[%s].v", "x.y]z") == 4);
    CHECK(obj_get_int(r, &def, "sd[%s].v", "nope") == 0 && def == 0);

    /* malformed paths and type errors fail cleanly */
    CHECK(obj_set_int(r, 1, "") == KS_EARG);
    CHECK(obj_set_int(r, 1, "st.") == KS_EARG);
    CHECK(obj_set_int(r, 1, ".n") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[1") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[]") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[x]") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[1]x") == KS_EARG);
    CHECK(obj_set_int(r, 1, "ints[%q]") == KS_EARG);
    CHECK(obj_set_string(r, "x", 1, "dict[\"unterminated]") == KS_EARG);
    CHECK(obj_set_int(r, 1, "nosuch") == KS_EUNDEF);
    CHECK(obj_set_int(r, 1, "st.nosuch") == KS_EUNDEF);
    CHECK(obj_set_int(r, 1, "s") == KS_ETYPE);               /* string field */
    CHECK(obj_set_string(r, "x", 1, "n") == KS_ETYPE);
    CHECK(obj_set_int(r, 1, "n.x") == KS_ETYPE);
    CHECK(obj_set_int(r, 1, "n[1]") == KS_ETYPE);
    CHECK(obj_set_int(r, 1, "ints[%s]", "k") == KS_ETYPE);   /* key on an array */
    CHECK(obj_set_string(r, "x", 1, "dict[%d]", 1) == KS_ETYPE);   /* index on a dict */
    CHECK(obj_set_int(r, 1, "st") == KS_ETYPE);
    CHECK(obj_set_int(r, 1, "fn") == KS_ETYPE);
    CHECK(obj_set_int(NULL, 1, "n") == KS_EARG);
    {
        char longname[400];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        CHECK(obj_set_int(r, 1, longname) == KS_EARG);
    }
    CHECK(obj_lookup(r, "nosuch") == NULL);
    CHECK(obj_lookup(r, "ints[%d]", 123456) == NULL);
    CHECK(obj_length(obj_field(r, "n")) == -1);
    obj_destroy(r);
}

/* A dict with many entries stays correct (hash index) and respects its limit. */
static void test_big_dict(void)
{
    ks_object *r = obj_new_root("m");
    char key[32];
    int ok = 1;
    CHECK(obj_decl_dict(r, "d", OBJ_INT) != NULL);
    for (int k = 0; k < 100000 && ok; k++) {
        snprintf(key, sizeof key, "key%d", k);
        ok = obj_set_int(r, k, "d[%s]", key) == 0;
    }
    CHECK(ok);
    CHECK(obj_length(obj_field(r, "d")) == 100000);
    for (int k = 0; k < 100000 && ok; k += 777) {
        snprintf(key, sizeof key, "key%d", k);
        ok = obj_get_int(r, NULL, "d[%s]", key) == k;
    }
    CHECK(ok);
    obj_destroy(r);
}

/* Printing: member order follows YARA (reverse declaration order for declared structs,
 * flipped again for every prototype copy), arrays print only set items, strings are escaped,
 * undefined values print as YR_UNDEFINED / nan. The expected text mirrors yara's output for
 * pe's import_details (name, ordinal declared; items of items print ordinal first). */
static void test_print_nesting(void)
{
    ks_object *r = obj_new_root("pe");
    ks_object *imp = obj_decl_array(r, "import_details", OBJ_STRUCT);
    ks_object *fns;
    char *out;
    const char *expect =
        "pe\n"
        "\tsigned_int = -1\n"
        "\tfloat_val = 0.100000\n"
        "\timport_details\n"
        "\t\t[0]\n"
        "\t\t\tlibrary_name = \"KERNEL32.dll\"\n"
        "\t\t\tnumber_of_functions = 2\n"
        "\t\t\tfunctions\n"
        "\t\t\t\t[0]\n"
        "\t\t\t\t\tordinal = YR_UNDEFINED\n"
        "\t\t\t\t\tname = \"ExitProcess\"\n"
        "\t\t\t\t[1]\n"
        "\t\t\t\t\tordinal = 7\n"
        "\t\t\t\t\tname = \"\\x01\\xff\"\"\n";   /* quotes are not escaped */
    CHECK(obj_decl_string(imp, "library_name"));
    CHECK(obj_decl_int(imp, "number_of_functions"));
    fns = obj_decl_array(imp, "functions", OBJ_STRUCT);
    CHECK(fns && obj_decl_string(fns, "name") && obj_decl_int(fns, "ordinal"));
    CHECK(obj_decl_func(r, "hidden", "", 'i', dummy_fn) == 0);     /* functions not printed */
    CHECK(obj_decl_float(r, "float_val"));
    CHECK(obj_decl_int(r, "signed_int"));
    CHECK(obj_set_string(r, "KERNEL32.dll", 12, "import_details[%d].library_name", 0) == 0);
    CHECK(obj_set_int(r, 2, "import_details[0].number_of_functions") == 0);
    CHECK(obj_set_string(r, "ExitProcess", 11, "import_details[0].functions[0].name") == 0);
    CHECK(obj_set_string(r, "\x01\xff\"", 3, "import_details[0].functions[%d].name", 1) == 0);
    CHECK(obj_set_int(r, 7, "import_details[0].functions[1].ordinal") == 0);
    CHECK(obj_set_float(r, 0.1, "float_val") == 0);
    CHECK(obj_set_int(r, -1, "signed_int") == 0);   /* yara 4.2.3 prints integers signed (pe.IMPORT_ANY = -1) */
    out = print_to_string(r);
    CHECK(out && strcmp(out, expect) == 0);
    if (out && strcmp(out, expect) != 0)
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", out, expect);
    free(out);
    obj_destroy(r);
}

/* The `tests` module prints exactly like `yara -D` (captured from yara 4.2.3). */
static void test_print_tests_module(void)
{
    const ks_module *m = ks_module_find("tests");
    ks_object *r;
    char *out;
    const char *expect =
        "tests\n"
        "\tempty_struct_array\n"
        "\tempty_struct_dict\n"
        "\tstruct_dict\n"
        "\t\tfoo\n"
        "\t\t\ti = 1\n"
        "\t\t\ts = \"foo\"\n"
        "\tstruct_array\n"
        "\t\t[1]\n"
        "\t\t\ti = 1\n"
        "\t\t\ts = YR_UNDEFINED\n"
        "\tstring_dict\n"
        "\t\tfoo = \"foo\"\n"
        "\t\tbar = \"bar\"\n"
        "\tinteger_dict\n"
        "\tstring_array\n"
        "\t\t[0] = \"foo\"\n"
        "\t\t[1] = \"bar\"\n"
        "\t\t[2] = \"baz\"\n"
        "\t\t[3] = \"foo\\x00bar\"\n"
        "\tinteger_array\n"
        "\t\t[0] = 0\n"
        "\t\t[1] = 1\n"
        "\t\t[2] = 2\n"
        "\t\t[256] = 256\n"
        "\tmodule_data = \"ab\\x01c\"\n"
        "\tundefined\n"
        "\t\tf = nan\n"
        "\t\ti = YR_UNDEFINED\n"
        "\tconstants\n"
        "\t\tempty = \"\"\n"
        "\t\tfoo = \"foo\"\n"
        "\t\ttwo = 2\n"
        "\t\tone = 1\n";
    CHECK(m != NULL);
    if (!m)
        return;
    r = obj_new_root(m->name);
    CHECK(m->declare(r) == 0);
    CHECK(m->load(r, (const uint8_t *)"dummy\n", 6, "ab\x01" "c", 4) == 0);
    out = print_to_string(r);
    CHECK(out && strcmp(out, expect) == 0);
    if (out && strcmp(out, expect) != 0)
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", out, expect);
    free(out);
    obj_destroy(r);
}

/* obj_reset: a loaded tree goes back to its declared state (prints like a fresh declaration,
 * udata released), and loading it again gives the same tree as the first load */
static int udata_freed;
static void count_free(void *p)
{
    udata_freed++;
    free(p);
}

static void test_reset(void)
{
    const ks_module *m = ks_module_find("tests");
    CHECK(m != NULL);
    if (!m)
        return;
    ks_object *fresh = obj_new_root(m->name), *r = obj_new_root(m->name);
    CHECK(fresh && r && m->declare(fresh) == 0 && m->declare(r) == 0);
    if (!fresh || !r)
        return;
    char *decl = print_to_string(fresh);
    CHECK(m->load(r, (const uint8_t *)"dummy\n", 6, "ab\x01" "c", 4) == 0);
    char *loaded = print_to_string(r);
    CHECK(obj_set_udata(r, malloc(8), count_free) == 0);
    obj_reset(r);
    CHECK(udata_freed == 1 && obj_get_udata(r) == NULL);
    char *after = print_to_string(r);
    CHECK(decl && after && strcmp(decl, after) == 0);
    int def = 1;
    CHECK(obj_get_int(r, &def, "constants.one") == 0 && def == 0);
    CHECK(obj_length(obj_lookup(r, "integer_array")) <= 0);
    CHECK(m->load(r, (const uint8_t *)"dummy\n", 6, "ab\x01" "c", 4) == 0);
    char *again = print_to_string(r);
    CHECK(loaded && again && strcmp(loaded, again) == 0);
    free(decl);
    free(loaded);
    free(after);
    free(again);
    obj_destroy(fresh);
    obj_destroy(r);
}

/* obj_set_lazy: the resolver runs on the first read only, its value typed like the leaf */
static int lazy_calls;
static int lazy_str(void *ud, ks_val *v)
{
    lazy_calls++;
    v->type = V_STR;
    v->s = (const uint8_t *)ud;
    v->len = strlen(ud);
    return 0;
}
static int lazy_int(void *ud, ks_val *v)
{
    (void)ud;
    lazy_calls++;
    v->type = V_INT;
    v->i = 7;
    return 0;
}
static int lazy_fail(void *ud, ks_val *v)
{
    (void)ud;
    lazy_calls++;
    v->type = V_INT;
    v->i = 1;
    return KS_ENOMEM;
}

static void test_lazy(void)
{
    ks_object *r = obj_new_root("m");
    size_t len = 0;
    int def = -1;
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(obj_decl_string(r, "s") && obj_decl_int(r, "i") && obj_decl_int(r, "bad") &&
          obj_decl_int(r, "fail") && obj_decl_string(r, "over") && obj_decl_struct(r, "st") &&
          obj_decl_string(r, "never") && obj_decl_float(r, "f"));
    CHECK(obj_set_lazy(r, lazy_str, "abc", "s") == 0);
    CHECK(obj_set_lazy(r, lazy_int, NULL, "i") == 0);
    CHECK(obj_set_lazy(r, lazy_str, "x", "bad") == 0);        /* string for an int leaf */
    CHECK(obj_set_lazy(r, lazy_fail, NULL, "fail") == 0);
    CHECK(obj_set_lazy(r, lazy_str, "lazy", "over") == 0);
    CHECK(obj_set_lazy(r, lazy_str, "never read", "never") == 0);
    CHECK(obj_set_lazy(r, lazy_int, NULL, "f") == 0);         /* int for a float leaf */
    CHECK(obj_set_lazy(r, lazy_str, "x", "st") == KS_ETYPE);   /* not a leaf */
    CHECK(obj_set_lazy(r, NULL, NULL, "s") == KS_EARG);
    CHECK(obj_set_lazy(r, lazy_str, "x", "nosuch") != 0);
    CHECK(obj_set_string(r, "set", 3, "over") == 0);           /* a value replaces the resolver */
    CHECK(lazy_calls == 0);
    const uint8_t *p = obj_string(obj_field(r, "s"), &len);
    CHECK(p && len == 3 && memcmp(p, "abc", 4) == 0 && lazy_calls == 1);
    CHECK(obj_is_defined(obj_field(r, "s")) && lazy_calls == 1);   /* once */
    CHECK(obj_get_int(r, &def, "i") == 7 && def == 1 && lazy_calls == 2);
    CHECK(obj_int(obj_field(r, "i")) == 7 && lazy_calls == 2);
    CHECK(!obj_is_defined(obj_field(r, "bad")) && lazy_calls == 3);
    CHECK(!obj_is_defined(obj_field(r, "fail")) && lazy_calls == 4);
    CHECK(!obj_is_defined(obj_field(r, "fail")) && lazy_calls == 4);   /* not retried */
    CHECK(isnan(obj_float(obj_field(r, "f"))) && lazy_calls == 5);
    p = obj_string(obj_field(r, "over"), &len);
    CHECK(p && len == 3 && memcmp(p, "set", 3) == 0 && lazy_calls == 5);
    /* printing (-D) resolves what is left */
    char *out = print_to_string(r);
    CHECK(out && strstr(out, "\tnever = \"never read\"\n") && lazy_calls == 6);
    free(out);
    /* a resolver never run is simply dropped */
    CHECK(obj_set_lazy(r, lazy_str, "abc", "s") == 0);
    obj_destroy(r);
    CHECK(lazy_calls == 6);
}

static void test_scratch(void)
{
    ks_scratch *s = ks_scratch_new();
    ks_fnctx ctx;
    const uint8_t *p;
    memset(&ctx, 0, sizeof ctx);
    CHECK(fnctx_strdup(&ctx, "x", 1) == NULL);       /* no scratch */
    CHECK(s != NULL);
    ctx.scratch = s;
    p = fnctx_strdup(&ctx, "abc", 3);
    CHECK(p && memcmp(p, "abc", 4) == 0);            /* NUL-terminated copy */
    p = fnctx_strdup(&ctx, NULL, 0);
    CHECK(p && p[0] == 0);
    ks_scratch_reset(s);
    p = fnctx_strdup(&ctx, "d", 1);
    CHECK(p && p[0] == 'd');
    ks_scratch_destroy(s);
}

int main(void)
{
    test_declare_and_set();
    test_big_dict();
    test_print_nesting();
    test_print_tests_module();
    test_reset();
    test_scratch();
    test_lazy();
    if (failures)
        fprintf(stderr, "test_object: %d failure(s)\n", failures);
    else
        printf("test_object: all passed\n");
    return failures != 0;
}
