/*
 * test_modules.c - unit tests for the built-in modules (src/modules): registry lookup, the
 * declarations, and function results checked against values obtained from yara 4.2.3 on the
 * same data (a 3620-byte buffer: 3000 LCG bytes, 500 'A', then "hello world\n" x 10; yara was
 * run with rules like `condition: math.entropy(0, 3620) == 7.3791328654056141`). Floats are
 * compared exactly: the expected values are yara's results printed with 17 digits.
 * Exit status 0 = all passed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/object.h"
#include "kensa.h"
#include "match/re.h"

static int failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

#define DATA_SIZE 3620
static uint8_t data[DATA_SIZE];

static void make_data(void)
{
    uint32_t x = 12345;
    size_t n = 0;
    for (int k = 0; k < 3000; k++) {
        x = x * 1103515245u + 12345u;
        data[n++] = (uint8_t)((x >> 16) & 0xff);
    }
    memset(data + n, 'A', 500);
    n += 500;
    for (int k = 0; k < 10; k++, n += 12)
        memcpy(data + n, "hello world\n", 12);
}

typedef struct loaded {
    ks_object *root;
    ks_scratch *scratch;
    ks_fnctx ctx;
} loaded;

static int load(loaded *l, const char *name, const uint8_t *d, size_t n)
{
    const ks_module *m = ks_module_find(name);
    memset(l, 0, sizeof *l);
    if (!m)
        return -1;
    l->root = obj_new_root(name);
    l->scratch = ks_scratch_new();
    if (!l->root || !l->scratch || m->declare(l->root) != 0 ||
        m->load(l->root, d, n, NULL, 0) != 0)
        return -1;
    l->ctx.data = d;
    l->ctx.size = n;
    l->ctx.module_root = l->root;
    l->ctx.scratch = l->scratch;
    return 0;
}

static void unload(loaded *l)
{
    obj_destroy(l->root);
    ks_scratch_destroy(l->scratch);
}

/* Call function `fn` with the overload whose signature is `sig`; args follow as int64_t
 * ('i','b'), double ('f') or const char * NUL-terminated ('s'). Returns the result value
 * (type V_UNDEF for undefined) or a value with type -1 if the call failed. */
static ks_val call(loaded *l, const char *fn, const char *sig, ...)
{
    ks_val args[8], ret;
    ks_object *f = obj_field(l->root, fn);
    int ov = -1, n = (int)strlen(sig);
    va_list ap;
    memset(args, 0, sizeof args);
    memset(&ret, 0, sizeof ret);
    for (int k = 0; k < obj_func_count(f); k++)
        if (strcmp(obj_func_args(f, k), sig) == 0)
            ov = k;
    if (ov < 0 || n > 8) {
        ret.type = (val_type)-1;
        return ret;
    }
    va_start(ap, sig);
    for (int k = 0; k < n; k++) {
        switch (sig[k]) {
        case 'i':
        case 'b':
            args[k].type = V_INT;
            args[k].i = va_arg(ap, int64_t);
            break;
        case 'f':
            args[k].type = V_FLOAT;
            args[k].f = va_arg(ap, double);
            break;
        default:
            args[k].type = V_STR;
            args[k].s = va_arg(ap, const uint8_t *);
            args[k].len = strlen((const char *)args[k].s);
            break;
        }
    }
    va_end(ap);
    if (obj_func_impl(f, ov)(&l->ctx, args, n, &ret) != 0)
        ret.type = (val_type)-1;
    return ret;
}

static int is_int(ks_val v, int64_t want) { return v.type == V_INT && v.i == want; }
static int is_float(ks_val v, double want) { return v.type == V_FLOAT && v.f == want; }
static int is_undef(ks_val v) { return v.type == V_UNDEF; }
static int is_str(ks_val v, const char *want)
{
    return v.type == V_STR && v.len == strlen(want) && memcmp(v.s, want, v.len) == 0;
}

static void test_registry(void)
{
    const char *names[] = {"tests", "hash", "math", "time", "console"};
    int count = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const ks_module *m = ks_module_find(names[k]);
        CHECK(m && strcmp(m->name, names[k]) == 0 && m->declare && m->load);
    }
    CHECK(ks_module_find("nosuch") == NULL);
    CHECK(ks_module_find("") == NULL);
    CHECK(ks_module_find(NULL) == NULL);
    while (ks_builtin_modules[count])
        count++;
    CHECK(count >= 5);   /* tests, hash, math, time, console and the format modules */
}

