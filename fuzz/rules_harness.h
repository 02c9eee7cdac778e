/*
 * rules_harness.h - what the rule harnesses (fuzz_rules.c, fuzz_rules_file.c) do with rules that
 * compiled or loaded (rh_compile: the same externals for both): scan a fixed buffer with them (and an empty one when asked), read every
 * reported match back, and read every rule's info and string ids. Header-only: each harness is
 * linked on its own (libFuzzer or fuzz/replay.c).
 */
#ifndef KENSA_FUZZ_RULES_HARNESS_H
#define KENSA_FUZZ_RULES_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "kensa.h"

#include <stdlib.h>

/* A scan's digest: every match of every string of the matching rules, in report order. */
typedef struct rh_report {
    size_t total;
    uint64_t digest;
    uint32_t nmatch;
} rh_report;

static void rh_mix(rh_report *r, uint64_t v)
{
    r->digest = (r->digest ^ v) * 0x100000001b3ULL;
}

static int rh_on_event(ks_scanner *s, const ks_event *ev, void *ud)
{
    rh_report *rep = ud;
    if ((ev->type == KS_EV_RULE_MATCH || ev->type == KS_EV_RULE_NOMATCH) && ev->rule) {
        int match = ev->type == KS_EV_RULE_MATCH;
        if (match) {
            rep->nmatch++;
            rh_mix(rep, ev->rule->index);
        }
        for (int si = 0; si < ev->rule->nstrings; si++) {
            const ks_match *m = NULL;
            int n = ks_scanner_matches(s, ev->rule->index, si, &m);
            for (int k = 0; k < n && m; k++) {
                rep->total += m[k].data_len + (size_t)m[k].offset;
                if (match) {
                    rh_mix(rep, (uint64_t)si << 32 | m[k].length);
                    rh_mix(rep, (uint64_t)m[k].offset);
                    rh_mix(rep, (uint64_t)(int64_t)m[k].xor_key);
                }
            }
        }
    }
    return 0;
}

static void rh_ignore_diag(const ks_diag *d, void *ud)
{
    (void)d;
    (void)ud;
}

/* Compile src[0..len) as "fuzz.yar" with the harnesses' externals (ext_int 42, ext_float 1.5,
 * ext_bool true, ext_str "hello") and diagnostics ignored. Returns the rules (the caller
 * destroys them) or NULL. */
static ks_rules *rh_compile(const uint8_t *src, size_t len)
{
    ks_compiler *c = NULL;
    if (ks_compiler_create(&c) != KS_OK)
        return NULL;
    ks_compiler_set_diag(c, rh_ignore_diag, NULL);
    ks_compiler_define_int(c, "ext_int", 42);
    ks_compiler_define_float(c, "ext_float", 1.5);
    ks_compiler_define_bool(c, "ext_bool", 1);
    ks_compiler_define_string(c, "ext_str", "hello");
    ks_rules *r = NULL;
    if (ks_compiler_add_string(c, (const char *)src, len, NULL, "fuzz.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK)
        r = NULL;
    ks_compiler_destroy(c);
    return r;
}

/* Scan data[0..n) (then an empty buffer if `empty`) with a 5-second timeout, once reporting
 * every rule, once matches only (where the strings of rules whose guard fails are skipped
 * and lazy strings are held back) and once evaluating every rule (KS_SCAN_EVAL_ALL: no rule
 * skipped for its needed strings or keys), then read every rule's info and string ids. The
 * scans must report the same matching rules with the same matches: any difference aborts (a
 * crash for the fuzzer to keep). */
static void rh_exercise(const ks_rules *r, const uint8_t *data, size_t n, int empty)
{
    ks_scanner *s = NULL;
    if (ks_scanner_create(r, &s) == KS_OK) {
        rh_report all = {0, 0, 0}, only = {0, 0, 0}, every = {0, 0, 0}, e = {0, 0, 0};
        ks_scanner_set_timeout(s, 5);
        int rc1 = ks_scanner_scan_mem(s, data, n, rh_on_event, &all);
        if (empty)
            ks_scanner_scan_mem(s, (const uint8_t *)"", 0, rh_on_event, &e);
        ks_scanner_set_flags(s, KS_SCAN_MATCHES_ONLY);
        int rc2 = ks_scanner_scan_mem(s, data, n, rh_on_event, &only);
        if (rc1 == KS_OK && rc2 == KS_OK &&
            (all.nmatch != only.nmatch || all.digest != only.digest))
            abort();
        ks_scanner_set_flags(s, KS_SCAN_EVAL_ALL);
        int rc3 = ks_scanner_scan_mem(s, data, n, rh_on_event, &every);
        if (rc1 == KS_OK && rc3 == KS_OK &&
            (all.nmatch != every.nmatch || all.digest != every.digest))
            abort();
        ks_scanner_destroy(s);
    }
    uint32_t nr = ks_rules_count(r);
    for (uint32_t i = 0; i < nr; i++) {
        ks_rule_info info;
        if (ks_rules_info(r, i, &info) == KS_OK)
            for (int si = 0; si < info.nstrings; si++) {
                int priv = 0;
                (void)ks_rules_string_id(r, i, si, &priv);
            }
    }
}

#endif
