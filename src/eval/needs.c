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
 *   S > N, S a sum of counts and N never negative (counts, constants >= 0 and their sums:
 *     `#x1 + #x2 > #fp1 + #fp2`); S >= k, S == k (k >= 1), S != 0 -> the strings of S
 *   a comparison with @a[i] or !a[i] in an operand, directly or through arithmetic, `-`, `~`
 *     or uintN() -> {a} (undefined without a match, and so is the operand and the comparison,
 *     i.e. false)
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
 *   X == K, X a key expression and K an integer or text constant -> {the key X == K} (below)
 * Skipping would also skip side effects: a rule set importing `console` keeps every rule that
 * calls a function (console.log prints during evaluation) evaluated.
 *
 * Keys. Many rules need no string: `uint16(0) == 0x5a4d and (pe.imphash() == "..." or 1 of
 * them)`. Sets may hold keys as well as strings: a key is `X == K` with K a constant and X a key
 * expression, whose value depends on the scanned data only: an external variable, a module
 * field, or a module function called without arguments (pe.imphash()). Keys with the same X
 * (compared as trees) form a group. After the search the scanner evaluates each group's X
 * once, with the evaluator itself (so with its semantics), finds the key whose constant equals
 * the value (needs_key_find), and makes that key's rules candidates like a matched string's. A
 * key is true exactly when `X == K` is: an undefined X equals nothing; a value of another type
 * than the constants' (a float, say) makes every key of the group candidates. The lazy pass
 * makes no keys, so lazy sets hold strings only.
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
#define NEED_MAX_KEYS (1u << 20)     /* key occurrences (before deduplication) */
#define NEED_MAX_GROUPS 256
#define NEED_MAX_KDEPTH 16          /* key expression: fields and calls chained */
#define ANY UINT32_MAX       /* "no set known" as a range count */

typedef struct rawkey { uint32_t group, cnode; } rawkey;
typedef struct keytab {
    VEC(rawkey) rk;              /* set item strs.n + k is rk.v[k] until finish_keys numbers them */
    VEC(uint32_t) gexpr;         /* per group: its first expression */
} keytab;

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
    keytab *kt;                  /* the plain pass's keys; NULL: no keys (the lazy pass) */
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

/* The strings without a match of which the value of node ni is undefined: @a[i] and !a[i]
 * (undefined when $a has fewer than i matches, so none), and arithmetic, `-x`, `~x` and
 * uintN(x) over such a value (each undefined when an operand is; eval.c's arith and N_INTREAD).
 * A binary operator evaluates both operands, so either side's set will do: the smaller. */
static set strict(an *a, uint32_t ni, int depth)
{
    const ks_tables *t = a->t;
    if (a->err || ni >= t->nodes.n || depth > NEED_MAX_DEPTH) return SET_ANY;
    const ks_node *n = &t->nodes.v[ni];
    switch (n->op) {
    case N_STR_OFFSET: case N_STR_LENGTH:
        return string_of(a, n);
    case N_NEG: case N_BITNOT: case N_INTREAD:
        return strict(a, n->a, depth + 1);
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_MOD:
    case N_SHL: case N_SHR: case N_BAND: case N_BOR: case N_BXOR: {
        set x = strict(a, n->a, depth + 1), y = strict(a, n->b, depth + 1);
        if (x.n == ANY) return y;
        if (y.n == ANY) return x;
        return x.n <= y.n ? x : y;
    }
    default:
        return SET_ANY;
    }
}

/* 1 when node ni is a key expression (see the top): an external, or a chain of fields from a
 * module, or such a chain called with no argument. top: ni is the whole expression. */
static int key_expr(const ks_tables *t, uint32_t ni, int top, int depth)
{
    if (ni >= t->nodes.n || depth > NEED_MAX_KDEPTH) return 0;
    const ks_node *n = &t->nodes.v[ni];
    switch (n->op) {
    case N_EXTERNAL: return top && n->a < t->exts.n;
    case N_MODULE: return !top && n->a < t->imports.n;
    case N_FIELD: return n->i >= 0 && (uint64_t)n->i < t->pool.n &&
                         key_expr(t, n->a, 0, depth + 1);
    case N_CALL: return top && n->b == 0 && key_expr(t, n->a, 0, depth + 1) &&
                        t->nodes.v[n->a].op == N_FIELD;
    default: return 0;
    }
}

