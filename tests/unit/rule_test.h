/*
 * rule_test.h - one-line rule tests: compile a rule from text, scan a buffer, check the verdict.
 *
 *   assert_true_rule("rule t { condition: 1 + 1 == 2 }", "");
 *   assert_error("rule t { condition: $a }");
 *
 * Failures are counted and printed with the test's line; main() returns the count.
 */
#ifndef KENSA_RULE_TEST_H
#define KENSA_RULE_TEST_H

#include <stdio.h>
#include <string.h>

#include "kensa.h"

static int rt_failures = 0;
static int rt_count = 0;

static int rt_cb(ks_scanner *sc, const ks_event *ev, void *ud)
{
    (void)sc;
    if (ev->type == KS_EV_RULE_MATCH) (*(int *)ud)++;
    return 0;
}

/* Returns 1 matched (any rule), 0 not matched, -1 compile error, -2 scan error, -3 a scan
 * evaluating every rule (KS_SCAN_EVAL_ALL) disagreed. */
static int rt_run(const char *rule, const void *data, size_t len, int *nmatch)
{
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    ks_scanner *s = NULL;
    int res = -1;
    *nmatch = 0;
    if (ks_compiler_create(&c) != KS_OK) return -1;
    if (ks_compiler_add_string(c, rule, strlen(rule), NULL, "test.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK)
        goto out;
    res = -2;
    if (ks_scanner_create(r, &s) != KS_OK) goto out;
    int n = 0, all = 0;
    if (ks_scanner_scan_mem(s, data, len, rt_cb, &n) != KS_OK) goto out;
    *nmatch = n;
    res = n > 0;
    /* the same verdicts with every condition evaluated (none skipped by eval/needs.c) */
    ks_scanner_set_flags(s, KS_SCAN_EVAL_ALL);
    if (ks_scanner_scan_mem(s, data, len, rt_cb, &all) != KS_OK || all != n) {
        fprintf(stderr, "evaluating every rule: %d matches, skipping: %d\n", all, n);
        res = -3;
    }
out:
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
    return res;
}


static void rt_check(int line, const char *rule, const void *data, size_t len, int want)
{
    int n;
    int got = rt_run(rule, data, len, &n);
    rt_count++;
    if (got != want) {
        rt_failures++;
        fprintf(stderr, "line %d: want %d got %d: %s\n", line, want, got, rule);
    }
}

/* Several rules: exactly `want` of them must match. */
static inline void rt_check_count(int line, const char *rules, const void *data, size_t len, int want)
{
    int n;
    int got = rt_run(rules, data, len, &n);
    rt_count++;
    if (got != 1 || n != want) {
        rt_failures++;
        fprintf(stderr, "line %d: want %d matching rules, got %d (run %d)\n", line, want, n, got);
    }
}

#define assert_true_rule(rule, data) rt_check(__LINE__, rule, data, strlen(data), 1)
#define assert_false_rule(rule, data) rt_check(__LINE__, rule, data, strlen(data), 0)
#define assert_true_rule_blob(rule, data, len) rt_check(__LINE__, rule, data, len, 1)
#define assert_false_rule_blob(rule, data, len) rt_check(__LINE__, rule, data, len, 0)
#define assert_error(rule) rt_check(__LINE__, rule, "", 0, -1)

#define RT_DONE()                                                             \
    do {                                                                      \
        printf("%d passed, %d failed\n", rt_count - rt_failures, rt_failures); \
        return rt_failures ? 1 : 0;                                           \
    } while (0)

#endif
