/*
 * math.c - the `math` module of YARA 4.2.3: statistics over a range of the scanned data or over a
 * string (entropy, mean, deviation, serial_correlation, monte_carlo_pi), byte statistics (count,
 * percentage, mode; over a range or the whole data), and integer helpers (min, max, abs,
 * in_range, to_number). MEAN_BYTES = 127.5 is set at load time.
 *
 * Results reproduce YARA's arithmetic exactly, including its quirks:
 *   - the string forms of mean/deviation/serial_correlation/monte_carlo_pi read bytes as signed
 *     char (YARA indexes a char[]), so bytes >= 0x80 count as negative (monte_carlo_pi sees them
 *     sign-extended to unsigned int);
 *   - the range forms accumulate per byte value (a 256-entry histogram), not in data order;
 *   - min/max compare as unsigned 64-bit integers; percentage divides in single precision;
 *   - a NaN result (e.g. mean of nothing) is undefined; serial_correlation of constant data is
 *     -100000; monte_carlo_pi needs at least 6 bytes.
 * Ranges follow mod_range(); the whole-data forms (count(b), percentage(b), mode()) are
 * undefined on empty data, as in YARA.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/modutil.h"

#define MATH_PI 3.141592653589793

/* Histogram of p[0..n). */
static void histogram(const uint8_t *p, size_t n, uint64_t h[256])
{
    memset(h, 0, 256 * sizeof h[0]);
    for (size_t k = 0; k < n; k++)
        h[p[k]]++;
}

/* Histogram of the range given by args[first], args[first+1]; 0 if undefined. */
static int range_histogram(ks_fnctx *ctx, const ks_val *a, int first, uint64_t h[256],
                           uint64_t *total)
{
    const uint8_t *p;
    size_t n;
    if (!mod_range(ctx, a[first].i, a[first + 1].i, &p, &n))
        return 0;
    histogram(p, n, h);
    *total = n;
    return 1;
}

static int global_histogram(ks_fnctx *ctx, uint64_t h[256], uint64_t *total)
{
    if (!ctx || !ctx->data || ctx->size == 0)
        return 0;
    histogram(ctx->data, ctx->size, h);
    *total = ctx->size;
    return 1;
}

static double entropy_of(const uint64_t h[256], uint64_t total)
{
    double e = 0.0;
    for (int k = 0; k < 256; k++) {
        if (h[k]) {
            double x = (double)h[k] / (double)total;
            e -= x * log2(x);
        }
    }
    return e;
}

static int fn_entropy(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t h[256], total;
    if (nargs == 1) {
        histogram(a[0].s, a[0].len, h);
        total = a[0].len;
    } else if (!range_histogram(ctx, a, 0, h, &total)) {
        return mod_ret_undef(ret);
    }
    return mod_ret_float(ret, entropy_of(h, total));
}

static int fn_mean(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    double sum = 0.0;
    if (nargs == 1) {
        for (size_t k = 0; k < a[0].len; k++)
            sum += (double)(signed char)a[0].s[k];
        return mod_ret_float(ret, sum / (double)a[0].len);
    } else {
        uint64_t h[256], total = 0;
        if (!range_histogram(ctx, a, 0, h, &total))
            return mod_ret_undef(ret);
        for (int k = 0; k < 256; k++)
            sum += (double)k * (double)h[k];
        return mod_ret_float(ret, sum / (double)total);
    }
}

static int fn_deviation(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    double sum = 0.0;
    if (nargs == 2) {
        double mean = a[1].f;
        for (size_t k = 0; k < a[0].len; k++)
            sum += fabs((double)(signed char)a[0].s[k] - mean);
        return mod_ret_float(ret, sum / (double)a[0].len);
    } else {
        uint64_t h[256], total = 0;
        double mean = a[2].f;
        if (!range_histogram(ctx, a, 0, h, &total))
            return mod_ret_undef(ret);
        for (int k = 0; k < 256; k++)
            sum += fabs((double)k - mean) * (double)h[k];
        return mod_ret_float(ret, sum / (double)total);
    }
}

/* Serial correlation of n values produced by `val(k)`; signed selects signed-char reading. */
static double serial_corr(const uint8_t *p, size_t n, int is_signed)
{
    double un = 0, last = 0, t1 = 0, t2 = 0, t3 = 0, scc;
    for (size_t k = 0; k < n; k++) {
        un = is_signed ? (double)(signed char)p[k] : (double)p[k];
        t1 += last * un;
        t2 += un;
        t3 += un * un;
        last = un;
    }
    t1 += last * un;
    t2 *= t2;
    scc = (double)n * t3 - t2;
    if (scc == 0)
        return -100000;
    return ((double)n * t1 - t2) / scc;
}

static int fn_serial_correlation(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    const uint8_t *p;
    size_t n;
    if (nargs == 1)
        return mod_ret_float(ret, serial_corr(a[0].s, a[0].len, 1));
    if (!mod_range(ctx, a[0].i, a[1].i, &p, &n))
        return mod_ret_undef(ret);
    return mod_ret_float(ret, serial_corr(p, n, 0));
}

