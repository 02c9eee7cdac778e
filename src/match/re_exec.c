/*
 * re_exec.c - executors for compiled patterns, plus re_verify() and re_search().
 *
 * re_exec_pike: lock-step threads in priority order with one thread per program counter per
 * step (the first, highest-priority thread to reach a pc wins), which is YARA's fiber list with
 * its duplicate-fiber removal. Non-exhaustive runs stop lower-priority threads when a thread
 * matches (YARA's "kill tail") and keep running higher-priority ones, so the result is the
 * length of the last match recorded. Exhaustive runs (backward programs) report every step at
 * which a thread matches. Time is O(steps * code size); steps <= RE_SCAN_LIMIT.
 * Shortcuts that give the same lists, hence the same results:
 *  - lists hold only threads that accept the character of their step (addthread filters), so
 *    a list that empties ends the run at once;
 *  - a single thread on a straight run of consuming instructions is followed byte by byte
 *    (run_chain), without closures; a program whose start fails that way needs no scratch;
 *  - a list that stepping rebuilds unchanged (`[^\r]*` waiting for what follows, `.*` at the
 *    end) is "stable": it repeats over every character of a skip set computed once, so the run
 *    jumps over such characters (memchr when the set misses at most SKIP_EX characters).
 *
 * re_exec_fast: YARA's executor for hex strings with only bytes, masks and jumps: one
 * instruction at a time over a list of input positions, with YARA's dedup of positions (see
 * fast_run). Bounded list and instruction count.
 *
 * re_verify runs the forward program, then the backward one (exhaustive) with the forward
 * length; a bounded probe of the backward program first (RE_X_PROBE) skips hits where it
 * cannot match, as nothing would be emitted then.
 *
 * All reads of data are bounds-checked; program counters are validated at each step.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1          /* memrchr */
#endif
#include "match/re_internal.h"

#include <pthread.h>
#include <stdint.h>
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

/* Instruction sizes by opcode; 0 = not an opcode. */
static const uint8_t op_size[256] = {
    [OP_MATCH] = 1, [OP_LIT] = 2, [OP_MASKED] = 3, [OP_ANY] = 1, [OP_CLASS] = 34,
    [OP_WORD] = 1, [OP_NWORD] = 1, [OP_SPACE] = 1, [OP_NSPACE] = 1, [OP_DIGIT] = 1,
    [OP_NDIGIT] = 1, [OP_BOL] = 1, [OP_EOL] = 1, [OP_WB] = 1, [OP_NWB] = 1,
    [OP_SPLIT_A] = 5, [OP_SPLIT_B] = 5, [OP_JMP] = 5, [OP_REPANY] = 5,
};

