/*
 * fuzz_rules.c - libFuzzer harness: the input is rule text.
 *
 * Compiles the bytes with ks_compiler_add_string() (with a few externals defined so conditions
 * that use them get past the compiler), and when they compile, scans a small fixed buffer and
 * reads every reported match back. Any crash, sanitizer report or leak is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const uint8_t scan_data[] =
    "MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode.\r\n"
    "abc hello world HELLO h\x00""e\x00l\x00l\x00o\x00 "
    "c2VjcmV0 \x01\x02\x03\x04\xff\xfe AAAAAAAAAAAAAAAA 1234567890 "
    "<script>eval(unescape('%u9090'))</script> Document_Open AutoOpen Shell(";

static int on_event(ks_scanner *s, const ks_event *ev, void *ud)
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

static void ignore_diag(const ks_diag *d, void *ud)
{
    (void)d;
    (void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_compiler *c = NULL;
    if (ks_compiler_create(&c) != KS_OK)
        return 0;
    ks_compiler_set_diag(c, ignore_diag, NULL);
    ks_compiler_define_int(c, "ext_int", 42);
    ks_compiler_define_float(c, "ext_float", 1.5);
    ks_compiler_define_bool(c, "ext_bool", 1);
    ks_compiler_define_string(c, "ext_str", "hello");
    ks_rules *rules = NULL;
    if (ks_compiler_add_string(c, (const char *)data, size, NULL, "fuzz.yar") == 0 &&
        ks_compiler_get_rules(c, &rules) == KS_OK) {
        ks_scanner *s = NULL;
        if (ks_scanner_create(rules, &s) == KS_OK) {
            size_t total = 0;
            ks_scanner_set_timeout(s, 5);
            ks_scanner_scan_mem(s, scan_data, sizeof scan_data - 1, on_event, &total);
            ks_scanner_scan_mem(s, (const uint8_t *)"", 0, on_event, &total);
            ks_scanner_destroy(s);
        }
        uint32_t n = ks_rules_count(rules);
        for (uint32_t i = 0; i < n; i++) {
            ks_rule_info info;
            if (ks_rules_info(rules, i, &info) == KS_OK)
                for (int si = 0; si < info.nstrings; si++) {
                    int priv = 0;
                    (void)ks_rules_string_id(rules, i, si, &priv);
                }
        }
        ks_rules_destroy(rules);
    }
    ks_compiler_destroy(c);
    return 0;
}
