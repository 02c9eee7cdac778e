/*
 * magic.c - the `magic` module of YARA 4.2.3: type() and mime_type() of the scanned data, as
 * libmagic (file(1)'s library, BSD-2-Clause) describes it with the default database.
 *
 * Facts reproduced from YARA 4.2.3: type() uses no flags (MAGIC_NONE), mime_type() uses
 * MAGIC_MIME_TYPE; both are undefined for empty data and when libmagic fails. YARA keeps one
 * magic cookie per thread and caches the two results per scan; kensa has no per-scan module
 * state reachable from functions, so each call opens and loads its own cookie (thread-safe, and
 * the same results).
 */
#include <magic.h>
#include <string.h>

#include "modules/modutil.h"

static int magic_call(ks_fnctx *ctx, int flags, ks_val *ret)
{
    magic_t m;
    const char *s;
    int rc;
    if (!ctx || !ctx->data || ctx->size == 0)
        return mod_ret_undef(ret);
    m = magic_open(flags);
    if (!m)
        return mod_ret_undef(ret);
    if (magic_load(m, NULL) != 0) {
        magic_close(m);
        return mod_ret_undef(ret);
    }
    s = magic_buffer(m, ctx->data, ctx->size);
    rc = s ? mod_ret_str(ctx, ret, s, strlen(s)) : mod_ret_undef(ret);
    magic_close(m);
    return rc;
}

static int fn_type(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return magic_call(ctx, MAGIC_NONE, ret);
}

static int fn_mime_type(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    return magic_call(ctx, MAGIC_MIME_TYPE, ret);
}

static int magic_declare(ks_object *root)
{
    int rc;
    if ((rc = obj_decl_func(root, "mime_type", "", 's', fn_mime_type)) != 0 ||
        (rc = obj_decl_func(root, "type", "", 's', fn_type)) != 0)
        return rc;
    return 0;
}

static int magic_load_module(ks_object *root, const uint8_t *data, size_t size,
                             const void *mod_data, size_t mod_data_len)
{
    return 0;
}

const ks_module ks_module_magic = {"magic", magic_declare, magic_load_module, NULL};
