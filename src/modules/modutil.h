/*
 * modutil.h - small helpers shared by the built-in modules (the files in src/modules): setting a module
 * function's result and checking an (offset, size) range of the scanned data the way YARA does.
 * Internal to src/modules; not part of the public API.
 */
#ifndef KENSA_MODUTIL_H
#define KENSA_MODUTIL_H

#include <math.h>
#include <stdint.h>

#include "eval/object.h"
#include "kensa.h"

/* YARA's range rule for (offset, size) functions over the scanned data: defined only when
 * offset >= 0, size >= 0 and offset < data size (so an empty file makes every range undefined,
 * and offset == filesize is undefined even with size 0); size is clipped to the end of the data.
 * On success sets *p / *n to the bytes to use and returns 1; returns 0 for undefined. Never
 * computes offset + size, so no overflow. */
static inline int mod_range(const ks_fnctx *ctx, int64_t off, int64_t size, const uint8_t **p,
                            size_t *n)
{
    if (!ctx || !ctx->data || off < 0 || size < 0 || (uint64_t)off >= (uint64_t)ctx->size)
        return 0;
    size_t avail = ctx->size - (size_t)off;
    *p = ctx->data + off;
    *n = (uint64_t)size < (uint64_t)avail ? (size_t)size : avail;
    return 1;
}

static inline int mod_ret_undef(ks_val *ret)
{
    ret->type = V_UNDEF;
    return 0;
}

static inline int mod_ret_int(ks_val *ret, int64_t v)
{
    ret->type = V_INT;
    ret->i = v;
    return 0;
}

/* A NaN float result is undefined, as in YARA. */
static inline int mod_ret_float(ks_val *ret, double v)
{
    if (isnan(v))
        return mod_ret_undef(ret);
    ret->type = V_FLOAT;
    ret->f = v;
    return 0;
}

/* Copies s into the scan's scratch; KS_ENOMEM if that fails. */
static inline int mod_ret_str(ks_fnctx *ctx, ks_val *ret, const void *s, size_t len)
{
    const uint8_t *c = fnctx_strdup(ctx, s, len);
    if (!c)
        return KS_ENOMEM;
    ret->type = V_STR;
    ret->s = c;
    ret->len = len;
    return 0;
}

#endif
