/*
 * re_exec.c - executors for compiled patterns, plus re_verify() and re_search().
 *
 * re_exec_pike: lock-step threads in priority order with one thread per program counter per
 * step (the first, highest-priority thread to reach a pc wins), which is YARA's fiber list with
 * its duplicate-fiber removal. Non-exhaustive runs stop lower-priority threads when a thread
 * matches (YARA's "kill tail") and keep running higher-priority ones, so the result is the
 * length of the last match recorded. Exhaustive runs (backward programs) report every step at
 * which a thread matches. Time is O(steps * code size); steps <= RE_SCAN_LIMIT.
 *
 * re_exec_fast: YARA's depth-first executor for hex strings with only bytes, masks and jumps:
 * at a jump it first continues with the minimum length and stacks the other lengths, so they
 * are tried later from the shortest to the longest. Bounded explicit stack.
 *
 * All reads of data are bounds-checked; program counters are validated at each step.
 */
#include "match/re_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static int alter(int c)
{
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c >= 'a' && c <= 'z') return c - 32;
    return c;
}
static int wordc(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* Size of the instruction at pc, or 0 when invalid / truncated. */
static uint32_t isize(const uint8_t *code, uint32_t len, uint32_t pc)
{
    if (pc >= len)
        return 0;
    uint32_t sz;
    switch (code[pc]) {
    case OP_MATCH: case OP_ANY: case OP_WORD: case OP_NWORD: case OP_SPACE: case OP_NSPACE:
    case OP_DIGIT: case OP_NDIGIT: case OP_BOL: case OP_EOL: case OP_WB: case OP_NWB:
        sz = 1; break;
    case OP_LIT: sz = 2; break;
    case OP_MASKED: sz = 3; break;
    case OP_CLASS: sz = 34; break;
    case OP_SPLIT_A: case OP_SPLIT_B: case OP_JMP: case OP_REPANY: sz = 5; break;
    default: return 0;
    }
    return sz <= len - pc ? sz : 0;
}

static int64_t jtarget(const uint8_t *code, uint32_t pc)
{
    int32_t rel;
    memcpy(&rel, code + pc + 1, 4);
    return (int64_t)pc + rel;
}

typedef struct ctx {
    const uint8_t *code;
    uint32_t len;
    const uint8_t *data;
    size_t size, pos;
    int cs;                     /* character size: 1, or 2 in wide mode */
    bool bw, nocase, dotall;
    int maxb;                   /* max bytes matched */
} ctx;

/* Byte at "input" for bytes_matched bm (the character to be consumed next). -1 if outside. */
static int in_at(const ctx *x, int64_t bm, int off)
{
    int64_t p = x->bw ? (int64_t)x->pos - bm - x->cs + off : (int64_t)x->pos + bm + off;
    if (p < 0 || (size_t)p >= x->size)
        return -1;
    return x->data[p];
}

/* IS_WORD_CHAR at absolute index p (wide: the next byte must be 0). */
static bool word_at(const ctx *x, int64_t p)
{
    if (p < 0 || (size_t)p >= x->size)
        return false;
    if (!wordc(x->data[p]))
        return false;
    if (x->cs == 2)
        return (size_t)p + 1 < x->size && x->data[p + 1] == 0;
    return true;
}

static bool assertion(const ctx *x, uint8_t op, int bm)
{
    switch (op) {
    case OP_BOL:
        if (x->bw)
            return !((int64_t)x->pos > bm);
        return x->pos == 0 && bm == 0;
    case OP_EOL:
        if (x->bw)
            return false;
        return !((int64_t)(x->size - x->pos) > bm);
    default: {
        bool m;
        if (bm == 0 && (int64_t)x->pos < x->cs)
            m = true;
        else if (bm >= x->maxb)
            m = true;
        else {
            int64_t cur = x->bw ? (int64_t)x->pos - bm - x->cs : (int64_t)x->pos + bm;
            int64_t prev = x->bw ? cur + x->cs : cur - x->cs;
            m = word_at(x, prev) != word_at(x, cur);
        }
        return op == OP_WB ? m : !m;
    }
    }
}

/* Does the consuming instruction at pc accept the character at bm? */
static bool consume_ok(const ctx *x, uint32_t pc, int bm)
{
    if (bm >= x->maxb)
        return false;
    int c = in_at(x, bm, 0);
    if (c < 0)
        return false;
    if (x->cs == 2) {
        int z = in_at(x, bm, 1);
        if (z != 0)
            return false;
    }
    const uint8_t *ip = x->code + pc;
    switch (ip[0]) {
    case OP_LIT: return x->nocase ? lower(c) == lower(ip[1]) : c == ip[1];
    case OP_MASKED: return (c & ip[2]) == ip[1];
    case OP_ANY: return x->dotall || c != '\n';
    case OP_CLASS: {
        const uint8_t *b = ip + 2;
        bool in = (b[c >> 3] & (1u << (c & 7))) != 0;
        if (!in && x->nocase) {
            int a = alter(c);
            in = (b[a >> 3] & (1u << (a & 7))) != 0;
        }
        return ip[1] ? !in : in;
    }
    case OP_WORD: return wordc(c);
    case OP_NWORD: return !wordc(c);
    case OP_SPACE: return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    case OP_NSPACE: return !(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f');
    case OP_DIGIT: return c >= '0' && c <= '9';
    case OP_NDIGIT: return !(c >= '0' && c <= '9');
    default: return false;
    }
}

typedef struct scratch {
    uint32_t *cl, *nl, *stack, *mark;
    uint32_t ncl, nnl, gen;
} scratch;

/* Per-thread scratch of re_exec_pike (freed by the thread-key destructor at thread exit). */
typedef struct tls_scratch {
    uint32_t *cl, *nl, *stack, *mark;
    size_t cap;
    uint32_t gen;
} tls_scratch;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_ok;

static void tls_free(void *p)
{
    tls_scratch *t = p;
    if (!t)
        return;
    free(t->cl); free(t->nl); free(t->stack); free(t->mark);
    free(t);
}

static void tls_init(void) { tls_ok = pthread_key_create(&tls_key, tls_free) == 0; }

static tls_scratch *tls_get(size_t n)
{
    pthread_once(&tls_once, tls_init);
    if (!tls_ok)
        return NULL;
    tls_scratch *t = pthread_getspecific(tls_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(tls_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (t->cap < n) {
        size_t c = n < 256 ? 256 : n;
        uint32_t *cl = malloc(c * sizeof(uint32_t)), *nl = malloc(c * sizeof(uint32_t));
        uint32_t *st = malloc((2 * c + 2) * sizeof(uint32_t)), *mk = calloc(c, sizeof(uint32_t));
        if (!cl || !nl || !st || !mk) {
            free(cl); free(nl); free(st); free(mk);
            return NULL;
        }
        free(t->cl); free(t->nl); free(t->stack); free(t->mark);
        t->cl = cl; t->nl = nl; t->stack = st; t->mark = mk;
        t->cap = c;
        t->gen = 0;
    }
    return t;
}

/* Add the closure of pc (at bytes_matched bm) to list nl in priority order. */
static void addthread(const ctx *x, scratch *s, uint32_t pc0, int bm)
{
    uint32_t sp = 0;
    s->stack[sp++] = pc0;
    while (sp > 0) {
        uint32_t pc = s->stack[--sp];
        uint32_t sz = isize(x->code, x->len, pc);
        if (sz == 0)
            continue;
        if (s->mark[pc] == s->gen)
            continue;
        s->mark[pc] = s->gen;
        uint8_t op = x->code[pc];
        switch (op) {
        case OP_JMP: {
            int64_t t = jtarget(x->code, pc);
            if (t >= 0 && t < x->len)
                s->stack[sp++] = (uint32_t)t;
            break;
        }
        case OP_SPLIT_A: case OP_SPLIT_B: {
            int64_t t = jtarget(x->code, pc);
            uint32_t nx = pc + 5;
            bool tok = t >= 0 && t < x->len;
            if (op == OP_SPLIT_A) {          /* next first */
                if (tok) s->stack[sp++] = (uint32_t)t;
                s->stack[sp++] = nx;
            } else {
                s->stack[sp++] = nx;
                if (tok) s->stack[sp++] = (uint32_t)t;
            }
            break;
        }
        case OP_BOL: case OP_EOL: case OP_WB: case OP_NWB:
            if (assertion(x, op, bm))
                s->stack[sp++] = pc + 1;
            break;
        default:
            s->nl[s->nnl++] = pc;
        }
    }
}

/* 1 when the epsilon closure of pc reaches no assertion (BOL/EOL/WB/NWB) within a few steps:
 * then the list addthread(pc) builds does not depend on the position. */
static bool closure_plain(const uint8_t *code, uint32_t len, uint32_t pc)
{
    uint32_t st[16];
    int sp = 0, steps = 0;
    st[sp++] = pc;
    while (sp > 0) {
        if (++steps > 16)
            return false;
        uint32_t p = st[--sp];
        uint32_t sz = isize(code, len, p);
        if (sz == 0)
            return false;
        switch (code[p]) {
        case OP_BOL: case OP_EOL: case OP_WB: case OP_NWB:
            return false;
        case OP_JMP: case OP_SPLIT_A: case OP_SPLIT_B: {
            int64_t t = jtarget(code, p);
            if (t < 0 || t >= len || sp >= 14)
                return false;
            st[sp++] = (uint32_t)t;
            if (code[p] != OP_JMP)
                st[sp++] = p + 5;
            break;
        }
        default:
            break;
        }
    }
    return true;
}

int re_exec_pike(const uint8_t *code, uint32_t code_len, uint32_t pc, const uint8_t *data,
                 size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud)
{
    ctx x;
    x.code = code;
    x.len = code_len;
    x.data = data;
    x.size = size;
    x.pos = pos;
    x.cs = (flags & RE_X_WIDE) ? 2 : 1;
    x.bw = (flags & RE_X_BACKWARDS) != 0;
    x.nocase = (flags & RE_NOCASE) != 0;
    x.dotall = (flags & RE_DOTALL) != 0;
    if (pos > size)
        return -1;
    size_t avail = x.bw ? pos : size - pos;
    x.maxb = (int)(avail < RE_SCAN_LIMIT ? avail : RE_SCAN_LIMIT);
    x.maxb -= x.maxb % x.cs;
    bool exhaustive = (flags & RE_X_EXHAUSTIVE) != 0;

    scratch s;
    size_t n = (size_t)code_len + 1;
    /* per-thread buffers, reused across calls; `mark` holds generation numbers that only grow,
     * so it never needs clearing (no malloc or memset per verification) */
    tls_scratch *ts = tls_get(n);
    if (!ts)
        return RE_EXEC_ERR + RE_ENOMEM;
    s.cl = ts->cl;
    s.nl = ts->nl;
    s.stack = ts->stack;
    s.mark = ts->mark;
    if (ts->gen > UINT32_MAX - 2 * (uint32_t)RE_SCAN_LIMIT - 16) {
        memset(ts->mark, 0, ts->cap * sizeof(uint32_t));
        ts->gen = 0;
    }
    s.gen = ts->gen + 1;
    s.nnl = 0;
    int bm = 0;
    addthread(&x, &s, pc, bm);
    int result = -1;
    for (;;) {
        uint32_t *t = s.cl; s.cl = s.nl; s.nl = t;
        s.ncl = s.nnl;
        s.nnl = 0;
        if (s.ncl == 0)
            break;
        s.gen++;
        /* A greedy loop at the end of the pattern (`[^\r=]+`, `.*`): the list is [X, MATCH]
         * and consuming X rebuilds exactly [X, MATCH]. Every step then records a match at the
         * current length until X fails or the scan limit is reached, so run X over the bytes
         * directly instead of stepping the threads (same result, no per-byte closure). */
        if (!exhaustive && s.ncl == 2 && code[s.cl[1]] == OP_MATCH && code[s.cl[0]] != OP_MATCH) {
            uint32_t xp = s.cl[0], nx = xp + isize(code, code_len, xp);
            if (closure_plain(code, code_len, nx)) {
                addthread(&x, &s, nx, bm);
                bool fixed = s.nnl == 2 && s.nl[0] == xp && s.nl[1] == s.cl[1];
                s.nnl = 0;
                s.gen++;            /* forget the trial's marks */
                if (fixed) {
                    for (;;) {
                        bool ok = consume_ok(&x, xp, bm);
                        result = bm;
                        bm += x.cs;
                        if (bm > x.maxb + 2 || !ok)
                            break;
                    }
                    break;
                }
            }
        }
        for (uint32_t i = 0; i < s.ncl; i++) {
            uint32_t tp = s.cl[i];
            if (code[tp] == OP_MATCH) {
                if (exhaustive) {
                    if (cb && cb(bm, ud)) { i = s.ncl; s.nnl = 0; break; }
                    continue;
                }
                result = bm;
                break;                   /* kill tail */
            }
            if (consume_ok(&x, tp, bm))
                addthread(&x, &s, tp + isize(code, code_len, tp), bm + x.cs);
        }
        bm += x.cs;
        if (bm > x.maxb + 2)
            break;
    }
    ts->gen = s.gen;
    return exhaustive ? 0 : result;
}

#define FAST_STACK 1024

int re_exec_fast(const uint8_t *code, uint32_t code_len, uint32_t pc0, const uint8_t *data,
                 size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud)
{
    bool bw = (flags & RE_X_BACKWARDS) != 0;
    bool exhaustive = (flags & RE_X_EXHAUSTIVE) != 0;
    if (pos > size)
        return -1;
    size_t avail = bw ? pos : size - pos;
    int maxb = (int)(avail < RE_SCAN_LIMIT ? avail : RE_SCAN_LIMIT);
    struct { uint32_t pc; int bm; } st[FAST_STACK];
    int sp = 0;
    st[sp].pc = pc0; st[sp].bm = 0; sp++;
    long guard = 0;
#define BYTE_AT(BM) (bw ? data[pos - 1 - (size_t)(BM)] : data[pos + (size_t)(BM)])
    while (sp > 0) {
        sp--;
        uint32_t pc = st[sp].pc;
        int bm = st[sp].bm;
        for (;;) {
            if (++guard > 50000000L) { return RE_EXEC_ERR + RE_ELIMIT; }
            uint32_t sz = isize(code, code_len, pc);
            if (sz == 0)
                break;
            uint8_t op = code[pc];
            if (op == OP_MATCH) {
                if (exhaustive) {
                    if (cb && cb(bm, ud)) { return 0; }
                    break;
                }
                                return bm;
            }
            if (op == OP_LIT || op == OP_MASKED || op == OP_ANY) {
                if (bm >= maxb)
                    break;
                int c = BYTE_AT(bm);
                bool ok = op == OP_LIT ? c == code[pc + 1]
                        : op == OP_MASKED ? (c & code[pc + 2]) == code[pc + 1] : true;
                if (!ok)
                    break;
                bm++;
                pc += sz;
                continue;
            }
            if (op == OP_REPANY) {
                uint16_t lo, hi;
                memcpy(&lo, code + pc + 1, 2);
                memcpy(&hi, code + pc + 3, 2);
                uint32_t next = pc + 5;
                uint32_t nsz = isize(code, code_len, next);
                /* stacked so that shorter jumps are popped first (lazy order) */
                for (int i = hi; i >= lo + 1; i--) {
                    if (bm + i >= maxb)
                        continue;
                    if (nsz == 2 && code[next] == OP_LIT && code[next + 1] != BYTE_AT(bm + i))
                        continue;
                    if (sp >= FAST_STACK) { return RE_EXEC_ERR + RE_ELIMIT; }
                    st[sp].pc = next; st[sp].bm = bm + i; sp++;
                }
                bm += lo;
                pc = next;
                continue;
            }
            break;                       /* anything else: not valid in fast code */
        }
    }
#undef BYTE_AT
        return exhaustive ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct vctx {
    re_emit_fn emit;
    void *ud;
    size_t pos;
    int fwd;
    int stop;
    int wide;
} vctx;

static int on_back(int bl, void *ud)
{
    vctx *v = ud;
    size_t len = (size_t)bl + (size_t)v->fwd;
    if (len == 0)
        return 0;
    if (v->emit((size_t)(v->pos - (size_t)bl), len, v->wide, v->ud)) {
        v->stop = 1;
        return 1;
    }
    return 0;
}

int re_verify(const re_code *c, uint32_t ai, const uint8_t *data, size_t size, size_t pos,
              re_emit_fn emit, void *ud)
{
    if (!c || ai >= c->natoms || pos > size)
        return RE_ESYNTAX;
    const re_atom *at = &re_atoms(c)[ai];
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t len = c->code_len;
    int (*ex)(const uint8_t *, uint32_t, uint32_t, const uint8_t *, size_t, size_t, uint32_t,
              re_len_fn, void *) = c->fast_hex ? re_exec_fast : re_exec_pike;
    uint32_t base = c->flags & (RE_NOCASE | RE_DOTALL);
    bool ascii = (c->flags & RE_ASCII) || !(c->flags & RE_WIDE);
    int fwd = -1;
    uint32_t mode = 0;
    if (ascii)
        fwd = ex(code, len, at->fwd, data, size, pos, base, NULL, NULL);
    if (fwd < -1)
        return fwd - RE_EXEC_ERR;
    if (fwd == -1 && (c->flags & RE_WIDE)) {
        mode = RE_X_WIDE;
        fwd = ex(code, len, at->fwd, data, size, pos, base | mode, NULL, NULL);
        if (fwd < -1)
            return fwd - RE_EXEC_ERR;
    }
    if (fwd < 0)
        return RE_OK;
    if (at->bwd == RE_NO_CODE) {
        if (fwd > 0)
            emit(pos, (size_t)fwd, mode == RE_X_WIDE, ud);
        return RE_OK;
    }
    vctx v = { emit, ud, pos, fwd, 0, mode == RE_X_WIDE };
    int r = ex(code, len, at->bwd, data, size, pos, base | mode | RE_X_BACKWARDS | RE_X_EXHAUSTIVE,
               on_back, &v);
    if (r < -1)
        return r - RE_EXEC_ERR;
    return RE_OK;
}

int re_fwd_prefix(const re_code *c, uint32_t ai, int form, uint8_t val[8], uint8_t mask[8])
{
    if (!c || ai >= c->natoms)
        return 0;
    bool ascii = (c->flags & RE_ASCII) || !(c->flags & RE_WIDE);
    if (form == 0 ? !ascii : !(c->flags & RE_WIDE))
        return 0;
    const re_atom *at = &re_atoms(c)[ai];
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t len = c->code_len, pc = at->fwd;
    /* the fast executor compares bytes exactly; the pike one folds case under RE_NOCASE */
    bool fold = !c->fast_hex && (c->flags & RE_NOCASE);
    int step = form ? 2 : 1, n = 0;
    while (n + step <= 8) {
        uint32_t sz = isize(code, len, pc);
        if (sz == 0)
            break;
        uint8_t op = code[pc], v, m;
        if (op == OP_LIT) {
            v = code[pc + 1];
            m = 0xFF;
            if (fold && ((v | 0x20) >= 'a' && (v | 0x20) <= 'z')) {
                v &= 0xDF;
                m = 0xDF;
            }
        } else if (op == OP_MASKED) {
            v = code[pc + 1];
            m = code[pc + 2];      /* v keeps bits outside m: then it never matches, as here */
        } else if (op == OP_ANY) {
            v = 0;
            m = 0;
        } else
            break;
        val[n] = v;
        mask[n] = m;
        n++;
        if (form) {
            val[n] = 0;
            mask[n] = 0xFF;
            n++;
        }
        pc += sz;
    }
    while (n > 0 && mask[n - 1] == 0)
        n--;
    return n;
}

/* Unanchored existence search: lock-step threads, one per pc, keeping the most recent start
 * (a later start has the same future and more of the RE_SCAN_LIMIT budget left). */
int re_search(const re_code *c, const uint8_t *s, size_t slen)
{
    if (!c)
        return RE_ESYNTAX;
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t len = c->code_len;
    size_t n = (size_t)len + 1;
    uint32_t *cl = malloc(n * sizeof(uint32_t)), *nl = malloc(n * sizeof(uint32_t));
    size_t *cst = malloc(n * sizeof(size_t)), *nst = malloc(n * sizeof(size_t));
    uint32_t *stack = malloc((2 * n + 2) * sizeof(uint32_t));
    uint32_t *mark = calloc(n, sizeof(uint32_t));
    int found = 0;
    if (!cl || !nl || !cst || !nst || !stack || !mark) {
        found = RE_ENOMEM;
        goto out;
    }
    ctx x;
    x.code = code; x.len = len; x.data = s; x.size = slen; x.cs = 1; x.bw = false;
    x.nocase = (c->flags & RE_NOCASE) != 0;
    x.dotall = (c->flags & RE_DOTALL) != 0;
    uint32_t ncl = 0, gen = 0;
    for (size_t i = 0; i <= slen && !found; i++) {
        gen++;
        uint32_t nnl = 0;
        scratch sc = { .cl = NULL, .nl = nl, .stack = stack, .mark = mark, .nnl = 0, .gen = gen };
        /* fresh thread starting at i first (it has the most budget), then advanced ones */
        x.pos = i;
        {
            size_t avail = slen - i;
            x.maxb = (int)(avail < RE_SCAN_LIMIT ? avail : RE_SCAN_LIMIT);
            uint32_t before = sc.nnl;
            addthread(&x, &sc, (uint32_t)c->search_fwd, 0);
            for (uint32_t k = before; k < sc.nnl; k++)
                nst[k] = i;
        }
        for (uint32_t k = 0; k < ncl; k++) {
            size_t st = cst[k];
            x.pos = st;
            size_t avail = slen - st;
            x.maxb = (int)(avail < RE_SCAN_LIMIT ? avail : RE_SCAN_LIMIT);
            int bm = (int)(i - 1 - st);
            if (consume_ok(&x, cl[k], bm)) {
                uint32_t before = sc.nnl;
                addthread(&x, &sc, cl[k] + isize(code, len, cl[k]), bm + 1);
                for (uint32_t q = before; q < sc.nnl; q++)
                    nst[q] = st;
            }
        }
        nnl = sc.nnl;
        for (uint32_t k = 0; k < nnl; k++)
            if (code[nl[k]] == OP_MATCH) { found = 1; break; }
        uint32_t *t = cl; cl = nl; nl = t;
        size_t *ts = cst; cst = nst; nst = ts;
        ncl = nnl;
    }
out:
    free(cl); free(nl); free(cst); free(nst); free(stack); free(mark);
    return found;
}

int re_fwd_key(const re_code *c, uint32_t ai, uint32_t *d, uint32_t *jmin, uint32_t *jmax,
               uint8_t key[4])
{
    if (!c || ai >= c->natoms || !c->fast_hex || (c->flags & RE_WIDE))
        return 0;
    const re_atom *at = &re_atoms(c)[ai];
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t len = c->code_len, pc = at->fwd;
    uint32_t n = 0;                /* byte ops walked from the atom's first byte */
    uint32_t run = 0;              /* exact bytes in a row just before n */
    uint8_t last[4];
    for (int steps = 0; steps < 4096; steps++) {
        uint32_t sz = isize(code, len, pc);
        if (sz == 0)
            return 0;
        uint8_t op = code[pc];
        if (op == OP_LIT) {
            last[run % 4] = code[pc + 1];
            run++;
            n++;
        } else if (op == OP_MASKED || op == OP_ANY) {
            run = 0;
            n++;
        } else if (op == OP_REPANY) {
            uint16_t lo, hi;
            memcpy(&lo, code + pc + 1, 2);
            memcpy(&hi, code + pc + 3, 2);
            if (hi < lo || hi - lo > 32)
                break;
            /* the first 4 bytes after the jump, if exact */
            uint32_t q = pc + sz, k = 0;
            while (k < 4) {
                uint32_t s2 = isize(code, len, q);
                if (s2 == 0 || code[q] != OP_LIT)
                    break;
                key[k++] = code[q + 1];
                q += s2;
            }
            if (k == 4) {
                *d = n;
                *jmin = lo;
                *jmax = hi;
                return 1;
            }
            break;
        } else {
            break;             /* MATCH or anything else: straight part ends */
        }
        pc += sz;
    }
    /* no usable jump: the last 4 exact bytes in a row of the straight part, past the atom */
    if (run >= 4 && n - 4 >= at->len) {
        for (int k = 0; k < 4; k++)
            key[k] = last[(run - 4 + (uint32_t)k) % 4];
        *d = n - 4;
        *jmin = *jmax = 0;
        return 1;
    }
    return 0;
}
