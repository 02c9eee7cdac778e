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
 *
 * Lazy strings. Hex and regex strings cost the most to verify, and most of their hits are in
 * files where their rule cannot be true anyway. A second pass finds, per rule, a set W as
 * above in which no hex or regex string ("forbidden") may appear: a forbidden string read
 * directly is ANY; `N of (set)` (N a constant >= 1, or any/all) gives the set's other strings
 * when at most N - 1 of its items are forbidden (N matches need at least one of the others);
 * `all of (set)` gives one allowed item. When a rule has such a W, its hex and regex strings
 * are lazy: the scanner may hold their hits back and verify them after the search only if a
 * string of W matched (strings.c). Exact: W holds no lazy string, so its matches are the same
 * whether lazy hits are verified or not; when none matched, the rule is false on every match
 * state (W's property), so the lazy strings' matches cannot change its result, and a rule's
 * strings are read by its own condition only (a rule that references it sees its result).
 */
#include "eval/needs.h"

#include <stdlib.h>
#include <string.h>

#include "match/re.h"

#define NEED_MAX_SET 4096
#define NEED_MAX_BUF (1u << 20)     /* scratch items per rule */
#define NEED_MAX_STEPS (1u << 14)   /* nodes visited per rule in the lazy pass */
#define NEED_MAX_DEPTH 400
#define NEED_MAX_LOOPS 16
#define ANY UINT32_MAX       /* "no set known" as a range count */

typedef struct loop { uint32_t slot, first, n; } loop;

typedef struct an {
    const ks_tables *t;
    uint8_t *forbid;             /* per string: may not be in a set (the lazy pass), or NULL */
    const int32_t *qual;         /* per string, the lazy pass: how cheap its hits are to verify
                                    (its atoms' quality; higher is cheaper) */
    int promote;                 /* the lazy pass: `N of` may allow forbidden items */
    uint32_t steps;              /* the lazy pass: nodes visited for this rule */
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
    if (a->buf.n + (uint64_t)n > NEED_MAX_BUF) return SET_ANY;
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
    if (a->buf.n + (uint64_t)x.n + y.n > NEED_MAX_BUF) return SET_ANY;
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
    if (!(n->flags & 1)) {
        if (n->a >= a->t->strs.n || (a->forbid && a->forbid[n->a])) return SET_ANY;
        return one(a, n->a);
    }
    for (int i = a->nloops - 1; i >= 0; i--)
        if (a->loops[i].slot == (uint32_t)n->i) {
            const uint32_t *v = a->t->lists.v + a->loops[i].first;
            for (uint32_t k = 0; a->forbid && k < a->loops[i].n; k++)
                if (v[k] >= a->t->strs.n || a->forbid[v[k]]) return SET_ANY;
            return push_run(a, v, a->loops[i].n);
        }
    return SET_ANY;
}

static int const_int(const an *a, uint32_t ni, int64_t *v);

/* Allows the cheapest forbidden string among items[0..n) (items NULL: the strings first ..
 * first+n-1) in sets from now on: it will not be lazy. Returns it, or UINT32_MAX when none of
 * them is forbidden. */
static uint32_t allow_cheapest(an *a, const uint32_t *items, uint32_t first, uint32_t n)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t si = items ? items[k] : first + k;
        if (a->forbid[si] && (best == UINT32_MAX || a->qual[si] > a->qual[best])) best = si;
    }
    if (best != UINT32_MAX) a->forbid[best] = 0;
    return best;
}

/* `N of (items)` over strings in the lazy pass (see the top): the allowed items, once at most
 * N - 1 are forbidden (the cheapest forbidden ones are allowed until then); for `all`, one
 * item (an allowed one, else the cheapest forbidden one, allowed). ANY for other counts. */
