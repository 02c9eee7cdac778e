/*
 * test_needs.c - rules skipped because none of their needed strings matched (src/eval/needs.c)
 * must give exactly what evaluation gives. Each case is checked on data where the strings do not
 * match (the skip applies) and, where it matters, on data where they do.
 *
 * Keys (`pe.imphash() == "..."`: a value of the data compared with a constant) and comparisons
 * reading @a[i] through arithmetic are checked the same way.
 *
 * Rules ruled out by their guard (the leftmost conjunct, checked before the condition tree) are
 * tested the same way.
 *
 * The verdicts are yara 4.2.3's (checked with `yara` on the same rule and data).
 *
 * Lazy strings (hex and regex strings whose hits are verified after the search, and only when
 * their rule may be true): which strings the analysis makes lazy, and that a scan reporting
 * matching rules only (where they are held) reports exactly what a scan reporting every rule
 * (where they are not) reports for the matching ones.
 */
#include <stdlib.h>

#include "eval/needs.h"
#include "match/strings.h"
#include "rule_test.h"
#include "rules/rules.h"

static void test_true_without_matches(void)
{
    /* conditions that are true when no string matched: never skipped */
    assert_true_rule("rule t { strings: $a = \"abc\" condition: not $a }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: #a == 0 }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: #a < 1 }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: none of them }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: 0 of them }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: $a or true }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: $a or filesize > 1 }", "xyz");
    assert_error("rule t { strings: $a = \"abc\" condition: 0% of them }");
    /* yara 4.2.3: `for none` in a loop means "at least 0" (always true) */
    assert_true_rule("rule t { strings: $a = \"abc\" condition: for none of ($a) : ($) }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: not defined @a[1] }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: #a != 1 }", "xyz");
}

static void test_false_without_matches(void)
{
    /* conditions that need a match: skipped when nothing matched, evaluated otherwise */
    const char *r1 = "rule t { strings: $a = \"abc\" $b = \"def\" condition: $a and $b }";
    assert_false_rule(r1, "xyz");
    assert_false_rule(r1, "abc");
    assert_true_rule(r1, "abc def");
    const char *r2 = "rule t { strings: $a = \"abc\" condition: #a > 1 }";
    assert_false_rule(r2, "abc");
    assert_true_rule(r2, "abc abc");
    const char *r3 = "rule t { strings: $a = \"abc\" $b = \"def\" condition: 2 of them }";
    assert_false_rule(r3, "def");
    assert_true_rule(r3, "abcdef");
    const char *r4 = "rule t { strings: $a = \"abc\" condition: @a[1] == 2 }";
    assert_false_rule(r4, "xyz");
    assert_true_rule(r4, "xyabc");
    const char *r5 = "rule t { strings: $a = \"abc\" condition: for any i in (1..#a) : (@a[i] > 3) }";
    assert_false_rule(r5, "abc");
    assert_true_rule(r5, "abc  abc");
    const char *r6 = "rule t { strings: $a = \"abc\" $b = \"x\" condition: for all of ($a, $b) : (# > 0) }";
    assert_false_rule(r6, "abc");
    assert_true_rule(r6, "abcx");
    const char *r7 = "rule t { strings: $a = \"abc\" condition: $a or false }";
    assert_false_rule(r7, "xyz");
    assert_true_rule(r7, "abc");
    assert_false_rule("rule t { condition: false }", "xyz");
}

static void test_rule_references(void)
{
    /* a rule needing another rule inherits that rule's strings */
    const char *r = "rule a { strings: $a = \"abc\" condition: $a } "
                    "rule t { strings: $b = \"def\" condition: a or $b }";
    assert_true_rule(r, "def");
    assert_true_rule(r, "abc");
    assert_false_rule("rule a { strings: $a = \"abc\" condition: $a } "
                      "rule t { condition: a and filesize > 0 }", "xyz");
    /* `not a` is true when a's strings did not match */
    assert_true_rule("private rule a { strings: $a = \"abc\" condition: $a } "
                     "rule t { condition: not a }", "xyz");
    /* any of (rules) */
    assert_true_rule("private rule a { strings: $a = \"abc\" condition: $a } "
                     "private rule b { strings: $b = \"def\" condition: $b } "
                     "rule t { condition: any of (a, b) }", "def");
    /* a skipped global rule still makes its namespace fail */
    assert_false_rule("global rule g { strings: $a = \"abc\" condition: $a } "
                      "rule t { condition: true }", "xyz");
    assert_true_rule("global rule g { strings: $a = \"abc\" condition: $a } "
                     "rule t { condition: true }", "abc");
}

