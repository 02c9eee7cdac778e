/*
 * test_rules.c - one-line rule tests for the parser, compiler, matcher and evaluator.
 * Expected verdicts were checked against yara 4.2.3.
 */
#include <stdlib.h>
#include <unistd.h>

#include "rule_test.h"

static void test_conditions(void)
{
    assert_true_rule("rule t { condition: true }", "");
    assert_false_rule("rule t { condition: false }", "");
    assert_true_rule("rule t { condition: 1 + 2 * 3 == 7 }", "");
    assert_true_rule("rule t { condition: 7 \\ 2 == 3 and 7 % 2 == 1 }", "");
    assert_true_rule("rule t { condition: 1 | 2 == 3 }", "");          /* | binds tighter than == */
    assert_true_rule("rule t { condition: (1 << 4) == 16 and (16 >> 2) == 4 }", "");
    assert_true_rule("rule t { condition: ~0 == -1 and (5 ^ 1) == 4 and (6 & 3) == 2 }", "");
    assert_true_rule("rule t { condition: 1.5 + 1 == 2.5 and 3 > 2.9 }", "");
    assert_true_rule("rule t { condition: 0x10 == 16 and 0o10 == 8 and 1KB == 1024 and 1MB == 1048576 }", "");
    assert_true_rule("rule t { condition: \"abc\" contains \"b\" and \"ABC\" icontains \"b\" }", "");
    assert_true_rule("rule t { condition: \"abc\" startswith \"ab\" and \"abc\" iendswith \"BC\" }", "");
    assert_true_rule("rule t { condition: \"abc\" iequals \"ABC\" and \"abc\" != \"abd\" and \"a\" < \"b\" }", "");
    assert_true_rule("rule t { condition: \"abc\" matches /b./ and not (\"abc\" matches /^b/) }", "");
    assert_true_rule("rule t { condition: filesize == 4 }", "abcd");
    assert_true_rule("rule t { condition: uint8(0) == 0x61 and uint16(0) == 0x6261 and uint32be(0) == 0x61626364 }", "abcd");
    assert_true_rule("rule t { condition: int8(0) == -1 and uint8(0) == 255 }", "\xff");
    assert_false_rule("rule t { condition: uint32(2) == 0 }", "abcd");            /* undefined */
    assert_true_rule("rule t { condition: not defined uint32(2) }", "abcd");
    assert_true_rule("rule t { condition: not defined (1 \\ (filesize - 4)) }", "abcd");
    assert_true_rule("rule t { condition: for all i in (1..3) : (i > 0) }", "");
    assert_true_rule("rule t { condition: for any i in (1, 2, 3) : (i == 2) }", "");
    assert_true_rule("rule t { condition: for 2 i in (1..4) : (i % 2 == 0) }", "");
    /* yara 4.2.3 quirk: `none` in a for loop means "at least 0", so the loop is true */
    assert_true_rule("rule t { condition: for none i in (1..4) : (i == 3) }", "");
    assert_false_rule("rule t { condition: for all i in (1..0) : (true) }", "");  /* empty: false */
    assert_true_rule("rule a { condition: true } rule b { condition: a }", "");
    assert_true_rule("private rule a { condition: true } rule b { condition: a and any of (a*) }", "");
    assert_false_rule("global rule g { condition: false } rule b { condition: true }", "");
}

