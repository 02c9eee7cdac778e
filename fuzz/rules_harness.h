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

static int rh_on_event(ks_scanner *s, const ks_event *ev, void *ud)
{
    size_t *total = ud;
    if ((ev->type == KS_EV_RULE_MATCH || ev->type == KS_EV_RULE_NOMATCH) && ev->rule) {
        for (int si = 0; si < ev->rule->nstrings; si++) {
            const ks_match *m = NULL;
            int n = ks_scanner_matches(s, ev->rule->index, si, &m);
            for (int k = 0; k < n && m; k++)
                *total += m[k].data_len + (size_t)m[k].offset;
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
 * every rule and once matches only (where the strings of rules whose guard fails are skipped),
 * then read every rule's info and string ids. */
static void rh_exercise(const ks_rules *r, const uint8_t *data, size_t n, int empty)
{
    ks_scanner *s = NULL;
    if (ks_scanner_create(r, &s) == KS_OK) {
        size_t total = 0;
        ks_scanner_set_timeout(s, 5);
        ks_scanner_scan_mem(s, data, n, rh_on_event, &total);
        if (empty)
            ks_scanner_scan_mem(s, (const uint8_t *)"", 0, rh_on_event, &total);
        ks_scanner_set_flags(s, KS_SCAN_MATCHES_ONLY);
        ks_scanner_scan_mem(s, data, n, rh_on_event, &total);
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
