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
#include "module_harness.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return module_harness_run(rule_text, sizeof rule_text - 1, "fuzz_dex.yar", data, size);
}