static void test_strings(void)
{
    assert_true_rule("rule t { strings: $a = \"abc\" condition: $a }", "xxabcxx");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: #a == 2 and @a[2] == 5 and !a[1] == 3 }", "xxabcabc");
    assert_true_rule("rule t { strings: $a = \"ABC\" nocase condition: $a }", "xxabcxx");
    assert_true_rule_blob("rule t { strings: $a = \"ab\" wide condition: $a at 1 }", "xa\0b\0", 5);
    assert_true_rule("rule t { strings: $a = \"abc\" fullword condition: #a == 1 }", "xabc abc");
    assert_true_rule("rule t { strings: $a = \"abc\" xor condition: $a }", "\x61\x62\x63" "\x20\x23\x22");
    assert_true_rule("rule t { strings: $a = \"This program cannot\" base64 condition: $a }",
                     "VGhpcyBwcm9ncmFtIGNhbm5vdA==");
    assert_true_rule("rule t { strings: $a = { 61 ?? 63 } condition: $a }", "abc");
    assert_true_rule("rule t { strings: $a = { 61 [1-3] 64 } condition: $a }", "abcd");
    assert_true_rule("rule t { strings: $a = { 61 ( 62 | 78 ) 63 } condition: $a }", "abc");
    assert_true_rule("rule t { strings: $a = /a.c/ condition: $a }", "abc");
    assert_true_rule("rule t { strings: $a = \"a\" $b = \"b\" condition: all of them and 2 of ($*) }", "ab");
    assert_true_rule("rule t { strings: $a = \"a\" $b = \"z\" condition: 50% of them }", "ab");
    assert_true_rule("rule t { strings: $a = \"a\" condition: $a in (0..1) and #a in (0..10) == 2 }", "aa");
    assert_true_rule("rule t { strings: $a = \"a\" $b = \"b\" condition: for all of them : (# == 1) }", "ab");
    assert_true_rule("rule t { strings: $a = \"a\" condition: for any i in (1..#a) : (@a[i] == 3) }", "xxxa");
}

/* A pattern repeated with the same modifiers reuses its compiled form (compiler.c's memo); with
 * other modifiers it is compiled again. Both must behave as if each was compiled on its own. */
static void test_repeated_patterns(void)
{
    assert_true_rule("rule t { strings: $a = /a[b]c/ $b = /a[b]c/ nocase $c = /a[b]c/ $d = /a[b]c/ wide"
                     " condition: #a == 1 and #b == 2 and #c == 1 and #d == 0 }", "abc aBc");
    assert_true_rule("rule t { strings: $a = /ab.*c/ $b = /ab.*c/ condition: $a and $b }", "abxc");
    assert_false_rule("rule t { strings: $a = { 61 62 } $b = { 61 62 } condition: $a and !b[1] == 3 }",
                      "ab");
    /* a chained hex string (long jump) in two rules: each rule keeps its own pieces */
    char data[400];
    memset(data, 'x', sizeof data);
    data[10] = 'a';
    data[10 + 301] = 'b';
    const char *two = "rule a { strings: $a = { 61 [300] 62 } condition: $a }\n"
                      "rule b { strings: $a = { 61 [300] 62 } $b = \"zz\" condition: $a and not $b }\n"
                      "rule c { strings: $a = { 61 [300] 62 } condition: #a == 1 and @a[1] == 10 }\n";
    rt_check_count(__LINE__, two, data, sizeof data, 3);
    /* a failing pattern fails each time it is used */
    assert_error("rule a { strings: $a = { 61 6 } condition: $a } rule b { strings: $a = { 61 6 } condition: $a }");
}

/* The literal prefilter searches an atom without its leading NULs (the literal API refuses a
 * pattern starting with one): a text string whose whole atom starts with NUL must still check
 * the NULs. yara 4.2.3: no match on "bba\x01xZ" for "\x00ba\x01xZ". */
static void test_leading_nul_atoms(void)
{
    assert_false_rule("rule t { strings: $a = \"\\x00ba\\x01xZ\" condition: $a }", "bba\x01xZ");
    rt_check(__LINE__, "rule t { strings: $a = \"\\x00ba\\x01xZ\" condition: #a == 1 and @a[1] == 1 }",
             "b\0ba\x01xZ", 7, 1);
    assert_false_rule("rule t { strings: $a = \"\\x00\\x00abcd\" nocase condition: $a }", "xxABCD");
    /* xor: the key equal to the first character makes a leading NUL */
    assert_false_rule("rule t { strings: $a = \"Tabcde\" xor(0x54) condition: $a }",
                      "\x01\x35\x36\x37\x30\x31");
    rt_check(__LINE__, "rule t { strings: $a = \"Tabcde\" xor(0x54) condition: $a }",
             "\0\x35\x36\x37\x30\x31", 6, 1);
}

