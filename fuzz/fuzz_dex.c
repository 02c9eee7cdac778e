/*
 * fuzz_dex.c - libFuzzer harness for the `dex` module: the input is the scanned file.
 *
 * A fixed rule that imports "dex" and walks the string, class, map, field and method tables and
 * every has_method / has_class overload is compiled once; each input is scanned with it. Any
 * crash, hang, sanitizer report or leak is a bug. Seeds: fuzz/corpus/dex (replayed by ctest as
 * fuzz_replay_dex).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const char rule_text[] =
    "import \"dex\"\n"
    "rule walk {\n"
    "  condition:\n"
    "    dex.header.magic == dex.DEX_FILE_MAGIC_035 or dex.number_of_methods > 3 or\n"
    "    for any s in dex.string_ids : (s.value == \"main\" and s.size > 0) or\n"
    "    for any m in dex.method : (m.name == \"onCreate\" and m.code_item.insns_size > 0) or\n"
    "    for any f in dex.field : (f.class_name contains \"L\" and f.access_flags > 0) or\n"
    "    for any c in dex.class_defs : (c.class_data_offset > 0) or\n"
    "    for any i in dex.map_list.map_item : (i.type == dex.TYPE_CODE_ITEM) or\n"
    "    dex.has_method(\"main\") or dex.has_method(\"La;\", \"b\") or dex.has_method(/on[A-Z]/) or\n"
    "    dex.has_method(/L/, /init/) or dex.has_class(\"LMain;\") or dex.has_class(/Activity/)\n"
    "}\n";

static int on_event(ks_scanner *s, const ks_event *ev, void *ud)
{
    (void)s;
    (void)ev;
    (void)ud;
    return 0;
}

static void ignore_diag(const ks_diag *d, void *ud)
{
    (void)d;
    (void)ud;
}

static ks_rules *compiled(void)
{
    static ks_rules *rules;     /* harness-only cache: compiled once per process */
    if (!rules) {
        ks_compiler *c = NULL;
        if (ks_compiler_create(&c) != KS_OK)
            return NULL;
        ks_compiler_set_diag(c, ignore_diag, NULL);
        if (ks_compiler_add_string(c, rule_text, sizeof rule_text - 1, NULL, "fuzz_dex.yar") == 0)
            ks_compiler_get_rules(c, &rules);
        ks_compiler_destroy(c);
    }
    return rules;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_rules *rules = compiled();
    ks_scanner *s = NULL;
    if (!rules || ks_scanner_create(rules, &s) != KS_OK)
        return 0;
    ks_scanner_set_timeout(s, 10);
    ks_scanner_scan_mem(s, data, size, on_event, NULL);
    ks_scanner_destroy(s);
    return 0;
}
