/*
 * time.c - the `time` module: time.now() returns the current Unix time in seconds, as in YARA.
 */
#include <time.h>

#include "modules/modutil.h"

static int fn_now(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    time_t t = time(NULL);
    if (t == (time_t)-1)
        return mod_ret_undef(ret);
    return mod_ret_int(ret, (int64_t)t);
}

static int time_declare(ks_object *root)
{
    return obj_decl_func(root, "now", "", 'i', fn_now);
}

static int time_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                     size_t mod_data_len)
{
    return 0;
}

const ks_module ks_module_time = {"time", time_declare, time_load, NULL};