static void test_guards(void)
{
    /* a rule whose leftmost conjunct is a read at a constant offset or a filesize comparison is
     * decided by that conjunct first (scanner.h, rule_guard); verdicts checked with yara 4.2.3 */
    assert_true_rule("rule t { condition: uint16(0) == 0x5A4D and filesize < 100 }", "MZxx");
    assert_false_rule("rule t { condition: uint16(0) == 0x5A4D and filesize < 100 }", "ZMxx");
    assert_false_rule("rule t { condition: uint16(0) == 0x5A4D and true }", "M");
    assert_true_rule("rule t { condition: 0x5A4D == uint16(0) and true }", "MZ");
    assert_false_rule("rule t { condition: not (uint16(0) == 0x5A4D) }", "M");
    assert_true_rule("rule t { condition: not (uint16(0) == 0x5A4D) }", "ZM");
    assert_false_rule("rule t { condition: uint16(0) != 0x5A4D and filesize > 0 }", "M");
    assert_true_rule("rule t { condition: uint16(0) != 0x5A4D and filesize > 0 }", "ZM");
    assert_true_rule("rule t { condition: int8(0) < 0 and true }", "\x80");
    assert_false_rule("rule t { condition: int8(0) < 0 and true }", "\x10");
    assert_false_rule("rule t { condition: filesize >= 3 and uint8(0) == 0x41 }", "AB");
    assert_true_rule("rule t { condition: filesize >= 3 and uint8(0) == 0x41 }", "ABC");
    assert_true_rule("rule t { condition: 10 > filesize and true }", "abc");
    assert_true_rule("rule t { condition: uint16(0) == 0x5A4D or true }", "xx");
    assert_true_rule("rule t { condition: uint32be(0) == 0x7F454C46 and true }", "\x7f" "ELF");
    assert_false_rule("rule t { condition: uint32be(0) == 0x7F454C46 and true }", "\x7f" "EL");
    /* a global rule ruled out by its guard still makes its namespace fail */
    assert_false_rule("global rule g { condition: uint8(0) == 0x41 } rule t { condition: true }", "B");
    assert_true_rule("global rule g { condition: uint8(0) == 0x41 } rule t { condition: true }", "A");
}

/* ------------------------------------------------------------------ lazy strings */

/* The lazy flags of rule text's strings, as "01.." in string order (first rule's first). */
static void lazy_flags(const char *rule, char *out, size_t cap)
{
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    out[0] = 0;
    if (ks_compiler_create(&c) != KS_OK) return;
    if (ks_compiler_add_string(c, rule, strlen(rule), NULL, "t.yar") == 0 &&
        ks_compiler_get_rules(c, &r) == KS_OK) {
        size_t n = 0;
        for (uint32_t si = 0; si < r->t.strs.n && n + 1 < cap; si++)
            out[n++] = r->needs->lazy[si] ? '1' : '0';
        out[n] = 0;
    }
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
}

static void check_lazy(int line, const char *rule, const char *want)
{
    char got[64];
    lazy_flags(rule, got, sizeof got);
    rt_count++;
    if (strcmp(got, want) != 0) {
        rt_failures++;
        fprintf(stderr, "line %d: lazy flags %s, want %s: %s\n", line, got, want, rule);
    }
}

typedef struct report { char *buf; size_t n, cap; } report;

static void rep_add(report *r, const char *s)
{
    size_t l = strlen(s);
    if (r->n + l + 1 > r->cap) {
        size_t nc = (r->n + l + 1) * 2;
        char *nb = realloc(r->buf, nc);
        if (!nb) return;
        r->buf = nb;
        r->cap = nc;
    }
    memcpy(r->buf + r->n, s, l + 1);
    r->n += l;
}

