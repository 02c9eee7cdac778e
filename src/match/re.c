/*
 * re.c - compiler for regexes and hex strings: AST -> byte code + atoms -> one re_code block.
 *
 * Code layout follows YARA's idea so that match lengths agree with YARA 4.2.3: the whole
 * pattern is emitted once forwards and once backwards (concatenations reversed). Every AST node
 * remembers where its code starts in the forward program (first emission) and where its code
 * ends in the backward program (last emission). An atom starting at node X then gets
 *   fwd = X's forward start   (matches X and everything after it, to the final MATCH)
 *   bwd = X's backward end    (matches everything before X, right to left, to the final MATCH)
 * {n,m} is unrolled (mandatory copies, then nested optional copies) instead of YARA's counter
 * loop; this preserves thread priorities. Bounds above RE_SCAN_LIMIT are clipped when the
 * repeated expression always consumes input (such repeats cannot matter within the limit).
 *
 * Atoms are extracted exactly like YARA's atoms.c (atom tree with OR/AND nodes, sliding window of
 * up to 4 literal/masked/any nodes, trimming, heuristic quality, best-child choice).
 */
#include "match/re_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_MAX (8u << 20)    /* refuse patterns whose code exceeds 8 MB */

/* ------------------------------------------------------------------------------------------ */
/* Code buffer                                                                                  */

typedef struct cbuf {
    uint8_t *p;
    uint32_t n, cap;
    int err;                   /* RE_OK or error */
    const re_ast *a;
    uint32_t flags;
    bool fast;                 /* emit OP_REPANY for jumps (fast hex executor) */
} cbuf;

/* Grows the buffer (or records the error) and appends; the out-of-line part of emit_bytes. */
static uint32_t emit_bytes_slow(cbuf *c, const void *b, uint32_t len)
{
    if (c->err)
        return c->n;
    if (c->n + len > CODE_MAX) {
        c->err = RE_ELIMIT;
        return c->n;
    }
    if (c->n + len > c->cap) {
        uint32_t nc = c->cap ? c->cap : 256;
        while (nc < c->n + len)
            nc *= 2;
        if (nc > CODE_MAX)
            nc = CODE_MAX;
        uint8_t *q = realloc(c->p, nc);
        if (!q) {
            c->err = RE_ENOMEM;
            return c->n;
        }
        c->p = q;
        c->cap = nc;
    }
    memcpy(c->p + c->n, b, len);
    uint32_t at = c->n;
    c->n += len;
    return at;
}

/* Appends len bytes; returns their offset. After an error nothing is written (c->err says
 * which). The capacity never exceeds CODE_MAX, so a write that fits needs no limit check. */
static inline uint32_t emit_bytes(cbuf *c, const void *b, uint32_t len)
{
    if (c->err || c->n + len > c->cap)
        return emit_bytes_slow(c, b, len);
    memcpy(c->p + c->n, b, len);
    uint32_t at = c->n;
    c->n += len;
    return at;
}

static uint32_t emit_op(cbuf *c, uint8_t op) { return emit_bytes(c, &op, 1); }

static uint32_t emit_jump(cbuf *c, uint8_t op)
{
    uint8_t b[5] = { op, 0, 0, 0, 0 };
    return emit_bytes(c, b, 5);
}

static void patch(cbuf *c, uint32_t at, uint32_t target)
{
    if (c->err)
        return;
    int32_t rel = (int32_t)target - (int32_t)at;
    memcpy(c->p + at + 1, &rel, 4);
}

/* Whether node n can match the empty string. */
static bool can_be_empty(const re_ast *a, int n, int depth)
{
    const re_node *x = &a->nodes[n];
    if (depth > 2 * RE_MAX_DEPTH + 8)
        return true;
    switch (x->type) {
    case N_LIT: case N_MASKED: case N_ANY: case N_CLASS:
    case N_WORD: case N_NWORD: case N_SPACE: case N_NSPACE: case N_DIGIT: case N_NDIGIT:
        return false;
    case N_CONCAT:
        for (int k = x->first; k >= 0; k = a->nodes[k].next)
            if (!can_be_empty(a, k, depth + 1))
                return false;
        return true;
    case N_ALT:
        return can_be_empty(a, x->first, depth + 1) || can_be_empty(a, x->last, depth + 1);
    case N_PLUS:
        return can_be_empty(a, x->first, depth + 1);
    case N_RANGE:
        return x->start == 0 || can_be_empty(a, x->first, depth + 1);
    case N_RANGE_ANY:
        return x->start == 0;
    default:
        return true;
    }
}

static void emit_node(cbuf *c, re_ast *a, int n, bool bw, int depth);

#define EMIT_MAX_DEPTH (4 * RE_MAX_DEPTH + 16)

/* Emits a byte node (N_LIT, N_MASKED, N_ANY) at `depth` exactly as emit_node would, when that
 * is a plain append (no error so far, depth within the limit, room in the buffer). Returns
 * false, having done nothing, otherwise: the caller then uses emit_node. */
