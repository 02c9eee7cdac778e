/*
 * fuzz_pe.c - libFuzzer harness for the `pe` module: the input is the scanned file.
 *
 * Builds the module's object tree, runs its load() on the bytes, then calls every module
 * function (imphash, imports / exports in all forms, section_index, rva_to_offset,
 * calculate_checksum, rich_signature.version / toolid, locale, language, is_dll, ...) with a few
 * fixed arguments. Any crash, sanitizer report, leak or hang is a bug. Seeds: fuzz/corpus/pe/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/eval/object.h"
#include "kensa.h"
#include "../src/match/re.h"

static void call_all(ks_object *o, ks_fnctx *ctx, const struct re_code *re)
{
    int64_t n = obj_field_count(o);
    for (int64_t k = 0; k < n; k++) {
        ks_object *f = obj_field_at(o, k);
        if (!f)
            continue;
        if (obj_type_of(f) == OBJ_STRUCT) {
            call_all(f, ctx, re);
            continue;
        }
        if (obj_type_of(f) != OBJ_FUNC)
            continue;
        for (int v = 0; v < obj_func_count(f); v++) {
            const char *sig = obj_func_args(f, v);
            ks_fn fn = obj_func_impl(f, v);
            ks_val args[4], ret;
            int na = 0;
            if (!sig || !fn)
                continue;
            memset(args, 0, sizeof args);
            for (; sig[na] && na < 4; na++) {
                switch (sig[na]) {
                case 'i':
                    args[na].type = V_INT;
                    args[na].i = na == 0 ? -1 : 0x409;
                    break;
                case 's':
                    args[na].type = V_STR;
                    args[na].s = (const uint8_t *)(na == 0 ? "kernel32.dll" : "GetProcAddress");
                    args[na].len = strlen((const char *)args[na].s);
                    break;
                case 'r':
                    args[na].type = V_REGEX;
                    args[na].re = re;
                    break;
                default:
                    break;
                }
            }
            if (sig[na])
                continue;
            if (sig[0] == 'r' && !re)
                continue;
            if (sig[0] == 'i' && sig[1] == 'r' && !re)
                continue;
            memset(&ret, 0, sizeof ret);
            fn(ctx, args, na, &ret);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ks_module *m = ks_module_find("pe");
    ks_object *root;
    ks_scratch *scratch;
    re_code *re = NULL;
    re_error err;
    ks_fnctx ctx;
    if (!m)
        return 0;
    root = obj_new_root("pe");
    scratch = ks_scratch_new();
    if (!root || !scratch || m->declare(root) != 0)
        goto out;
    if (m->load(root, data, size, NULL, 0) != 0)
        goto out;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.size = size;
    ctx.module_root = root;
    ctx.scratch = scratch;
    re_compile_regex("e", 1, 0, &re, &err);
    call_all(root, &ctx, re);
out:
    free(re);
    if (m && m->unload && root)
        m->unload(root);
    obj_destroy(root);
    ks_scratch_destroy(scratch);
    return 0;
}