/* each matching rule with every match of its strings */
static int rep_cb(ks_scanner *sc, const ks_event *ev, void *ud)
{
    if (ev->type != KS_EV_RULE_MATCH) return 0;
    report *r = ud;
    char line[128];
    snprintf(line, sizeof line, "%s:", ev->rule->id);
    rep_add(r, line);
    for (int si = 0; si < ev->rule->nstrings; si++) {
        const ks_match *m;
        int n = ks_scanner_matches(sc, ev->rule->index, si, &m);
        for (int i = 0; i < n; i++) {
            snprintf(line, sizeof line, " %d@%lld+%u", si, (long long)m[i].offset, m[i].length);
            rep_add(r, line);
        }
    }
    rep_add(r, "\n");
    return 0;
}

/* Scans data with rules reporting matching rules only (lazy strings held) and every rule; the
 * matching rules' reports must be the same, and `want` rules must match. */
static void check_same(int line, const char *rules, const void *data, size_t len, int want)
{
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    report a = {0}, b = {0};
    int ok = 0, nm = 0;
    rt_count++;
    if (ks_compiler_create(&c) == KS_OK &&
        ks_compiler_add_string(c, rules, strlen(rules), NULL, "t.yar") == 0 &&
        ks_compiler_get_rules(c, &r) == KS_OK) {
        ks_scanner *s1 = NULL, *s2 = NULL;
        if (ks_scanner_create(r, &s1) == KS_OK && ks_scanner_create(r, &s2) == KS_OK) {
            ks_scanner_set_flags(s1, KS_SCAN_MATCHES_ONLY);
            rep_add(&a, "");
            rep_add(&b, "");
            ok = ks_scanner_scan_mem(s1, data, len, rep_cb, &a) == KS_OK &&
                 ks_scanner_scan_mem(s2, data, len, rep_cb, &b) == KS_OK &&
                 a.buf && b.buf && strcmp(a.buf, b.buf) == 0;
            for (size_t i = 0; a.buf && i < a.n; i++) nm += a.buf[i] == '\n';
        }
        ks_scanner_destroy(s1);
        ks_scanner_destroy(s2);
    }
    if (!ok || nm != want) {
        rt_failures++;
        fprintf(stderr, "line %d: %d matching (want %d), reports %s:\n%s---\n%s", line, nm, want,
                ok ? "equal" : "differ", a.buf ? a.buf : "", b.buf ? b.buf : "");
    }
    free(a.buf);
    free(b.buf);
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
}

static void test_lazy_analysis(void)
{
    /* a text string decides: the hex string waits for it */
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $h = { 61 62 63 } condition: $t and $h }", "01");
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $r = /ab+c/ condition: $r and #t > 2 }", "01");
    /* either may match alone: nothing waits */
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $h = { 61 62 63 } condition: $t or $h }", "00");
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $h = { 61 62 63 } condition: any of them }", "00");
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $h = { 61 62 63 } condition: not $t and $h }", "00");
    /* two hex strings: the one with the weaker atom waits for the other */
    check_lazy(__LINE__, "rule t { strings: $a = { 41 42 43 44 45 46 } $b = { 41 ?? 42 } "
                         "condition: #a > 1 and #b > 5 }", "01");
    /* all of them: every string but one waits */
    check_lazy(__LINE__, "rule t { strings: $a = { 41 42 43 44 } $b = { 45 ?? 46 } $c = /x[0-9]+y/ "
                         "condition: all of them }", "011");
    /* N of: N - 1 strings may wait */
    check_lazy(__LINE__, "rule t { strings: $a = { 41 42 43 44 } $b = { 45 ?? 46 } $t = \"xyz\" "
                         "condition: 2 of them }", "010");
    /* the regex strings beside a text set stay lazy */
    check_lazy(__LINE__, "rule t { strings: $t = \"xyz\" $r1 = /a+b/ $r2 = /c+d/ "
                         "condition: $t and 1 of ($r*) }", "011");
    /* a regex without an atom is verified at every offset after the search: never lazy */
    check_lazy(__LINE__, "rule t { strings: $t = \"abc\" $r = /[0-9]/ condition: $t and $r }", "00");
    check_same(__LINE__, "rule t { strings: $t = \"abc\" $r = /[0-9]/ $h = { 78 ?? 7A } "
                         "condition: $t and $r and $h }", "abc 1 x.z", 9, 1);
    /* a loop over the set reads each string: not lazy */
    check_lazy(__LINE__, "rule t { strings: $t = \"xyz\" $h = { 61 62 } "
                         "condition: for all of them : ( # > 1 ) }", "00");
}

