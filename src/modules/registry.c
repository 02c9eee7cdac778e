/*
 * registry.c - the table of built-in modules (ks_builtin_modules, NULL-terminated) and lookup by
 * name. Each module lives in its own file under src/modules/ and exports one const ks_module.
 */
#include <string.h>

#include "eval/object.h"

extern const ks_module ks_module_tests;
extern const ks_module ks_module_hash;
extern const ks_module ks_module_math;
extern const ks_module ks_module_time;
extern const ks_module ks_module_console;
extern const ks_module ks_module_pe;
extern const ks_module ks_module_elf;
extern const ks_module ks_module_dotnet;
extern const ks_module ks_module_magic;
extern const ks_module ks_module_cuckoo;
extern const ks_module ks_module_macho;
extern const ks_module ks_module_dex;
extern const ks_module ks_module_kensa;

const ks_module *const ks_builtin_modules[] = {
    &ks_module_tests, &ks_module_hash, &ks_module_math, &ks_module_time, &ks_module_console,
    &ks_module_elf, &ks_module_dotnet, &ks_module_magic,
    &ks_module_pe,
    &ks_module_cuckoo, &ks_module_macho, &ks_module_dex,
    &ks_module_kensa,
    NULL,
};

const ks_module *ks_module_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t k = 0; ks_builtin_modules[k]; k++)
        if (strcmp(ks_builtin_modules[k]->name, name) == 0)
            return ks_builtin_modules[k];
    return NULL;
}