static void test_hash(void)
{
    loaded l;
    CHECK(load(&l, "hash", data, DATA_SIZE) == 0);
    CHECK(is_str(call(&l, "md5", "ii", (int64_t)0, (int64_t)DATA_SIZE),
                 "ac2c911d65e10d18aa9544031f4faba3"));
    CHECK(is_str(call(&l, "sha1", "ii", (int64_t)10, (int64_t)50),
                 "8a4c2bc7042dfcb5598e112e6bc0c841733cbe2b"));
    /* size clipped at the end of the data */
    CHECK(is_str(call(&l, "sha256", "ii", (int64_t)3000, (int64_t)10000),
                 "fced784e26cbc874d156726e34982286f0014b47f7fe0cc0452cb30d92eed07d"));
    CHECK(is_int(call(&l, "checksum32", "ii", (int64_t)0, (int64_t)DATA_SIZE), 427692));
    CHECK(is_int(call(&l, "crc32", "ii", (int64_t)0, (int64_t)DATA_SIZE), 1841250396));
    CHECK(is_str(call(&l, "md5", "s", "abc"), "900150983cd24fb0d6963f7d28e17f72"));
    CHECK(is_str(call(&l, "sha1", "s", ""), "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    CHECK(is_str(call(&l, "sha256", "s", "abc"),
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(is_int(call(&l, "crc32", "s", "abc"), 0x352441c2));
    CHECK(is_int(call(&l, "checksum32", "s", "abc"), 294));
    /* empty range inside the data is defined; at/after the end or negative is undefined */
    CHECK(is_str(call(&l, "md5", "ii", (int64_t)5, (int64_t)0),
                 "d41d8cd98f00b204e9800998ecf8427e"));
    CHECK(is_undef(call(&l, "md5", "ii", (int64_t)DATA_SIZE, (int64_t)0)));
    CHECK(is_undef(call(&l, "md5", "ii", (int64_t)-1, (int64_t)5)));
    CHECK(is_undef(call(&l, "sha1", "ii", (int64_t)0, (int64_t)-1)));
    CHECK(is_undef(call(&l, "crc32", "ii", (int64_t)INT64_MAX, (int64_t)INT64_MAX)));
    {   /* a huge size is clipped, with no overflow */
        ks_val a = call(&l, "md5", "ii", (int64_t)(DATA_SIZE - 1), (int64_t)INT64_MAX);
        ks_val b = call(&l, "md5", "ii", (int64_t)(DATA_SIZE - 1), (int64_t)1);
        CHECK(a.type == V_STR && b.type == V_STR && a.len == 32 && b.len == 32 &&
              memcmp(a.s, b.s, 32) == 0);
    }
    unload(&l);

    /* empty data: every range is undefined */
    CHECK(load(&l, "hash", NULL, 0) == 0);
    CHECK(is_undef(call(&l, "md5", "ii", (int64_t)0, (int64_t)0)));
    CHECK(is_int(call(&l, "checksum32", "s", ""), 0));
    unload(&l);
}

static void test_math(void)
{
    loaded l;
    CHECK(load(&l, "math", data, DATA_SIZE) == 0);
    CHECK(obj_float(obj_field(l.root, "MEAN_BYTES")) == 127.5);
    CHECK(is_float(call(&l, "entropy", "ii", (int64_t)0, (int64_t)DATA_SIZE),
                   7.3791328654056141));
    CHECK(is_float(call(&l, "entropy", "ii", (int64_t)10, (int64_t)50), 5.4038561897747259));
    CHECK(is_float(call(&l, "entropy", "ii", (int64_t)0, (int64_t)0), 0.0));
    CHECK(is_float(call(&l, "entropy", "s", "abc"), 1.5849625007211561));
    CHECK(is_float(call(&l, "mean", "ii", (int64_t)0, (int64_t)DATA_SIZE), 118.14696132596686));
    CHECK(is_undef(call(&l, "mean", "ii", (int64_t)DATA_SIZE, (int64_t)0)));
    CHECK(is_undef(call(&l, "mean", "ii", (int64_t)5, (int64_t)0)));     /* 0/0 */
    CHECK(is_float(call(&l, "mean", "s", "hello"), 106.40000000000001));
    CHECK(is_float(call(&l, "mean", "s", "hello\xff\x80 world\x01"), 70.571428571428569));
    CHECK(is_undef(call(&l, "mean", "s", "")));
    CHECK(is_float(call(&l, "deviation", "iif", (int64_t)0, (int64_t)DATA_SIZE, 127.5),
                   61.969889502762427));
    CHECK(is_float(call(&l, "deviation", "sf", "hello\xff\x80 world\x01", 64.0),
                   56.857142857142854));
    CHECK(is_float(call(&l, "serial_correlation", "ii", (int64_t)0, (int64_t)DATA_SIZE),
                   0.076608209283527795));
    CHECK(is_float(call(&l, "serial_correlation", "ii", (int64_t)3000, (int64_t)500), -100000));
    CHECK(is_float(call(&l, "serial_correlation", "s", "hello\xff\x80 world\x01"),
                   0.36865421612637256));
    CHECK(is_float(call(&l, "serial_correlation", "s", ""), -100000));
    CHECK(is_float(call(&l, "monte_carlo_pi", "ii", (int64_t)0, (int64_t)DATA_SIZE),
                   0.040973624468383534));
    CHECK(is_float(call(&l, "monte_carlo_pi", "ii", (int64_t)3000, (int64_t)500),
                   0.27323954473516271));
    CHECK(is_undef(call(&l, "monte_carlo_pi", "ii", (int64_t)0, (int64_t)5)));
    CHECK(is_float(call(&l, "monte_carlo_pi", "s", "\xff\xfe\xfd\xfc\xfb\xfa" "ab"), 1.0));
    CHECK(is_float(call(&l, "monte_carlo_pi", "s", "\x01\x02\x03\x04\x05\x06"),
                   0.27323954473516271));
    CHECK(is_int(call(&l, "count", "iii", (int64_t)65, (int64_t)0, (int64_t)DATA_SIZE), 514));
    CHECK(is_int(call(&l, "count", "i", (int64_t)65), 514));
    CHECK(is_int(call(&l, "count", "i", (int64_t)321), 514));       /* byte = 321 & 0xff */
    CHECK(is_undef(call(&l, "count", "iii", (int64_t)65, (int64_t)-1, (int64_t)2)));
    CHECK(is_float(call(&l, "percentage", "iii", (int64_t)65, (int64_t)0, (int64_t)DATA_SIZE),
                   0.14198894798755646));
    CHECK(is_undef(call(&l, "percentage", "iii", (int64_t)65, (int64_t)0, (int64_t)0)));
    CHECK(is_int(call(&l, "mode", "ii", (int64_t)0, (int64_t)DATA_SIZE), 65));
    CHECK(is_int(call(&l, "mode", "ii", (int64_t)0, (int64_t)100), 4));
    CHECK(is_int(call(&l, "mode", ""), 65));
    CHECK(is_int(call(&l, "min", "ii", (int64_t)-1, (int64_t)1), 1));    /* unsigned compare */
    CHECK(is_int(call(&l, "max", "ii", (int64_t)-1, (int64_t)1), -1));
    CHECK(is_int(call(&l, "min", "ii", (int64_t)1, (int64_t)2), 1));
    CHECK(is_int(call(&l, "abs", "i", (int64_t)-5), 5));
    CHECK(is_int(call(&l, "abs", "i", INT64_MIN), INT64_MIN));
    CHECK(is_int(call(&l, "to_number", "b", (int64_t)7), 1));
    CHECK(is_int(call(&l, "to_number", "b", (int64_t)0), 0));
    CHECK(is_int(call(&l, "in_range", "fff", 2.0, 0.0, 2.0), 1));
    CHECK(is_int(call(&l, "in_range", "fff", 3.0, 0.0, 2.0), 0));
    unload(&l);

    /* empty data: whole-data forms are undefined too */
    CHECK(load(&l, "math", NULL, 0) == 0);
    CHECK(is_undef(call(&l, "count", "i", (int64_t)0)));
    CHECK(is_undef(call(&l, "mode", "")));
    CHECK(is_undef(call(&l, "entropy", "ii", (int64_t)0, (int64_t)0)));
    CHECK(is_float(call(&l, "entropy", "s", ""), 0.0));
    unload(&l);
}

static void test_tests_module(void)
{
    loaded l;
    int def = 0;
    CHECK(load(&l, "tests", data, DATA_SIZE) == 0);
    CHECK(obj_get_int(l.root, &def, "constants.one") == 1 && def);
    CHECK(obj_get_int(l.root, &def, "constants.two") == 2 && def);
    CHECK(obj_get_int(l.root, &def, "undefined.i") == 0 && !def);
    CHECK(!obj_is_defined(obj_lookup(l.root, "undefined.f")));
    CHECK(!obj_is_defined(obj_lookup(l.root, "module_data")));
    CHECK(obj_length(obj_lookup(l.root, "integer_array")) == 257);
    CHECK(obj_length(obj_lookup(l.root, "struct_array")) == 2);
    CHECK(obj_index(obj_lookup(l.root, "struct_array"), 0) == NULL);
    CHECK(obj_length(obj_lookup(l.root, "string_dict")) == 2);
    CHECK(obj_length(obj_lookup(l.root, "empty_struct_dict")) == 0);
    CHECK(obj_length(obj_lookup(l.root, "empty_struct_array")) == 0);
    {
        size_t n = 0;
        const uint8_t *s = obj_string(obj_lookup(l.root, "string_array[3]"), &n);
        CHECK(s && n == 7 && memcmp(s, "foo\0bar", 7) == 0);
        s = obj_string(obj_key(obj_lookup(l.root, "string_dict"), (const uint8_t *)"bar", 3),
                       &n);
        CHECK(s && n == 3 && memcmp(s, "bar", 3) == 0);
    }
    CHECK(obj_get_int(l.root, NULL, "struct_dict[%s].i", "foo") == 1);
    CHECK(is_int(call(&l, "isum", "ii", (int64_t)1, (int64_t)2), 3));
    CHECK(is_int(call(&l, "isum", "iii", (int64_t)1, (int64_t)2, (int64_t)3), 6));
    CHECK(is_float(call(&l, "fsum", "ff", 1.0, 2.0), 3.0));
    CHECK(is_float(call(&l, "fsum", "fff", 1.0, 2.0, 3.0), 6.0));
    CHECK(is_int(call(&l, "length", "s", "dummy"), 5));
    CHECK(is_str(call(&l, "empty", ""), ""));
    CHECK(is_str(call(&l, "foobar", "i", (int64_t)1), "foo"));
    CHECK(is_str(call(&l, "foobar", "i", (int64_t)2), "bar"));
    CHECK(is_str(call(&l, "foobar", "i", (int64_t)3), "oops"));
    {   /* match(regex, string): end offset of the first match or -1 (values from yara) */
        static const struct { const char *re; uint32_t flags; const char *s; int64_t want; } mc[] = {
            {"foo", 0, "foo", 3}, {"foo", 0, "bar", -1}, {"foo.bar", RE_NOCASE, "FOO\nBAR", -1},
            {"o", 0, "foo", 2},   {"o", 0, "xfoo", 3},   {"a|ab", 0, "ab", 1},
        };
        for (size_t k = 0; k < sizeof mc / sizeof mc[0]; k++) {
            re_code *c = NULL;
            re_error e;
            ks_val a[2], ret;
            ks_object *f = obj_field(l.root, "match");
            memset(a, 0, sizeof a);
            memset(&ret, 0, sizeof ret);
            CHECK(re_compile_regex(mc[k].re, strlen(mc[k].re), mc[k].flags, &c, &e) == RE_OK);
            if (!c)
                continue;
            a[0].type = V_REGEX;
            a[0].re = c;
            a[1].type = V_STR;
            a[1].s = (const uint8_t *)mc[k].s;
            a[1].len = strlen(mc[k].s);
            CHECK(obj_func_impl(f, 0)(&l.ctx, a, 2, &ret) == 0 && is_int(ret, mc[k].want));
            free(c);
        }
    }
    CHECK(obj_func_count(obj_field(l.root, "match")) == 1);
    CHECK(strcmp(obj_func_args(obj_field(l.root, "match"), 0), "rs") == 0);
    unload(&l);
}

static void test_time(void)
{
    loaded l;
    ks_val v;
    CHECK(load(&l, "time", data, DATA_SIZE) == 0);
    v = call(&l, "now", "");
    CHECK(v.type == V_INT && v.i > 1600000000);
    unload(&l);
}

typedef struct logbuf {
    char text[1024];
} logbuf;

static void capture(void *ud, const char *msg)
{
    logbuf *b = ud;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s\n", msg);
}

static void test_console(void)
{
    loaded l;
    logbuf b;
    memset(&b, 0, sizeof b);
    CHECK(load(&l, "console", data, DATA_SIZE) == 0);
    l.ctx.log = capture;
    l.ctx.log_ud = &b;
    /* expected output captured from yara 4.2.3 */
    CHECK(is_int(call(&l, "log", "s", "a\x01" "b\xff"), 1));
    CHECK(is_int(call(&l, "log", "ss", "m:", "xy"), 1));
    CHECK(is_int(call(&l, "log", "i", (int64_t)-5), 1));
    CHECK(is_int(call(&l, "log", "si", "i=", (int64_t)7), 1));
    CHECK(is_int(call(&l, "log", "f", 1.5), 1));
    CHECK(is_int(call(&l, "log", "sf", "f=", 2.25), 1));
    CHECK(is_int(call(&l, "hex", "i", (int64_t)255), 1));
    CHECK(is_int(call(&l, "hex", "si", "h=", (int64_t)-1), 1));
    CHECK(is_int(call(&l, "log", "s", ""), 1));
    CHECK(strcmp(b.text, "a\\x01b\\xff\nm:xy\n-5\ni=7\n1.500000\nf=2.250000\n0xff\n"
                         "h=0xffffffffffffffff\n\n") == 0);
    unload(&l);
}

int main(void)
{
    make_data();
    test_registry();
    test_hash();
    test_math();
    test_tests_module();
    test_time();
    test_console();
    if (failures)
        fprintf(stderr, "test_modules: %d failure(s)\n", failures);
    else
        printf("test_modules: all passed\n");
    return failures != 0;
}