static void test_lazy_scans(void)
{
    const char *r1 = "rule t { strings: $t = \"abc\" $h = { 78 ?? 7A } condition: $t and $h }";
    check_same(__LINE__, r1, "x.z x-z", 7, 0);
    check_same(__LINE__, r1, "x.z abc x-z", 11, 1);
    /* shared atoms, several strings at one offset (tie order), a twin, a chained hex string */
    const char *r2 =
        "rule t { strings: $t = \"KEY\" "
        "$a = { 41 42 43 [1-3] 44 } $b = { 41 42 43 ?? 44 } $c = /ABC.{1,3}D/ "
        "$d = { 41 42 [300-400] 43 44 } $e = /ABC/ wide ascii nocase "
        "condition: $t and 1 of ($a, $b, $c, $d, $e) }";
    static char d2[1200];
    memset(d2, '.', sizeof d2);
    static const char head[] = "ABC.D ABC..D abcxD A\0B\0C\0";
    memcpy(d2, head, sizeof head - 1);
    memcpy(d2 + 400, "CD", 2);
    check_same(__LINE__, r2, d2, sizeof d2, 0);
    memcpy(d2 + 700, "KEY", 3);
    check_same(__LINE__, r2, d2, sizeof d2, 1);
    /* a chained hex string decides for another one (its matches are assembled first) */
    const char *r5 = "rule t { strings: $a = { 31 32 [-] 38 39 } $b = { 31 32 [-] 35 36 } "
                     "condition: (!a == 9) and (!b == 6) }";
    check_lazy(__LINE__, r5, "01");
    check_same(__LINE__, r5, "123456789", 9, 1);
    check_same(__LINE__, r5, "1234567", 7, 0);
    /* rule references: the referring rule sees the referenced rule's result */
    const char *r3 = "private rule a { strings: $t = \"xyz\" $h = { 41 42 } condition: $t and $h } "
                     "rule b { strings: $h = { 41 42 } condition: a and #h == 3 }";
    check_same(__LINE__, r3, "AB AB AB", 8, 0);
    check_same(__LINE__, r3, "AB AB AB xyz", 12, 1);
    /* more held hits than LAZY_MAX_HELD: all verified, the rest of the scan at once */
    size_t n = (size_t)LAZY_MAX_HELD * 3 + 64;
    char *big = malloc(n);
    if (big) {
        for (size_t i = 0; i + 1 < n; i += 2) { big[i] = 'x'; big[i + 1] = (char)('0' + i % 7); }
        const char *r4 = "rule t { strings: $t = \"END\" $h = { 78 3? } $r = /x[0-3]/ "
                         "condition: $t and $h and $r }";
        check_same(__LINE__, r4, big, n, 0);
        memcpy(big + n - 3, "END", 3);
        check_same(__LINE__, r4, big, n, 1);
        free(big);
    }
}

static void test_strict_offsets(void)
{
    /* @a[i] or !a[i] inside arithmetic, `-`, `~` or uintN() makes a comparison need $a (an
     * undefined operand makes the comparison undefined); verdicts from yara 4.2.3 */
    const char *r1 = "rule t { strings: $a = \"abc\" condition: uint8(@a[1] + 3) == 0x64 }";
    assert_true_rule(r1, "abcd");
    assert_false_rule(r1, "abcxd");
    assert_false_rule(r1, "xyz");
    const char *r2 = "rule t { strings: $a = \"abc\" $b = \"def\" condition: (@b[1] - @a[1]) < 5 }";
    assert_true_rule(r2, "abcdef");
    assert_false_rule(r2, "abc");
    assert_false_rule("rule t { strings: $a = \"abc\" condition: -@a[1] < 1 }", "xyz");
    const char *r3 = "rule t { strings: $a = \"abc\" condition: ~@a[1] != 0 }";
    assert_false_rule(r3, "xyz");
    assert_true_rule(r3, "abc");
    const char *r4 = "rule t { strings: $a = \"abc\" condition: !a[1] * 2 == 6 }";
    assert_true_rule(r4, "abc");
    assert_false_rule(r4, "xabx");
    /* not and defined are not comparisons: true without a match */
    assert_false_rule("rule t { strings: $a = \"abc\" condition: not (@a[1] == 5) }", "xyz");
    assert_true_rule("rule t { strings: $a = \"abc\" condition: defined (@a[1] + 1) or "
                     "filesize > 0 }", "xyz");
}

