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
#include "module_harness.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return module_harness_run(rule_text, sizeof rule_text - 1, "fuzz_elf.yar", data, size);
}
