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
#include "module_harness.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return module_harness_run(rule_text, sizeof rule_text - 1, "fuzz_dotnet.yar", data, size);
}
