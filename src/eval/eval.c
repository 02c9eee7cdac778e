/*
 * eval.c - evaluate rule conditions (ks_node trees) against one scan's matches and data.
 *
 * Values may be undefined (VU): reading past the data, an absent module field, @a[9] when there
 * are fewer matches, division by zero. YARA's rules for undefined values:
 *   - arithmetic, comparisons, string operators and `not` on an undefined operand give undefined;
 *   - `and` is false if either side is false or undefined; `or` is true if either side is true;
 *   - a loop body that is undefined counts as false; a rule whose condition is undefined is false;
 *   - `defined X` is true when X is not undefined.
 *
 * Recursion is bounded by EVAL_MAX_DEPTH; long loops check the scan deadline.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scanner.h"
#include "eval/orset.h"
#include "match/re.h"

#define EVAL_MAX_DEPTH 4000

static const value UNDEF = {.t = VU};

static value vint(int64_t i) { value v = UNDEF; v.t = VI; v.i = i; return v; }
static value vflt(double f) { value v = UNDEF; v.t = VF; v.f = f; return v; }

typedef struct ev { ks_scanner *s; const ks_tables *t; int err; } ev;

static value eval(ev *e, uint32_t n);

static int truth(value v)
{
    switch (v.t) {
    case VI: return v.i != 0;
    case VF: return v.f != 0.0;
    case VS: return v.len != 0;
    default: return 0;
    }
}

static double as_f(value v) { return v.t == VF ? v.f : (double)v.i; }

/* ------------------------------------------------------------------ strings */

static uint32_t cur_string(ev *e, const ks_node *n)
{
    if (n->flags & 1) {
        value v = e->s->vars[n->i];
        return v.t == VI ? (uint32_t)v.i : KS_NONE;
    }
    return n->a;
}

static const match_list *matches_of(ev *e, uint32_t si)
{
    return si < e->t->strs.n ? &e->s->st.m[si] : NULL;
}

static int found_in(const match_list *l, int64_t lo, int64_t hi, int64_t *count)
{
    int64_t c = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->v[i].off < lo) continue;
        if (l->v[i].off > hi) break;
        c++;
        if (!count) return 1;
    }
    if (count) *count = c;
    return c > 0;
}

static int found_at(const match_list *l, int64_t at)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (l->v[mid].off < at) lo = mid + 1;
        else hi = mid;
    }
    return lo < l->n && l->v[lo].off == at;
}

/* ------------------------------------------------------------------ objects */

static value from_obj(ks_object *o)
{
    if (!o) return UNDEF;
    value v = UNDEF;
    switch (obj_type_of(o)) {
    case OBJ_INT:
        if (!obj_is_defined(o)) return UNDEF;
        return vint(obj_int(o));
    case OBJ_FLOAT:
        if (!obj_is_defined(o)) return UNDEF;
        return vflt(obj_float(o));
    case OBJ_STRING:
        if (!obj_is_defined(o)) return UNDEF;
        size_t len = 0;
        v.t = VS;
        v.s = obj_string(o, &len);
        v.len = len;
        return v;
    default:
        v.t = VO;
        v.o = o;
        return v;
    }
}