/* 1 when key expressions x and y are the same tree (the same value in every scan) */
static int same_expr(const ks_tables *t, uint32_t x, uint32_t y, int depth)
{
    if (depth > NEED_MAX_KDEPTH) return 0;
    const ks_node *p = &t->nodes.v[x], *q = &t->nodes.v[y];
    if (p->op != q->op) return 0;
    switch (p->op) {
    case N_EXTERNAL: case N_MODULE: return p->a == q->a;
    case N_FIELD: return strcmp(pool_str(t, (uint32_t)p->i), pool_str(t, (uint32_t)q->i)) == 0 &&
                         same_expr(t, p->a, q->a, depth + 1);
    case N_CALL: return p->b == q->b && p->c == q->c && same_expr(t, p->a, q->a, depth + 1);
    default: return 0;
    }
}

/* `X == K` as a key (see the top), or ANY */
static set need_key(an *a, const ks_node *n)
{
    const ks_tables *t = a->t;
    uint32_t x = n->a, k = n->b;
    if (t->nodes.v[k].op != N_INT && t->nodes.v[k].op != N_STR) { x = n->b; k = n->a; }
    const ks_node *kn = &t->nodes.v[k];
    if (kn->op == N_STR && (kn->i < 0 || (uint64_t)kn->i + kn->b > t->pool.n)) return SET_ANY;
    if ((kn->op != N_INT && kn->op != N_STR) || !key_expr(t, x, 1, 0)) return SET_ANY;
    keytab *kt = a->kt;
    if (kt->rk.n >= NEED_MAX_KEYS || (uint64_t)t->strs.n + kt->rk.n >= UINT32_MAX / 2) return SET_ANY;
    uint32_t g = 0;
    while (g < kt->gexpr.n && !same_expr(t, kt->gexpr.v[g], x, 0)) g++;
    if (g == kt->gexpr.n) {
        if (g >= NEED_MAX_GROUPS) return SET_ANY;
        if (vec_push(kt->gexpr, x) != KS_OK) { a->err = KS_ENOMEM; return SET_ANY; }
    }
    if (vec_push(kt->rk, ((rawkey){g, k})) != KS_OK) { a->err = KS_ENOMEM; return SET_ANY; }
    return one(a, t->strs.n + kt->rk.n - 1);
}

/* A sum of counts (#a, #a in (X..Y), and sums of those): the strings of its terms, or ANY.
 * The sum is 0 when none of them matched (or undefined, for a range that is). */
static set count_sum(an *a, uint32_t ni, int depth)
{
    if (a->err || ni >= a->t->nodes.n || depth > NEED_MAX_DEPTH) return SET_ANY;
    const ks_node *n = &a->t->nodes.v[ni];
    if (n->op == N_STR_COUNT || n->op == N_STR_COUNT_IN) return string_of(a, n);
    if (n->op != N_ADD) return SET_ANY;
    set x = count_sum(a, n->a, depth + 1);
    if (x.n == ANY) return SET_ANY;
    return unite(a, x, count_sum(a, n->b, depth + 1));
}

/* 1 when node ni's value, if defined, is >= 0: counts, constants in [0, 2^40] and sums of those
 * (bounded so that no sum of them can wrap around to a negative number). */
static int nonneg(const an *a, uint32_t ni, int depth)
{
    if (ni >= a->t->nodes.n || depth > NEED_MAX_DEPTH) return 0;
    const ks_node *n = &a->t->nodes.v[ni];
    switch (n->op) {
    case N_INT: return n->i >= 0 && n->i <= ((int64_t)1 << 40);
    case N_STR_COUNT: case N_STR_COUNT_IN: return 1;
    case N_ADD: return nonneg(a, n->a, depth + 1) && nonneg(a, n->b, depth + 1);
    default: return 0;
    }
}

