/*
 * re_driver.h - reference "engine" for tests: collects the matches of one compiled pattern over a
 * buffer the way kensa's scanner must (see the contract in src/match/re.h):
 *   - atom hits are processed in order of the atom's END offset; hits ending at the same offset in
 *     order of decreasing atom length, then decreasing atom index (YARA's Aho-Corasick order);
 *   - a zero-length atom is verified at every offset 0..size-1;
 *   - each emitted (start,len) is kept if no match exists at `start` yet; if one exists it is
 *     replaced only when c->greedy; the final list is sorted by start.
 * Chained hex pieces are not handled here (single-piece patterns only).
 */
#ifndef RE_DRIVER_H
#define RE_DRIVER_H
#include "match/re.h"
#include <stdlib.h>
#include <string.h>

typedef struct drv_match { size_t start, len; } drv_match;
typedef struct drv {
    drv_match *m; size_t n, cap; int greedy;
} drv;

static int drv_emit(size_t start, size_t len, int wide, void *ud)
{
    (void)wide;
    drv *d = ud;
    for (size_t i = 0; i < d->n; i++)
        if (d->m[i].start == start) {
            if (d->greedy) d->m[i].len = len;
            return 0;
        }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->m = realloc(d->m, d->cap * sizeof *d->m);
    }
    d->m[d->n].start = start; d->m[d->n].len = len; d->n++;
    return 0;
}

static int drv_lc(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int drv_atom_at(const re_atom *a, const uint8_t *data, size_t size, size_t start)
{
    if (start + a->len > size) return 0;
    for (int i = 0; i < a->len; i++) {
        int c = data[start + i], b = a->bytes[i];
        if (a->nocase && a->mask[i] == 0xFF) { c = drv_lc(c); b = drv_lc(b); }
        if ((c & a->mask[i]) != (b & a->mask[i])) return 0;
    }
    return 1;
}

static int drv_cmp(const void *x, const void *y)
{
    const drv_match *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Returns 0 or a negative re_verify error. */
static int drv_run(const re_code *c, const uint8_t *data, size_t size, drv *d)
{
    memset(d, 0, sizeof *d);
    d->greedy = c->greedy;
    const re_atom *at = re_atoms(c);
    for (size_t e = 0; e < size; e++) {
        for (int len = RE_MAX_ATOM; len >= 0; len--) {
            for (int ai = (int)c->natoms - 1; ai >= 0; ai--) {
                if (at[ai].len != len) continue;
                size_t start;
                if (len == 0) start = e;
                else { if (e + 1 < (size_t)len) continue; start = e + 1 - len; }
                if (len && !drv_atom_at(&at[ai], data, size, start)) continue;
                int rc = re_verify(c, (uint32_t)ai, data, size, start, drv_emit, d);
                if (rc) return rc;
            }
        }
    }
    if (d->n)
        qsort(d->m, d->n, sizeof *d->m, drv_cmp);
    return 0;
}
#endif