static value call(ev *e, const ks_node *n)
{
    value f = eval(e, n->a);
    if (f.t != VO || obj_type_of(f.o) != OBJ_FUNC) return UNDEF;
    ks_val args[32];
    uint32_t na = n->b > 32 ? 32 : n->b;
    const char *sig = obj_func_args(f.o, (int)n->c);
    for (uint32_t k = 0; k < na; k++) {
        value a = eval(e, e->t->lists.v[n->i + k]);
        if (e->err) return UNDEF;
        memset(&args[k], 0, sizeof args[k]);
        if (a.t == VU) return UNDEF;
        char want = sig && sig[k] ? sig[k] : '?';
        switch (a.t) {
        case VI:
            if (want == 'f') { args[k].type = V_FLOAT; args[k].f = (double)a.i; }
            else { args[k].type = V_INT; args[k].i = a.i; }
            break;
        case VF: args[k].type = V_FLOAT; args[k].f = a.f; break;
        case VS: args[k].type = V_STR; args[k].s = a.s; args[k].len = a.len; break;
        case VR: args[k].type = V_REGEX; args[k].re = a.re; break;
        default: return UNDEF;
        }
    }
    ks_fn fn = obj_func_impl(f.o, (int)n->c);
    if (!fn) return UNDEF;
    const ks_object *self = obj_parent(f.o);
    if (na == 0) {
        for (int k = 0; k < CALL_MEMO; k++) {
            const call_memo *m = &e->s->memo[k];
            if (m->gen == e->s->scan_gen && m->fn == fn && m->self == self) return m->v;
        }
    }
    /* the module root: walk to the module object of the call's base chain */
    const ks_node *base = &e->t->nodes.v[n->a];
    while (base->op == N_FIELD || base->op == N_INDEX) base = &e->t->nodes.v[base->a];
    ks_object *root = NULL;
    if (base->op == N_MODULE) scanner_module(e->s, base->a, &root);
    ks_fnctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = e->s->data;
    ctx.size = e->s->size;
    ctx.module_root = root;
    ctx.scratch = e->s->scratch;
    ctx.self = (ks_object *)self;
    ks_val ret;
    memset(&ret, 0, sizeof ret);
    int rc = fn(&ctx, args, (int)na, &ret);
    if (rc < 0) { e->err = rc; return UNDEF; }
    value v = UNDEF;
    switch (ret.type) {
    case V_INT: v = vint(ret.i); break;
    case V_FLOAT: v = ret.f != ret.f ? UNDEF : vflt(ret.f); break;
    case V_STR: v.t = VS; v.s = ret.s; v.len = ret.len; break;
    default: break;
    }
    if (na == 0) {
        /* remember it for this scan (strings live in the scan's scratch until its end) */
        for (int k = 0; k < CALL_MEMO; k++) {
            call_memo *m = &e->s->memo[k];
            if (m->gen != e->s->scan_gen) {
                m->fn = fn;
                m->self = self;
                m->gen = e->s->scan_gen;
                m->v = v;
                break;
            }
        }
    }
    return v;
}

/* ------------------------------------------------------------------ entrypoint */

static uint64_t rd(const uint8_t *d, size_t size, uint64_t off, int n, int be)
{
    if (off > size || (uint64_t)n > size - off) return UINT64_MAX;
    uint64_t v = 0;
    for (int k = 0; k < n; k++) v |= (uint64_t)d[off + (uint64_t)(be ? n - 1 - k : k)] << (8 * k);
    return v;
}

/* `intN(off)` / `uintNbe(off)` ... of the scanned data: `kind` is N_INTREAD's i (size | 0x10
 * signed | 0x20 big-endian; the size is 1, 2 or 4, which validate() in rules.c enforces for
 * loaded tables). Returns 0 when the read is outside the data (undefined). */
static int int_read(const ks_scanner *s, uint64_t off, int64_t kind, int64_t *out)
{
    int sz = (int)(kind & 0x0F), sgn = (kind & 0x10) != 0, be = (kind & 0x20) != 0;
    uint64_t v = rd(s->data, s->size, off, sz, be);
    if (v == UINT64_MAX) return 0;
    *out = sgn ? (int64_t)(v << (64 - 8 * sz)) >> (64 - 8 * sz) : (int64_t)v;
    return 1;
}

/* File offset of the entry point of a PE or ELF file, as yara's `entrypoint`; -1 if none. */
static int64_t find_entrypoint(const uint8_t *d, size_t size)
{
    if (size >= 64 && d[0] == 'M' && d[1] == 'Z') {
        uint64_t pe = rd(d, size, 0x3c, 4, 0);
        if (pe == UINT64_MAX || rd(d, size, pe, 4, 0) != 0x00004550) return -1;
        uint64_t nsec = rd(d, size, pe + 6, 2, 0), optsz = rd(d, size, pe + 20, 2, 0);
        uint64_t ep = rd(d, size, pe + 24 + 16, 4, 0);
        if (nsec == UINT64_MAX || optsz == UINT64_MAX || ep == UINT64_MAX) return -1;
        uint64_t sec = pe + 24 + optsz;
        for (uint64_t i = 0; i < nsec && i < 96; i++) {
            uint64_t h = sec + i * 40;
            uint64_t vsz = rd(d, size, h + 8, 4, 0), va = rd(d, size, h + 12, 4, 0);
            uint64_t rawsz = rd(d, size, h + 16, 4, 0), raw = rd(d, size, h + 20, 4, 0);
            if (raw == UINT64_MAX) break;
            uint64_t span = vsz > rawsz ? vsz : rawsz;
            if (ep >= va && ep < va + span) return (int64_t)(raw + (ep - va));
        }
        return (int64_t)ep;
    }
    if (size >= 52 && d[0] == 0x7f && d[1] == 'E' && d[2] == 'L' && d[3] == 'F') {
        int is64 = d[4] == 2, be = d[5] == 2;
        uint64_t entry = rd(d, size, 24, is64 ? 8 : 4, be);
        uint64_t phoff = rd(d, size, is64 ? 32 : 28, is64 ? 8 : 4, be);
        uint64_t phentsize = rd(d, size, is64 ? 54 : 42, 2, be), phnum = rd(d, size, is64 ? 56 : 44, 2, be);
        if (entry == UINT64_MAX || phoff == UINT64_MAX || phnum == UINT64_MAX) return -1;
        for (uint64_t i = 0; i < phnum && i < 4096; i++) {
            uint64_t h = phoff + i * phentsize;
            uint64_t type = rd(d, size, h, 4, be);
            uint64_t off, va, fsz;
            if (is64) {
                off = rd(d, size, h + 8, 8, be);
                va = rd(d, size, h + 16, 8, be);
                fsz = rd(d, size, h + 32, 8, be);
            } else {
                off = rd(d, size, h + 4, 4, be);
                va = rd(d, size, h + 8, 4, be);
                fsz = rd(d, size, h + 16, 4, be);
            }
            if (type == UINT64_MAX || fsz == UINT64_MAX) break;
            if (type == 1 && entry >= va && entry < va + fsz) return (int64_t)(off + (entry - va));
        }
        return -1;
    }
    return -1;
}