/* Identical regex/hex strings in several rules (or twice in one) verify once per hit and the
 * matches are replayed into each string (strings.c, twins); each string still applies its own
 * fullword, match list and chain pieces. Checked against yara 4.2.3: all seven rules match. */
static void test_twin_targets(void)
{
    const char *src =
        "rule a { strings: $a = /ab[0-9]cd/ condition: #a == 2 and @a[1] == 1 and @a[2] == 7 }\n"
        "rule b { strings: $a = /ab[0-9]cd/ fullword condition: #a == 1 and @a[1] == 7 }\n"
        "rule c { strings: $a = /ab[0-9]cd/ condition: #a == 2 and !a[2] == 5 }\n"
        "rule d { strings: $a = { 61 62 [1-2] 63 64 } $b = { 61 62 [1-2] 63 64 }"
        " condition: #a == 3 and #b == 3 and !b[3] == 6 }\n"
        "rule e { strings: $a = { 61 62 [1-2] 63 64 } condition: #a == 3 and @a[3] == 13 }\n"
        "rule f { strings: $a = { 61 62 [1-2] 63 64 [300] 7A } condition: #a == 1 and @a[1] == 13 }\n"
        "rule g { strings: $a = { 61 62 [1-2] 63 64 [300] 7A } condition: #a == 1 and !a[1] == 307 }\n";
    char data[330];
    memset(data, '.', sizeof data);
    memcpy(data, "xab1cd ab2cd ab34cd ", 20);
    data[319] = 'z';
    rt_check_count(__LINE__, src, data, sizeof data, 7);
}

/* One-atom regex/hex strings searched through the rarest window of the straight-line bytes
 * around their atom (strings.c, line_window): before the atom (a), after it (b), starting with
 * NULs (c, regex database), caseless (d), wide (e), a window found where the data ends before
 * the atom would (f), and a window bounded by a jump (g). Checked against yara 4.2.3: all seven
 * rules match. */
static void test_line_windows(void)
{
    const char *src =
        "rule a { strings: $a = { c6 45 e8 65 c6 45 e9 70 c6 45 ea 74 c6 45 eb 5f } condition: #a == 1 and @a[1] == 0 and !a[1] == 16 }\n"
        "rule b { strings: $b = { 48 8B 05 ?? ?? ?? ?? 48 89 44 24 ?? 48 8B 05 } condition: #b == 1 and @b[1] == 30 and !b[1] == 15 }\n"
        "rule c { strings: $c = { C7 ?? 24 ?? 00 00 00 00 89 44 24 ?? C7 ?? 24 } condition: #c == 1 and @c[1] == 60 and !c[1] == 15 }\n"
        "rule d { strings: $d = /app_web_[a-z0-9]{7,8}\\.dll/ nocase condition: #d == 1 and @d[1] == 100 and !d[1] == 19 }\n"
        "rule e { strings: $e = /Abcdefgh[0-9]/ wide condition: #e == 1 and @e[1] == 130 and !e[1] == 18 }\n"
        "rule f { strings: $f = { AA BB CC DD EE FF 01 02 ?? 05 06 } condition: #f == 0 }\n"
        "rule g { strings: $g = { 45 e9 70 c6 [1-6] eb 5f } condition: #g == 1 and @g[1] == 5 }\n";
    char d[200];
    memset(d, '.', sizeof d);
    memcpy(d, "\xc6\x45\xe8\x65\xc6\x45\xe9\x70\xc6\x45\xea\x74\xc6\x45\xeb\x5f", 16);
    memcpy(d + 30, "\x48\x8b\x05\x11\x22\x33\x44\x48\x89\x44\x24\x55\x48\x8b\x05", 15);
    memcpy(d + 60, "\xc7\xc2\x24\x26\x00\x00\x00\x00\x89\x44\x24\x8b\xc7\xe1\x24", 15);
    memcpy(d + 100, "APP_web_abc1234.DLL", 19);
    memcpy(d + 130, "A\0b\0c\0d\0e\0f\0g\0h\0" "7\0", 18);
    memcpy(d + 192, "\xaa\xbb\xcc\xdd\xee\xff\x01\x02", 8);
    rt_check_count(__LINE__, src, d, sizeof d, 7);
}