static set of_allowed(an *a, uint32_t qn, const uint32_t *items, uint32_t n)
{
    const ks_tables *t = a->t;
    const ks_node *q = &t->nodes.v[qn];
    uint32_t f = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (items[k] >= t->strs.n) return SET_ANY;
        f += a->forbid[items[k]] != 0;
    }
    if (f == 0) return push_run(a, items, n);
    int64_t need_n;
    if (q->op == N_QUANT && q->i == Q_ALL) {
        for (uint32_t k = 0; k < n; k++)
            if (!a->forbid[items[k]]) return one(a, items[k]);
        if (!a->promote) return SET_ANY;
        return one(a, allow_cheapest(a, items, 0, n));  /* all forbidden: allow one, alone */
    }
    if (q->op == N_QUANT && q->i == Q_ANY) need_n = 1;
    else if (!const_int(a, qn, &need_n) || need_n < 1) return SET_ANY;  /* percentages too */
    while (a->promote && (int64_t)f > need_n - 1 && allow_cheapest(a, items, 0, n) != UINT32_MAX)
        f--;
    if ((int64_t)f > need_n - 1 || n - f > NEED_MAX_SET) return SET_ANY;
    set s = {a->buf.n, 0};
    if (a->buf.n + (uint64_t)(n - f) > NEED_MAX_BUF) return SET_ANY;
    if (vec_reserve(a->buf, n - f) != KS_OK) { a->err = KS_ENOMEM; return SET_ANY; }
    for (uint32_t k = 0; k < n; k++)
        if (!a->forbid[items[k]]) a->buf.v[a->buf.n + s.n++] = items[k];
    a->buf.n += s.n;
    return s;
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
    if (a->forbid && ++a->steps > NEED_MAX_STEPS) return SET_ANY;
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
        if (a->promote) {
            /* allow forbidden strings only where needed: not in a side the other one makes
             * unnecessary (`$t and 1 of ($re*)`: the regex strings stay lazy) */
            a->promote = 0;
            set x = need(a, n->a, depth + 1), y = need(a, n->b, depth + 1);
            a->promote = 1;
            if (x.n != ANY || y.n != ANY) {
                if (x.n == ANY) return y;
                if (y.n == ANY) return x;
                return x.n <= y.n ? x : y;
            }
            x = need(a, n->a, depth + 1);
            return x.n != ANY ? x : need(a, n->b, depth + 1);
        }
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
        if (!(n->flags & OF_RULES))
            return a->forbid ? of_allowed(a, n->a, items, n->b) : push_run(a, items, n->b);
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

/* One analysis of every rule: sets into first/cnt/list (forbid NULL: the plain pass, which
 * also counts out->pruned). Returns KS_OK or KS_ENOMEM. */
#define LAZY_TRIES 8     /* analyses of one rule in the lazy pass, each allowing one more string */