static inline bool emit_leaf(cbuf *c, re_node *x, bool bw, int depth)
{
    if ((x->type != N_LIT && x->type != N_MASKED && x->type != N_ANY) || c->err ||
        depth > EMIT_MAX_DEPTH || c->n + 3 > c->cap)
        return false;
    if (!bw && !x->fref_set) {
        x->fref = c->n;
        x->fref_set = 1;
    }
    uint8_t *o = c->p + c->n;
    if (x->type == N_LIT) {
        o[0] = OP_LIT;
        o[1] = x->value;
        c->n += 2;
    } else if (x->type == N_MASKED) {
        o[0] = OP_MASKED;
        o[1] = x->value;
        o[2] = x->mask;
        c->n += 3;
    } else {
        o[0] = OP_ANY;
        c->n += 1;
    }
    if (bw)
        x->bref = c->n;
    return true;
}

static void emit_children(cbuf *c, re_ast *a, int n, bool bw, int depth)
{
    re_node *x = &a->nodes[n];
    /* emission adds no nodes, so node pointers stay valid */
    if (!bw) {
        for (int k = x->first; k >= 0; k = a->nodes[k].next)
            if (!emit_leaf(c, &a->nodes[k], bw, depth + 1))
                emit_node(c, a, k, bw, depth + 1);
    } else {
        for (int k = x->last; k >= 0; k = a->nodes[k].prev)
            if (!emit_leaf(c, &a->nodes[k], bw, depth + 1))
                emit_node(c, a, k, bw, depth + 1);
    }
}

/* e* (greedy or lazy), body = node `child` (or ANY when child < 0) */
static void emit_star(cbuf *c, re_ast *a, int child, bool greedy, bool bw, int depth)
{
    uint32_t l = emit_jump(c, greedy ? OP_SPLIT_A : OP_SPLIT_B);
    if (child >= 0)
        emit_node(c, a, child, bw, depth + 1);
    else
        emit_op(c, OP_ANY);
    uint32_t j = emit_jump(c, OP_JMP);
    patch(c, j, l);
    patch(c, l, c->n);
}

static void emit_one(cbuf *c, re_ast *a, int child, bool bw, int depth)
{
    if (child >= 0)
        emit_node(c, a, child, bw, depth + 1);
    else
        emit_op(c, OP_ANY);
}

/* e{lo,hi}; child < 0 means ANY. hi == RE_MAX_RANGE (or more) = unbounded. */
static void emit_range(cbuf *c, re_ast *a, int child, int32_t lo, int32_t hi, bool greedy,
                       bool bw, int depth)
{
    bool consumes = child < 0 || !can_be_empty(a, child, 0);
    bool unbounded = hi >= RE_MAX_RANGE;
    if (consumes) {
        /* Copies beyond RE_SCAN_LIMIT can never be used. */
        if (lo > RE_SCAN_LIMIT + 1)
            lo = RE_SCAN_LIMIT + 1;
        if (hi > RE_SCAN_LIMIT + 1 && !unbounded)
            hi = RE_SCAN_LIMIT + 1;
    }
    if (unbounded) {
        /* e{lo,} as lo copies + star (bw: star first so that
         * the last emitted copy ends where the range ends) */
        if (bw) {
            emit_star(c, a, child, greedy, bw, depth);
            for (int32_t k = 0; k < lo && !c->err; k++)
                emit_one(c, a, child, bw, depth);
        } else {
            for (int32_t k = 0; k < lo && !c->err; k++)
                emit_one(c, a, child, bw, depth);
            emit_star(c, a, child, greedy, bw, depth);
        }
        return;
    }
    for (int32_t k = 0; k < lo && !c->err; k++)
        emit_one(c, a, child, bw, depth);
    int32_t opt = hi - lo;
    if (opt <= 0)
        return;
    uint32_t *splits = malloc(sizeof(uint32_t) * (size_t)opt);
    if (!splits) {
        c->err = RE_ENOMEM;
        return;
    }
    for (int32_t k = 0; k < opt && !c->err; k++) {
        splits[k] = emit_jump(c, greedy ? OP_SPLIT_A : OP_SPLIT_B);
        emit_one(c, a, child, bw, depth);
    }
    if (!c->err)
        for (int32_t k = 0; k < opt; k++)
            patch(c, splits[k], c->n);
    free(splits);
}