/* Far keys (strings.c, set_far_key): bytes past a jump, before or after the atom, that a hit
 * must have within the jump's range; matches at both ends of each range, misses one byte
 * outside, a key that would run past the data's end. Checked against yara 4.2.3. */
static void test_far_keys(void)
{
    const char *src =
        "rule f1 { strings: $a = { 11 22 33 44 [2-6] AB CD } condition: #a == 2 and @a[1] == 0 and !a[1] == 8 and @a[2] == 20 and !a[2] == 12 }\n"
        "rule f2 { strings: $b = { AB CD [2-6] 11 22 33 44 } condition: #b == 2 and @b[1] == 100 and !b[1] == 8 and @b[2] == 120 and !b[2] == 12 }\n"
        "rule f3 { strings: $c = { 11 22 33 44 [1-2] 55 [1-3] EF 01 } condition: #c == 1 and @c[1] == 200 and !c[1] == 11 }\n";
    uint8_t d[260];
    memset(d, '.', sizeof d);
    static const uint8_t A[4] = {0x11, 0x22, 0x33, 0x44}, K[2] = {0xAB, 0xCD}, E[2] = {0xEF, 0x01};
    static const struct { int a, k; } at[] = {
        {0, 6}, {20, 30}, {40, 51}, {60, 65},          /* after: gaps 2, 6 (match), 7, 1 */
        {104, 100}, {128, 120}, {149, 140}, {163, 160} /* before: gaps 2, 6 (match), 7, 1 */
    };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(d + at[i].a, A, 4);
        memcpy(d + at[i].k, K, 2);
    }
    memcpy(d + 200, A, 4); d[205] = 0x55; memcpy(d + 209, E, 2);   /* jumps 1 and 3: match */
    memcpy(d + 230, A, 4); d[235] = 0x55; memcpy(d + 240, E, 2);   /* second jump 4: none */
    memcpy(d + 256, A, 4);                                         /* no room for a key */
    rt_check_count(__LINE__, src, (const char *)d, sizeof d, 3);
}

/* Runs of long jumps in hex strings: yara 4.2.3 splits at one jump at a time, and the jumps
 * between two split points form a piece with no bytes, which matches one byte when it is a
 * single jump starting at 1 and never otherwise (re_parse.c, flush_jumps). Verdicts and
 * lengths checked against yara 4.2.3. */
static void test_chain_jump_runs(void)
{
    char d[64];
    memset(d, 0x22, sizeof d);
    memcpy(d + 10, "\x5b\xaf\x0d\x7c", 4);
    memcpy(d + 14 + 30, "\xac\x3d\x09", 3);      /* 30 bytes between the two parts */
#define JR(j) "rule t { strings: $d = { 5B AF ?D 7C " j " AC 3D 09 } condition: #d == 1 and @d[1] == 10 and !d[1] == 37 }"
    assert_true_rule_blob(JR("[2-] [-]"), d, sizeof d);
    assert_true_rule_blob(JR("[2-] [1-] [1-]"), d, sizeof d);
    assert_true_rule_blob(JR("[2-] [1] [-]"), d, sizeof d);
    assert_true_rule_blob(JR("[2-] [1-300] [1-]"), d, sizeof d);
    assert_true_rule_blob(JR("[1-] [1-] [1-] [1-] [1-]"), d, sizeof d);
    assert_false_rule_blob(JR("[2-] [-] [1-]"), d, sizeof d);
    assert_false_rule_blob(JR("[2-] [2] [-]"), d, sizeof d);
    assert_false_rule_blob(JR("[2-] [0-201] [1-]"), d, sizeof d);
    assert_false_rule_blob(JR("[2-] [1-] [5] [-] [1-]"), d, sizeof d);
    assert_false_rule_blob(JR("[29-] [1-] [1-]"), d, sizeof d);     /* 29 + 1 + 1 > 30 */
    assert_true_rule_blob(JR("[28-] [1-] [1-]"), d, sizeof d);      /* the [1-] piece: 1 byte */
#undef JR
}

