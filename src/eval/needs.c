/*
 * needs.c - which strings a rule cannot be true without.
 *
 * For each rule, a static pass over its condition finds a set S of strings such that the
 * condition can only be true when at least one string of S has a match. Most real rules have
 * such a set (`uint16(0) == 0x5a4d and 2 of ($x*)`, `any of them`, `$a and #b > 3`). After the
 * strings are searched, the scanner evaluates a rule only when one string of its set matched
 * (or when it has no set); every other rule is false without evaluation. On a scan where few
 * strings match, that skips almost every condition.
 *
 * Soundness: the result of skipping must equal the result of evaluating. need(e) returns a set
 * S with "e true => some string in S matched", or ANY (no such set is known). With yara's
 * semantics as eval.c implements them:
 *   $a, $a at X, $a in R                -> {a}
 *   #a > k (k >= 0), #a >= k, #a == k (k >= 1), #a != 0, and the mirrored forms; the same for
 *     `#a in R`                          -> {a}
 *   @a[i] or !a[i] as a direct operand of a comparison -> {a} (undefined without a match, and a
 *     comparison with an undefined operand is undefined, i.e. false)
 *   A and B                              -> the smaller of need(A), need(B) when both are known
 *   A or B                               -> need(A) u need(B), ANY if either is ANY
 *   N of (set), any/all of (set) with N a constant >= 1 (or a percentage >= 1) -> the set (for
 *     rule sets: the union of those rules' sets)
 *   for any/all/N of (set) : (body)      -> need(body), with `$` (the loop's string) standing
 *     for the whole set; `for none` and `for 0` are ANY (yara 4.2.3 makes them always true)
 *   for any/all/N i in (...) : (body)    -> need(body) (a loop with no iterations is false)
 *   a rule reference                     -> that rule's set
 *   false                                -> {} (never true)
 *   anything else (not, defined, arithmetic, module values, ...) -> ANY
 * Skipping would also skip side effects: a rule set importing `console` keeps every rule that
 * calls a function (console.log prints during evaluation) evaluated.
 *
 * Bounds: recursion follows the condition tree (depth-limited like the evaluator); sets larger
 * than NEED_MAX_SET strings become ANY.
 */
#include "eval/needs.h"

#include <stdlib.h>
#include <string.h>

#define NEED_MAX_SET 4096
#define NEED_MAX_DEPTH 400
#define NEED_MAX_LOOPS 16
#define ANY UINT32_MAX       /* "no set known" as a range count */

typedef struct loop { uint32_t slot, first, n; } loop;

typedef struct an {
    const ks_tables *t;
    VEC(uint32_t) buf;           /* scratch: sets are runs [first, first+n) in buf */
    const uint32_t *rfirst, *rn; /* per analysed rule: its final set (in out->list) */
    const uint32_t *list;
    int console;
    loop loops[NEED_MAX_LOOPS];
    int nloops;
    int err;
} an;

typedef struct set { uint32_t first, n; } set;   /* n == ANY: unknown */

static const set SET_ANY = {0, ANY};

static set push_run(an *a, const uint32_t *v, uint32_t n)
{
    set s = {a->buf.n, n};
    if (n == 0) return s;
    if (n > NEED_MAX_SET) return SET_ANY;
    if (vec_reserve(a->buf, n) != KS_OK) { a->err = KS_ENOMEM; return SET_ANY; }
    memcpy(a->buf.v + a->buf.n, v, (size_t)n * sizeof *v);
    a->buf.n += n;
    return s;
}

static set one(an *a, uint32_t si) { return push_run(a, &si, 1); }

static set unite(an *a, set x, set y)
{
    if (x.n == ANY || y.n == ANY || (uint64_t)x.n + y.n > NEED_MAX_SET) return SET_ANY;
    set s = {a->buf.n, x.n + y.n};
    if (s.n == 0) return s;
    if (vec_reserve(a->buf, x.n + y.n) != KS_OK) { a->err = KS_ENOMEM; return SET_ANY; }
    /* buf may have moved: copy through indices */
    memmove(a->buf.v + a->buf.n, a->buf.v + x.first, (size_t)x.n * sizeof(uint32_t));
    memmove(a->buf.v + a->buf.n + x.n, a->buf.v + y.first, (size_t)y.n * sizeof(uint32_t));
    a->buf.n += x.n + y.n;
    return s;
}

/* The strings a string node refers to: its own index, or the set of the enclosing
 * `for ... of` loop whose variable it reads. */
