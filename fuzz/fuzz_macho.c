/*
 * fuzz_macho.c - libFuzzer harness for the `macho` module: the input is the scanned file.
 *
 * A fixed rule that imports "macho" and walks segments, sections, fat_arch[], file[] and both
 * helper functions is compiled once; each input is scanned with it. Any crash, hang, sanitizer
 * report or leak is a bug. Seeds: fuzz/corpus/macho (replayed by ctest as fuzz_replay_macho).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const char rule_text[] =
    "import \"macho\"\n"
    "rule walk {\n"
    "  condition:\n"
    "    macho.magic == macho.MH_MAGIC_64 or macho.entry_point >= 0 or macho.stack_size > 0 or\n"
    "    for any g in macho.segments : (g.segname == \"__TEXT\" and g.fsize > 0 and\n"
    "        for any c in g.sections : (c.sectname == \"__text\" and c.size > 0)) or\n"
    "    for any f in macho.file : (f.entry_point > 0 and f.number_of_segments > 0 and\n"
    "        for any g in f.segments : (g.vmsize > 0)) or\n"
    "    for any a in macho.fat_arch : (a.offset > 0) or\n"
    "    macho.file_index_for_arch(macho.CPU_TYPE_X86_64) >= 0 or\n"
    "    macho.file_index_for_arch(macho.CPU_TYPE_ARM64, macho.CPU_SUBTYPE_ARM64_ALL) >= 0 or\n"
    "    macho.entry_point_for_arch(macho.CPU_TYPE_X86_64) > 0 or\n"
    "    macho.entry_point_for_arch(macho.CPU_TYPE_I386, 3) > 0\n"
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
        if (ks_compiler_add_string(c, rule_text, sizeof rule_text - 1, NULL, "fuzz_macho.yar") == 0)
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
