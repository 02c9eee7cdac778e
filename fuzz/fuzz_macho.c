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
#include "module_harness.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return module_harness_run(rule_text, sizeof rule_text - 1, "fuzz_macho.yar", data, size);
}