/* ------------------------------------------------------------------ quantifiers */

/* Returns -1 undefined, else the number of true items needed (for `all`: total). */
typedef struct quant { int kind; int64_t n; int pct; } quant;

/* yara 4.2.3 compiles the `none` quantifier of a `for` loop as "at least 0", so such loops are
 * always true (unlike `none of ...` outside a loop). kensa reproduces it; see docs/design.md. */
static void for_none_quirk(quant *q)
{
    if (q->kind == Q_NONE) { q->kind = 0; q->n = 0; q->pct = 0; }
}

static int get_quant(ev *e, uint32_t qn, quant *q)
{
    const ks_node *n = &e->t->nodes.v[qn];
    q->pct = 0;
    if (n->op == N_QUANT) { q->kind = (int)n->i; q->n = 0; return 0; }
    value v;
    if (n->op == N_PERCENT) { v = eval(e, n->a); q->pct = 1; }
    else v = eval(e, qn);
    if (v.t != VI) return -1;
    q->kind = 0;
    q->n = v.i;
    return 0;
}

/* Decide a quantifier from (true count, items done, total). Returns 1/0 when decided, -1 if
 * more items are needed. `final` means all items were seen. */
static int quant_decide(const quant *q, int64_t yes, int64_t done, int64_t total, int final)
{
    int64_t no = done - yes;
    switch (q->kind) {
    case Q_ALL: if (no > 0) return 0; return final ? 1 : -1;
    case Q_ANY: if (yes > 0) return 1; return final ? 0 : -1;
    case Q_NONE: if (yes > 0) return 0; return final ? 1 : -1;
    }
    if (q->pct) {
        /* yes/total >= pct/100 */
        if (yes * 100 >= q->n * total) return 1;
        if ((yes + (total - done)) * 100 < q->n * total) return 0;
        return final ? (yes * 100 >= q->n * total) : -1;
    }
    if (yes >= q->n) return 1;
    if (yes + (total - done) < q->n) return 0;
    return final ? 0 : -1;
}

static value eval_of(ev *e, const ks_node *n)
{
    quant q;
    if (get_quant(e, n->a, &q) < 0) return UNDEF;
    int64_t total = n->b, yes = 0;
    int64_t lo = 0, hi = 0;
    int has_range = (n->flags & OF_IN) != 0;
    if (has_range) {
        const ks_node *r = &e->t->nodes.v[n->c];
        value a = eval(e, r->a), b = eval(e, r->b);
        if (a.t != VI || b.t != VI) return UNDEF;
        lo = a.i;
        hi = b.i;
    }
    for (int64_t k = 0; k < total; k++) {
        uint32_t idx = e->t->lists.v[n->i + (uint64_t)k];
        int hit;
        if (n->flags & OF_RULES) hit = idx < e->t->rules.n && e->s->rule_res[idx];
        else {
            const match_list *l = matches_of(e, idx);
            hit = l && (has_range ? found_in(l, lo, hi, NULL) : l->n > 0);
        }
        yes += hit;
        int d = quant_decide(&q, yes, k + 1, total, k + 1 == total);
        if (d >= 0) return vint(d);
    }
    return vint(quant_decide(&q, yes, total, total, 1) == 1);
}