static int run_pass(const ks_tables *t, needs_rt *out, uint8_t *forbid, const int32_t *qual,
                    uint32_t *first, uint32_t *cnt, needs_vec *list)
{
    an a;
    memset(&a, 0, sizeof a);
    a.t = t;
    a.forbid = forbid;
    a.qual = qual;
    a.rfirst = first;
    a.rn = cnt;
    a.console = imports_console(t);
    for (uint32_t ri = 0; ri < t->rules.n; ri++) {
        cnt[ri] = NEEDS_ALWAYS;
        first[ri] = 0;
        a.buf.n = 0;
        a.nloops = 0;
        a.list = list->v;
        if (a.console && has_call(t, t->rules.v[ri].cond, 0)) continue;
        a.promote = 0;
        a.steps = 0;
        const ks_rule *rr = &t->rules.v[ri];
        set s = need(&a, rr->cond, 0);
        /* the lazy pass: when no set avoids the rule's forbidden strings, let `N of` allow
         * some, then allow the rule's cheapest one at a time (`#a > 100 and #b > 5` with two
         * hex strings: b lazy, set {a}) */
        for (int k = 0; forbid && !a.err && s.n == ANY && k <= LAZY_TRIES; k++) {
            if (k > 0 && allow_cheapest(&a, NULL, rr->str_first, rr->nstr) == UINT32_MAX) break;
            a.buf.n = 0;
            a.nloops = 0;
            a.promote = 1;
            a.steps = 0;
            s = need(&a, rr->cond, 0);
        }
        if (forbid && a.err == KS_ENOMEM) {     /* no lazy strings for this rule */
            a.err = 0;
            s = SET_ANY;
        }
        if (a.err) break;
        if (s.n == ANY) continue;
        if (s.n == 0) {             /* never true (e.g. `false`): evaluated never */
            first[ri] = list->n;
            cnt[ri] = 0;
            if (!forbid) out->pruned++;
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
        if (vec_reserve(*list, m) != KS_OK) { a.err = KS_ENOMEM; break; }
        first[ri] = list->n;
        if (m) memcpy(list->v + list->n, v, (size_t)m * sizeof *v);
        list->n += m;
        cnt[ri] = m;
        if (!forbid) out->pruned++;
    }
    vec_free(a.buf);
    return a.err;
}

int needs_build(const ks_tables *t, const uint8_t *eager, needs_rt *out)
{
    memset(out, 0, sizeof *out);
    uint32_t nr = t->rules.n, ns = t->strs.n;
    out->first = malloc(((size_t)nr + 1) * sizeof *out->first);
    out->n = malloc(((size_t)nr + 1) * sizeof *out->n);
    out->by_str_first = calloc((size_t)ns + 2, sizeof *out->by_str_first);
    out->lfirst = malloc(((size_t)nr + 1) * sizeof *out->lfirst);
    out->ln = malloc(((size_t)nr + 1) * sizeof *out->ln);
    out->lazy = calloc((size_t)ns + 1, 1);
    if (!out->first || !out->n || !out->by_str_first || !out->lfirst || !out->ln || !out->lazy) {
        needs_free(out);
        return KS_ENOMEM;
    }
    int rc = run_pass(t, out, NULL, NULL, out->first, out->n, &out->list);
    /* the lazy pass: hex and regex strings are forbidden in its sets */
    uint8_t *forbid = rc == KS_OK ? calloc((size_t)ns + 1, 1) : NULL;
    int32_t *qual = rc == KS_OK ? calloc((size_t)ns + 1, sizeof *qual) : NULL;
    if (rc == KS_OK && (!forbid || !qual)) rc = KS_ENOMEM;
    if (rc == KS_OK) {
        uint32_t nf = 0;
        for (uint32_t si = 0; si < ns; si++) {
            const ks_str *st = &t->strs.v[si];
            forbid[si] = st->kind == S_HEX || st->kind == S_REGEX;
            nf += forbid[si];
            /* the worst quality of its pieces' atoms */
            qual[si] = INT32_MAX;
            for (uint32_t k = 0; forbid[si] && k < st->re_count; k++) {
                uint32_t x = st->re_first + k;
                int32_t q = x < t->res.n ? rules_re(t, x)->min_quality : INT32_MIN;
                if (q < qual[si]) qual[si] = q;
            }
        }
        if (nf) {
            rc = run_pass(t, out, forbid, qual, out->lfirst, out->ln, &out->llist);
        } else {
            for (uint32_t ri = 0; ri < nr; ri++) { out->lfirst[ri] = 0; out->ln[ri] = NEEDS_ALWAYS; }
        }
        for (uint32_t si = 0; rc == KS_OK && si < ns; si++) {
            uint32_t ri = t->strs.v[si].rule;
            out->lazy[si] = forbid[si] && ri < nr && out->ln[ri] != NEEDS_ALWAYS &&
                            !(eager && eager[si]);
            out->nlazy += out->lazy[si];
        }
    }
    free(forbid);
    free(qual);
    if (rc != KS_OK) { needs_free(out); return rc; }

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
    free(n->lfirst);
    free(n->ln);
    free(n->lazy);
    vec_free(n->llist);
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
    ser_put_array(w, n->lfirst, sizeof *n->lfirst, nr);
    ser_put_array(w, n->ln, sizeof *n->ln, nr);
    SER_PUT_VEC(w, n->llist);
    ser_put_array(w, n->lazy, 1, ns);
    ser_put_u32(w, n->nlazy);
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
    uint32_t c5, c6, c7;
    out->lfirst = ser_get_array(r, sizeof *out->lfirst, &c5, nr, 1);
    out->ln = ser_get_array(r, sizeof *out->ln, &c6, nr, 1);
    SER_GET_VEC(r, out->llist, VEC_HARD_CAP);
    out->lazy = ser_get_array(r, 1, &c7, ns, 1);
    out->nlazy = ser_get_u32(r);
    if (!r->err && (c1 != nr || c2 != nr || c3 != ns + 1 || out->by_str_first[ns] != c4 ||
                    c5 != nr || c6 != nr || c7 != ns))
        r->err = KS_EFORMAT;
    return r->err;
}

int needs_check(const ks_tables *t, const uint8_t *eager, const needs_rt *n)
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
    for (uint32_t ri = 0; ri < nr; ri++)
        if (n->ln[ri] != NEEDS_ALWAYS &&
            (n->lfirst[ri] > n->llist.n || n->ln[ri] > n->llist.n - n->lfirst[ri]))
            return 0;
    uint32_t nl = 0;
    for (uint32_t si = 0; si < ns; si++) {
        if (n->lazy[si] > 1 || (n->lazy[si] && eager && eager[si])) return 0;
        nl += n->lazy[si];
    }
    if (nl != n->nlazy) return 0;
    /* a set string must not be lazy: its matches decide whether lazy hits are verified */
    for (uint32_t i = 0; i < n->llist.n; i++)
        if (n->llist.v[i] >= ns || n->lazy[n->llist.v[i]]) return 0;
    return 1;
}