static int monte_carlo(const uint8_t *p, size_t n, int is_signed, double *out)
{
    const double incirc = pow(pow(256.0, 3.0) - 1, 2.0);
    unsigned int monte[6] = {0};
    uint64_t mcount = 0, inmont = 0;
    for (size_t k = 0; k < n; k++) {
        monte[k % 6] = is_signed ? (unsigned int)(int)(signed char)p[k] : (unsigned int)p[k];
        if (k % 6 == 5) {
            double mx = 0, my = 0;
            mcount++;
            for (int j = 0; j < 3; j++) {
                mx = mx * 256.0 + monte[j];
                my = my * 256.0 + monte[j + 3];
            }
            if (mx * mx + my * my <= incirc)
                inmont++;
        }
    }
    if (mcount == 0)
        return 0;
    {
        double mpi = 4.0 * ((double)inmont / (double)mcount);
        *out = fabs((mpi - MATH_PI) / MATH_PI);
    }
    return 1;
}

static int fn_monte_carlo_pi(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    const uint8_t *p;
    size_t n;
    double r;
    int ok;
    if (nargs == 1)
        ok = monte_carlo(a[0].s, a[0].len, 1, &r);
    else
        ok = mod_range(ctx, a[0].i, a[1].i, &p, &n) && monte_carlo(p, n, 0, &r);
    return ok ? mod_ret_float(ret, r) : mod_ret_undef(ret);
}

static int fn_in_range(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    return mod_ret_int(ret, (a[1].f <= a[0].f && a[0].f <= a[2].f) ? 1 : 0);
}

static int fn_min(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t x = (uint64_t)a[0].i, y = (uint64_t)a[1].i;
    return mod_ret_int(ret, (int64_t)(x < y ? x : y));
}

static int fn_max(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t x = (uint64_t)a[0].i, y = (uint64_t)a[1].i;
    return mod_ret_int(ret, (int64_t)(x > y ? x : y));
}

static int fn_to_number(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    return mod_ret_int(ret, a[0].i ? 1 : 0);
}

static int fn_abs(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    int64_t v = a[0].i;
    return mod_ret_int(ret, (v < 0 && v != INT64_MIN) ? -v : v);  /* INT64_MIN stays as is */
}

/* count(byte, offset, size) / count(byte) */
static int fn_count(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t h[256], total;
    int ok = nargs == 3 ? range_histogram(ctx, a, 1, h, &total) : global_histogram(ctx, h, &total);
    if (!ok)
        return mod_ret_undef(ret);
    return mod_ret_int(ret, (int64_t)h[(uint8_t)a[0].i]);
}

/* percentage(byte, offset, size) / percentage(byte): single-precision division, like YARA */
static int fn_percentage(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t h[256], total;
    int ok = nargs == 3 ? range_histogram(ctx, a, 1, h, &total) : global_histogram(ctx, h, &total);
    float r;
    if (!ok)
        return mod_ret_undef(ret);
    r = (float)(int64_t)h[(uint8_t)a[0].i] / (float)(int64_t)total;
    return mod_ret_float(ret, (double)r);
}

/* mode(offset, size) / mode(): the most common byte, lowest value on ties (0 for no data) */
static int fn_mode(ks_fnctx *ctx, const ks_val *a, int nargs, ks_val *ret)
{
    uint64_t h[256], total;
    int best = 0;
    int ok = nargs == 2 ? range_histogram(ctx, a, 0, h, &total) : global_histogram(ctx, h, &total);
    if (!ok)
        return mod_ret_undef(ret);
    for (int k = 0; k < 256; k++)
        if (h[k] > h[best])
            best = k;
    return mod_ret_int(ret, best);
}

static int math_declare(ks_object *root)
{
    static const struct { const char *name, *args; char ret; ks_fn fn; } fns[] = {
        {"in_range", "fff", 'i', fn_in_range},
        {"deviation", "iif", 'f', fn_deviation},
        {"deviation", "sf", 'f', fn_deviation},
        {"mean", "ii", 'f', fn_mean},
        {"mean", "s", 'f', fn_mean},
        {"serial_correlation", "ii", 'f', fn_serial_correlation},
        {"serial_correlation", "s", 'f', fn_serial_correlation},
        {"monte_carlo_pi", "ii", 'f', fn_monte_carlo_pi},
        {"monte_carlo_pi", "s", 'f', fn_monte_carlo_pi},
        {"entropy", "ii", 'f', fn_entropy},
        {"entropy", "s", 'f', fn_entropy},
        {"min", "ii", 'i', fn_min},
        {"max", "ii", 'i', fn_max},
        {"to_number", "b", 'i', fn_to_number},
        {"abs", "i", 'i', fn_abs},
        {"count", "iii", 'i', fn_count},
        {"count", "i", 'i', fn_count},
        {"percentage", "iii", 'f', fn_percentage},
        {"percentage", "i", 'f', fn_percentage},
        {"mode", "ii", 'i', fn_mode},
        {"mode", "", 'i', fn_mode},
    };
    if (!obj_decl_float(root, "MEAN_BYTES"))
        return KS_ENOMEM;
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        int rc = obj_decl_func(root, fns[k].name, fns[k].args, fns[k].ret, fns[k].fn);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int math_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                     size_t mod_data_len)
{
    return obj_set_float(root, 127.5, "MEAN_BYTES");
}

const ks_module ks_module_math = {"math", math_declare, math_load, NULL};
