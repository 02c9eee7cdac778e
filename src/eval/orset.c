/*
 * orset.c - `X == "a" or X == "b" or ...` as one set lookup (see orset.h).
 */
#include "eval/orset.h"

#include <stdlib.h>
#include <string.h>

#define SAME_MAX_DEPTH 32     /* X expressions compared up to this depth */

static uint64_t orset_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* A pool string [off, off+len) inside the pool. */
static int pool_span_ok(const ks_tables *t, int64_t off, uint32_t len)
{
    return off >= 0 && (uint64_t)off <= t->pool.n && len <= t->pool.n - (uint64_t)off;
}

static int is_console(const ks_tables *t, uint32_t mod)
{
    if (mod >= t->imports.n || t->imports.v[mod] >= t->pool.n) return 1;   /* unknown: impure */
    const char *name = pool_str(t, t->imports.v[mod]);
    return memchr(name, 0, t->pool.n - t->imports.v[mod]) == NULL || strcmp(name, "console") == 0;
}

/* Are nodes x and y the same pure expression? Only forms whose value depends on nothing but
 * their operands and the scan (no side effects) qualify. */
static int same_expr(const ks_tables *t, uint32_t x, uint32_t y, int depth)
{
    if (depth > SAME_MAX_DEPTH || x >= t->nodes.n || y >= t->nodes.n) return 0;
    const ks_node *a = &t->nodes.v[x], *b = &t->nodes.v[y];
    if (a->op != b->op || a->type != b->type) return 0;
    switch (a->op) {
    case N_INT:
        return a->i == b->i;
    case N_FILESIZE:
    case N_ENTRYPOINT:
        return 1;
    case N_EXTERNAL:
    case N_VAR:
        return a->a == b->a;
    case N_STR:
        if (a->b != b->b || !pool_span_ok(t, a->i, a->b) || !pool_span_ok(t, b->i, b->b)) return 0;
        return memcmp(t->pool.v + a->i, t->pool.v + b->i, a->b) == 0;
    case N_MODULE:
        return a->a == b->a && !is_console(t, a->a);
    case N_FIELD: {
        if (a->i < 0 || b->i < 0 || (uint64_t)a->i >= t->pool.n || (uint64_t)b->i >= t->pool.n)
            return 0;
        const char *na = pool_str(t, (uint32_t)a->i), *nb = pool_str(t, (uint32_t)b->i);
        size_t ma = t->pool.n - (uint64_t)a->i, mb = t->pool.n - (uint64_t)b->i;
        if (!memchr(na, 0, ma) || !memchr(nb, 0, mb) || strcmp(na, nb) != 0) return 0;
        return same_expr(t, a->a, b->a, depth + 1);
    }
    case N_INDEX:
        return same_expr(t, a->a, b->a, depth + 1) && same_expr(t, a->b, b->b, depth + 1);
    case N_CALL:
        if (a->b != b->b || a->c != b->c || a->b > 32) return 0;
        if (a->i < 0 || b->i < 0 || (uint64_t)a->i + a->b > t->lists.n ||
            (uint64_t)b->i + b->b > t->lists.n)
            return 0;
        for (uint32_t k = 0; k < a->b; k++)
            if (!same_expr(t, t->lists.v[a->i + k], t->lists.v[b->i + k], depth + 1)) return 0;
        return same_expr(t, a->a, b->a, depth + 1);
    default:
        return 0;
    }
}

/* A leaf `X == "s"` (or `"s" == X`): its X node and literal node, or 0. */
static int leaf_parts(const ks_tables *t, uint32_t n, uint32_t *x, uint32_t *lit)
{
    const ks_node *e = &t->nodes.v[n];
    if (e->op != N_EQ || e->a >= t->nodes.n || e->b >= t->nodes.n) return 0;
    const ks_node *l = &t->nodes.v[e->a], *r = &t->nodes.v[e->b];
    if (r->op == N_STR && l->op != N_STR) { *x = e->a; *lit = e->b; }
    else if (l->op == N_STR && r->op != N_STR) { *x = e->b; *lit = e->a; }
    else return 0;
    const ks_node *s = &t->nodes.v[*lit];
    if (t->nodes.v[*x].type != T_STR || !pool_span_ok(t, s->i, s->b)) return 0;
    return same_expr(t, *x, *x, 0);      /* X is of a pure form */
}

static int item_cmp(const orset_item *a, const orset_item *b)
{
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->len ? memcmp(a->p, b->p, a->len) : 0;
}

static int item_qcmp(const void *a, const void *b) { return item_cmp(a, b); }