/* `S > N`, `S >= k`, `S == k` (k >= 1), `S != 0` and their mirrored forms, S a sum of counts
 * and N never negative: true only when S >= 1, i.e. one of S's strings matched. ANY if the
 * comparison is not of that form. */
static set need_count_sum(an *a, const ks_node *n, int depth)
{
    for (int side = 0; side < 2; side++) {
        uint32_t s = side ? n->b : n->a, o = side ? n->a : n->b;
        int64_t k;
        /* S > N, or N < S with S on the right */
        if (!((n->op == (side ? N_LT : N_GT) && nonneg(a, o, depth + 1)) ||
              (const_int(a, o, &k) && count_cmp_needs(n->op, k, !side))))
            continue;
        set x = count_sum(a, s, depth + 1);
        if (x.n != ANY) return x;
    }
    return SET_ANY;
}

static set need_cmp(an *a, const ks_node *n, int depth)
{
    set x = need_count_sum(a, n, depth);     /* a single count is a sum of one */
    if (x.n != ANY) return x;
    /* a comparison with an undefined operand is undefined, i.e. false */
    x = strict(a, n->a, depth + 1);
    if (x.n != ANY) return x;
    x = strict(a, n->b, depth + 1);
    if (x.n != ANY || n->op != N_EQ || !a->kt) return x;
    return need_key(a, n);
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
        return need_cmp(a, n, depth);
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

/* ------------------------------------------------------------------ keys */

typedef struct keyrec {
    uint32_t group, kind, raw, cnode;   /* kind: N_INT or N_STR */
    int64_t i;
    const uint8_t *p;
    uint32_t len;
} keyrec;

/* the order of a group's keys: integers by value, then texts by length and bytes */
static int keyrec_cmp(const void *x, const void *y)
{
    const keyrec *a = x, *b = y;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->kind == N_INT) return a->i < b->i ? -1 : a->i > b->i;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    int c = a->len ? memcmp(a->p, b->p, a->len) : 0;
    return c ? c : (a->raw < b->raw ? -1 : a->raw > b->raw);
}

static int same_key(const keyrec *a, const keyrec *b)
{
    if (a->group != b->group || a->kind != b->kind) return 0;
    if (a->kind == N_INT) return a->i == b->i;
    return a->len == b->len && (!a->len || memcmp(a->p, b->p, a->len) == 0);
}

/* Numbers the plain pass's keys: sorted per group, equal ones merged; list items strs.n + raw
 * become strs.n + key. Fills out's keys. KS_OK or KS_ENOMEM. */
static int finish_keys(const ks_tables *t, const keytab *kt, needs_rt *out)
{
    uint32_t nraw = kt->rk.n, ng = kt->gexpr.n, ns = t->strs.n;
    keyrec *v = malloc(((size_t)nraw + 1) * sizeof *v);
    uint32_t *map = malloc(((size_t)nraw + 1) * sizeof *map);
    out->gexpr = malloc(((size_t)ng + 1) * sizeof *out->gexpr);
    out->gkfirst = calloc((size_t)ng + 2, sizeof *out->gkfirst);
    out->kconst = malloc(((size_t)nraw + 1) * sizeof *out->kconst);
    if (!v || !map || !out->gexpr || !out->gkfirst || !out->kconst) {
        free(v);
        free(map);
        return KS_ENOMEM;
    }
    for (uint32_t k = 0; k < nraw; k++) {
        const ks_node *c = &t->nodes.v[kt->rk.v[k].cnode];
        v[k] = (keyrec){kt->rk.v[k].group, c->op, k, kt->rk.v[k].cnode, c->i, NULL, 0};
        if (c->op == N_STR) { v[k].p = t->pool.v + c->i; v[k].len = c->b; }
    }
    qsort(v, nraw, sizeof *v, keyrec_cmp);
    uint32_t nk = 0;
    for (uint32_t k = 0; k < nraw; k++) {
        if (k == 0 || !same_key(&v[k - 1], &v[k])) {
            out->kconst[nk++] = v[k].cnode;
            out->gkfirst[v[k].group + 1]++;
        }
        map[v[k].raw] = nk - 1;
    }
    for (uint32_t g = 0; g < ng; g++) out->gkfirst[g + 1] += out->gkfirst[g];
    if (ng) memcpy(out->gexpr, kt->gexpr.v, (size_t)ng * sizeof *out->gexpr);
    out->nkeys = nk;
    out->ngroups = ng;
    for (uint32_t i = 0; i < out->list.n; i++)
        if (out->list.v[i] >= ns) out->list.v[i] = ns + map[out->list.v[i] - ns];
    free(v);
    free(map);
    return KS_OK;
}