/* Size of the instruction at pc, or 0 when invalid / truncated. */
static inline uint32_t isize(const uint8_t *code, uint32_t len, uint32_t pc)
{
    if (pc >= len)
        return 0;
    uint32_t sz = op_size[code[pc]];
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

static bool spacec(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The character consumed at bytes_matched bm: 0..255, or -1 when there is none (at or past
 * maxb, outside the data, or in wide mode a second byte that is not 0). */
static inline int char_at(const ctx *x, int bm)
{
    if (bm >= x->maxb)
        return -1;
    if (x->cs == 1 && bm >= 0)  /* 0 <= bm < maxb <= size - pos (forwards) or pos (backwards) */
        return x->bw ? x->data[x->pos - 1 - (size_t)bm] : x->data[x->pos + (size_t)bm];
    int c = in_at(x, bm, 0);
    if (c >= 0 && x->cs == 2 && in_at(x, bm, 1) != 0)
        return -1;
    return c;
}

/* Does the instruction at ip consume character c (0..255; -1 = no character)? MATCH,
 * assertions, jumps and anything unknown never do. */
static inline bool accepts(const ctx *x, const uint8_t *ip, int c)
{
    if (c < 0)
        return false;
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
    case OP_SPACE: return spacec(c);
    case OP_NSPACE: return !spacec(c);
    case OP_DIGIT: return c >= '0' && c <= '9';
    case OP_NDIGIT: return !(c >= '0' && c <= '9');
    default: return false;
    }
}

/* Does the consuming instruction at pc accept the character at bm? */
static bool consume_ok(const ctx *x, uint32_t pc, int bm)
{
    return accepts(x, x->code + pc, char_at(x, bm));
}

/* The set of characters (256-bit map) the instruction at ip accepts: accepts(x, ip, c) for
 * every c, computed wholesale for the common opcodes. */
static void accept_set(const ctx *x, const uint8_t *ip, uint64_t a[4])
{
    a[0] = a[1] = a[2] = a[3] = 0;
    switch (ip[0]) {
    case OP_LIT: {
        int v = ip[1];
        a[v >> 6] |= 1ull << (v & 63);
        if (x->nocase) {       /* lower(c) == lower(v): v and its other case, if a letter */
            v = alter(v);
            a[v >> 6] |= 1ull << (v & 63);
        }
        return;
    }
    case OP_ANY:
        a[0] = a[1] = a[2] = a[3] = ~0ull;
        if (!x->dotall)
            a[0] &= ~(1ull << '\n');
        return;
    case OP_CLASS: {
        const uint8_t *b = ip + 2;
        for (int k = 0; k < 4; k++) {      /* bit c&63 of word c>>6 = bit c&7 of byte c>>3 */
            uint64_t w = 0;
            for (int j = 0; j < 8; j++)
                w |= (uint64_t)b[8 * k + j] << (8 * j);
            a[k] = w;
        }
        if (x->nocase)         /* in(c) || in(alter(c)); alter only swaps letters */
            for (int v = 0; v < 256; v++)
                if ((b[v >> 3] >> (v & 7)) & 1) {
                    int u = alter(v);
                    a[u >> 6] |= 1ull << (u & 63);
                }
        if (ip[1])
            for (int k = 0; k < 4; k++)
                a[k] = ~a[k];
        return;
    }
    default:
        for (int v = 0; v < 256; v++)
            if (accepts(x, ip, v))
                a[v >> 6] |= 1ull << (v & 63);
        return;
    }
}

static inline bool in_set(const uint64_t a[4], int c)
{
    return c >= 0 && ((a[c >> 6] >> (c & 63)) & 1);
}

typedef struct scratch {
    uint32_t *cl, *nl, *stack, *mark;
    uint32_t ncl, nnl, gen;
    bool asserted;             /* addthread evaluated an assertion (the list is position-bound) */
} scratch;

/* Per-thread scratch of re_exec_pike (freed by the thread-key destructor at thread exit). */
typedef struct tls_scratch {
    uint32_t *cl, *nl, *stack, *mark, *ul, *sl;
    size_t cap;
    uint32_t gen;
} tls_scratch;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_ok;
/* This thread's scratch once set up (the key owns it; this is only a faster way to find it). */
static _Thread_local tls_scratch *tls_cur;

static void tls_free_bufs(tls_scratch *t)
{
    free(t->cl); free(t->nl); free(t->stack); free(t->mark); free(t->ul); free(t->sl);
}

static void tls_free(void *p)
{
    tls_scratch *t = p;
    if (!t)
        return;
    if (tls_cur == t)
        tls_cur = NULL;
    tls_free_bufs(t);
    free(t);
}

static void tls_init(void) { tls_ok = pthread_key_create(&tls_key, tls_free) == 0; }

/* This thread's scratch with room for n program counters (n >= code length + 1). */
static tls_scratch *tls_get(size_t n)
{
    tls_scratch *t = tls_cur;
    if (t && t->cap >= n)
        return t;
    pthread_once(&tls_once, tls_init);
    if (!tls_ok)
        return NULL;
    t = pthread_getspecific(tls_key);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || pthread_setspecific(tls_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (t->cap < n) {
        size_t c = n < 256 ? 256 : n;
        tls_scratch nt = { 0 };
        nt.cl = malloc(c * sizeof(uint32_t));
        nt.nl = malloc(c * sizeof(uint32_t));
        nt.ul = malloc(c * sizeof(uint32_t));
        nt.sl = malloc(c * sizeof(uint32_t));
        nt.stack = malloc((2 * c + 2) * sizeof(uint32_t));
        nt.mark = calloc(c, sizeof(uint32_t));
        if (!nt.cl || !nt.nl || !nt.ul || !nt.sl || !nt.stack || !nt.mark) {
            tls_free_bufs(&nt);
            return NULL;
        }
        tls_free_bufs(t);
        nt.cap = c;
        nt.gen = 0;
        *t = nt;
    }
    tls_cur = t;
    return t;
}

/* Add the closure of pc0 (at bytes_matched bm) to s->nl in priority order: follow jumps, splits
 * (higher-priority branch first) and assertions that hold at bm; each pc at most once per
 * generation (s->gen), the first path to reach it wins. With `filter`, a consuming instruction
 * that does not accept c (the character at bm, -1 = none) is left out: it would die at this
 * step without effect, as its pc stays marked either way. MATCH is always kept. */
static void addthread(const ctx *x, scratch *s, uint32_t pc0, int bm, int c, bool filter)
{
    /* locals: stores into the lists cannot then be assumed to alias the scratch fields */
    const uint8_t *code = x->code;
    const uint32_t len = x->len, gen = s->gen;
    uint32_t *const mark = s->mark, *const stack = s->stack, *const nl = s->nl;
    uint32_t nnl = s->nnl, sp = 0, pc = pc0;
    for (;;) {
        if (pc >= len || mark[pc] == gen || isize(code, len, pc) == 0)
            goto pop;
        mark[pc] = gen;
        uint8_t op = code[pc];
        switch (op) {
        case OP_JMP: {
            int64_t t = jtarget(code, pc);
            if (t >= 0 && t < len) {
                pc = (uint32_t)t;
                continue;
            }
            goto pop;
        }
        case OP_SPLIT_A: case OP_SPLIT_B: {
            int64_t t = jtarget(code, pc);
            uint32_t nx = pc + 5;
            bool tok = t >= 0 && t < len;
            if (op == OP_SPLIT_A) {          /* next first */
                if (tok)
                    stack[sp++] = (uint32_t)t;
                pc = nx;
                continue;
            }
            stack[sp++] = nx;
            if (tok) {
                pc = (uint32_t)t;
                continue;
            }
            goto pop;
        }
        case OP_BOL: case OP_EOL: case OP_WB: case OP_NWB:
            s->asserted = true;
            if (assertion(x, op, bm)) {
                pc = pc + 1;
                continue;
            }
            goto pop;
        default:
            if (!filter || op == OP_MATCH || accepts(x, code + pc, c))
                nl[nnl++] = pc;
            goto pop;
        }
    pop:
        if (sp == 0)
            break;
        pc = stack[--sp];
    }
    s->nnl = nnl;
}

/* Opcodes that consume one character. */
static const bool op_consumes[256] = {
    [OP_LIT] = true, [OP_MASKED] = true, [OP_ANY] = true, [OP_CLASS] = true, [OP_WORD] = true,
    [OP_NWORD] = true, [OP_SPACE] = true, [OP_NSPACE] = true, [OP_DIGIT] = true,
    [OP_NDIGIT] = true,
};

static inline bool consumer(uint8_t op) { return op_consumes[op]; }

/* A straight run of consuming instructions. The list is the single thread [p] at *bm (p
 * accepted the character there). While p's successor is a consuming instruction, the list at
 * the next step is that successor alone if it accepts the next character, else empty: no
 * closure, mark or match can happen in between. Returns the last pc of the run still alive,
 * with *bm at its step, or RE_NO_CODE when the run dies. */
static uint32_t run_chain(const ctx *x, uint32_t p, int *bm)
{
    const uint8_t *code = x->code;
    uint32_t len = x->len, q = p + isize(code, len, p);
    int b = *bm;
    if (x->cs == 1) {
        /* plain characters, read directly: the one at step k is data[at + dir * k], inside
         * the data for 0 <= k < maxb (maxb <= size - pos, or <= pos backwards) */
        const uint8_t *data = x->data;
        const ptrdiff_t at = x->bw ? (ptrdiff_t)x->pos - 1 : (ptrdiff_t)x->pos;
        const ptrdiff_t dir = x->bw ? -1 : 1;
        const int maxb = x->maxb;
        if (b < 0)
            return RE_NO_CODE;
        while (q < len) {
            uint8_t op = code[q];
            if (op == OP_LIT) {
                if (len - q < 2)
                    break;
                if (b + 1 >= maxb)
                    return RE_NO_CODE;
                int c = data[at + dir * (b + 1)], v = code[q + 1];
                if (c != v && !(x->nocase && lower(c) == lower(v)))
                    return RE_NO_CODE;
            } else if (op == OP_MASKED) {
                if (len - q < 3)
                    break;
                if (b + 1 >= maxb || (data[at + dir * (b + 1)] & code[q + 2]) != code[q + 1])
                    return RE_NO_CODE;
            } else {
                if (isize(code, len, q) == 0 || !consumer(op))
                    break;      /* not a consuming instruction: the run ends */
                if (b + 1 >= maxb || !accepts(x, code + q, data[at + dir * (b + 1)]))
                    return RE_NO_CODE;
            }
            p = q;
            q += op_size[op];
            b++;
        }
        *bm = b;
        return p;
    }
    for (;;) {
        uint32_t sz = isize(code, len, q);
        if (sz == 0 || !consumer(code[q]))
            break;              /* not a consuming instruction: the run ends */
        if (!accepts(x, code + q, char_at(x, b + x->cs)))
            return RE_NO_CODE;
        p = q;
        q += sz;
        b += x->cs;
    }
    *bm = b;
    return p;
}

#define SKIP_EX 4               /* memchr for skip sets missing at most this many characters */

typedef struct skipset {
    uint64_t set[4];           /* characters over which the stable list repeats */
    int nex;                   /* characters outside the set (counted up to SKIP_EX + 1) */
    uint8_t ex[SKIP_EX];       /* those characters when nex <= SKIP_EX */
} skipset;

/*
 * Skip set of a stable list. A list L (each consuming thread of it accepted the current
 * character) is stable when stepping it rebuilt exactly L with no assertion on the way: the
 * closure U of the successors of L's live threads (those before a MATCH, which kills the rest)
 * is then the same at every position, and the list after the next character c is U filtered by
 * c. That is L again exactly when c is accepted by every consuming thread of L and by no other
 * thread of U: those characters form the skip set, over which L repeats unchanged, recording a
 * match at each step when L holds a MATCH. Builds U in ubuf (fresh generation); returns false
 * when the set cannot be used (assertion in U, or L not the filtered U).
 */
static bool skip_set(const ctx *x, scratch *s, const uint32_t *L, uint32_t nl, uint32_t *ubuf,
                     skipset *ks)
{
    uint64_t *set = ks->set;
    scratch u = *s;
    u.gen = ++s->gen;
    u.nl = ubuf;
    u.nnl = 0;
    u.asserted = false;
    for (uint32_t i = 0; i < nl; i++) {
        uint32_t p = L[i];
        if (x->code[p] == OP_MATCH)
            break;
        addthread(x, &u, p + isize(x->code, x->len, p), 0, -1, false);
    }
    if (u.asserted)
        return false;
    set[0] = set[1] = set[2] = set[3] = ~0ull;
    uint32_t j = 0;
    for (uint32_t i = 0; i < u.nnl; i++) {
        uint32_t p = ubuf[i];
        bool in_l = j < nl && L[j] == p;
        if (in_l)
            j++;
        if (x->code[p] == OP_MATCH) {
            if (!in_l)
                return false;
            continue;
        }
        uint64_t a[4];
        accept_set(x, x->code + p, a);
        for (int k = 0; k < 4; k++)
            set[k] &= in_l ? a[k] : ~a[k];
    }
    if (j != nl)
        return false;
    /* few characters outside the set: find them with memchr instead of testing each byte */
    ks->nex = 0;
    for (int c = 0; c < 256 && ks->nex <= SKIP_EX; c++)
        if (!in_set(set, c)) {
            if (ks->nex < SKIP_EX)
                ks->ex[ks->nex] = (uint8_t)c;
            ks->nex++;
        }
    return true;
}

/* The step after the last of the steps from bm on over which a stable list repeats: while the
 * next character (at bm + cs) is in the skip set, the list at bm + cs is the list at bm. */
static int skip_run(const ctx *x, const skipset *k, int bm)
{
    if (x->cs != 1) {
        while (in_set(k->set, char_at(x, bm + x->cs)))
            bm += x->cs;
        return bm;
    }
    if (bm + 1 >= x->maxb)
        return bm;
    /* steps bm+1 .. maxb-1 read, forwards, data[pos+bm+1 .. pos+maxb) (maxb <= size - pos);
     * backwards data[pos-maxb .. pos-bm-1) from its end (maxb <= pos); n bytes either way */
    size_t n = (size_t)(x->maxb - bm - 1);
    if (!x->bw) {
        const uint8_t *w = x->data + x->pos + bm + 1;
        if (k->nex <= SKIP_EX) {
            for (int e = 0; e < k->nex; e++) {
                const uint8_t *f = memchr(w, k->ex[e], n);
                if (f)
                    n = (size_t)(f - w);
            }
            return bm + (int)n;
        }
        size_t i = 0;
        while (i < n && in_set(k->set, w[i]))
            i++;
        return bm + (int)i;
    }
    const uint8_t *w = x->data + x->pos - x->maxb;
    if (k->nex <= SKIP_EX) {
        size_t lo = 0;             /* w[lo .. n) is still all in the set */
        for (int e = 0; e < k->nex; e++) {
            const uint8_t *f = memrchr(w + lo, k->ex[e], n - lo);
            if (f)
                lo = (size_t)(f - w) + 1;
        }
        return bm + (int)(n - lo);
    }
    size_t i = n;
    while (i > 0 && in_set(k->set, w[i - 1]))
        i--;
    return bm + (int)(n - i);
}

static inline bool same_list(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
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
    if (x.cs == 2)
        x.maxb &= ~1;          /* whole characters only */
    bool exhaustive = (flags & RE_X_EXHAUSTIVE) != 0;
    bool probe = !exhaustive && (flags & RE_X_PROBE) != 0;

    /* A program starting with consuming instructions fails at the first one that does not
     * accept its character, before any scratch is needed (most verifications end there). */
    int bm = 0;
    uint32_t pc0 = pc;
    if (isize(code, code_len, pc) != 0 && consumer(code[pc])) {
        if (!accepts(&x, code + pc, char_at(&x, 0)))
            return exhaustive ? 0 : -1;
        pc0 = run_chain(&x, pc, &bm);
        if (pc0 == RE_NO_CODE)
            return exhaustive ? 0 : -1;
        /* the run ends the program: its last instruction consumes the character at bm, the
         * list after it is [MATCH] alone, the one after that is empty */
        uint32_t q = pc0 + isize(code, code_len, pc0);
        if (q < code_len && code[q] == OP_MATCH) {
            if (!exhaustive)
                return probe ? 1 : bm + x.cs;
            if (cb)
                cb(bm + x.cs, ud);
            return 0;
        }
    }

    scratch s;
    size_t n = (size_t)code_len + 1;
    /* per-thread buffers, reused across calls; `mark` holds generation numbers that only grow,
     * so it never needs clearing (no malloc or memset per verification). A call uses at most
     * two generations per step (the step, a skip set) plus a few. */
    tls_scratch *ts = tls_get(n);
    if (!ts)
        return RE_EXEC_ERR + RE_ENOMEM;
    s.cl = ts->cl;
    s.nl = ts->nl;
    s.stack = ts->stack;
    s.mark = ts->mark;
    if (ts->gen > UINT32_MAX - 4 * (uint32_t)RE_SCAN_LIMIT - 64) {
        memset(ts->mark, 0, ts->cap * sizeof(uint32_t));
        ts->gen = 0;
    }
    s.gen = ts->gen + 1;
    s.nnl = 0;
    s.asserted = false;
    /* Lists hold only threads that accept the character at their step (filtered addthread),
     * so every non-MATCH thread of the current list consumes. After a leading run the list is
     * its last instruction alone. */
    if (pc0 != pc)
        s.nl[s.nnl++] = pc0;
    else
        addthread(&x, &s, pc, bm, char_at(&x, bm), true);
    int result = -1, steps = 0;
    /* the last stable list (see skip_set) and its skip set; `stable`: the current list is it */
    uint32_t *sl = ts->sl, nsl = 0;
    bool have_sl = false, stable = false;
    skipset skip;
    for (;;) {
        uint32_t *t = s.cl; s.cl = s.nl; s.nl = t;
        s.ncl = s.nnl;
        s.nnl = 0;
        if (s.ncl == 0)
            break;
        if (probe && ++steps > RE_PROBE_STEPS) {
            result = 1;         /* undecided within the budget: may match */
            break;
        }
        if (stable)
            bm = skip_run(&x, &skip, bm);
        if (s.ncl == 1 && consumer(code[s.cl[0]])) {
            uint32_t p = run_chain(&x, s.cl[0], &bm);
            if (p == RE_NO_CODE)
                break;
            s.cl[0] = p;
        }
        s.gen++;
        s.asserted = false;
        int cn = char_at(&x, bm + x.cs);
        bool matched = false;
        for (uint32_t i = 0; i < s.ncl; i++) {
            uint32_t tp = s.cl[i];
            if (code[tp] == OP_MATCH) {
                matched = true;
                if (exhaustive) {
                    if (cb && cb(bm, ud)) { s.nnl = 0; break; }
                    continue;
                }
                result = bm;
                if (probe) {
                    result = 1;
                    s.nnl = 0;           /* stop: the program can match */
                }
                break;                   /* kill tail */
            }
            addthread(&x, &s, tp + isize(code, code_len, tp), bm + x.cs, cn, true);
        }
        /* stepping rebuilt the same list: skip over the characters that keep it (an exhaustive
         * run reports every step with a MATCH, so such lists are stepped one by one) */
        stable = false;
        if (s.nnl == s.ncl && !s.asserted && !(exhaustive && matched) &&
            same_list(s.nl, s.cl, s.nnl)) {
            if (have_sl && nsl == s.ncl && same_list(sl, s.cl, nsl)) {
                stable = true;
            } else if (skip_set(&x, &s, s.cl, s.ncl, ts->ul, &skip)) {
                memcpy(sl, s.cl, s.ncl * sizeof(uint32_t));
                nsl = s.ncl;
                have_sl = true;
                stable = true;
            }
        }
        bm += x.cs;
        if (bm > x.maxb + 2)
            break;
    }
    ts->gen = s.gen;
    return exhaustive ? 0 : result;
}

/* re_exec_fast's list of positions: nodes linked by index, a few on the stack and the rest
 * on the heap, at most FAST_MAX_POS (then the run gives up like the instruction guard). */
#define FAST_LOCAL 128
#define FAST_MAX_POS (1 << 20)

typedef struct fpos {
    ptrdiff_t at;               /* offset of the next byte to read */
    int32_t next;               /* the walk reads only `at` and `next`: 16 bytes a node */
    uint32_t round;             /* the instruction count this position waits for */
} fpos;

typedef struct fpool {
    fpos *n;                    /* n[-1] is a sentinel: at = PTRDIFF_MAX, so n[-1 (no node)].at
                                 * ends the walk */
    int32_t *prev;              /* beside n: used only to unlink */
    int32_t cap, used, free_head;
    bool heap;
} fpool;

/* A free node, or -1 when the pool may not grow any more (or out of memory). */
static int32_t fpool_get(fpool *p)
{
    if (p->free_head >= 0) {
        int32_t k = p->free_head;
        p->free_head = p->n[k].next;
        return k;
    }
    if (p->used == p->cap) {
        if (p->cap >= FAST_MAX_POS)
            return -1;
        int32_t nc = p->cap * 2;
        fpos *q = malloc(sizeof(fpos) * ((size_t)nc + 1));
        int32_t *qp = malloc(sizeof(int32_t) * (size_t)nc);
        if (!q || !qp) {
            free(q);
            free(qp);
            return -1;
        }
        memcpy(q, p->n - 1, sizeof(fpos) * ((size_t)p->cap + 1));   /* with the sentinel */
        memcpy(qp, p->prev, sizeof(int32_t) * (size_t)p->cap);
        if (p->heap) {
            free(p->n - 1);
            free(p->prev);
        }
        p->n = q + 1;
        p->prev = qp;
        p->heap = true;
        p->cap = nc;
    }
    return p->used++;
}

/* Links a new position at offset `at`, waiting for round `round`, right after node `ins`
 * (updating *last when ins was the last node). Its index, or -1 when the pool is full. */
static inline __attribute__((always_inline))
int32_t fpool_link(fpool *p, int32_t ins, ptrdiff_t at, uint32_t round, int32_t *last)
{
    int32_t k = fpool_get(p);
    if (k < 0)
        return -1;
    int32_t nxt = p->n[ins].next;
    p->n[k].at = at;
    p->n[k].round = round;
    p->n[k].next = nxt;
    p->prev[k] = ins;
    if (nxt >= 0)
        p->prev[nxt] = k;
    p->n[ins].next = k;
    if (ins == *last)
        *last = k;
    return k;
}

/* re_exec_fast; `probe` is a constant in each caller (RE_X_PROBE).
 *
 * The semantics are yara 4.2.3's for these strings, found by differential tests (the shapes
 * are in tests/unit): one instruction runs at a time over a list of input positions. The
 * list starts with the entry position and is meant to stay sorted by offset without
 * duplicates. At a jump {lo,hi} each position stays in the list and advances by lo, and for
 * every longer length lo+1..hi a new position is linked in after it: from the position on, the
 * link point moves past the nodes whose offset is <= the new one. A new position is left out
 * when the node at the link point has the same offset (whatever that node still has to do), when
 * the next instruction is a byte that differs from the data there, or when it would pass the
 * bytes left (the loop stops there). New positions wait for the next instruction. A position
 * whose instruction fails, or that reaches MATCH in an exhaustive run, leaves the list. The
 * first position to reach MATCH gives the length of a non-exhaustive run. The dedup can drop a
 * way to match (then a shorter or no match is reported), never invent one. */
static inline __attribute__((always_inline))
int fast_run(const uint8_t *code, uint32_t code_len, uint32_t pc0, const uint8_t *data,
             size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud, const bool probe)
{
    bool bw = (flags & RE_X_BACKWARDS) != 0;
    bool exhaustive = !probe && (flags & RE_X_EXHAUSTIVE) != 0;
    if (pos > size)
        return -1;
    size_t avail = bw ? pos : size - pos;
    const ptrdiff_t maxb = (ptrdiff_t)(avail < RE_SCAN_LIMIT ? avail : RE_SCAN_LIMIT);
    /* a probe gives up (undecided) after this many position steps */
    const long limit = probe ? 8L * RE_PROBE_STEPS : 50000000L;
    const ptrdiff_t step = bw ? -1 : 1;
    /* bytes matched at offset `at`; the byte there is inside the data while it is < maxb
     * (maxb <= size - pos forwards, <= pos backwards) */
#define BM(AT) (bw ? (ptrdiff_t)pos - 1 - (AT) : (AT) - (ptrdiff_t)pos)
    fpos local[FAST_LOCAL + 1];
    int32_t local_prev[FAST_LOCAL];
    local[0].at = PTRDIFF_MAX;
    local[0].next = -1;
    local[0].round = 0;
    fpool pl = { local + 1, local_prev, FAST_LOCAL, 0, -1, false };
    int result = exhaustive ? 0 : -1;
    int32_t first = fpool_get(&pl), last = first;
    pl.n[first].at = bw ? (ptrdiff_t)pos - 1 : (ptrdiff_t)pos;
    pl.n[first].round = 0;
    pl.prev[first] = pl.n[first].next = -1;
    uint32_t pc = pc0, round = 0;
    long guard = 0;
    while (first >= 0) {
        uint32_t sz = isize(code, code_len, pc);
        if (sz == 0) {                   /* not a valid program: nothing matches */
            result = exhaustive ? 0 : -1;
            goto out;
        }
        uint8_t op = code[pc];
        if (op != OP_LIT && op != OP_MASKED && op != OP_ANY && op != OP_MATCH && op != OP_REPANY) {
            result = exhaustive ? 0 : -1;    /* not valid in fast code */
            goto out;
        }
        for (int32_t cur = first; cur >= 0;) {
            fpos *c = &pl.n[cur];
            int32_t nx = c->next;
            if (c->round != round) {
                cur = nx;
                continue;
            }
            if (++guard > limit) {
                result = probe ? 1 : RE_EXEC_ERR + RE_ELIMIT;
                goto out;
            }
            ptrdiff_t bm = BM(c->at);
            bool ok = false;
            switch (op) {
            case OP_ANY:
                if (bm < maxb) { ok = true; c->at += step; }
                break;
            case OP_LIT:
                if (bm < maxb && data[c->at] == code[pc + 1]) { ok = true; c->at += step; }
                break;
            case OP_MASKED:
                if (bm < maxb && (data[c->at] & code[pc + 2]) == code[pc + 1]) {
                    ok = true;
                    c->at += step;
                }
                break;
            case OP_REPANY: {
                if (bm >= maxb)
                    break;
                ok = true;
                uint16_t lo, hi;
                memcpy(&lo, code + pc + 1, 2);
                memcpy(&hi, code + pc + 3, 2);
                uint32_t next = pc + 5;
                int want = isize(code, code_len, next) == 2 && code[next] == OP_LIT
                               ? code[next + 1] : -1;
                int32_t ins = cur;
                /* The link point is where yara's walk for each length would leave it: the
                 * walk only moves forward, so a run of walks is one walk to the highest offset
                 * among them. Forwards that is the current length's offset (so lengths whose
                 * byte differs need no walk); backwards the first length's (later walks stop
                 * at once). Lengths whose byte differs from the next literal are skipped with
                 * memchr / memrchr: they would not be linked in. */
                ptrdiff_t jmax = maxb - 1 - bm;          /* bm + j < maxb */
                if (jmax > hi)
                    jmax = hi;
                ptrdiff_t at0 = pl.n[cur].at;
                fpos *N = pl.n;                          /* reloaded when the pool grows */
                int32_t nxt = N[ins].next;               /* N[ins].next, kept in a register */
                if (jmax >= lo + 1 && bw) {
                    ptrdiff_t at1 = at0 - (lo + 1);          /* the first length's offset */
                    while (at1 >= N[nxt].at) { ins = nxt; nxt = N[nxt].next; }  /* N[-1]: sentinel */
                }
                /* The lengths' offsets, up forwards and down backwards. Forwards, the
                 * offsets of the link point and of its next node are kept in registers (this
                 * walk is the executor's hot loop). */
                ptrdiff_t end = at0 + step * jmax;
                if (!bw) {
                    ptrdiff_t ins_at = N[ins].at, nxt_at = N[nxt].at;   /* N[-1]: sentinel */
                    for (ptrdiff_t ni = at0 + lo + 1; ni <= end; ni++) {
                        while (ni >= nxt_at) {
                            ins = nxt;
                            ins_at = nxt_at;
                            nxt = N[nxt].next;
                            nxt_at = N[nxt].at;
                        }
                        if (ni == ins_at)
                            continue;
                        if (want >= 0 && data[ni] != want) {
                            /* on to the next length whose byte is the literal (the walks of
                             * the lengths skipped are done by the next one's) */
                            const uint8_t *hit = memchr(data + ni + 1, want, (size_t)(end - ni));
                            if (!hit)
                                break;
                            ni = hit - data - 1;         /* the loop's ni++ lands on it */
                            continue;
                        }
                        nxt = fpool_link(&pl, ins, ni, round + 1, &last);
                        if (nxt < 0) {
                            result = probe ? 1 : RE_EXEC_ERR + RE_ELIMIT;
                            goto out;
                        }
                        N = pl.n;
                        nxt_at = ni;
                    }
                } else {
                    ptrdiff_t ins_at = N[ins].at;
                    for (ptrdiff_t ni = at0 - (lo + 1); ni >= end; ni--) {
                        if (want >= 0 && data[ni] != want) {
                            const uint8_t *hit = memrchr(data + end, want, (size_t)(ni - end));
                            if (!hit)
                                break;
                            ni = hit - data;
                        }
                        if (ni == ins_at)
                            continue;
                        nxt = fpool_link(&pl, ins, ni, round + 1, &last);
                        if (nxt < 0) {
                            result = probe ? 1 : RE_EXEC_ERR + RE_ELIMIT;
                            goto out;
                        }
                        N = pl.n;
                    }
                }
                c = &pl.n[cur];          /* the pool may have moved */
                c->at += step * lo;
                break;
            }
            case OP_MATCH:
                if (!exhaustive) {
                    result = probe ? 1 : (int)bm;
                    goto out;
                }
                if (cb && cb((int)bm, ud)) {
                    result = 0;
                    goto out;
                }
                break;
            }
            if (ok) {
                c->round = round + 1;
            } else {                     /* unlink cur */
                if (cur == first) first = c->next;
                int32_t pv = pl.prev[cur];
                if (cur == last) last = pv;
                if (pv >= 0) pl.n[pv].next = c->next;
                if (c->next >= 0) pl.prev[c->next] = pv;
                c->next = pl.free_head;
                pl.free_head = cur;
            }
            cur = nx;
        }
        if (op != OP_MATCH)
            pc += sz;
        round++;
    }
out:
#undef BM
    if (pl.heap) {
        free(pl.n - 1);
        free(pl.prev);
    }
    return result;
}

static int fast_probe(const uint8_t *code, uint32_t code_len, uint32_t pc0, const uint8_t *data,
                      size_t size, size_t pos, uint32_t flags)
{
    return fast_run(code, code_len, pc0, data, size, pos, flags, NULL, NULL, true);
}

int re_exec_fast(const uint8_t *code, uint32_t code_len, uint32_t pc0, const uint8_t *data,
                 size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud)
{
    if ((flags & RE_X_PROBE) && !(flags & RE_X_EXHAUSTIVE))
        return fast_probe(code, code_len, pc0, data, size, pos, flags);
    return fast_run(code, code_len, pc0, data, size, pos, flags, cb, ud, false);
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

/* 0 when the backward program of atom `at` reports no match in any form the forward run may
 * choose (then re_verify emits nothing whatever the forward result); 1 when it may. Cheap
 * and bounded (RE_X_PROBE). */
static bool bwd_possible(const re_code *c, const re_atom *at, const uint8_t *data, size_t size,
                         size_t pos, uint32_t base, bool ascii)
{
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    if (c->fast_hex) {
        /* re_exec_fast reads plain bytes in either form. Its straight start (bytes, masks,
         * any-bytes) is checked here directly, which decides most hits; a jump on the way
         * leaves it to a budgeted run. */
        uint32_t len = c->code_len, pc = at->bwd;
        int maxb = (int)(pos < RE_SCAN_LIMIT ? pos : RE_SCAN_LIMIT);
        for (int bm = 0;; bm++) {
            if (pc >= len)
                return true;    /* not a valid program: let the real run decide */
            uint8_t op = code[pc];
            if (op == OP_REPANY)
                return fast_probe(code, len, at->bwd, data, size, pos,
                                  base | RE_X_BACKWARDS | RE_X_PROBE) != -1;
            if (op != OP_LIT && op != OP_MASKED && op != OP_ANY)
                return true;    /* MATCH, or anything else */
            if (isize(code, len, pc) == 0 || bm >= maxb)
                return false;   /* the only thread dies here, as in re_exec_fast */
            int ch = data[pos - 1 - (size_t)bm];       /* bm < maxb <= pos */
            if (op == OP_LIT ? ch != code[pc + 1]
                             : op == OP_MASKED && (ch & code[pc + 2]) != code[pc + 1])
                return false;
            pc += op_size[op];
        }
    }
    for (int form = 0; form < 2; form++) {
        if (form == 0 ? !ascii : !(c->flags & RE_WIDE))
            continue;
        uint32_t fl = base | RE_X_BACKWARDS | RE_X_PROBE | (form ? RE_X_WIDE : 0);
        if (re_exec_pike(code, c->code_len, at->bwd, data, size, pos, fl, NULL, NULL) != -1)
            return true;
    }
    return false;
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
    /* A backward part that cannot match makes the forward run (often the longer one: the atom
     * tends to sit early in the pattern) useless: nothing would be emitted. */
    if (at->bwd != RE_NO_CODE && !bwd_possible(c, at, data, size, pos, base, ascii))
        return RE_OK;
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

/* The byte instruction at pc as a masked byte (*v, *m): a literal (a letter folded to a 0xDF
 * mask when `fold`), a nibble-masked byte or any byte. Returns the instruction's size, or 0 when
 * pc does not hold one of those (the straight-line part ends there). */
static uint32_t straight_byte(const uint8_t *code, uint32_t len, uint32_t pc, bool fold,
                              uint8_t *v, uint8_t *m)
{
    uint32_t sz = isize(code, len, pc);
    if (sz == 0)
        return 0;
    uint8_t op = code[pc];
    if (op == OP_LIT) {
        *v = code[pc + 1];
        *m = 0xFF;
        if (fold && ((*v | 0x20) >= 'a' && (*v | 0x20) <= 'z')) {
            *v &= 0xDF;
            *m = 0xDF;
        }
    } else if (op == OP_MASKED) {
        *v = code[pc + 1];
        *m = code[pc + 2];      /* v keeps bits outside m: then it never matches, as here */
    } else if (op == OP_ANY) {
        *v = 0;
        *m = 0;
    } else {
        return 0;
    }
    return sz;
}

int re_fwd_line(const re_code *c, uint32_t ai, int form, uint32_t max, uint8_t *val, uint8_t *mask)
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
    uint32_t step = form ? 2 : 1, n = 0;
    while (n + step <= max) {
        uint8_t v, m;
        uint32_t sz = straight_byte(code, len, pc, fold, &v, &m);
        if (sz == 0)
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
    return (int)n;
}

int re_fwd_prefix(const re_code *c, uint32_t ai, int form, uint8_t val[8], uint8_t mask[8])
{
    return re_fwd_line(c, ai, form, 8, val, mask);
}

int re_bwd_prefix(const re_code *c, uint32_t ai, uint32_t max, uint8_t *val, uint8_t *mask)
{
    if (!c || ai >= c->natoms || max == 0)
        return 0;
    if (c->flags & RE_WIDE)
        return 0;
    const re_atom *at = &re_atoms(c)[ai];
    if (at->bwd == RE_NO_CODE || at->wide)
        return 0;
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    uint32_t len = c->code_len, pc = at->bwd, n = 0;
    bool fold = !c->fast_hex && (c->flags & RE_NOCASE);
    uint8_t rv[64], rm[64];      /* nearest byte first */
    if (max > sizeof rv)
        max = sizeof rv;
    while (n < max) {
        uint32_t sz = straight_byte(code, len, pc, fold, &rv[n], &rm[n]);
        if (sz == 0)
            break;
        n++;
        pc += sz;
    }
    while (n > 0 && rm[n - 1] == 0)    /* the farthest bytes: no any-bytes at the front */
        n--;
    for (uint32_t i = 0; i < n; i++) {
        val[i] = rv[n - 1 - i];
        mask[i] = rm[n - 1 - i];
    }
    return (int)n;
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
            addthread(&x, &sc, (uint32_t)c->search_fwd, 0, -1, false);
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
                addthread(&x, &sc, cl[k] + isize(code, len, cl[k]), bm + 1, -1, false);
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

#define FAR_RUN_MAX 16

/* One direction of re_far_runs: the program at pc reads forward (dir 1, from the atom's first
 * byte) or backward (dir -1, from the byte before it). lo/hi: the range of bytes read so far. */
static void far_walk(const uint8_t *code, uint32_t len, uint32_t pc, int dir, re_run_fn run,
                     void *ud)
{
    int64_t lo = 0, hi = 0;        /* bytes consumed before the next op, min and max */
    int jumped = 0;
    uint8_t b[FAR_RUN_MAX];
    uint32_t n = 0;                /* exact bytes in the current run */
    int64_t rlo = 0, rhi = 0;      /* bytes consumed before the run's first byte */
    for (int steps = 0; steps <= 4096; steps++) {
        uint32_t sz = pc < len ? isize(code, len, pc) : 0;
        uint8_t op = sz ? code[pc] : OP_MATCH;
        if (op == OP_LIT && n < FAR_RUN_MAX) {
            if (n == 0) { rlo = lo; rhi = hi; }
            b[n++] = code[pc + 1];
            lo++; hi++;
            pc += sz;
            continue;
        }
        if (n && jumped && rhi <= INT32_MAX - FAR_RUN_MAX) {
            if (dir > 0) {
                run(b, n, (int32_t)rlo, (int32_t)rhi, ud);
            } else {       /* read backwards: reverse into data order; it starts n - 1 earlier */
                uint8_t d[FAR_RUN_MAX];
                for (uint32_t i = 0; i < n; i++) d[i] = b[n - 1 - i];
                run(d, n, (int32_t)-(rhi + n), (int32_t)-(rlo + n), ud);
            }
        }
        n = 0;
        if (op == OP_LIT) {         /* a run longer than FAR_RUN_MAX: its rest starts a new one */
            continue;
        } else if (op == OP_MASKED || op == OP_ANY) {
            lo++; hi++;
        } else if (op == OP_REPANY) {
            uint16_t jl, jh;
            memcpy(&jl, code + pc + 1, 2);
            memcpy(&jh, code + pc + 3, 2);
            if (jh < jl) return;
            lo += jl; hi += jh;
            jumped = 1;
        } else {
            return;                 /* MATCH, the end, or anything else */
        }
        pc += sz;
    }
}

void re_far_runs(const re_code *c, uint32_t ai, re_run_fn run, void *ud)
{
    if (!c || ai >= c->natoms || !c->fast_hex || (c->flags & RE_WIDE)) return;
    const re_atom *at = &re_atoms(c)[ai];
    const uint8_t *code = (const uint8_t *)c + c->code_off;
    far_walk(code, c->code_len, at->fwd, 1, run, ud);
    if (at->bwd != RE_NO_CODE) far_walk(code, c->code_len, at->bwd, -1, run, ud);
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