int orset_build(const ks_tables *t, orset_rt *rt)
{
    memset(rt, 0, sizeof *rt);
    uint32_t nn = t->nodes.n;
    if (nn == 0) return KS_OK;
    /* per node, bottom-up in index order (the compiler creates operands first; a node whose
     * operand comes later is simply not a candidate): the X of a qualifying tree and its
     * leaf count */
    uint32_t *xof = malloc((size_t)nn * sizeof *xof), *cnt = calloc(nn, sizeof *cnt);
    uint8_t *inner = calloc(nn, 1);
    int rc = KS_OK;
    if (!xof || !cnt || !inner) { rc = KS_ENOMEM; goto out; }
    uint32_t ncand = 0;
    for (uint32_t n = 0; n < nn; n++) {
        const ks_node *e = &t->nodes.v[n];
        uint32_t x, lit;
        if (e->op == N_EQ) {
            if (leaf_parts(t, n, &x, &lit)) { xof[n] = x; cnt[n] = 1; }
        } else if (e->op == N_OR && e->a < n && e->b < n && cnt[e->a] && cnt[e->b] &&
                   same_expr(t, xof[e->a], xof[e->b], 0)) {
            xof[n] = xof[e->a];
            uint64_t c = (uint64_t)cnt[e->a] + cnt[e->b];
            cnt[n] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
            if (t->nodes.v[e->a].op == N_OR) inner[e->a] = 1;
            if (t->nodes.v[e->b].op == N_OR) inner[e->b] = 1;
        }
    }
    uint64_t nitems = 0;
    for (uint32_t n = 0; n < nn; n++)
        if (t->nodes.v[n].op == N_OR && cnt[n] >= ORSET_MIN && !inner[n]) {
            ncand++;
            nitems += cnt[n];
        }
    if (ncand == 0) goto out;
    if (nitems > UINT32_MAX / 2) goto out;            /* absurd: no speed-up */
    rt->at = calloc(nn, sizeof *rt->at);
    rt->sets = calloc(ncand, sizeof *rt->sets);
    rt->items = malloc((size_t)nitems * sizeof *rt->items);
    uint32_t *stack = malloc(((size_t)nitems + 1) * sizeof *stack);
    if (!rt->at || !rt->sets || !rt->items || !stack) {
        free(stack);
        rc = KS_ENOMEM;
        goto out;
    }
    for (uint32_t n = 0; n < nn; n++) {
        if (t->nodes.v[n].op != N_OR || cnt[n] < ORSET_MIN || inner[n]) continue;
        orset *s = &rt->sets[rt->nsets];
        s->x = xof[n];
        s->first = rt->nitems;
        /* the leaves: every N_OR below n qualifies (cnt), so the walk sees only N_OR and
         * leaf nodes, cnt[n] leaves in all */
        uint32_t sp = 0;
        stack[sp++] = n;
        while (sp && rt->nitems - s->first < cnt[n]) {
            uint32_t k = stack[--sp];
            const ks_node *e = &t->nodes.v[k];
            if (e->op == N_OR) {
                if (sp + 2 > nitems + 1) break;
                stack[sp++] = e->b;
                stack[sp++] = e->a;
                continue;
            }
            uint32_t x, lit;
            if (!leaf_parts(t, k, &x, &lit)) continue;
            const ks_node *l = &t->nodes.v[lit];
            orset_item *it = &rt->items[rt->nitems++];
            it->p = t->pool.v + l->i;
            it->len = l->b;
            it->hash = orset_hash(it->p, it->len);
        }
        s->n = rt->nitems - s->first;
        if (s->n != cnt[n]) {                        /* not the tree counted: leave it be */
            rt->nitems = s->first;
            continue;
        }
        qsort(rt->items + s->first, s->n, sizeof *rt->items, item_qcmp);
        rt->at[n] = ++rt->nsets;
    }
    free(stack);
out:
    free(xof);
    free(cnt);
    free(inner);
    if (rc != KS_OK) orset_free(rt);
    return rc;
}

void orset_free(orset_rt *rt)
{
    if (!rt) return;
    free(rt->at);
    free(rt->sets);
    free(rt->items);
    memset(rt, 0, sizeof *rt);
}

int orset_has(const orset_rt *rt, const orset *set, const uint8_t *s, size_t len)
{
    orset_item key = {orset_hash(s, len), s, len};
    const orset_item *v = rt->items + set->first;
    uint32_t lo = 0, hi = set->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = item_cmp(&v[mid], &key);
        if (c < 0) lo = mid + 1;
        else if (c > 0) hi = mid;
        else return 1;
    }
    return 0;
}