/* the key of node c (N_INT or N_STR) as a keyrec of group g */
static keyrec key_of(const ks_tables *t, uint32_t g, uint32_t c)
{
    const ks_node *n = &t->nodes.v[c];
    keyrec r = {g, n->op, 0, c, n->i, NULL, 0};
    if (n->op == N_STR) { r.p = t->pool.v + n->i; r.len = n->b; }
    return r;
}

uint32_t needs_key_find(const needs_rt *n, const ks_tables *t, uint32_t g, int is_str, int64_t i,
                        const uint8_t *s, size_t len)
{
    if (g >= n->ngroups || (is_str && len > UINT32_MAX)) return UINT32_MAX;
    keyrec want = {g, is_str ? N_STR : N_INT, 0, 0, i, s, (uint32_t)len};
    uint32_t lo = n->gkfirst[g], hi = n->gkfirst[g + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        keyrec k = key_of(t, g, n->kconst[mid]);
        if (same_key(&k, &want)) return mid;
        if (keyrec_cmp(&k, &want) < 0) lo = mid + 1;
        else hi = mid;
    }
    return UINT32_MAX;
}

/* One analysis of every rule: sets into first/cnt/list (forbid NULL: the plain pass, which
 * also counts out->pruned). Returns KS_OK or KS_ENOMEM. */
#define LAZY_TRIES 8     /* analyses of one rule in the lazy pass, each allowing one more string */