static void emit_node(cbuf *c, re_ast *a, int n, bool bw, int depth)
{
    if (c->err)
        return;
    if (depth > EMIT_MAX_DEPTH) {
        c->err = RE_ELIMIT;
        return;
    }
    re_node *x = &a->nodes[n];
    if (!bw && !x->fref_set) {
        x->fref = c->n;
        x->fref_set = 1;
    }
    switch (x->type) {
    case N_LIT: {
        uint8_t b[2] = { OP_LIT, x->value };
        emit_bytes(c, b, 2);
        break;
    }
    case N_MASKED: {
        uint8_t b[3] = { OP_MASKED, x->value, x->mask };
        emit_bytes(c, b, 3);
        break;
    }
    case N_ANY: emit_op(c, OP_ANY); break;
    case N_CLASS:
        emit_op(c, OP_CLASS);
        emit_bytes(c, &x->value, 1);
        emit_bytes(c, a->classes[x->cls], 32);
        break;
    case N_WORD: emit_op(c, OP_WORD); break;
    case N_NWORD: emit_op(c, OP_NWORD); break;
    case N_SPACE: emit_op(c, OP_SPACE); break;
    case N_NSPACE: emit_op(c, OP_NSPACE); break;
    case N_DIGIT: emit_op(c, OP_DIGIT); break;
    case N_NDIGIT: emit_op(c, OP_NDIGIT); break;
    case N_BOL: emit_op(c, OP_BOL); break;
    case N_EOL: emit_op(c, OP_EOL); break;
    case N_WB: emit_op(c, OP_WB); break;
    case N_NWB: emit_op(c, OP_NWB); break;
    case N_EMPTY: break;
    case N_CONCAT: emit_children(c, a, n, bw, depth); break;
    case N_ALT: {
        uint32_t s = emit_jump(c, OP_SPLIT_A);
        emit_node(c, a, x->first, bw, depth + 1);
        uint32_t j = emit_jump(c, OP_JMP);
        patch(c, s, c->n);
        emit_node(c, a, x->last, bw, depth + 1);
        patch(c, j, c->n);
        break;
    }
    case N_STAR:
        emit_star(c, a, x->first, x->greedy, bw, depth);
        break;
    case N_PLUS: {
        uint32_t l = c->n;
        emit_node(c, a, x->first, bw, depth + 1);
        uint32_t s = emit_jump(c, x->greedy ? OP_SPLIT_B : OP_SPLIT_A);
        patch(c, s, l);
        break;
    }
    case N_RANGE:
        emit_range(c, a, x->first, x->start, x->end, x->greedy, bw, depth);
        break;
    case N_RANGE_ANY:
        if (c->fast) {
            uint8_t b[5] = { OP_REPANY, 0, 0, 0, 0 };
            uint16_t lo = (uint16_t)(x->start > 65535 ? 65535 : x->start);
            uint16_t hi = (uint16_t)(x->end > 65535 ? 65535 : x->end);
            memcpy(b + 1, &lo, 2);
            memcpy(b + 3, &hi, 2);
            emit_bytes(c, b, 5);
        } else {
            emit_range(c, a, -1, x->start, x->end, x->greedy, bw, depth);
        }
        break;
    }
    /* re-read: emission may have reallocated a->nodes? (no: nodes are not touched) */
    if (bw)
        a->nodes[n].bref = c->n;
}

/* ------------------------------------------------------------------------------------------ */
/* Atoms (YARA's atoms.c algorithm)                                                             */

typedef struct xatom {
    uint8_t bytes[RE_MAX_ATOM], mask[RE_MAX_ATOM];
    int len;
} xatom;

enum { T_LEAF, T_AND, T_OR };

typedef struct tnode {
    int type;
    xatom atom;
    int re_nodes[RE_MAX_ATOM];
    int first, last, next;     /* children / sibling (indexes into tree array) */
} tnode;

typedef struct tree {
    tnode *t;
    int n, cap;
    int err;
} tree;

static int tnew(tree *tr, int type)
{
    if (tr->n == tr->cap) {
        int nc = tr->cap ? tr->cap * 2 : 32;
        tnode *q = realloc(tr->t, (size_t)nc * sizeof *q);
        if (!q) {
            tr->err = RE_ENOMEM;
            return -1;
        }
        tr->t = q;
        tr->cap = nc;
    }
    tnode *x = &tr->t[tr->n];
    memset(x, 0, sizeof *x);
    x->type = type;
    x->first = x->last = x->next = -1;
    return tr->n++;
}

static void tappend(tree *tr, int parent, int child)
{
    if (tr->t[parent].last >= 0)
        tr->t[tr->t[parent].last].next = child;
    else
        tr->t[parent].first = child;
    tr->t[parent].last = child;
}

/* Quality of one exact byte in YARA's heuristic: 12 for a common byte (00 20 CC FF), 18 for an
 * ASCII letter (either case), else 20. */
#define BQ(b) ((b) == 0x00 || (b) == 0x20 || (b) == 0xCC || (b) == 0xFF ? 12 \
               : (unsigned)(((b) | 0x20) - 'a') < 26u ? 18 : 20)
#define BQ4(b) BQ(b), BQ((b) + 1), BQ((b) + 2), BQ((b) + 3)
#define BQ16(b) BQ4(b), BQ4((b) + 4), BQ4((b) + 8), BQ4((b) + 12)
#define BQ64(b) BQ16(b), BQ16((b) + 16), BQ16((b) + 32), BQ16((b) + 48)
static const uint8_t byte_quality[256] = { BQ64(0), BQ64(64), BQ64(128), BQ64(192) };
#undef BQ64
#undef BQ16
#undef BQ4
#undef BQ

/* The bytes whose repetition alone makes an atom very poor: 00 20 90 CC FF. */
static inline int is_filler_byte(uint8_t b)
{
    return b == 0x00 || b == 0x20 || b == 0x90 || b == 0xCC || b == 0xFF;
}

/* YARA 4.2.3's heuristic atom quality (yr_atoms_heuristic_quality, as documented there and
 * checked against its warnings): per exact byte its byte_quality; per any-byte -10; per
 * nibble mask +4. Then an atom whose exact bytes are all one filler byte loses 10 per byte;
 * any other gains 2 per distinct exact byte. The scale tops at 255 (RE_QUALITY_WARN is 38
 * above its floor). x->len <= RE_MAX_ATOM. */