static void test_count_sums(void)
{
    /* a sum of counts compared with something never negative needs one of its strings;
     * verdicts from yara 4.2.3 */
    const char *r1 = "rule t { strings: $x = \"abc\" $f = \"def\" condition: #x > #f }";
    assert_false_rule(r1, "xyz");
    assert_true_rule(r1, "abc");
    assert_false_rule(r1, "abc def");
    const char *r2 = "rule t { strings: $x1 = \"abc\" $x2 = \"ghi\" $f1 = \"def\" $f2 = \"jkl\" "
                     "condition: (#x1 + #x2) > (#f1 + #f2) }";
    assert_true_rule(r2, "ghi");
    assert_false_rule(r2, "ghi jkl");
    assert_false_rule(r2, "xyz");
    assert_true_rule("rule t { strings: $x = \"abc\" $f = \"def\" condition: #f < #x }", "abc");
    const char *r3 = "rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + #y >= 2 }";
    assert_true_rule(r3, "abc def");
    assert_false_rule(r3, "abc");
    assert_true_rule("rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + #y == 1 }", "def");
    const char *r4 = "rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + #y != 0 }";
    assert_false_rule(r4, "xyz");
    assert_true_rule(r4, "def");
    assert_true_rule("rule t { strings: $x = \"abc\" $y = \"def\" condition: 0 < #x + #y }", "abc");
    /* true without a match: a negative bound, >= 0, a constant in the sum */
    assert_true_rule("rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + #y > -1 }", "xyz");
    assert_true_rule("rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + #y >= 0 }", "xyz");
    assert_true_rule("rule t { strings: $x = \"abc\" $y = \"def\" condition: #x + 1 > #y }", "xyz");
}

#define T "import \"tests\" "

static void test_keys(void)
{
    /* `X == K` with X a module value, a call without arguments or an external: a key, true
     * when the value equals K (eval/needs.c, "Keys"); verdicts from yara 4.2.3 */
    assert_true_rule(T "rule t { condition: tests.constants.one == 1 }", "xyz");
    assert_false_rule(T "rule t { condition: tests.constants.one == 2 }", "xyz");
    assert_true_rule(T "rule t { condition: 1 == tests.constants.one }", "xyz");
    assert_true_rule(T "rule t { condition: tests.constants.foo == \"foo\" }", "xyz");
    assert_false_rule(T "rule t { condition: tests.constants.foo == \"fo\" }", "xyz");
    assert_false_rule(T "rule t { condition: tests.constants.foo == \"foo\\x00\" }", "xyz");
    assert_true_rule(T "rule t { condition: \"foo\" == tests.constants.foo }", "xyz");
    assert_true_rule(T "rule t { condition: tests.constants.empty == \"\" }", "xyz");
    assert_true_rule(T "rule t { condition: tests.empty() == \"\" }", "xyz");
    /* undefined equals nothing */
    assert_false_rule(T "rule t { condition: tests.undefined.i == 0 }", "xyz");
    const char *u = T "rule t { strings: $a = \"abc\" condition: tests.undefined.i == 0 or $a }";
    assert_true_rule(u, "abc");
    assert_false_rule(u, "xyz");
    /* keys and strings in one set */
    assert_true_rule(T "rule t { strings: $a = \"abc\" condition: tests.constants.two == 2 or $a }",
                     "xyz");
    const char *m = T "rule t { strings: $a = \"abc\" condition: tests.constants.two == 3 or $a }";
    assert_false_rule(m, "xyz");
    assert_true_rule(m, "abc");
    /* with a guard */
    const char *g = T "rule t { condition: uint8(0) == 0x41 and tests.constants.one == 1 }";
    assert_true_rule(g, "Axyz");
    assert_false_rule(g, "Bxyz");
    assert_false_rule(T "rule t { condition: tests.constants.one == 1 and "
                      "tests.constants.foo == \"bar\" }", "xyz");
    assert_true_rule(T "rule t { condition: tests.constants.one != 1 or "
                     "tests.constants.foo == \"foo\" }", "xyz");
    /* through a rule reference */
    assert_true_rule(T "private rule a { condition: tests.constants.foo == \"foo\" } "
                     "rule t { condition: a }", "xyz");
    assert_false_rule(T "private rule a { condition: tests.constants.foo == \"bar\" } "
                      "rule t { condition: a }", "xyz");
    /* a float constant is not a key; the same constant twice is one key */
    assert_true_rule(T "rule t { condition: tests.constants.one == 1.0 }", "xyz");
    assert_true_rule(T "rule t { condition: tests.constants.one == 0x1 and "
                     "tests.constants.two == 2 }", "xyz");
    /* many keys in one group: exactly the equal ones are true (sorted lookup) */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "%s", T);
    for (int k = -20; k < 40; k++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "rule i%d { condition: tests.constants.two == %d } "
                              "rule s%d { condition: tests.constants.foo == \"%.*s\" } ",
                              k + 20, k, k + 20, (k + 20) % 5, "foooo");
    rt_check_count(__LINE__, big, "xyz", 3, 1 + 12);   /* i22; s3, s8, ..., s58 ("foo") */
}

