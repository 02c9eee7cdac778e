/*
 * console.c - the `console` module: console.log(...) and console.hex(...) print one message per
 * call and return true (1), as in YARA 4.2.3:
 *   log(s)      the string, non-printable bytes as \xNN     log(msg, s)  msg then the escaped s
 *   log(i)      "%lld"                                      log(msg, i)  msg then "%lld"
 *   log(f)      "%f"                                        log(msg, f)  msg then "%f"
 *   hex(i)      "0x%llx" (two's complement for negatives)   hex(msg, i)  msg then "0x%llx"
 * `msg` is used up to its first NUL. The message goes to ctx->log if set, else to stdout with a
 * newline (yara's CLI behaviour).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modutil.h"

static void emit(ks_fnctx *ctx, const char *msg)
{
    if (ctx && ctx->log) {
        ctx->log(ctx->log_ud, msg);
    } else {
        fputs(msg, stdout);
        fputc('\n', stdout);
    }
}

/* Length of the C-string view of a string argument (up to the first NUL). */
static size_t cstr_len(const ks_val *v)
{
    const void *z = v->len ? memchr(v->s, 0, v->len) : NULL;
    return z ? (size_t)((const uint8_t *)z - v->s) : v->len;
}

/* Build msg-prefix + suffix in one malloc'ed buffer and emit it. */
static int emit2(ks_fnctx *ctx, const ks_val *prefix, const uint8_t *s, size_t slen, int escape,
                 ks_val *ret)
{
    size_t plen = prefix ? cstr_len(prefix) : 0;
    size_t cap;
    char *buf, *q;
    if (slen > (SIZE_MAX - plen - 1) / 4)
        return KS_ENOMEM;
    cap = plen + (escape ? slen * 4 : slen) + 1;
    buf = malloc(cap);
    if (!buf)
        return KS_ENOMEM;
    q = buf;
    if (plen) {
        memcpy(q, prefix->s, plen);
        q += plen;
    }
    for (size_t k = 0; k < slen; k++) {
        uint8_t c = s[k];
        if (!escape || (c >= 0x20 && c < 0x7f)) {
            *q++ = (char)c;
        } else {
            static const char hexd[] = "0123456789abcdef";
            *q++ = '\\';
            *q++ = 'x';
            *q++ = hexd[c >> 4];
            *q++ = hexd[c & 15];
        }
    }
    *q = 0;
    emit(ctx, buf);
    free(buf);
    return mod_ret_int(ret, 1);
}

static int fn_log(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    const ks_val *prefix = nargs == 2 ? &a[0] : NULL;
    const ks_val *v = &a[nargs - 1];
    char num[64];
    int n;
    switch (v->type) {
    case V_STR:
        return emit2(ctx, prefix, v->s, v->len, 1, ret);
    case V_INT:
        n = snprintf(num, sizeof num, "%" PRId64, v->i);
        break;
    case V_FLOAT:
        n = snprintf(num, sizeof num, "%f", v->f);
        break;
    default:
        return mod_ret_undef(ret);
    }
    if (n < 0)
        return KS_EINTERNAL;
    if ((size_t)n >= sizeof num) {     /* huge floats: %f can exceed 64 chars */
        char *big = malloc((size_t)n + 1);
        int rc;
        if (!big)
            return KS_ENOMEM;
        snprintf(big, (size_t)n + 1, "%f", v->f);
        rc = emit2(ctx, prefix, (const uint8_t *)big, (size_t)n, 0, ret);
        free(big);
        return rc;
    }
    return emit2(ctx, prefix, (const uint8_t *)num, (size_t)n, 0, ret);
}

static int fn_hex(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    char num[32];
    int n = snprintf(num, sizeof num, "0x%" PRIx64, (uint64_t)a[nargs - 1].i);
    if (n < 0)
        return KS_EINTERNAL;
    return emit2(ctx, nargs == 2 ? &a[0] : NULL, (const uint8_t *)num, (size_t)n, 0, ret);
}

static int console_declare(ks_object *root)
{
    static const char *const log_sigs[] = {"s", "ss", "i", "si", "f", "sf"};
    for (size_t k = 0; k < sizeof log_sigs / sizeof log_sigs[0]; k++) {
        int rc = obj_decl_func(root, "log", log_sigs[k], 'i', fn_log);
        if (rc != 0)
            return rc;
    }
    if (obj_decl_func(root, "hex", "i", 'i', fn_hex) != 0)
        return KS_ENOMEM;
    return obj_decl_func(root, "hex", "si", 'i', fn_hex);
}

static int console_load(ks_object *root, const uint8_t *data, size_t size,
                        const void *mod_data, size_t mod_data_len)
{
    return 0;
}

const ks_module ks_module_console = {"console", console_declare, console_load, NULL};
