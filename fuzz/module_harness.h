/*
 * module_harness.h - the shared body of the module fuzz harnesses (fuzz_elf.c, fuzz_macho.c, ...).
 *
 * A harness defines `rule_text` (a rule that imports its module and walks every field) and calls
 * module_harness_run() from LLVMFuzzerTestOneInput: the rule is compiled once per process and
 * each input is scanned with it (10 s timeout). Any crash, hang, sanitizer report or leak is a bug.
 */
#ifndef KENSA_MODULE_HARNESS_H
#define KENSA_MODULE_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static int harness_on_event(ks_scanner *s, const ks_event *ev, void *ud)
{
    (void)s;
    (void)ev;
    (void)ud;
    return 0;
}

static void harness_ignore_diag(const ks_diag *d, void *ud)
{
    (void)d;
    (void)ud;
}

static int module_harness_run(const char *rule_text, size_t rule_len, const char *name,
                              const uint8_t *data, size_t size)
{
    static ks_rules *rules;     /* harness-only cache: compiled once per process */
    if (!rules) {
        ks_compiler *c = NULL;
        if (ks_compiler_create(&c) != KS_OK)
            return 0;
        ks_compiler_set_diag(c, harness_ignore_diag, NULL);
        if (ks_compiler_add_string(c, rule_text, rule_len, NULL, name) == 0)
            ks_compiler_get_rules(c, &rules);
        ks_compiler_destroy(c);
    }
    ks_scanner *s = NULL;
    if (!rules || ks_scanner_create(rules, &s) != KS_OK)
        return 0;
    ks_scanner_set_timeout(s, 10);
    ks_scanner_scan_mem(s, data, size, harness_on_event, NULL);
    ks_scanner_destroy(s);
    return 0;
}

#endif