static value eval_for_of(ev *e, const ks_node *n)
{
    quant q;
    if (get_quant(e, n->a, &q) < 0) return UNDEF;
    for_none_quirk(&q);
    uint32_t slot = (uint32_t)n->f;
    int64_t total = n->b, yes = 0;
    value saved = e->s->vars[slot];
    value res = UNDEF;
    for (int64_t k = 0; k < total; k++) {
        e->s->vars[slot] = vint(e->t->lists.v[n->i + (uint64_t)k]);
        value b = eval(e, n->c);
        if (e->err) break;
        yes += truth(b);
        int d = quant_decide(&q, yes, k + 1, total, k + 1 == total);
        if (d >= 0) { res = vint(d); break; }
    }
    if (total == 0) res = vint(quant_decide(&q, 0, 0, 0, 1) == 1);
    e->s->vars[slot] = saved;
    return res;
}

static value eval_for_in(ev *e, const ks_node *n)
{
    quant q;
    if (get_quant(e, n->a, &q) < 0) return UNDEF;
    for_none_quirk(&q);
    const ks_node *it = &e->t->nodes.v[n->b];
    uint32_t slot = (uint32_t)n->i;
    int64_t total, lo = 0;
    value coll = UNDEF;
    if (it->op == N_RANGE) {
        value a = eval(e, it->a), b = eval(e, it->b);
        if (a.t != VI || b.t != VI) return UNDEF;
        lo = a.i;
        if (b.i < a.i) total = 0;                       /* empty range: no iterations */
        else if ((uint64_t)b.i - (uint64_t)a.i >= (uint64_t)INT64_MAX) return UNDEF;
        else total = b.i - a.i + 1;
    } else if (it->op == N_ENUM) {
        total = it->b;
    } else {
        coll = eval(e, n->b);
        if (coll.t != VO) return UNDEF;
        total = obj_length(coll.o);
        if (total < 0) return UNDEF;
    }
    int64_t yes = 0;
    value res = UNDEF;
    int decided = 0;
    if (total == 0) return vint(0);     /* yara: a loop with no iterations is false */
    for (int64_t k = 0; k < total; k++) {
        if ((k & 1023) == 1023 && scan_expired(e->s)) { e->err = KS_ETIMEOUT; return UNDEF; }
        if (it->op == N_RANGE) e->s->vars[slot] = vint(lo + k);
        else if (it->op == N_ENUM) e->s->vars[slot] = eval(e, e->t->lists.v[it->i + (uint64_t)k]);
        else if (obj_type_of(coll.o) == OBJ_ARRAY) e->s->vars[slot] = from_obj(obj_index(coll.o, k));
        else {
            const uint8_t *key;
            size_t klen;
            ks_object *item = obj_dict_entry(coll.o, k, &key, &klen);
            value kv = UNDEF;
            kv.t = VS;
            kv.s = key;
            kv.len = klen;
            e->s->vars[slot] = kv;
            e->s->vars[slot + 1] = from_obj(item);
        }
        if (e->err) return UNDEF;
        value b = eval(e, n->c);
        if (e->err) return UNDEF;
        yes += truth(b);
        int d = quant_decide(&q, yes, k + 1, total, k + 1 == total);
        if (d >= 0) { res = vint(d); decided = 1; break; }
    }
    if (!decided) res = vint(quant_decide(&q, yes, total, total, 1) == 1);
    return res;
}

/* ------------------------------------------------------------------ strings ops */

static int lower_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower(a[i]) != tolower(b[i])) return 0;
    return 1;
}

static int find_sub(const uint8_t *h, size_t hn, const uint8_t *nd, size_t nn, int icase)
{
    if (nn == 0) return 1;
    if (nn > hn) return 0;
    for (size_t i = 0; i + nn <= hn; i++)
        if (icase ? lower_eq(h + i, nd, nn) : memcmp(h + i, nd, nn) == 0) return 1;
    return 0;
}