static set string_of(an *a, const ks_node *n)
{
    if (!(n->flags & 1)) return n->a < a->t->strs.n ? one(a, n->a) : SET_ANY;
    for (int i = a->nloops - 1; i >= 0; i--)
        if (a->loops[i].slot == (uint32_t)n->i)
            return push_run(a, a->t->lists.v + a->loops[i].first, a->loops[i].n);
    return SET_ANY;
}

static int const_int(const an *a, uint32_t ni, int64_t *v)
{
    const ks_node *n = &a->t->nodes.v[ni];
    if (n->op != N_INT) return 0;
    *v = n->i;
    return 1;
}

/* 1 when quantifier node qn requires at least one true item (any, all, N >= 1, N% >= 1). */
static int quant_needs_one(const an *a, uint32_t qn, int in_for)
{
    const ks_node *q = &a->t->nodes.v[qn];
    int64_t k;
    if (q->op == N_QUANT) return q->i == Q_ANY || q->i == Q_ALL;   /* none: ANY (see above) */
    if (q->op == N_PERCENT) return const_int(a, q->a, &k) && k >= 1;
    (void)in_for;
    return const_int(a, qn, &k) && k >= 1;
}

static set need(an *a, uint32_t ni, int depth);

/* #a compared with a constant: does the comparison imply #a >= 1? `cnt_left` when the count is
 * the left operand. */
static int count_cmp_needs(int op, int64_t k, int cnt_left)
{
    if (!cnt_left) {   /* k OP #a  ==  #a OP' k */
        switch (op) {
        case N_LT: op = N_GT; break;
        case N_LE: op = N_GE; break;
        case N_GT: op = N_LT; break;
        case N_GE: op = N_LE; break;
        }
    }
    switch (op) {
    case N_GT: return k >= 0;
    case N_GE: return k >= 1;
    case N_EQ: return k >= 1;
    case N_NE: return k == 0;
    }
    return 0;
}

static set need_cmp(an *a, const ks_node *n)
{
    const ks_node *l = &a->t->nodes.v[n->a], *r = &a->t->nodes.v[n->b];
    int64_t k;
    if ((l->op == N_STR_COUNT || l->op == N_STR_COUNT_IN) && const_int(a, n->b, &k) &&
        count_cmp_needs(n->op, k, 1))
        return string_of(a, l);
    if ((r->op == N_STR_COUNT || r->op == N_STR_COUNT_IN) && const_int(a, n->a, &k) &&
        count_cmp_needs(n->op, k, 0))
        return string_of(a, r);
    if (l->op == N_STR_OFFSET || l->op == N_STR_LENGTH) return string_of(a, l);
    if (r->op == N_STR_OFFSET || r->op == N_STR_LENGTH) return string_of(a, r);
    return SET_ANY;
}

static set need(an *a, uint32_t ni, int depth)
{
    const ks_tables *t = a->t;
    if (a->err || ni >= t->nodes.n || depth > NEED_MAX_DEPTH) return SET_ANY;
    const ks_node *n = &t->nodes.v[ni];
    switch (n->op) {
    case N_FALSE: return (set){a->buf.n, 0};
    case N_STR_FOUND:
    case N_STR_AT:
    case N_STR_IN:
        return string_of(a, n);
    case N_LT: case N_LE: case N_GT: case N_GE: case N_EQ: case N_NE:
        return need_cmp(a, n);
    case N_AND: {
        set x = need(a, n->a, depth + 1), y = need(a, n->b, depth + 1);
        if (x.n == ANY) return y;
        if (y.n == ANY) return x;
        return x.n <= y.n ? x : y;
    }
    case N_OR: {
        set x = need(a, n->a, depth + 1);
        if (x.n == ANY) return SET_ANY;
        set y = need(a, n->b, depth + 1);
        return unite(a, x, y);
    }
    case N_OF: {
        if (!quant_needs_one(a, n->a, 0) || n->b == 0) return SET_ANY;
        if (n->i + (uint64_t)n->b > t->lists.n) return SET_ANY;
        const uint32_t *items = t->lists.v + n->i;
        if (!(n->flags & OF_RULES)) return push_run(a, items, n->b);
        set acc = {a->buf.n, 0};
        for (uint32_t k = 0; k < n->b; k++) {
            uint32_t ri = items[k];
            if (ri >= t->rules.n || a->rn[ri] == ANY) return SET_ANY;
            acc = unite(a, acc, push_run(a, a->list + a->rfirst[ri], a->rn[ri]));
            if (acc.n == ANY) return SET_ANY;
        }
        return acc;
    }
    case N_FOR_OF: {
        if (!quant_needs_one(a, n->a, 1) || n->b == 0 || a->nloops >= NEED_MAX_LOOPS) return SET_ANY;
        if (n->i + (uint64_t)n->b > t->lists.n) return SET_ANY;
        a->loops[a->nloops++] = (loop){(uint32_t)n->f, (uint32_t)n->i, n->b};
        set s = need(a, n->c, depth + 1);
        a->nloops--;
        return s;
    }
    case N_FOR_IN:
        if (!quant_needs_one(a, n->a, 1)) return SET_ANY;
        return need(a, n->c, depth + 1);
    case N_RULE:
        if (n->a >= t->rules.n || a->rn[n->a] == ANY) return SET_ANY;
        return push_run(a, a->list + a->rfirst[n->a], a->rn[n->a]);
    default:
        return SET_ANY;
    }
}

