/*
 * test_re.c - unit tests for src/match/re*.c: compile verdicts, atoms, and match lists collected
 * with the reference driver (tests/unit/re_driver.h, which follows the engine contract of re.h).
 * Expected (offset,len) lists come from running yara 4.2.3 (`yara -s -L`).
 */
#include "match/re.h"
#include "unit/re_driver.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

/* expect: "off:len off:len ..." (decimal), or "ERR" for a compile error. */
static void rx(const char *re, uint32_t flags, const char *data, size_t dlen, const char *expect)
{
    re_code *c = NULL;
    re_error err;
    int rc = re_compile_regex(re, strlen(re), flags, &c, &err);
    if (!strcmp(expect, "ERR")) {
        CHECK(rc != RE_OK, "/%s/ should not compile", re);
        free(c);
        return;
    }
    CHECK(rc == RE_OK, "/%s/ compile: %s", re, err.msg);
    if (rc != RE_OK)
        return;
    CHECK(re_code_check(c, c->size) == 0, "/%s/ code check", re);
    drv d;
    rc = drv_run(c, (const uint8_t *)data, dlen, &d);
    CHECK(rc == 0, "/%s/ verify error %d", re, rc);
    char got[4096] = "";
    size_t n = 0;
    for (size_t i = 0; i < d.n && n < sizeof got - 40; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%zu:%zu", i ? " " : "", d.m[i].start, d.m[i].len);
    CHECK(!strcmp(got, expect), "/%s/ got \"%s\" want \"%s\"", re, got, expect);
    free(d.m);
    free(c);
}

static void hx(const char *hex, const char *data, size_t dlen, const char *expect)
{
    re_code **cs = NULL;
    int32_t *gmin = NULL, *gmax = NULL;
    int np = 0;
    re_error err;
    int rc = re_compile_hex(hex, strlen(hex), 0, &cs, &gmin, &gmax, &np, &err);
    if (!strcmp(expect, "ERR")) {
        CHECK(rc != RE_OK, "{%s} should not compile", hex);
        return;
    }
    CHECK(rc == RE_OK, "{%s} compile: %s", hex, err.msg);
    if (rc != RE_OK)
        return;
    CHECK(np == 1, "{%s} pieces %d", hex, np);
    drv d;
    rc = drv_run(cs[0], (const uint8_t *)data, dlen, &d);
    CHECK(rc == 0, "{%s} verify error", hex);
    char got[4096] = "";
    size_t n = 0;
    for (size_t i = 0; i < d.n && n < sizeof got - 40; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%zu:%zu", i ? " " : "", d.m[i].start, d.m[i].len);
    CHECK(!strcmp(got, expect), "{%s} got \"%s\" want \"%s\"", hex, got, expect);
    free(d.m);
    for (int i = 0; i < np; i++)
        free(cs[i]);
    free(cs); free(gmin); free(gmax);
}

static int slow_regex(const char *re)
{
    re_code *c; re_error e;
    if (re_compile_regex(re, strlen(re), 0, &c, &e)) return -1;
    int s = re_slow(c);
    free(c);
    return s;
}

static int slow_hex(const char *h)
{
    re_code **cs; int32_t *a, *b; int np; re_error e;
    if (re_compile_hex(h, strlen(h), 0, &cs, &a, &b, &np, &e)) return -1;
    int s = 0;
    for (int i = 0; i < np; i++) { s |= re_slow(cs[i]); free(cs[i]); }
    free(cs); free(a); free(b);
    return s;
}

int main(void)
{
    const char *d1 = "abcdabcd";
    /* match lengths depend on atom position, as in yara */
    rx("(ab|a)", 0, d1, 8, "0:1 4:1");
    rx("bc|b", 0, d1, 8, "1:1 5:1");
    rx("a(b|bc)", 0, d1, 8, "0:2 4:2");
    rx("ab*", 0, d1, 8, "0:2 4:2");
    rx("ab*?", 0, d1, 8, "0:1 4:1");
    rx("a.*d", 0, d1, 8, "0:8 4:4");
    rx("(a|ab)(c|bcd)", 0, d1, 8, "0:4 4:4");
    rx("(abcd)+", 0, d1, 8, "0:8 4:4");
    rx("b(cd|cdab)+", 0, d1, 8, "1:7 5:3");
    rx("(ab|a)x*", 0, d1, 8, "0:2 4:2");        /* greedy regexp: later match replaces */
    rx("(ab|a)x*?", 0, d1, 8, "0:1 4:1");
    rx("a{,2}b", 0, d1, 8, "0:2 1:1 4:2 5:1");
    rx(".b{2,3}?cccc", 0, "abbbcccc", 8, "0:8 1:7");
    rx("x*", 0, "xxx", 3, "0:3 1:2 2:1");
    /* yara quirk: a leading e? in a pattern without atoms is entered at e */
    rx("d?\\w", 0, "x \ny\nd\nee e\n", 12, "");
    rx("d?\\s", 0, "x \ny\nd\nee e\n", 12, "5:2");
    /* nocase alternatives: atom order reversed by yara's case combinations */
    rx("a|A[^a]{2}[\\w]{0,2}", RE_NOCASE, "xxa1bb aBc", 10, "2:1 7:1");
    rx("[^a]c", RE_NOCASE, "Ac", 2, "");
    /* anchors and word boundaries */
    rx("^ab", 0, "ab\nab", 5, "0:2");
    rx("ab$", 0, "ab\nab", 5, "3:2");
    rx("\\bab\\b", 0, "ab\nab", 5, "0:2 3:2");
    rx("b\\B", 0, "ab\nab", 5, "");
    /* wide */
    rx("a.c", RE_WIDE, "a\0b\0c\0\nx\0ab\0", 13, "0:6");
    rx("ab", RE_WIDE | RE_ASCII, "a\0b\0c\0\nx\0ab\0", 13, "0:4 9:2");
    rx("a", RE_WIDE | RE_ASCII, "a\0b\0c\0\nx\0ab\0", 13, "0:1 9:1");
    rx("\\bb", RE_WIDE, "a\0b\0c\0\nx\0ab\0", 13, "10:2");
    rx("c.x", RE_WIDE | RE_DOTALL, "a\0b\0c\0\nx\0ab\0", 13, "");
    /* syntax */
    rx("a{2,1}", 0, d1, 8, "ERR");
    rx("a{0}", 0, d1, 8, "ERR");
    rx("a{1,32768}", 0, d1, 8, "ERR");
    rx("[b-a]", 0, d1, 8, "ERR");
    rx("\\x", 0, d1, 8, "ERR");
    rx("a*?b+", 0, d1, 8, "ERR");              /* greedy and ungreedy mixed */
    rx("a**", 0, d1, 8, "ERR");
    rx("(a", 0, d1, 8, "ERR");
    rx("a)", 0, d1, 8, "ERR");
    rx("\\q", 0, "q", 1, "0:1");
    rx("a{x", 0, "a{x", 3, "0:3");
    /* hex */
    const char d3[] = "\x01xx\x02\x02\x02";
    hx("01 [1-3] 02", d3, 6, "0:4");
    hx("01 [1-4] ( 02 | 03 )", d3, 6, "0:4");
    hx("01 ?? ", d3, 6, "0:2");
    hx("?? ", d3, 6, "0:1 1:1 2:1 3:1 4:1 5:1");
    hx("[1] 01", d3, 6, "ERR");
    hx("01 [1]", d3, 6, "ERR");
    hx("01 [3-1] 02", d3, 6, "ERR");
    hx("01 [0] 02", d3, 6, "ERR");
    hx("0", d3, 6, "ERR");
    hx("01 ( 02 [300] 03 | 04 )", d3, 6, "ERR");
    hx("01 ( 02 [-] 03 | 04 )", d3, 6, "ERR");
    hx("61 [0-2147483648] 62", d3, 6, "ERR");
    hx("62 [1-2] 63", "\x00\x62\x00\x63\x64 \x00\x62\x00\x00\x63\x64", 12, "1:3 7:4");
    /* yara 4.2.3's fast executor: one instruction at a time over a list of positions that
     * drops a new position when one with the same offset is already there (fast_run). Each
     * expectation is yara's own output. The dedup loses the only match here: */
    hx("41 42 43 61 [1-6] 62 [1-6] 63", "ABCa\0b\0bc\0\0\0\0", 13, "");
    hx("41 42 43 61 [1-6] 62 [2-6] 63", "ABCa\0b\0bc\0\0\0\0", 13, "0:9");
    /* ... and makes the longer way win here, while the shorter wins without the second 'b' */
    hx("41 42 43 61 [1-10] 62 [1-10] 63", "ABCa\0b\0bc\0c\0\0\0", 15, "0:11");
    hx("41 42 43 61 [1-10] 62 [1-10] 63", "ABCa\0b\0\0c\0c\0\0\0", 15, "0:9");
    /* more positions than fast_run keeps on its stack (FAST_LOCAL): the list moves to the heap */
    {
        char big[252];
        memset(big, 'b', sizeof big);
        big[0] = 'a';
        big[251] = 'c';
        hx("61 [1-200] 62 [1-200] 63", big, sizeof big, "0:252");
    }
    /* the atom is "61 62" (2 distinct bytes beat "61 61"), so the backward part decides */
    hx("61 61 [2-5] 61 [2-9] 61 62 [2-5] 61 61",
       "bab.baaaccccabc.abca.b.aaabac\0aabcaaaca\0\0", 40, "5:20 6:19 23:14");
    /* chaining */
    {
        re_code **cs; int32_t *a, *b; int np; re_error e;
        int rc = re_compile_hex("01 02 [300-400] 03 04 [-] 05", 28, 0, &cs, &a, &b, &np, &e);
        CHECK(rc == 0 && np == 3, "chain split");
        if (rc == 0 && np == 3) {
            CHECK(a[1] == 300 && b[1] == 400 && a[2] == 0 && b[2] == -1, "chain gaps");
            for (int i = 0; i < np; i++) free(cs[i]);
            free(cs); free(a); free(b);
        }
    }
    /* slow-scanning warnings (yara 4.2.3) */
    CHECK(slow_regex("ab") == 0, "slow ab");
    CHECK(slow_regex("a.b") == 1, "slow a.b");
    CHECK(slow_regex("(ab|a)") == 1, "slow (ab|a)");
    CHECK(slow_regex("\\w+") == 1, "slow \\w+");
    CHECK(slow_hex("01 02") == 0, "slow 01 02");
    CHECK(slow_hex("01") == 1, "slow 01");
    CHECK(slow_hex("00 01") == 1, "slow 00 01");
    CHECK(slow_hex("01 ?? 02") == 1, "slow 01 ?? 02");
    CHECK(slow_hex("00 62 [1] 63") == 0, "slow [1]");
    CHECK(slow_hex("90 90") == 1, "slow 90 90");          /* one filler byte repeated */
    CHECK(slow_hex("90 90 90") == 1, "slow 90 90 90");
    CHECK(slow_hex("90 90 90 90") == 0, "slow 90 90 90 90");
    CHECK(slow_hex("61 61") == 0, "slow 61 61");          /* exactly at the threshold */
    CHECK(slow_hex("00 62 [1-1] 63") == 1, "slow [1-1]");
    CHECK(slow_hex("01 00 0?") == 0, "slow nibble");
    /* deep nesting gives an error, not a crash */
    {
        static char deep[20001];
        for (int i = 0; i < 10000; i++) { deep[i] = '('; deep[10000 + i] = ')'; }
        deep[9999] = 'a';
        deep[10000] = ')';
        re_code *c; re_error e;
        CHECK(re_compile_regex(deep, 20000, 0, &c, &e) != RE_OK, "deep nesting");
    }
    /* linear time: (a+)+b over 100 KB of 'a' */
    {
        size_t n = 100000;
        char *big = malloc(n);
        memset(big, 'a', n);
        re_code *c; re_error e;
        int rc = re_compile_regex("(a+)+b", 6, 0, &c, &e);
        CHECK(rc == 0, "(a+)+b");
        if (rc == 0) {
            clock_t t0 = clock();
            CHECK(re_search(c, (uint8_t *)big, n) == 0, "search (a+)+b");
            drv d;
            /* verify at 2000 positions (the engine calls re_verify per atom hit) */
            drv_run(c, (uint8_t *)big, 2000, &d);
            CHECK(d.n == 0, "(a+)+b no match");
            free(d.m);
            double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
            CHECK(s < 10.0, "(a+)+b too slow: %.2fs", s);
            free(c);
        }
        free(big);
    }
    /* re_search */
    {
        re_code *c; re_error e;
        re_compile_regex("^b", 2, 0, &c, &e);
        CHECK(re_search(c, (const uint8_t *)"ab", 2) == 0, "search ^b");
        free(c);
        re_compile_regex("b$", 2, 0, &c, &e);
        CHECK(re_search(c, (const uint8_t *)"ab", 2) == 1, "search b$");
        free(c);
        re_compile_regex("A.C", 3, RE_NOCASE, &c, &e);
        CHECK(re_search(c, (const uint8_t *)"xxabc", 5) == 1, "search nocase");
        free(c);
    }
    printf("test_re: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