static int run_pass(const ks_tables *t, needs_rt *out, uint8_t *forbid, const int32_t *qual,
                    keytab *kt, uint32_t *first, uint32_t *cnt, needs_vec *list)
{
    an a;
    memset(&a, 0, sizeof a);
    a.t = t;
    a.kt = kt;
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
    out->lfirst = malloc(((size_t)nr + 1) * sizeof *out->lfirst);
    out->ln = malloc(((size_t)nr + 1) * sizeof *out->ln);
    out->lazy = calloc((size_t)ns + 1, 1);
    if (!out->first || !out->n || !out->lfirst || !out->ln || !out->lazy) {
        needs_free(out);
        return KS_ENOMEM;
    }
    keytab kt;
    memset(&kt, 0, sizeof kt);
    int rc = run_pass(t, out, NULL, NULL, &kt, out->first, out->n, &out->list);
    if (rc == KS_OK) rc = finish_keys(t, &kt, out);
    vec_free(kt.rk);
    vec_free(kt.gexpr);
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
            rc = run_pass(t, out, forbid, qual, NULL, out->lfirst, out->ln, &out->llist);
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

    /* inverse: string or key -> rules whose set holds it (counting sort) */
    ns += out->nkeys;
    out->by_str_first = calloc((size_t)ns + 2, sizeof *out->by_str_first);
    if (!out->by_str_first) { needs_free(out); return KS_ENOMEM; }
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
    free(n->gexpr);
    free(n->gkfirst);
    free(n->kconst);
    memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------------ saving and loading */

int needs_write(ser_w *w, const needs_rt *n, const ks_tables *t)
{
    uint32_t nr = t->rules.n, ns = t->strs.n, ni = ns + n->nkeys;
    ser_put_array(w, n->first, sizeof *n->first, nr);
    ser_put_array(w, n->n, sizeof *n->n, nr);
    SER_PUT_VEC(w, n->list);
    ser_put_array(w, n->by_str_first, sizeof *n->by_str_first, ni + 1);
    ser_put_array(w, n->by_str, sizeof *n->by_str, n->by_str_first[ni]);
    ser_put_u32(w, n->pruned);
    ser_put_array(w, n->lfirst, sizeof *n->lfirst, nr);
    ser_put_array(w, n->ln, sizeof *n->ln, nr);
    SER_PUT_VEC(w, n->llist);
    ser_put_array(w, n->lazy, 1, ns);
    ser_put_u32(w, n->nlazy);
    ser_put_u32(w, n->nkeys);
    ser_put_u32(w, n->ngroups);
    ser_put_array(w, n->gexpr, sizeof *n->gexpr, n->ngroups);
    ser_put_array(w, n->gkfirst, sizeof *n->gkfirst, n->ngroups + 1);
    ser_put_array(w, n->kconst, sizeof *n->kconst, n->nkeys);
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
    out->by_str_first = ser_get_array(r, sizeof *out->by_str_first, &c3, VEC_HARD_CAP, 1);
    out->by_str = ser_get_array(r, sizeof *out->by_str, &c4, VEC_HARD_CAP, 1);
    out->pruned = ser_get_u32(r);
    uint32_t c5, c6, c7, c8, c9, c10;
    out->lfirst = ser_get_array(r, sizeof *out->lfirst, &c5, nr, 1);
    out->ln = ser_get_array(r, sizeof *out->ln, &c6, nr, 1);
    SER_GET_VEC(r, out->llist, VEC_HARD_CAP);
    out->lazy = ser_get_array(r, 1, &c7, ns, 1);
    out->nlazy = ser_get_u32(r);
    out->nkeys = ser_get_u32(r);
    out->ngroups = ser_get_u32(r);
    out->gexpr = ser_get_array(r, sizeof *out->gexpr, &c8, NEED_MAX_GROUPS, 1);
    out->gkfirst = ser_get_array(r, sizeof *out->gkfirst, &c9, NEED_MAX_GROUPS + 1, 1);
    out->kconst = ser_get_array(r, sizeof *out->kconst, &c10, NEED_MAX_KEYS, 1);
    if (!r->err && (c1 != nr || c2 != nr || out->nkeys > NEED_MAX_KEYS ||
                    c3 != ns + out->nkeys + 1 || out->by_str_first[c3 - 1] != c4 ||
                    c5 != nr || c6 != nr || c7 != ns || c8 != out->ngroups ||
                    c9 != out->ngroups + 1 || c10 != out->nkeys))
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
    uint32_t ni = ns + n->nkeys;       /* set items: strings, then keys */
    for (uint32_t i = 0; i < n->list.n; i++)
        if (n->list.v[i] >= ni) return 0;
    if (n->by_str_first[0] != 0 || n->pruned > nr) return 0;
    for (uint32_t si = 0; si < ni; si++)
        if (n->by_str_first[si] > n->by_str_first[si + 1]) return 0;
    /* by_str_first[ni] is by_str's size (needs_read) */
    for (uint32_t i = 0; i < n->by_str_first[ni]; i++)
        if (n->by_str[i] >= nr) return 0;
    /* keys: groups partition them in order; each constant a node needs_build could have
     * made; sorted and distinct within the group (needs_key_find's binary search) */
    if (n->gkfirst[0] != 0 || n->gkfirst[n->ngroups] != n->nkeys) return 0;
    for (uint32_t g = 0; g < n->ngroups; g++)
        if (n->gkfirst[g] > n->gkfirst[g + 1] || !key_expr(t, n->gexpr[g], 1, 0)) return 0;
    for (uint32_t g = 0; g < n->ngroups; g++) {
        for (uint32_t k = n->gkfirst[g]; k < n->gkfirst[g + 1]; k++) {
            if (n->kconst[k] >= t->nodes.n) return 0;
            const ks_node *c = &t->nodes.v[n->kconst[k]];
            if (c->op != N_INT && c->op != N_STR) return 0;
            if (c->op == N_STR && (c->i < 0 || (uint64_t)c->i + c->b > t->pool.n)) return 0;
            if (k > n->gkfirst[g]) {
                keyrec x = key_of(t, g, n->kconst[k - 1]), y = key_of(t, g, n->kconst[k]);
                if (same_key(&x, &y) || keyrec_cmp(&x, &y) > 0) return 0;
            }
        }
    }
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