static int cmp_str(value a, value b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.s, b.s, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* ------------------------------------------------------------------ the evaluator */

static value arith(int op, value a, value b)
{
    if (a.t == VU || b.t == VU) return UNDEF;
    if (a.t == VF || b.t == VF) {
        double x = as_f(a), y = as_f(b);
        switch (op) {
        case N_ADD: return vflt(x + y);
        case N_SUB: return vflt(x - y);
        case N_MUL: return vflt(x * y);
        case N_DIV: return vflt(x / y);
        }
        return UNDEF;
    }
    int64_t x = a.i, y = b.i;
    switch (op) {
    case N_ADD: return vint((int64_t)((uint64_t)x + (uint64_t)y));
    case N_SUB: return vint((int64_t)((uint64_t)x - (uint64_t)y));
    case N_MUL: return vint((int64_t)((uint64_t)x * (uint64_t)y));
    case N_DIV:
        if (y == 0 || (x == INT64_MIN && y == -1)) return UNDEF;
        return vint(x / y);
    case N_MOD:
        if (y == 0 || (x == INT64_MIN && y == -1)) return UNDEF;
        return vint(x % y);
    case N_SHL:
        if (y < 0) return UNDEF;
        return vint(y >= 64 ? 0 : (int64_t)((uint64_t)x << y));
    case N_SHR:
        if (y < 0) return UNDEF;
        return vint(y >= 64 ? 0 : x >> y);
    case N_BAND: return vint(x & y);
    case N_BOR: return vint(x | y);
    case N_BXOR: return vint(x ^ y);
    }
    return UNDEF;
}

static value compare(int op, value a, value b)
{
    if (a.t == VU || b.t == VU) return UNDEF;
    int c;
    if (a.t == VS && b.t == VS) c = cmp_str(a, b);
    else if (a.t == VF || b.t == VF) {
        double x = as_f(a), y = as_f(b);
        c = x < y ? -1 : x > y ? 1 : (x == y ? 0 : 2);
        if (c == 2) return vint(op == N_NE);
    } else c = a.i < b.i ? -1 : a.i > b.i;
    switch (op) {
    case N_LT: return vint(c < 0);
    case N_LE: return vint(c <= 0);
    case N_GT: return vint(c > 0);
    case N_GE: return vint(c >= 0);
    case N_EQ: return vint(c == 0);
    case N_NE: return vint(c != 0);
    }
    return UNDEF;
}

static value eval(ev *e, uint32_t ni)
{
    if (e->err) return UNDEF;
    if (ni >= e->t->nodes.n) { e->err = KS_EINTERNAL; return UNDEF; }
    if (++e->s->eval_depth > EVAL_MAX_DEPTH) {
        e->s->eval_depth--;
        e->err = KS_ESTACK;
        return UNDEF;
    }
    const ks_node *n = &e->t->nodes.v[ni];
    ks_scanner *s = e->s;
    value r = UNDEF;
    switch (n->op) {
    case N_TRUE: r = vint(1); break;
    case N_FALSE: r = vint(0); break;
    case N_INT: r = vint(n->i); break;
    case N_FLOAT: r = vflt(n->f); break;
    case N_STR:
        r.t = VS;
        r.s = e->t->pool.v + n->i;
        r.len = n->b;
        break;
    case N_REGEX:
        r.t = VR;
        r.re = rules_re(e->t, (uint32_t)n->i);
        break;
    case N_FILESIZE: r = vint((int64_t)s->size); break;
    case N_ENTRYPOINT:
        if (!s->ep_state) {
            s->ep = find_entrypoint(s->data, s->size);
            s->ep_state = s->ep >= 0 ? 1 : 2;
        }
        if (s->ep_state == 1) r = vint(s->ep);
        break;
    case N_STR_FOUND: {
        const match_list *l = matches_of(e, cur_string(e, n));
        r = vint(l && l->n > 0);
        break;
    }
    case N_STR_AT: {
        const match_list *l = matches_of(e, cur_string(e, n));
        value x = eval(e, n->b);
        if (x.t != VI) break;
        r = vint(l && found_at(l, x.i));
        break;
    }
    case N_STR_IN: {
        const match_list *l = matches_of(e, cur_string(e, n));
        value a = eval(e, n->b), b = eval(e, n->c);
        if (a.t != VI || b.t != VI) break;
        r = vint(l && found_in(l, a.i, b.i, NULL));
        break;
    }
    case N_STR_COUNT: {
        const match_list *l = matches_of(e, cur_string(e, n));
        r = vint(l ? l->n : 0);
        break;
    }
    case N_STR_COUNT_IN: {
        const match_list *l = matches_of(e, cur_string(e, n));
        value a = eval(e, n->b), b = eval(e, n->c);
        if (a.t != VI || b.t != VI) break;
        int64_t c = 0;
        if (l) found_in(l, a.i, b.i, &c);
        r = vint(c);
        break;
    }
    case N_STR_OFFSET:
    case N_STR_LENGTH: {
        const match_list *l = matches_of(e, cur_string(e, n));
        value x = eval(e, n->b);
        if (x.t != VI || !l || x.i < 1 || x.i > (int64_t)l->n) break;
        const str_match *m = &l->v[x.i - 1];
        r = vint(n->op == N_STR_OFFSET ? m->off : (int64_t)m->len);
        break;
    }
    case N_NOT: {
        value a = eval(e, n->a);
        if (a.t != VU) r = vint(!truth(a));
        break;
    }
    case N_DEFINED: {
        value a = eval(e, n->a);
        r = vint(a.t != VU);
        break;
    }
    case N_NEG: {
        value a = eval(e, n->a);
        if (a.t == VI) r = vint((int64_t)(0 - (uint64_t)a.i));
        else if (a.t == VF) r = vflt(-a.f);
        break;
    }
    case N_BITNOT: {
        value a = eval(e, n->a);
        if (a.t == VI) r = vint(~a.i);
        break;
    }
    case N_AND: {
        value a = eval(e, n->a);
        if (a.t == VU || !truth(a)) { r = vint(0); break; }
        value b = eval(e, n->b);
        r = vint(b.t != VU && truth(b));
        break;
    }
    case N_OR: {
        /* a tree of `X == "literal"` leaves: one evaluation of X and a set lookup (orset.h) */
        const orset *os = orset_of(e->s->r->orsets, ni);
        if (os) {
            value x = eval(e, os->x);
            if (x.t == VS) { r = vint(orset_has(e->s->r->orsets, os, x.s, x.len)); break; }
            if (x.t == VU) { r = vint(0); break; }
        }
        value a = eval(e, n->a);
        if (a.t != VU && truth(a)) { r = vint(1); break; }
        value b = eval(e, n->b);
        r = vint(b.t != VU && truth(b));
        break;
    }
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_MOD:
    case N_SHL: case N_SHR: case N_BAND: case N_BOR: case N_BXOR: {
        value a = eval(e, n->a), b = eval(e, n->b);
        r = arith(n->op, a, b);
        break;
    }
    case N_LT: case N_LE: case N_GT: case N_GE: case N_EQ: case N_NE: {
        value a = eval(e, n->a), b = eval(e, n->b);
        r = compare(n->op, a, b);
        break;
    }
    case N_CONTAINS: case N_ICONTAINS: case N_STARTSWITH: case N_ISTARTSWITH:
    case N_ENDSWITH: case N_IENDSWITH: case N_IEQUALS: {
        value a = eval(e, n->a), b = eval(e, n->b);
        if (a.t != VS || b.t != VS) break;
        switch (n->op) {
        case N_CONTAINS: r = vint(find_sub(a.s, a.len, b.s, b.len, 0)); break;
        case N_ICONTAINS: r = vint(find_sub(a.s, a.len, b.s, b.len, 1)); break;
        case N_STARTSWITH: r = vint(b.len <= a.len && memcmp(a.s, b.s, b.len) == 0); break;
        case N_ISTARTSWITH: r = vint(b.len <= a.len && lower_eq(a.s, b.s, b.len)); break;
        case N_ENDSWITH:
            r = vint(b.len <= a.len && memcmp(a.s + a.len - b.len, b.s, b.len) == 0);
            break;
        case N_IENDSWITH: r = vint(b.len <= a.len && lower_eq(a.s + a.len - b.len, b.s, b.len)); break;
        case N_IEQUALS: r = vint(a.len == b.len && lower_eq(a.s, b.s, a.len)); break;
        }
        break;
    }
    case N_MATCHES: {
        value a = eval(e, n->a), b = eval(e, n->b);
        if (a.t != VS || b.t != VR) break;
        int m = re_search(b.re, a.s, a.len);
        if (m >= 0) r = vint(m);
        break;
    }
    case N_INTREAD: {
        value a = eval(e, n->a);
        int64_t v;
        if (a.t == VI && a.i >= 0 && int_read(s, (uint64_t)a.i, n->i, &v)) r = vint(v);
        break;
    }
    case N_OF: r = eval_of(e, n); break;
    case N_FOR_OF: r = eval_for_of(e, n); break;
    case N_FOR_IN: r = eval_for_in(e, n); break;
    case N_RULE: r = vint(n->a < e->t->rules.n && s->rule_res[n->a]); break;
    case N_EXTERNAL: {
        const ext_val *x = &s->ext[n->a];
        switch (x->type) {
        case X_INT: case X_BOOL: r = vint(x->i); break;
        case X_FLOAT: r = vflt(x->f); break;
        case X_STR:
            r.t = VS;
            if (x->s) { r.s = (const uint8_t *)x->s; r.len = x->slen; }
            else {
                const ks_ext *d = &e->t->exts.v[n->a];
                r.s = e->t->pool.v + d->s;
                r.len = d->slen;
            }
            break;
        }
        break;
    }
    case N_VAR: r = s->vars[n->a]; break;
    case N_MODULE: {
        ks_object *mo;
        int mrc = scanner_module(s, n->a, &mo);
        if (mrc == KS_ENOMEM || mrc == KS_EMODDATA) e->err = mrc;
        else if (mo) { r.t = VO; r.o = mo; }
        break;
    }
    case N_FIELD: {
        value b = eval(e, n->a);
        if (b.t == VO && obj_type_of(b.o) == OBJ_STRUCT)
            r = from_obj(obj_field_hint(b.o, (const char *)e->t->pool.v + n->i, &s->fhint[ni]));
        break;
    }
    case N_INDEX: {
        value b = eval(e, n->a), k = eval(e, n->b);
        if (b.t != VO) break;
        if (obj_type_of(b.o) == OBJ_ARRAY && k.t == VI) r = from_obj(obj_index(b.o, k.i));
        else if (obj_type_of(b.o) == OBJ_DICT && k.t == VS) r = from_obj(obj_key(b.o, k.s, k.len));
        break;
    }
    case N_CALL: r = call(e, n); break;
    default:
        e->err = KS_EINTERNAL;
    }
    s->eval_depth--;
    return r;
}

/* ------------------------------------------------------------------ guards */

static int cmp_op(uint16_t op) { return op >= N_LT && op <= N_NE; }

/* op with its operands swapped (K < x  <=>  x > K) */
static uint16_t swap_op(uint16_t op)
{
    switch (op) {
    case N_LT: return N_GT;
    case N_LE: return N_GE;
    case N_GT: return N_LT;
    case N_GE: return N_LE;
    default: return op;
    }
}

/* x is a guardable operand: filesize, or an integer read at a constant offset */
static int guard_side(const ks_tables *t, const ks_node *x, rule_guard *g)
{
    if (x->op == N_FILESIZE) { g->kind = G_FILESIZE; return 1; }
    if (x->op == N_INTREAD && x->a < t->nodes.n) {
        const ks_node *o = &t->nodes.v[x->a];
        int sz = (int)(x->i & 0x0F);
        if (o->op != N_INT || o->i < 0 || (sz != 1 && sz != 2 && sz != 4)) return 0;
        g->kind = G_READ;
        g->rd = (uint8_t)x->i;
        g->off = (uint64_t)o->i;
        return 1;
    }
    return 0;
}

rule_guard *guards_build(const ks_tables *t)
{
    rule_guard *g = calloc(((size_t)t->rules.n + 1) * GUARD_MAX, sizeof *g);
    if (!g) return NULL;
    for (uint32_t ri = 0; ri < t->rules.n; ri++) {
        /* the conjuncts in evaluation order: the left spine of the `and` chain, reversed */
        uint32_t conj[64], nc = 0, ni = t->rules.v[ri].cond;
        while (nc < 63 && ni < t->nodes.n && t->nodes.v[ni].op == N_AND) {
            conj[nc++] = t->nodes.v[ni].b;
            ni = t->nodes.v[ni].a;
        }
        if (nc == 63 && ni < t->nodes.n && t->nodes.v[ni].op == N_AND) continue;  /* too deep */
        conj[nc++] = ni;
        uint32_t ng = 0;
        for (uint32_t k = nc; k-- > 0 && ng < GUARD_MAX;) {
            ni = conj[k];
            if (ni >= t->nodes.n) break;
            const ks_node *n = &t->nodes.v[ni];
            if (!cmp_op(n->op) || n->a >= t->nodes.n || n->b >= t->nodes.n) break;
            const ks_node *l = &t->nodes.v[n->a], *r = &t->nodes.v[n->b];
            rule_guard x = {0};
            if (r->op == N_INT && guard_side(t, l, &x)) {
                x.op = n->op;
                x.k = r->i;
            } else if (l->op == N_INT && guard_side(t, r, &x)) {
                x.op = swap_op(n->op);
                x.k = l->i;
            } else {
                break;
            }
            g[(size_t)ri * GUARD_MAX + ng++] = x;
        }
    }
    return g;
}

/* 0 when the guard proves the rule false, else 1 (the same value eval gives the conjunct: an
 * out-of-range read is undefined, which makes `and` false) */
static int guard_ok(const ks_scanner *s, const rule_guard *g)
{
    int64_t v;
    if (g->kind == G_FILESIZE) {
        v = (int64_t)s->size;
    } else if (g->kind == G_READ) {
        if (!int_read(s, g->off, g->rd, &v)) return 0;
    } else {
        return 1;
    }
    switch (g->op) {
    case N_LT: return v < g->k;
    case N_LE: return v <= g->k;
    case N_GT: return v > g->k;
    case N_GE: return v >= g->k;
    case N_EQ: return v == g->k;
    default: return v != g->k;
    }
}

static int guard_cmp(const rule_guard *a, const rule_guard *b)
{
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->rd != b->rd) return a->rd < b->rd ? -1 : 1;
    if (a->op != b->op) return a->op < b->op ? -1 : 1;
    if (a->off != b->off) return a->off < b->off ? -1 : 1;
    if (a->k != b->k) return a->k < b->k ? -1 : 1;
    return 0;
}

