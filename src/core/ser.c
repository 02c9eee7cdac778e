/*
 * ser.c - bounded writer and reader for compiled-rules files (see ser.h).
 */
#include "core/ser.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kensa.h"

/* zlib's crc32 takes a uInt length: feed it in pieces */
static uint32_t digest(uint32_t sum, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        sum = (uint32_t)crc32(sum, b, k);
        b += k;
        n -= k;
    }
    return sum;
}

/* ------------------------------------------------------------------ writer */

void ser_w_init(ser_w *w, FILE *f)
{
    memset(w, 0, sizeof *w);
    w->f = f;
}

void ser_put(ser_w *w, const void *p, size_t n)
{
    if (w->err || n == 0) return;
    if (w->f && fwrite(p, 1, n, w->f) != n) { w->err = KS_EIO; return; }
    if (w->f) w->sum = digest(w->sum, p, n);
    w->pos += n;
}

void ser_put_u32(ser_w *w, uint32_t v) { ser_put(w, &v, sizeof v); }
void ser_put_u64(ser_w *w, uint64_t v) { ser_put(w, &v, sizeof v); }

void ser_put_str(ser_w *w, const char *s)
{
    size_t n = strlen(s);
    ser_put_u32(w, (uint32_t)n);
    ser_put(w, s, n);
}

void ser_put_array(ser_w *w, const void *v, size_t item_size, uint32_t n)
{
    ser_put_u32(w, (uint32_t)item_size);
    ser_put_u32(w, n);
    if (n) ser_put(w, v, item_size * n);
}

void ser_put_sum(ser_w *w)
{
    uint32_t s = w->sum;
    ser_put_u32(w, s);
    w->sum = 0;
}

/* ------------------------------------------------------------------ reader */

void ser_r_init(ser_r *r, FILE *f, uint64_t size)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->left = size;
}

int ser_get(ser_r *r, void *p, size_t n)
{
    if (r->err || n > r->left) {
        if (!r->err) r->err = KS_EFORMAT;
        memset(p, 0, n);
        return 0;
    }
    if (n && fread(p, 1, n, r->f) != n) {
        r->err = ferror(r->f) ? KS_EIO : KS_EFORMAT;
        r->left = 0;
        memset(p, 0, n);
        return 0;
    }
    r->left -= n;
    r->sum = digest(r->sum, p, n);
    return 1;
}

uint32_t ser_get_u32(ser_r *r)
{
    uint32_t v;
    ser_get(r, &v, sizeof v);
    return v;
}

uint64_t ser_get_u64(ser_r *r)
{
    uint64_t v;
    ser_get(r, &v, sizeof v);
    return v;
}

int ser_get_str_eq(ser_r *r, const char *s)
{
    uint32_t n = ser_get_u32(r);
    size_t want = strlen(s);
    int eq = n == want;
    char buf[256];
    while (n && !r->err) {
        uint32_t k = n < sizeof buf ? n : (uint32_t)sizeof buf;
        if (!ser_get(r, buf, k)) return 0;
        if (eq && memcmp(buf, s, k) != 0) eq = 0;
        s += eq ? k : 0;
        n -= k;
    }
    return !r->err && eq;
}

void *ser_get_array(ser_r *r, size_t item_size, uint32_t *n, uint32_t max_n, uint32_t extra)
{
    *n = 0;
    uint32_t isz = ser_get_u32(r), cnt = ser_get_u32(r);
    if (r->err) return NULL;
    if (isz != item_size || cnt > max_n || (uint64_t)cnt * item_size > r->left) {
        r->err = KS_EFORMAT;
        return NULL;
    }
    size_t total = (size_t)cnt + extra;
    if (total == 0) return NULL;
    void *v = malloc(total * item_size);
    if (!v) { r->err = KS_ENOMEM; return NULL; }
    if (!ser_get(r, v, (size_t)cnt * item_size)) { free(v); return NULL; }
    memset((char *)v + (size_t)cnt * item_size, 0, (size_t)extra * item_size);
    *n = cnt;
    return v;
}

int ser_get_sum(ser_r *r)
{
    uint32_t want = r->sum;
    uint32_t got = ser_get_u32(r);
    r->sum = 0;
    return !r->err && got == want;
}

void ser_skip(ser_r *r, uint64_t n)
{
    char buf[1 << 14];
    while (n && !r->err) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        ser_get(r, buf, k);
        n -= k;
    }
}

uint64_t ser_r_limit(ser_r *r, uint64_t n)
{
    if (r->err) return 0;
    if (n > r->left) { r->err = KS_EFORMAT; return 0; }
    uint64_t outer = r->left - n;
    r->left = n;
    return outer;
}
