/*
 * test_needs.c - rules skipped because none of their needed strings matched (src/eval/needs.c)
 * must give exactly what evaluation gives. Each case is checked on data where the strings do not
 * match (the skip applies) and, where it matters, on data where they do.
 *
 * Rules ruled out by their guard (the leftmost conjunct, checked before the condition tree) are
 * tested the same way.
 *
 * The verdicts are yara 4.2.3's (checked with `yara` on the same rule and data).
 */
#include "rule_test.h"

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

int main(void)
{
    test_true_without_matches();
    test_false_without_matches();
    test_rule_references();
    test_guards();
    RT_DONE();
}