static int has_call(const ks_tables *t, uint32_t ni, int depth)
{
    if (ni >= t->nodes.n || depth > NEED_MAX_DEPTH) return 1;
    const ks_node *n = &t->nodes.v[ni];
    if (n->op == N_CALL) return 1;
    /* children: a, b, c are node indices for most operators; lists for calls/enums/of */
    switch (n->op) {
    case N_TRUE: case N_FALSE: case N_INT: case N_FLOAT: case N_STR: case N_REGEX:
    case N_FILESIZE: case N_ENTRYPOINT: case N_STR_FOUND: case N_STR_COUNT: case N_QUANT:
    case N_RULE: case N_EXTERNAL: case N_VAR: case N_MODULE:
        return 0;
    case N_ENUM:
        for (uint32_t k = 0; k < n->b && n->i + (uint64_t)k < t->lists.n; k++)
            if (has_call(t, t->lists.v[n->i + k], depth + 1)) return 1;
        return 0;
    case N_OF:
        return has_call(t, n->a, depth + 1) ||
               ((n->flags & (OF_IN | OF_AT)) && has_call(t, n->c, depth + 1));
    case N_FOR_OF:
        return has_call(t, n->a, depth + 1) || has_call(t, n->c, depth + 1);
    case N_FOR_IN:
        return has_call(t, n->a, depth + 1) || has_call(t, n->b, depth + 1) ||
               has_call(t, n->c, depth + 1);
    case N_FIELD: case N_NOT: case N_NEG: case N_BITNOT: case N_DEFINED: case N_PERCENT:
    case N_OF_AT: case N_INTREAD:
        return has_call(t, n->a, depth + 1);
    case N_STR_AT: case N_STR_OFFSET: case N_STR_LENGTH:
        return has_call(t, n->b, depth + 1);
    case N_STR_IN: case N_STR_COUNT_IN:
        return has_call(t, n->b, depth + 1) || has_call(t, n->c, depth + 1);
    default:   /* binary operators, index, range, matches */
        return has_call(t, n->a, depth + 1) || has_call(t, n->b, depth + 1);
    }
}

static int imports_console(const ks_tables *t)
{
    for (uint32_t i = 0; i < t->imports.n; i++)
        if (strcmp(pool_str(t, t->imports.v[i]), "console") == 0) return 1;
    return 0;
}

