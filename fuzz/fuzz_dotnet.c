/*
 * fuzz_dotnet.c - libFuzzer harness for the `dotnet` module: the input is the scanned file.
 *
 * A fixed rule that imports "dotnet" and walks streams, resources, references and strings is
 * compiled once; each input is scanned with it. Any crash, hang, sanitizer report or leak is a
 * bug. Seeds: fuzz/corpus/dotnet (replayed by ctest as fuzz_replay_dotnet).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const char rule_text[] =
    "import \"dotnet\"\n"
    "rule walk {\n"
    "  condition:\n"
    "    dotnet.is_dotnet and dotnet.version contains \"v4\" or dotnet.module_name == \"a\" or\n"
    "    for any s in dotnet.streams : (s.name == \"#~\" and s.size > 0) or\n"
    "    for any g in dotnet.guids : (g == \"x\") or\n"
    "    for any r in dotnet.resources : (r.name == \"r\" and r.length > r.offset) or\n"
    "    for any a in dotnet.assembly_refs : (a.name == \"m\" and a.version.major > 0 and\n"
    "                                         a.public_key_or_token != \"\") or\n"
    "    dotnet.assembly.name == \"a\" or dotnet.assembly.culture == \"fr\" or\n"
    "    for any m in dotnet.modulerefs : (m == \"k\") or\n"
    "    for any u in dotnet.user_strings : (u contains \"h\") or\n"
    "    for any c in dotnet.constants : (c == \"c\") or dotnet.typelib == \"t\" or\n"
    "    for any f in dotnet.field_offsets : (f > 0) or\n"
    "    dotnet.number_of_streams + dotnet.number_of_guids + dotnet.number_of_resources +\n"
    "    dotnet.number_of_assembly_refs + dotnet.number_of_modulerefs +\n"
    "    dotnet.number_of_user_strings + dotnet.number_of_constants +\n"
    "    dotnet.number_of_field_offsets > 1000\n"
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
        if (ks_compiler_add_string(c, rule_text, sizeof rule_text - 1, NULL, "fuzz_dotnet.yar") == 0)
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