/* `X == "a" or X == "b" or ...` with one X is evaluated as a set lookup (eval/orset.c): true,
 * false and undefined X, both orientations, calls with arguments, NULs and the empty string,
 * loop variables, and sub-trees. Checked against yara 4.2.3: the nine t* rules match. */
static void test_or_sets(void)
{
    const char *src =
        "import \"tests\"\n"
        "rule t1 { condition: tests.constants.foo == \"a\" or tests.constants.foo == \"b\" or tests.constants.foo == \"c\" or tests.constants.foo == \"foo\" }\n"
        "rule f2 { condition: tests.constants.foo == \"a\" or tests.constants.foo == \"b\" or tests.constants.foo == \"c\" or tests.constants.foo == \"fo\" }\n"
        "rule t3 { condition: \"a\" == tests.constants.foo or tests.constants.foo == \"b\" or \"foo\" == tests.constants.foo or tests.constants.foo == \"c\" }\n"
        "rule f4 { condition: tests.string_array[7] == \"a\" or tests.string_array[7] == \"b\" or tests.string_array[7] == \"c\" or tests.string_array[7] == \"foo\" }\n"
        "rule t5 { condition: not (tests.string_array[7] == \"a\" or tests.string_array[7] == \"b\" or tests.string_array[7] == \"c\" or tests.string_array[7] == \"foo\") }\n"
        "rule t6 { condition: tests.foobar(2) == \"x\" or tests.foobar(2) == \"y\" or tests.foobar(2) == \"z\" or tests.foobar(2) == \"bar\" }\n"
        "rule t7 { condition: tests.string_array[3] == \"foo\" or tests.string_array[3] == \"bar\" or tests.string_array[3] == \"x\" or tests.string_array[3] == \"foo\\x00bar\" }\n"
        "rule t8 { condition: tests.constants.empty == \"a\" or tests.constants.empty == \"b\" or tests.constants.empty == \"c\" or tests.constants.empty == \"\" }\n"
        "rule t9 { condition: for any i in (0..3) : (tests.string_array[i] == \"x\" or tests.string_array[i] == \"y\" or tests.string_array[i] == \"z\" or tests.string_array[i] == \"baz\") }\n"
        "rule f10 { condition: for all i in (0..2) : (tests.string_array[i] == \"x\" or tests.string_array[i] == \"y\" or tests.string_array[i] == \"z\" or tests.string_array[i] == \"baz\") }\n"
        "rule t11 { condition: (tests.foobar(1) == \"a\" or tests.foobar(1) == \"b\" or tests.foobar(1) == \"c\" or tests.foobar(1) == \"d\") or tests.foobar(1) == \"foo\" }\n"
        "rule t12 { condition: tests.string_dict[\"foo\"] == \"a\" or tests.string_dict[\"foo\"] == \"b\" or tests.string_dict[\"foo\"] == \"c\" or tests.string_dict[\"foo\"] == \"foo\" }\n"
        "rule f13 { condition: tests.constants.foo == \"A\" or tests.constants.foo == \"FOO\" or tests.constants.foo == \"Foo\" or tests.constants.foo == \"foo \" }\n";
    rt_check_count(__LINE__, src, "x", 1, 9);
}

static void test_errors(void)
{
    assert_error("rule t { condition: $a }");
    assert_error("rule t { strings: $a = \"x\" condition: true }");            /* unreferenced */
    assert_error("rule t { condition: undefined_thing }");
    assert_error("rule t { condition: \"a\" + 1 }");
    /* booleans are not comparison operands (yara: syntax error) */
    assert_error("rule t { condition: true == true }");
    assert_error("rule t { condition: (1 == 1) != false }");
    assert_error("rule a { condition: true } rule t { condition: a == true }");
    assert_error("rule t { condition: true and }");
    assert_error("rule t { condition: 9223372036854775807 + 1 > 0 }");
    assert_error("rule t { strings: $a = \"x\" xor nocase condition: $a }");
    assert_error("rule t { strings: $a = { 61 [-] } condition: $a }");
    assert_error("rule a { condition: true } rule a { condition: true }");
    assert_error("import \"nonexistent\" rule t { condition: true }");
    assert_error("rule t { condition: (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((true)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) }");
}

