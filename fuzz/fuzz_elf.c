/*
 * fuzz_elf.c - libFuzzer harness for the `elf` module: the input is the scanned file.
 *
 * A fixed rule that imports "elf" and walks every section, segment, dynamic entry and symbol is
 * compiled once; each input is scanned with it. Any crash, hang, sanitizer report or leak is a
 * bug. Seeds: fuzz/corpus/elf (replayed by ctest as fuzz_replay_elf).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const char rule_text[] =
    "import \"elf\"\n"
    "rule walk {\n"
    "  condition:\n"
    "    elf.type == elf.ET_EXEC or elf.entry_point >= 0 or elf.machine == elf.EM_ARM or\n"
    "    for any s in elf.sections : (s.name == \".text\" and s.size > 0 and s.offset >= 0) or\n"
    "    for any g in elf.segments : (g.type == elf.PT_DYNAMIC and g.file_size > g.memory_size) or\n"
    "    for any d in elf.dynamic : (d.type == elf.DT_NEEDED and d.val > 0) or\n"
    "    for any y in elf.symtab : (y.name == \"main\" and y.value > 0) or\n"
    "    for any z in elf.dynsym : (z.name contains \"lib\" and z.shndx > 0) or\n"
    "    elf.symtab_entries + elf.dynsym_entries + elf.dynamic_section_entries > 100\n"
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
        if (ks_compiler_add_string(c, rule_text, sizeof rule_text - 1, NULL, "fuzz_elf.yar") == 0)
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