static int atom_quality(const xatom *x)
{
    uint8_t uniq[RE_MAX_ATOM];
    int q = 0, unique = 0;
    for (int i = 0; i < x->len; i++) {
        uint8_t m = x->mask[i];
        if (m == 0xFF) {
            uint8_t b = x->bytes[i];
            q += byte_quality[b];
            int k = 0;
            while (k < unique && uniq[k] != b)
                k++;
            if (k == unique)
                uniq[unique++] = b;
        } else if (m == 0x00) {
            q -= 10;
        } else if (m == 0x0F || m == 0xF0) {
            q += 4;
        }
    }
    if (unique == 1 && is_filler_byte(uniq[0]))
        q -= 10 * x->len;
    else
        q += 2 * unique;
    return 255 - 22 * RE_MAX_ATOM + q;
}

/* Trim leading/trailing any-bytes; returns how many leading bytes were removed. */
static int atom_trim(xatom *x)
{
    /* the common case: all bytes exact, nothing to trim */
    int exact = 0;
    while (exact < x->len && x->mask[exact] == 0xFF)
        exact++;
    if (exact == x->len && exact > 0)
        return 0;
    int left = 0;
    while (left < x->len && x->mask[left] == 0)
        left++;
    while (x->len > left && x->mask[x->len - 1] == 0)
        x->len--;
    x->len -= left;
    if (x->len == 0)
        return 0;
    int ff = 0, z = 0;
    for (int i = 0; i < x->len; i++) {
        if (x->mask[left + i] == 0xFF) ff++;
        else if (x->mask[left + i] == 0x00) z++;
    }
    if (z >= ff)
        x->len = 1;
    if (left == 0)
        return 0;
    for (int i = 0; i < RE_MAX_ATOM - left; i++) {
        x->bytes[i] = x->bytes[left + i];
        x->mask[i] = x->mask[left + i];
    }
    return left;
}

static void atom_from_nodes(const re_ast *a, xatom *x, const int *nodes, int n)
{
    memset(x, 0, sizeof *x);
    x->len = n;
    for (int i = 0; i < n; i++) {
        const re_node *r = &a->nodes[nodes[i]];
        if (r->type == N_ANY) { x->bytes[i] = 0; x->mask[i] = 0; }
        else { x->bytes[i] = r->value; x->mask[i] = r->mask; }
    }
}

typedef struct sitem { int re; int app; } sitem;   /* app: appending node or -1 */

static int extract_atoms(re_ast *a, tree *tr, int root_or)
{
    /* work stack: `local` until it is outgrown, then `heap` (st is the one in use) */
    sitem local[256];
    sitem *heap = NULL, *st = local;
    int cap = (int)(sizeof local / sizeof local[0]), sp = 0;
#define FREE_ST() free(heap)
#define PUSH(R, A) do { if (sp == cap) { int nc_ = cap * 2; \
        sitem *q_ = realloc(heap, sizeof(sitem) * (size_t)nc_); \
        if (!q_) { FREE_ST(); return RE_ENOMEM; } \
        if (!heap) memcpy(q_, local, sizeof local); \
        heap = st = q_; cap = nc_; } st[sp].re = (R); st[sp].app = (A); sp++; } while (0)
    PUSH(-1, root_or);
    PUSH(a->root, root_or);
    int recent[RE_MAX_ATOM], best_nodes[RE_MAX_ATOM];
    xatom best;
    memset(&best, 0, sizeof best);
    int best_quality = -1, n = 0, cur = -1;
    int guard = 0;
    while (sp > 0) {
        if (++guard > 50000000) { FREE_ST(); return RE_ELIMIT; }
        sitem si = st[--sp];
        if (si.app >= 0) {
            if (n > 0) {
                xatom x;
                atom_from_nodes(a, &x, recent, n);
                int shift = atom_trim(&x);
                int q = atom_quality(&x);
                int leaf = tnew(tr, T_LEAF);
                if (leaf < 0) { FREE_ST(); return RE_ENOMEM; }
                if (q > best_quality) {
                    tr->t[leaf].atom = x;
                    for (int i = 0; i + shift < RE_MAX_ATOM; i++)
                        tr->t[leaf].re_nodes[i] = i + shift < n ? recent[i + shift] : -1;
                } else {
                    tr->t[leaf].atom = best;
                    memcpy(tr->t[leaf].re_nodes, best_nodes, sizeof best_nodes);
                }
                tappend(tr, cur, leaf);
                n = 0;
            }
            cur = si.app;
            best_quality = -1;          /* each appending node starts its own best window */
        }
        if (si.re < 0)
            continue;
        re_node *r = &a->nodes[si.re];
        switch (r->type) {
        case N_LIT: case N_MASKED: case N_ANY:
            if (n < RE_MAX_ATOM) {
                recent[n] = si.re;
                best_nodes[n] = si.re;
                best.bytes[n] = r->type == N_ANY ? 0 : r->value;
                best.mask[n] = r->type == N_ANY ? 0 : r->mask;
                best.len = ++n;
            } else if (best_quality < 255) {
                xatom x;
                atom_from_nodes(a, &x, recent, n);
                int shift = atom_trim(&x);
                int q = atom_quality(&x);
                if (q > best_quality) {
                    for (int i = 0; i < x.len; i++) {
                        best.bytes[i] = x.bytes[i];
                        best.mask[i] = x.mask[i];
                        best_nodes[i] = recent[i + shift];
                    }
                    best.len = x.len;
                    best_quality = q;
                }
                for (int i = 1; i < RE_MAX_ATOM; i++)
                    recent[i - 1] = recent[i];
                recent[RE_MAX_ATOM - 1] = si.re;
            }
            break;
        case N_CONCAT:
            for (int k = r->last; k >= 0; k = a->nodes[k].prev)
                PUSH(k, -1);
            break;
        case N_ALT: {
            int and_ = tnew(tr, T_AND), lo = tnew(tr, T_OR), ro = tnew(tr, T_OR);
            if (and_ < 0 || lo < 0 || ro < 0) { FREE_ST(); return RE_ENOMEM; }
            tappend(tr, and_, lo);
            tappend(tr, and_, ro);
            tappend(tr, cur, and_);
            int first = r->first, last = r->last;
            PUSH(-1, cur);
            PUSH(last, ro);
            PUSH(first, lo);
            break;
        }
        case N_PLUS: {
            int ch = r->first;
            PUSH(-1, cur);
            PUSH(ch, -1);
            break;
        }
        case N_RANGE: {
            int ch = r->first, cnt = r->start < RE_MAX_ATOM ? r->start : RE_MAX_ATOM;

            PUSH(-1, cur);
            for (int i = 0; i < cnt; i++)
                PUSH(ch, -1);
            break;
        }
        default:
            PUSH(-1, cur);
            break;
        }
    }
    FREE_ST();