/* all errors of a source are reported, not only the first */
static int diag_count;
static void count_diag(const ks_diag *d, void *ud)
{
    (void)ud;
    if (!d->is_warning) diag_count++;
}

static void test_all_errors(void)
{
    const char *src = "rule a { condition: $x }\n"
                      "rule b { condition: nope }\n"
                      "rule c { condition: true and }\n"
                      "rule d { condition: 1 + \"s\" }\n";
    ks_compiler *c;
    ks_compiler_create(&c);
    diag_count = 0;
    ks_compiler_set_diag(c, count_diag, NULL);
    int n = ks_compiler_add_string(c, src, strlen(src), NULL, "x.yar");
    rt_count++;
    if (n != 4 || diag_count != 4) {
        fprintf(stderr, "want 4 errors, got %d (%d diags)\n", n, diag_count);
        rt_failures++;
    }
    ks_compiler_destroy(c);
}

/* compiled rules survive a save/load round trip; damaged files are refused */
static void test_save_load(void)
{
    const char *src = "rule t : tag1 { meta: a = 1 strings: $a = \"abc\" $b = /b+c/ $h = { 62 ?? 63 }"
                      " condition: all of them and for any i in (1..#a) : (@a[i] >= 0) }";
    ks_compiler *c;
    ks_rules *r = NULL, *r2 = NULL;
    ks_compiler_create(&c);
    ks_compiler_add_string(c, src, strlen(src), NULL, NULL);
    rt_count++;
    if (ks_compiler_get_rules(c, &r) != KS_OK) { rt_failures++; ks_compiler_destroy(c); return; }
    char path[] = "/tmp/kensa-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    if (ks_rules_save(r, path) != KS_OK || ks_rules_load(path, &r2) != KS_OK) {
        fprintf(stderr, "save/load failed\n");
        rt_failures++;
    } else {
        ks_scanner *s;
        int n = 0;
        ks_scanner_create(r2, &s);
        ks_scanner_scan_mem(s, (const uint8_t *)"xxabcxbxc", 9, rt_cb, &n);
        if (n != 1) { fprintf(stderr, "loaded rules did not match\n"); rt_failures++; }
        ks_scanner_destroy(s);
    }
    /* corrupt every byte in turn (a few at a time): load must fail cleanly or work */
    FILE *f = fopen(path, "rb");
    static unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* (a damaged file may hold a valid but endless condition, e.g. a huge loop range: the scan
     * timeout bounds it, as it does for such a rule compiled from source) */
    for (size_t i = 8; i < len; i += 29) {
        unsigned char save = buf[i];
        buf[i] ^= 0xA5;
        f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        ks_rules *r3 = NULL;
        if (ks_rules_load(path, &r3) == KS_OK) {
            ks_scanner *s;
            int n = 0;
            if (ks_scanner_create(r3, &s) == KS_OK) {
                ks_scanner_set_timeout(s, 1);
                ks_scanner_scan_mem(s, (const uint8_t *)"xxabcxbxc", 9, rt_cb, &n);
                ks_scanner_destroy(s);
            }
            ks_rules_destroy(r3);
        }
        buf[i] = save;
    }
    unlink(path);
    ks_rules_destroy(r);
    ks_rules_destroy(r2);
    ks_compiler_destroy(c);
}

int main(void)
{
    test_conditions();
    test_strings();
    test_repeated_patterns();
    test_leading_nul_atoms();
    test_twin_targets();
    test_chain_jump_runs();
    test_line_windows();
    test_far_keys();
    test_or_sets();
    test_errors();
    test_all_errors();
    test_save_load();
    RT_DONE();
}