typedef struct guard_at { rule_guard g; uint32_t pos; } guard_at;

static int guard_at_cmp(const void *x, const void *y)
{
    const guard_at *a = x, *b = y;
    int c = guard_cmp(&a->g, &b->g);
    return c ? c : (a->pos < b->pos ? -1 : a->pos > b->pos);
}

int guards_index(ks_scanner *s)
{
    const ks_tables *t = &s->r->t;
    size_t n = (size_t)t->rules.n * GUARD_MAX;
    guard_at *v = malloc((n + 1) * sizeof *v);
    s->gid = malloc((n + 1) * sizeof *s->gid);
    s->uguard = malloc((n + 1) * sizeof *s->uguard);
    if (!v || !s->gid || !s->uguard) { free(v); return KS_ENOMEM; }
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        s->gid[i] = UINT32_MAX;
        if (s->guard[i].kind == G_NONE) continue;
        v[nv].g = s->guard[i];
        v[nv++].pos = (uint32_t)i;
    }
    qsort(v, nv, sizeof *v, guard_at_cmp);
    s->nuguard = 0;
    for (size_t k = 0; k < nv; k++) {
        if (k == 0 || guard_cmp(&s->uguard[s->nuguard - 1], &v[k].g) != 0)
            s->uguard[s->nuguard++] = v[k].g;
        s->gid[v[k].pos] = s->nuguard - 1;
    }
    free(v);
    s->mz_guard = UINT32_MAX;
    for (uint32_t u = 0; u < s->nuguard; u++)
        if (guard_is_mz(&s->uguard[u])) s->mz_guard = u;
    s->gfalse = calloc((size_t)s->nuguard + 1, 1);
    return s->gfalse ? KS_OK : KS_ENOMEM;
}