#undef PUSH
#undef FREE_ST
    return tr->err;
}

typedef struct alist {
    xatom *a;
    int *node;
    int n, cap;
} alist;

static int alist_push(alist *l, const xatom *x, int node)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 8;
        xatom *p = realloc(l->a, sizeof(xatom) * (size_t)nc);
        if (!p) return RE_ENOMEM;
        l->a = p;
        int *q = realloc(l->node, sizeof(int) * (size_t)nc);
        if (!q) return RE_ENOMEM;
        l->node = q;
        l->cap = nc;
    }
    l->a[l->n] = *x;
    l->node[l->n] = node;
    l->n++;
    return RE_OK;
}

static void alist_free(alist *l) { free(l->a); free(l->node); memset(l, 0, sizeof *l); }

/* YARA's _yr_atoms_choose. AND prepends each child's list (so later children come first). */
static int choose(tree *tr, int t, alist *out, int *quality, int depth)
{
    out->n = 0;
    *quality = 0;
    if (depth > 4 * RE_MAX_DEPTH + 16)
        return RE_ELIMIT;
    tnode *x = &tr->t[t];
    if (x->type == T_LEAF) {
        xatom at = x->atom;
        int shift = atom_trim(&at);
        if (at.len > 0) {
            int node = x->re_nodes[shift];
            if (alist_push(out, &at, node)) return RE_ENOMEM;
            *quality = atom_quality(&at);
        }
        return RE_OK;
    }
    if (x->type == T_OR) {
        int maxq = 0;
        for (int k = tr->t[t].first; k >= 0; k = tr->t[k].next) {
            alist sub = { 0 };
            int q;
            int rc = choose(tr, k, &sub, &q, depth + 1);
            if (rc) { alist_free(&sub); return rc; }
            if (q > maxq) {
                maxq = q;
                out->n = 0;
                for (int i = 0; i < sub.n; i++)
                    if (alist_push(out, &sub.a[i], sub.node[i])) { alist_free(&sub); return RE_ENOMEM; }
            }
            alist_free(&sub);
            if (maxq == 255)
                break;
        }
        *quality = maxq;
        return RE_OK;
    }
    /* AND */
    int minq = 255;
    for (int k = tr->t[t].first; k >= 0; k = tr->t[k].next) {
        alist sub = { 0 };
        int q;
        int rc = choose(tr, k, &sub, &q, depth + 1);
        if (rc) { alist_free(&sub); return rc; }
        if (q < minq)
            minq = q;
        if (sub.n > 0) {
            /* prepend sub to out */
            alist nl = { 0 };
            for (int i = 0; i < sub.n; i++)
                if (alist_push(&nl, &sub.a[i], sub.node[i])) { alist_free(&sub); alist_free(&nl); return RE_ENOMEM; }
            for (int i = 0; i < out->n; i++)
                if (alist_push(&nl, &out->a[i], out->node[i])) { alist_free(&sub); alist_free(&nl); return RE_ENOMEM; }
            alist_free(out);
            *out = nl;
        }
        alist_free(&sub);
    }
    *quality = minq;
    return RE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Whole compile                                                                                */

/* Entry of the whole forward program as used for a pattern without atoms. yara 4.2.3 enters a
 * leading e? / e{0,1} at e itself (observed: /d?\w/ only matches where 'd' is followed by a word
 * char), so descend through first children of concatenations and {0,1} ranges. */
static uint32_t zero_atom_entry(const re_ast *a)
{
    int n = a->root;
    for (int guard = 0; guard < RE_MAX_NODES; guard++) {
        const re_node *x = &a->nodes[n];
        if (x->type == N_CONCAT && x->first >= 0)
            n = x->first;
        else if (x->type == N_RANGE && x->start == 0 && x->end == 1 && x->first >= 0)
            n = x->first;
        else
            break;
    }
    return a->nodes[n].fref;
}

/* yara's ".*" warning looks at the top-level concatenation only (not inside groups that are
 * alternatives or repeats): .* .+ .{n,} (observed with yara 4.2.3). */
static bool top_dot_star(const re_ast *a, int n, int depth)
{
    const re_node *x = &a->nodes[n];
    if (depth > 2 * RE_MAX_DEPTH + 8)
        return false;
    switch (x->type) {
    case N_CONCAT:
        for (int k = x->first; k >= 0; k = a->nodes[k].next)
            if (top_dot_star(a, k, depth + 1))
                return true;
        return false;
    case N_STAR: case N_PLUS:
        return a->nodes[x->first].type == N_ANY;
    case N_RANGE_ANY:
        return x->end >= RE_MAX_RANGE;
    default:
        return false;
    }
}

static int build(re_ast *a, uint32_t flags, bool is_hex, re_code **out, re_error *err)
{
    cbuf c = { 0 };
    c.a = a;
    c.flags = flags;
    c.fast = is_hex && a->fast;
    for (int i = 0; i < a->n; i++)
        a->nodes[i].fref_set = 0;
    /* forward program */
    emit_node(&c, a, a->root, false, 0);
    emit_op(&c, OP_MATCH);
    /* backward program */
    uint32_t bw_start = c.n;
    emit_node(&c, a, a->root, true, 0);
    emit_op(&c, OP_MATCH);
    (void)bw_start;
    if (c.err) {
        free(c.p);
        snprintf(err->msg, sizeof err->msg, "%s", c.err == RE_ENOMEM ? "out of memory"
                 : "regular expression is too large");
        return c.err;
    }
    /* atoms */
    tree tr = { 0 };
    int root_or = tnew(&tr, T_OR);
    int rc = root_or < 0 ? RE_ENOMEM : extract_atoms(a, &tr, root_or);
    alist al = { 0 };
    int quality = 0;
    if (rc == RE_OK)
        rc = choose(&tr, root_or, &al, &quality, 0);
    free(tr.t);
    if (rc != RE_OK) {
        free(c.p);
        alist_free(&al);
        snprintf(err->msg, sizeof err->msg, "%s", rc == RE_ENOMEM ? "out of memory" : "pattern is too complex");
        return rc;
    }
    bool want_ascii = (flags & RE_ASCII) || !(flags & RE_WIDE);
    bool want_wide = (flags & RE_WIDE) != 0;
    uint32_t natoms = 0;
    if (al.n == 0)
        natoms = 1;
    else
        natoms = (uint32_t)al.n * ((want_ascii ? 1u : 0u) + (want_wide ? 1u : 0u));
    size_t hdr = (sizeof(re_code) + 7) & ~(size_t)7;
    size_t total = hdr + natoms * sizeof(re_atom) + c.n;
    if (total > UINT32_MAX) {
        free(c.p);
        alist_free(&al);
        return RE_ELIMIT;
    }
    re_code *rcd = calloc(1, total);
    if (!rcd) {
        free(c.p);
        alist_free(&al);
        return RE_ENOMEM;
    }
    rcd->size = (uint32_t)total;
    rcd->flags = flags;
    rcd->natoms = natoms;
    rcd->atoms_off = (uint32_t)hdr;
    rcd->code_off = (uint32_t)(hdr + natoms * sizeof(re_atom));
    rcd->code_len = c.n;
    rcd->search_fwd = a->nodes[a->root].fref;
    rcd->greedy = a->greedy && !is_hex;
    rcd->fast_hex = (uint8_t)(is_hex && a->fast);
    rcd->has_dot_star = !is_hex && top_dot_star(a, a->root, 0);
    rcd->min_quality = al.n ? quality : 0;
    re_atom *at = (re_atom *)((uint8_t *)rcd + rcd->atoms_off);
    uint32_t k = 0;
    if (al.n == 0) {
        at[0].len = 0;
        at[0].fwd = zero_atom_entry(a);
        at[0].bwd = RE_NO_CODE;
        at[0].quality = 0;
        at[0].nocase = (flags & RE_NOCASE) ? 1 : 0;
    } else {
        if (want_ascii) {
            for (int i = 0; i < al.n; i++, k++) {
                memcpy(at[k].bytes, al.a[i].bytes, RE_MAX_ATOM);
                memcpy(at[k].mask, al.a[i].mask, RE_MAX_ATOM);
                for (int j = al.a[i].len; j < RE_MAX_ATOM; j++) { at[k].bytes[j] = 0; at[k].mask[j] = 0; }
                at[k].len = (uint8_t)al.a[i].len;
                at[k].quality = atom_quality(&al.a[i]);
                at[k].nocase = (flags & RE_NOCASE) ? 1 : 0;
                at[k].fwd = a->nodes[al.node[i]].fref;
                at[k].bwd = a->nodes[al.node[i]].bref;
            }
        }
        if (want_wide) {
            /* YARA builds the wide list reversed */
            for (int i = al.n - 1; i >= 0; i--, k++) {
                memset(at[k].bytes, 0, RE_MAX_ATOM);
                memset(at[k].mask, 0xFF, RE_MAX_ATOM);
                for (int j = 0; j < al.a[i].len && j * 2 < RE_MAX_ATOM; j++) {
                    at[k].bytes[j * 2] = al.a[i].bytes[j];
                    at[k].mask[j * 2] = al.a[i].mask[j];
                }
                int wl = al.a[i].len * 2;
                at[k].len = (uint8_t)(wl < RE_MAX_ATOM ? wl : RE_MAX_ATOM);
                at[k].wide = 1;
                at[k].quality = atom_quality(&al.a[i]);
                at[k].nocase = (flags & RE_NOCASE) ? 1 : 0;
                at[k].fwd = a->nodes[al.node[i]].fref;
                at[k].bwd = a->nodes[al.node[i]].bref;
            }
        }
    }
    if ((flags & RE_NOCASE) && natoms > 1) {
        /* yara's case-combination step rebuilds the atom list in reverse order */
        for (uint32_t i = 0, j = natoms - 1; i < j; i++, j--) {
            re_atom t = at[i];
            at[i] = at[j];
            at[j] = t;
        }
    }
    memcpy((uint8_t *)rcd + rcd->code_off, c.p, c.n);
    free(c.p);
    alist_free(&al);
    *out = rcd;
    return RE_OK;
}

int re_compile_regex(const char *src, size_t len, uint32_t flags, re_code **out, re_error *err)
{
    re_error dummy;
    if (!err)
        err = &dummy;
    *out = NULL;
    re_ast a;
    re_ast_init(&a);
    int rc = re_parse_regex(src, len, &a, err);
    if (rc == RE_OK)
        rc = build(&a, flags, false, out, err);
    re_ast_free(&a);
    return rc;
}

/* A top-level jump that splits a string into chained pieces, as YARA does: in hex strings any
 * jump wider than RE_CHAIN_GAP, in regexes a lazy `.{n,m}?` / `.{n,}?` wider than that (a greedy
 * one is matched normally). The bytes in the gap are not examined at all. */
static bool is_split_jump(const re_node *x, bool hex)
{
    /* a jump at either end of the pattern is not a chaining point (there is nothing to chain) */
    return x->type == N_RANGE_ANY && (hex || !x->greedy) && x->prev >= 0 && x->next >= 0 &&
           (x->start > RE_CHAIN_GAP || x->end > RE_CHAIN_GAP);
}

/* Compile a parsed pattern, split at its top-level chaining jumps (see re_compile_hex). */
static int compile_split(re_ast *a, uint32_t flags, bool hex, re_code ***out, int32_t **gap_min,
                         int32_t **gap_max, int *npieces, re_error *err)
{
    int rc = RE_OK;
    int root = a->root;
    int count = 1;
    bool dot_star = !hex && top_dot_star(a, a->root, 0);
    if (a->nodes[root].type == N_CONCAT)
        for (int k = a->nodes[root].first; k >= 0; k = a->nodes[k].next)
            if (is_split_jump(&a->nodes[k], hex))
                count++;
    re_code **codes = calloc((size_t)count, sizeof *codes);
    int32_t *gmin = calloc((size_t)count, sizeof *gmin);
    int32_t *gmax = calloc((size_t)count, sizeof *gmax);
    if (!codes || !gmin || !gmax) {
        free(codes); free(gmin); free(gmax);
        return RE_ENOMEM;
    }
    int piece = 0;
    if (count == 1) {
        rc = build(a, flags, hex, &codes[0], err);
        piece = 1;
    } else {
        int k = a->nodes[root].first;
        while (k >= 0 && rc == RE_OK) {
            int cat = re_node_new(a, N_CONCAT);
            if (cat < 0) { rc = RE_ENOMEM; break; }
            int next = -1;
            int gap_lo = 0, gap_hi = 0;
            bool have_gap = false;
            /* move children until a split jump */
            while (k >= 0) {
                next = a->nodes[k].next;
                if (is_split_jump(&a->nodes[k], hex)) {
                    gap_lo = a->nodes[k].start;
                    gap_hi = a->nodes[k].end >= INT32_MAX / 2 ? -1 : a->nodes[k].end;
                    have_gap = true;
                    k = next;
                    break;
                }
                re_node_append(a, cat, k);
                k = next;
            }
            if (a->nodes[cat].last >= 0)
                a->nodes[a->nodes[cat].last].next = -1;
            a->root = cat;
            rc = build(a, flags, hex, &codes[piece], err);
            piece++;
            if (have_gap && piece < count) {
                gmin[piece] = gap_lo;
                gmax[piece] = gap_hi;
            }
        }
    }
    if (rc == RE_OK && !hex && codes[0])
        codes[0]->has_dot_star = dot_star;    /* the warning looks at the whole regex */
    if (rc == RE_OK && a->never_chain)
        for (int i = 1; i < piece; i++) {
            gmin[i] = INT32_MAX;      /* a gap no match can have: the chain never completes */
            gmax[i] = 0;
        }
    if (rc != RE_OK) {
        for (int i = 0; i < count; i++)
            free(codes[i]);
        free(codes); free(gmin); free(gmax);
        return rc;
    }
    *out = codes;
    *gap_min = gmin;
    *gap_max = gmax;
    *npieces = piece;
    return RE_OK;
}

/* Parse `src` as a hex string or a regex, then compile it split at its chaining jumps. */
static int parse_and_split(const char *src, size_t len, uint32_t flags, bool hex, re_code ***out,
                           int32_t **gap_min, int32_t **gap_max, int *npieces, re_error *err)
{
    re_error dummy;
    if (!err)
        err = &dummy;
    *out = NULL;
    *gap_min = *gap_max = NULL;
    *npieces = 0;
    re_ast a;
    re_ast_init(&a);
    int rc = hex ? re_parse_hex(src, len, &a, err) : re_parse_regex(src, len, &a, err);
    if (rc == RE_OK) {
        if (hex) {   /* hex strings: bytes are bytes (no case folding, no wide form, any byte) */
            flags |= RE_DOTALL;
            flags &= ~(uint32_t)(RE_NOCASE | RE_WIDE);
        }
        rc = compile_split(&a, flags, hex, out, gap_min, gap_max, npieces, err);
    }
    re_ast_free(&a);
    return rc;
}

int re_compile_hex(const char *src, size_t len, uint32_t flags,
                   re_code ***out, int32_t **gap_min, int32_t **gap_max, int *npieces,
                   re_error *err)
{
    return parse_and_split(src, len, flags, true, out, gap_min, gap_max, npieces, err);
}

int re_compile_regex_pieces(const char *src, size_t len, uint32_t flags,
                            re_code ***out, int32_t **gap_min, int32_t **gap_max, int *npieces,
                            re_error *err)
{
    return parse_and_split(src, len, flags, false, out, gap_min, gap_max, npieces, err);
}

int re_slow(const re_code *c)
{
    return c->min_quality < RE_QUALITY_WARN;
}

/* Walks one program region checking opcodes, operand bounds and jump targets. */
int re_code_check(const re_code *c, size_t size)
{
    if (!c || size < sizeof(re_code) || c->size != size)
        return -1;
    if (c->atoms_off < sizeof(re_code) || c->atoms_off > size)
        return -1;
    if ((uint64_t)c->natoms * sizeof(re_atom) > size - c->atoms_off)
        return -1;
    if (c->code_off < c->atoms_off + (uint64_t)c->natoms * sizeof(re_atom) || c->code_off > size)
        return -1;
    if ((uint64_t)c->code_off + c->code_len != size)
        return -1;
    if (c->atoms_off % 4 != 0)
        return -1;
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t n = c->code_len;
    /* every position must decode; jump targets must land inside the code */
    uint32_t pc = 0;
    while (pc < n) {
        uint8_t op = code[pc];
        uint32_t sz;
        switch (op) {
        case OP_MATCH: case OP_ANY: case OP_WORD: case OP_NWORD: case OP_SPACE: case OP_NSPACE:
        case OP_DIGIT: case OP_NDIGIT: case OP_BOL: case OP_EOL: case OP_WB: case OP_NWB:
            sz = 1; break;
        case OP_LIT: sz = 2; break;
        case OP_MASKED: sz = 3; break;
        case OP_CLASS: sz = 34; break;
        case OP_SPLIT_A: case OP_SPLIT_B: case OP_JMP: case OP_REPANY: sz = 5; break;
        default: return -1;
        }
        if (sz > n - pc)
            return -1;
        if (op == OP_SPLIT_A || op == OP_SPLIT_B || op == OP_JMP) {
            int32_t rel;
            memcpy(&rel, code + pc + 1, 4);
            int64_t t = (int64_t)pc + rel;
            if (t < 0 || t >= n)
                return -1;
        }
        pc += sz;
    }
    if (n == 0 || code[n - 1] != OP_MATCH)
        return -1;
    const re_atom *at = re_atoms(c);
    for (uint32_t i = 0; i < c->natoms; i++) {
        if (at[i].len > RE_MAX_ATOM || at[i].fwd >= n)
            return -1;
        if (at[i].bwd != RE_NO_CODE && at[i].bwd >= n)
            return -1;
    }
    if (c->search_fwd >= n)
        return -1;
    return 0;
}

int re_atom_quality(const uint8_t *bytes, const uint8_t *mask, int len)
{
    xatom x;
    memset(&x, 0, sizeof x);
    if (len > RE_MAX_ATOM) len = RE_MAX_ATOM;
    x.len = len;
    memcpy(x.bytes, bytes, (size_t)len);
    memcpy(x.mask, mask, (size_t)len);
    return atom_quality(&x);
}

int re_literal_slow(const uint8_t *s, size_t n)
{
    if (n == 0) return 0;
    int w = n < RE_MAX_ATOM ? (int)n : RE_MAX_ATOM;
    xatom x;
    memset(&x, 0, sizeof x);
    x.len = w;
    memset(x.mask, 0xFF, (size_t)w);
    /* slow iff every window is below RE_QUALITY_WARN: stop at the first one that is not */
    for (size_t i = 0; i + (size_t)w <= n; i++) {
        memcpy(x.bytes, s + i, (size_t)w);
        if (atom_quality(&x) >= RE_QUALITY_WARN)
            return 0;
    }
    return 1;
}