int needs_build(const ks_tables *t, needs_rt *out)
{
    memset(out, 0, sizeof *out);
    uint32_t nr = t->rules.n, ns = t->strs.n;
    out->first = malloc(((size_t)nr + 1) * sizeof *out->first);
    out->n = malloc(((size_t)nr + 1) * sizeof *out->n);
    out->by_str_first = calloc((size_t)ns + 2, sizeof *out->by_str_first);
    if (!out->first || !out->n || !out->by_str_first) { needs_free(out); return KS_ENOMEM; }

    an a;
    memset(&a, 0, sizeof a);
    a.t = t;
    a.rfirst = out->first;
    a.rn = out->n;
    a.console = imports_console(t);
    for (uint32_t ri = 0; ri < nr; ri++) {
        out->n[ri] = NEEDS_ALWAYS;
        out->first[ri] = 0;
        a.buf.n = 0;
        a.nloops = 0;
        a.list = out->list.v;
        if (a.console && has_call(t, t->rules.v[ri].cond, 0)) continue;
        set s = need(&a, t->rules.v[ri].cond, 0);
        if (a.err) break;
        if (s.n == ANY) continue;
        if (s.n == 0) {             /* never true (e.g. `false`): evaluated never */
            out->first[ri] = out->list.n;
            out->n[ri] = 0;
            out->pruned++;
            continue;
        }
        /* sort + dedupe the set, then keep it */
        uint32_t *v = a.buf.v + s.first, m = 0;
        for (uint32_t i = 1; i < s.n; i++) {            /* insertion sort: sets are small */
            uint32_t x = v[i], j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        for (uint32_t i = 0; i < s.n; i++)
            if (m == 0 || v[m - 1] != v[i]) v[m++] = v[i];
        if (vec_reserve(out->list, m) != KS_OK) { a.err = KS_ENOMEM; break; }
        out->first[ri] = out->list.n;
        if (m) memcpy(out->list.v + out->list.n, v, (size_t)m * sizeof *v);
        out->list.n += m;
        out->n[ri] = m;
        out->pruned++;
    }
    vec_free(a.buf);
    if (a.err) { needs_free(out); return a.err; }

    /* inverse: string -> rules whose set holds it (counting sort) */
    for (uint32_t ri = 0; ri < nr; ri++)
        if (out->n[ri] != NEEDS_ALWAYS)
            for (uint32_t k = 0; k < out->n[ri]; k++) out->by_str_first[out->list.v[out->first[ri] + k] + 1]++;
    for (uint32_t si = 0; si < ns; si++) out->by_str_first[si + 1] += out->by_str_first[si];
    uint32_t total = out->by_str_first[ns];
    out->by_str = malloc(((size_t)total + 1) * sizeof *out->by_str);
    uint32_t *fill = malloc(((size_t)ns + 1) * sizeof *fill);
    if (!out->by_str || !fill) { free(fill); needs_free(out); return KS_ENOMEM; }
    memcpy(fill, out->by_str_first, (size_t)ns * sizeof *fill);
    for (uint32_t ri = 0; ri < nr; ri++)
        if (out->n[ri] != NEEDS_ALWAYS)
            for (uint32_t k = 0; k < out->n[ri]; k++) out->by_str[fill[out->list.v[out->first[ri] + k]]++] = ri;
    free(fill);
    return KS_OK;
}

void needs_free(needs_rt *n)
{
    free(n->first);
    free(n->n);
    free(n->by_str_first);
    free(n->by_str);
    vec_free(n->list);
    memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------------ saving and loading */

int needs_write(ser_w *w, const needs_rt *n, const ks_tables *t)
{
    uint32_t nr = t->rules.n, ns = t->strs.n;
    ser_put_array(w, n->first, sizeof *n->first, nr);
    ser_put_array(w, n->n, sizeof *n->n, nr);
    SER_PUT_VEC(w, n->list);
    ser_put_array(w, n->by_str_first, sizeof *n->by_str_first, ns + 1);
    ser_put_array(w, n->by_str, sizeof *n->by_str, n->by_str_first[ns]);
    ser_put_u32(w, n->pruned);
    return w->err;
}

int needs_read(ser_r *r, const ks_tables *t, needs_rt *out)
{
    memset(out, 0, sizeof *out);
    uint32_t nr = t->rules.n, ns = t->strs.n, c1, c2, c3, c4;
    /* allocated as needs_build does: one spare item per array */
    out->first = ser_get_array(r, sizeof *out->first, &c1, nr, 1);
    out->n = ser_get_array(r, sizeof *out->n, &c2, nr, 1);
    SER_GET_VEC(r, out->list, VEC_HARD_CAP);
    out->by_str_first = ser_get_array(r, sizeof *out->by_str_first, &c3, ns + 1, 1);
    out->by_str = ser_get_array(r, sizeof *out->by_str, &c4, VEC_HARD_CAP, 1);
    out->pruned = ser_get_u32(r);
    if (!r->err && (c1 != nr || c2 != nr || c3 != ns + 1 || out->by_str_first[ns] != c4))
        r->err = KS_EFORMAT;
    return r->err;
}

int needs_check(const ks_tables *t, const needs_rt *n)
{
    uint32_t nr = t->rules.n, ns = t->strs.n;
    for (uint32_t ri = 0; ri < nr; ri++)
        if (n->n[ri] != NEEDS_ALWAYS &&
            (n->first[ri] > n->list.n || n->n[ri] > n->list.n - n->first[ri]))
            return 0;
    for (uint32_t i = 0; i < n->list.n; i++)
        if (n->list.v[i] >= ns) return 0;
    if (n->by_str_first[0] != 0 || n->pruned > nr) return 0;
    for (uint32_t si = 0; si < ns; si++)
        if (n->by_str_first[si] > n->by_str_first[si + 1]) return 0;
    /* by_str_first[ns] is by_str's size (needs_read) */
    for (uint32_t i = 0; i < n->by_str_first[ns]; i++)
        if (n->by_str[i] >= nr) return 0;
    return 1;
}