/* rule t over "xyz" with external `ext` defined at compile time by def(c), then redefined on
 * the scanner by redef(s) when given: 1 matched, 0 not, -1 error */
static int ext_scan(const char *cond, int (*def)(ks_compiler *), int (*redef)(ks_scanner *))
{
    char rule[256];
    snprintf(rule, sizeof rule, "rule t { condition: %s }", cond);
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    ks_scanner *s = NULL;
    int n = 0, res = -1;
    if (ks_compiler_create(&c) != KS_OK) return -1;
    if (def(c) != KS_OK || ks_compiler_add_string(c, rule, strlen(rule), NULL, "t.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK || ks_scanner_create(r, &s) != KS_OK)
        goto out;
    if (redef && redef(s) != KS_OK) goto out;
    if (ks_scanner_scan_mem(s, (const uint8_t *)"xyz", 3, rt_cb, &n) == KS_OK) res = n > 0;
out:
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
    return res;
}

static int def_abc(ks_compiler *c) { return ks_compiler_define_string(c, "ext", "abc"); }
static int def_5(ks_compiler *c) { return ks_compiler_define_int(c, "ext", 5); }
static int def_2f(ks_compiler *c) { return ks_compiler_define_float(c, "ext", 2.0); }
static int def_25f(ks_compiler *c) { return ks_compiler_define_float(c, "ext", 2.5); }
static int def_true(ks_compiler *c) { return ks_compiler_define_bool(c, "ext", 1); }
static int def_false(ks_compiler *c) { return ks_compiler_define_bool(c, "ext", 0); }
static int re_abd(ks_scanner *s) { return ks_scanner_define_string(s, "ext", "abd"); }
static int re_6(ks_scanner *s) { return ks_scanner_define_int(s, "ext", 6); }

static void test_external_keys(void)
{
    /* externals as keys, evaluated per scan (a scanner may redefine them); a float value is
     * compared by evaluation, not looked up; verdicts from yara 4.2.3 (-d ext=...) */
    struct { const char *cond; int (*def)(ks_compiler *); int (*redef)(ks_scanner *); int want; } k[] = {
        {"ext == \"abc\"", def_abc, NULL, 1},
        {"ext == \"abd\"", def_abc, NULL, 0},
        {"ext == \"abd\"", def_abc, re_abd, 1},
        {"ext == \"abc\"", def_abc, re_abd, 0},
        {"ext == 5", def_5, NULL, 1},
        {"ext == 5", def_5, re_6, 0},
        {"ext == 2", def_2f, NULL, 1},
        {"ext == 2", def_25f, NULL, 0},
        /* a boolean external is the integer 0 or 1 (yara: `ext == true` is an error) */
        {"ext == 1", def_true, NULL, 1},
        {"ext == 0", def_true, NULL, 0},
        {"ext == 0", def_false, NULL, 1},
        {"ext + 1 == 2", def_true, NULL, 1},
        {"ext == true", def_true, NULL, -1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        int got = ext_scan(k[i].cond, k[i].def, k[i].redef);
        rt_count++;
        if (got != k[i].want) {
            rt_failures++;
            fprintf(stderr, "external case %zu (%s): want %d got %d\n", i, k[i].cond, k[i].want, got);
        }
    }
}

int main(void)
{
    test_true_without_matches();
    test_false_without_matches();
    test_rule_references();
    test_guards();
    test_lazy_analysis();
    test_lazy_scans();
    test_strict_offsets();
    test_count_sums();
    test_keys();
    test_external_keys();
    RT_DONE();
}