int guard_is_mz(const rule_guard *g)
{
    return g->kind == G_READ && g->off == 0 && g->rd == 2 && g->op == N_EQ && g->k == 0x5A4D;
}

void guards_eval(ks_scanner *s)
{
    for (uint32_t u = 0; u < s->nuguard; u++) s->gfalse[u] = !guard_ok(s, &s->uguard[u]);
}

int eval_guard_false(const ks_scanner *s, uint32_t ri)
{
    if (!s->gid) return 0;
    const uint32_t *g = &s->gid[(size_t)ri * GUARD_MAX];
    for (int k = 0; k < GUARD_MAX && g[k] != UINT32_MAX; k++)
        if (s->gfalse[g[k]]) return 1;
    return 0;
}

int eval_expr(ks_scanner *s, uint32_t ni, value *out)
{
    ev e = {s, &s->r->t, 0};
    s->eval_depth = 0;
    *out = eval(&e, ni);
    if (e.err) *out = UNDEF;
    return e.err;
}

int eval_rule(ks_scanner *s, uint32_t ri)
{
    if (eval_guard_false(s, ri)) return 0;
    value v;
    int rc = eval_expr(s, s->r->t.rules.v[ri].cond, &v);
    if (rc) return rc;
    return v.t != VU && truth(v);
}
