/*
 * prefilter.c - Vectorscan databases of atoms (see prefilter.h).
 *
 * In the regex database every atom becomes a pattern in which each byte is written as an escape
 * (\xNN) or a character class for masked bytes, so NUL bytes and metacharacters need no special
 * care. The literal database takes the atoms' bytes as they are (hs_compile_lit_multi): no regex
 * parsing or NFA construction, which is most of the compile time of a literal-heavy rule set.
 */
#include "match/prefilter.h"

#include <hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"

/* The databases, by index: regex, literal, gated regex, ungated literal (stored in this order;
 * scanned regex, gated, then literal or ungated literal). The ungated literal database is the
 * literal one without its gated atoms, scanned instead of it when the gate is closed; as it is
 * worth its compile only over enough such data, it is built on first need (ng_get). */
enum { PF_RE, PF_LIT, PF_GATED, PF_LITNG, PF_NDB };

/* Data scanned with the gate closed before the ungated literal database is built. Its compile
 * (~0.25 s for signature-base) pays for itself after ~300 MB of such data (it saves ~0.8 ms per
 * MB), so building it on first need is a rent-or-buy choice: waiting for about that much first
 * costs a large scan little and spares a smaller one the whole compile (the synthetic corpus,
 * 81 MB of non-PE data in 200 MB: 2.53 -> 2.25 s CPU against building after 64 MiB). When
 * nearly all data so far had the gate closed (three quarters or more: /usr/bin, a mail spool),
 * more of it is likely, and a quarter of that suffices. */
#define PF_LAZY_BYTES ((uint64_t)256 << 20)

enum { NG_NONE, NG_LAZY, NG_READY, NG_FAILED };

struct pf_db {
    hs_database_t *h[PF_NDB];   /* NULL when the database has no atoms (PF_LITNG: not built) */
    uint32_t max_len[PF_NDB];   /* longest atom of each (the overlap of 4 GiB chunks) */
    uint32_t natoms;      /* ids reported are below this (others are ignored) */
    uint8_t *delta;       /* per atom id: bytes from the end of its literal pattern to the end
                             of the atom (masked atoms searched by an exact run inside them) */
    char *ser[PF_NDB];    /* pf_read: the stored databases until pf_open */
    uint32_t ser_len[PF_NDB];
    /* The ungated literal database, built on first need from ng_* (the literal patterns of
     * ungated atoms). `ng` is h[PF_LITNG] once built, read by scanning threads. */
    _Atomic(hs_database_t *) ng;
    atomic_int ng_state;        /* NG_*: NONE when no literal atom is gated (nothing to build) */
    atomic_uint_fast64_t ng_seen;   /* bytes scanned with the gate closed so far */
    atomic_uint_fast64_t ng_open;   /* and with it open */
    uint64_t ng_after;          /* ... before building (PF_LAZY_BYTES, pf_set_lazy_bytes; a
                                   quarter when ng_seen >= 3 * ng_open) */
    pthread_mutex_t ng_lock;    /* one builder */
    uint32_t ng_n;
    char *ng_bytes;             /* the patterns, one after another */
    size_t *ng_len;
    unsigned *ng_flags, *ng_ids;
};

/* A literal-database hit whose atom ends after the run that was found (delta > 0), held until
 * every hit ending before it has been reported. */
typedef struct pf_pending {
    uint64_t end;
    uint32_t id;
} pf_pending;

struct pf_scratch {
    hs_scratch_t *s;      /* sized for the databases (for the ungated literal one once ng_sized) */
    const hs_database_t *ng_sized;
    pf_pending *heap;     /* min-heap on end: the reorder buffer of one pf_scan */
    uint32_t n, cap;
};

static size_t byte_pattern(char *out, uint8_t b, uint8_t m)
{
    if (m == 0xFF) return (size_t)sprintf(out, "\\x%02x", b);
    if (m == 0x00) return (size_t)sprintf(out, ".");
    /* a class of every byte v with (v & m) == (b & m) */
    size_t n = 0;
    out[n++] = '[';
    for (int v = 0; v < 256; v++)
        if (((uint8_t)v & m) == (b & m)) n += (size_t)sprintf(out + n, "\\x%02x", v);
    out[n++] = ']';
    out[n] = 0;
    return n;
}

/* How the literal database searches an atom: a run of its bytes, data[start .. start+len),
 * compared case-insensitively when `caseless`. The atom's hits end `a->len - (start + len)` bytes
 * after the run's (pf_db.delta). */
typedef struct lit_form { uint32_t start, len, caseless; } lit_form;

/* A byte hs_compile_lit_multi can search: exact, or a letter with only its case bit masked
 * (0xDF: the byte and its other case), searched caselessly. */
static int lit_byte(uint8_t b, uint8_t m, int *fold)
{
    if (m == 0xFF) return 1;
    if (pf_folded(b, m)) { *fold = 1; return 1; }
    return 0;
}

/* The atom's literal form: the whole atom when every byte is a lit_byte, else its longest run of
 * lit_bytes. Leading NULs of the run are left out (hs_compile_lit_multi sees a pattern starting
 * with NUL as empty): its hits end where the atom's do, and the verification reads the whole atom
 * from the data anyway. A run is usable when PF_MIN_RUN bytes or more remain, or when it is the
 * whole atom without leading NULs (short unmasked atoms like "MZ" stay literal). 3 rather than 4:
 * with all of signature-base, masked atoms with a 3-byte run (`6A 08 FF` in `03 ?? 5? 5? 6A 08
 * FF`) cost more in the regex database (Vectorscan's Rose engine, triggered by their shorter
 * factors) than their extra hits cost as literals: regex pass 0.33 -> 0.19 s and literal pass
 * 0.39 -> 0.44 s over 200 MB of binaries; 14.0 -> 12.9 s CPU on /usr/bin (the module-free files
 * unchanged within noise). 2-byte runs flood the literal database (11 M hits per 200 MB). A
 * run that lost leading NULs needs one byte more: `89 44 24` left of `00 89 44 24` (a stack
 * store in x86 code) hit 454 k times per 200 MB of binaries, while the regex database finds the
 * whole atom; module-free files, -C, 8 runs over 200 MB: 0.54 -> 0.49 s CPU (all files: 1.13 ->
 * 1.08 s). A caseless or partial run matches a superset of the atom's hits (exact letters of it fold
 * too): that is sound because only a regex or hex target (re_verify, which reads the whole
 * pattern) has masked atoms; a text variant's atom is always exact, and strings.c's verify
 * compares it with the data when it starts with NUL (the one part of it left out here).
 * Returns 1 and fills *f, or 0 when the atom needs the regex database. */
#define PF_MIN_RUN 3
static int lit_form_of(const pf_atom *a, lit_form *f)
{
    uint32_t best = 0, bs = 0, bfold = 0, i = 0;
    while (i < a->len) {
        int fold = 0;
        if (!lit_byte(a->bytes[i], a->mask[i], &fold)) { i++; continue; }
        uint32_t j = i;
        fold = 0;
        while (j < a->len && lit_byte(a->bytes[j], a->mask[j], &fold)) j++;
        uint32_t k = i;
        while (k < j && a->bytes[k] == 0) k++;
        int whole = i == 0 && j == a->len && k == 0;
        if ((j - k >= PF_MIN_RUN + (k > i) || whole) && j - k > best) {
            best = j - k;
            bs = k;
            bfold = (uint32_t)fold;
        }
        i = j;
    }
    if (best == 0) return 0;
    f->start = bs;
    f->len = best;
    f->caseless = bfold || a->nocase;
    return 1;
}

int pf_lit_capable(const pf_atom *a)
{
    lit_form f;
    return a->len > 0 && lit_form_of(a, &f);
}

static int compile_err(hs_compile_error_t *ce, char *err, size_t errlen)
{
    snprintf(err, errlen, "prefilter: %s", ce && ce->message ? ce->message : "compile failed");
    if (ce) hs_free_compile_error(ce);
    return KS_EINTERNAL;
}

/* The regex databases' compile (plain and gated, one after the other), run on its own thread
 * when pf_build may use two. */
typedef struct re_job {
    const char *const *pats[2];
    const unsigned *flags[2], *ids[2];
    uint32_t n[2];
    hs_database_t *db[2];
    hs_compile_error_t *ce;
    hs_error_t rc;
} re_job;

static void *re_compile_job(void *arg)
{
    re_job *j = arg;
    j->rc = HS_SUCCESS;
    for (int k = 0; k < 2 && j->rc == HS_SUCCESS; k++)
        if (j->n[k])
            j->rc = hs_compile_multi(j->pats[k], j->flags[k], j->ids[k], j->n[k], HS_MODE_BLOCK,
                                     NULL, &j->db[k], &j->ce);
    return NULL;
}

static pf_db *db_new(void)
{
    pf_db *db = calloc(1, sizeof *db);
    if (!db) return NULL;
    if (pthread_mutex_init(&db->ng_lock, NULL) != 0) { free(db); return NULL; }
    atomic_init(&db->ng, NULL);
    atomic_init(&db->ng_state, NG_NONE);
    atomic_init(&db->ng_seen, 0);
    atomic_init(&db->ng_open, 0);
    db->ng_after = PF_LAZY_BYTES;
    return db;
}

static void ng_free_patterns(pf_db *db)
{
    free(db->ng_bytes);
    free(db->ng_len);
    free(db->ng_flags);
    free(db->ng_ids);
    db->ng_bytes = NULL;
    db->ng_len = NULL;
    db->ng_flags = db->ng_ids = NULL;
    db->ng_n = 0;
}

/* Keeps the literal patterns of the ungated atoms among lpats[0..nl) for a later build (ng_get).
 * Returns KS_OK or KS_ENOMEM. */
static int ng_keep(pf_db *db, const pf_atom *atoms, const char *const *lpats, const size_t *llens,
                   const unsigned *lflags, const unsigned *lids, uint32_t nl)
{
    size_t total = 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < nl; i++)
        if (!atoms[lids[i]].gated) { total += llens[i]; m++; }
    if (m == nl) return KS_OK;                       /* no gated literal atom */
    db->ng_bytes = malloc(total + 1);
    db->ng_len = malloc(((size_t)m + 1) * sizeof *db->ng_len);
    db->ng_flags = malloc(((size_t)m + 1) * sizeof *db->ng_flags);
    db->ng_ids = malloc(((size_t)m + 1) * sizeof *db->ng_ids);
    if (!db->ng_bytes || !db->ng_len || !db->ng_flags || !db->ng_ids) {
        ng_free_patterns(db);
        return KS_ENOMEM;
    }
    size_t o = 0;
    for (uint32_t i = 0; i < nl; i++) {
        if (atoms[lids[i]].gated) continue;
        memcpy(db->ng_bytes + o, lpats[i], llens[i]);
        o += llens[i];
        db->ng_len[db->ng_n] = llens[i];
        db->ng_flags[db->ng_n] = lflags[i];
        db->ng_ids[db->ng_n++] = lids[i];
    }
    db->max_len[PF_LITNG] = db->max_len[PF_LIT];
    atomic_store(&db->ng_state, NG_LAZY);
    return KS_OK;
}

/* Builds the ungated literal database (caller holds ng_lock, state NG_LAZY). Sets the state to
 * NG_READY or, when Vectorscan fails (out of memory), NG_FAILED: scans then keep the literal
 * database, which finds a superset of the hits. Returns the database or NULL. */
static hs_database_t *ng_build(pf_db *db)
{
    hs_database_t *h = NULL;
    const char **p = malloc(((size_t)db->ng_n + 1) * sizeof *p);
    if (p) {
        size_t o = 0;
        for (uint32_t i = 0; i < db->ng_n; i++) { p[i] = db->ng_bytes + o; o += db->ng_len[i]; }
        hs_compile_error_t *ce = NULL;
        if (db->ng_n == 0 ||
            hs_compile_lit_multi(p, db->ng_flags, db->ng_ids, db->ng_len, db->ng_n, HS_MODE_BLOCK,
                                 NULL, &h, &ce) != HS_SUCCESS) {
            if (ce) hs_free_compile_error(ce);
            h = NULL;
        }
        free(p);
    }
    ng_free_patterns(db);
    db->h[PF_LITNG] = h;
    atomic_store_explicit(&db->ng, h, memory_order_release);
    atomic_store(&db->ng_state, h ? NG_READY : NG_FAILED);
    return h;
}

/* The ungated literal database for a gate-closed scan of len bytes with scratch s, or NULL
 * (none, not yet worth building, being built by another thread, or failed): then the literal
 * database is scanned. The pf_db is shared by scanning threads: one builds, the others go on. */
static const hs_database_t *ng_get(const pf_db *cdb, pf_scratch *s, size_t len)
{
    pf_db *db = (pf_db *)cdb;       /* the lazily built part only */
    hs_database_t *h = atomic_load_explicit(&db->ng, memory_order_acquire);
    if (!h) {
        if (atomic_load_explicit(&db->ng_state, memory_order_relaxed) != NG_LAZY) return NULL;
        uint64_t seen = atomic_fetch_add_explicit(&db->ng_seen, len, memory_order_relaxed) + len;
        uint64_t open = atomic_load_explicit(&db->ng_open, memory_order_relaxed);
        if (seen < db->ng_after && (seen < db->ng_after / 4 || seen < 3 * open)) return NULL;
        if (pthread_mutex_trylock(&db->ng_lock) != 0) return NULL;
        if (atomic_load(&db->ng_state) == NG_LAZY) ng_build(db);
        h = atomic_load_explicit(&db->ng, memory_order_acquire);
        pthread_mutex_unlock(&db->ng_lock);
        if (!h) return NULL;
    }
    if (s->ng_sized != h) {
        if (hs_alloc_scratch(h, &s->s) != HS_SUCCESS) return NULL;
        s->ng_sized = h;
    }
    return h;
}

void pf_set_lazy_bytes(pf_db *db, uint64_t bytes)
{
    if (db) db->ng_after = bytes;
}

int pf_build(const pf_atom *atoms, uint32_t n, int threads, pf_db **out, char *err,
             size_t errlen)
{
    pf_db *db = db_new();
    if (!db) return KS_ENOMEM;
    *out = db;
    db->natoms = n;
    if (n == 0) return KS_OK;
    /* regex patterns: plain ones from the front of pats, gated ones from the back */
    char **pats = calloc(n, sizeof *pats);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = calloc(n, sizeof *ids);
    const char **lpats = calloc(n, sizeof *lpats);
    unsigned *lflags = calloc(n, sizeof *lflags);
    unsigned *lids = calloc(n, sizeof *lids);
    size_t *llens = calloc(n, sizeof *llens);
    uint32_t nr = 0, ng = 0, nl = 0;
    int rc = KS_OK;
    if (!pats || !flags || !ids || !lpats || !lflags || !lids || !llens) { rc = KS_ENOMEM; goto out; }
    db->delta = calloc(n, 1);
    if (!db->delta) { rc = KS_ENOMEM; goto out; }
    for (uint32_t i = 0; i < n; i++) {
        const pf_atom *a = &atoms[i];
        lit_form f;
        if (a->lit && lit_form_of(a, &f)) {
            lpats[nl] = (const char *)a->bytes + f.start;
            llens[nl] = f.len;
            lflags[nl] = f.caseless ? HS_FLAG_CASELESS : 0;
            lids[nl++] = i;
            db->delta[i] = (uint8_t)(a->len - (f.start + f.len));
            if (a->len > db->max_len[PF_LIT]) db->max_len[PF_LIT] = a->len;
            continue;
        }
        size_t cap = 16;
        for (uint32_t k = 0; k < a->len; k++) cap += a->mask[k] == 0xFF || a->mask[k] == 0 ? 4 : 4 * 256 + 2;
        char *pt = malloc(cap + 1);
        if (!pt) { rc = KS_ENOMEM; goto out; }
        uint32_t slot = a->gated ? n - 1 - ng++ : nr++;
        pats[slot] = pt;
        size_t p = 0;
        for (uint32_t k = 0; k < a->len; k++) p += byte_pattern(pt + p, a->bytes[k], a->mask[k]);
        pt[p] = 0;
        flags[slot] = HS_FLAG_DOTALL | (a->nocase ? HS_FLAG_CASELESS : 0);
        ids[slot] = i;
        int which = a->gated ? PF_GATED : PF_RE;
        if (a->len > db->max_len[which]) db->max_len[which] = a->len;
    }
    hs_compile_error_t *ce = NULL;
    re_job job;
    memset(&job, 0, sizeof job);
    job.pats[0] = (const char *const *)pats;
    job.flags[0] = flags;
    job.ids[0] = ids;
    job.n[0] = nr;
    job.pats[1] = (const char *const *)pats + (n - ng);
    job.flags[1] = flags + (n - ng);
    job.ids[1] = ids + (n - ng);
    job.n[1] = ng;
    pthread_t th;
    int threaded = (nr || ng) && nl && threads >= 2 &&
                   pthread_create(&th, NULL, re_compile_job, &job) == 0;
    if ((nr || ng) && !threaded) re_compile_job(&job);
    hs_error_t lrc = HS_SUCCESS;
    if (nl && (threaded || job.rc == HS_SUCCESS))
        lrc = hs_compile_lit_multi(lpats, lflags, lids, llens, nl, HS_MODE_BLOCK, NULL,
                                   &db->h[PF_LIT], &ce);
    if (threaded) pthread_join(th, NULL);
    if (lrc == HS_SUCCESS && job.rc == HS_SUCCESS && nl)
        rc = ng_keep(db, atoms, lpats, llens, lflags, lids, nl);
    db->h[PF_RE] = job.db[0];
    db->h[PF_GATED] = job.db[1];
    if (job.rc != HS_SUCCESS) {
        rc = compile_err(job.ce, err, errlen);
        if (ce) hs_free_compile_error(ce);
    } else if (lrc != HS_SUCCESS) {
        rc = compile_err(ce, err, errlen);
    }
out:
    if (pats) {
        for (uint32_t i = 0; i < nr; i++) free(pats[i]);
        for (uint32_t i = 0; i < ng; i++) free(pats[n - 1 - i]);
    }
    free(pats);
    free(flags);
    free(ids);
    free(lpats);
    free(lflags);
    free(lids);
    free(llens);
    if (rc != KS_OK) { pf_free(db); *out = NULL; }
    return rc;
}

void pf_free(pf_db *db)
{
    if (!db) return;
    for (int k = 0; k < PF_NDB; k++) {
        if (db->h[k]) hs_free_database(db->h[k]);
        free(db->ser[k]);
    }
    ng_free_patterns(db);
    pthread_mutex_destroy(&db->ng_lock);
    free(db->delta);
    free(db);
}

int pf_scratch_alloc(const pf_db *db, pf_scratch **out)
{
    pf_scratch *s = calloc(1, sizeof *s);
    if (!s) return KS_ENOMEM;
    for (int k = 0; k < PF_NDB; k++)
        if (db->h[k] && k != PF_LITNG && hs_alloc_scratch(db->h[k], &s->s) != HS_SUCCESS) {
            if (s->s) hs_free_scratch(s->s);
            free(s);
            return KS_ENOMEM;
        }
    *out = s;
    return KS_OK;
}

void pf_scratch_free(pf_scratch *s)
{
    if (!s) return;
    if (s->s) hs_free_scratch(s->s);
    free(s->heap);
    free(s);
}

typedef struct chunk_ctx {
    pf_hit_fn fn;
    void *ud;
    pf_scratch *s;
    uint64_t base;      /* offset of the chunk in the input */
    uint64_t min_end;   /* runs ending at or before this were reported by the previous chunk */
    uint64_t len;       /* whole input */
    const uint8_t *delta;
    uint32_t natoms;
    int nomem;          /* the reorder buffer could not grow: the scan stopped */
} chunk_ctx;

/* Upper bound of the reorder buffer. It holds hits ending at most PF_MAX_ATOM bytes after the
 * run last found, so it stays far below this unless a crafted database reports absurd counts. */
#define PF_PENDING_MAX ((uint32_t)1 << 24)

static int pend_push(pf_scratch *s, uint64_t end, uint32_t id)
{
    if (s->n == s->cap) {
        if (s->cap >= PF_PENDING_MAX) return 0;
        uint32_t nc = s->cap ? s->cap * 2 : 256;
        pf_pending *h = realloc(s->heap, (size_t)nc * sizeof *h);
        if (!h) return 0;
        s->heap = h;
        s->cap = nc;
    }
    uint32_t i = s->n++;
    while (i > 0 && s->heap[(i - 1) / 2].end > end) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i].end = end;
    s->heap[i].id = id;
    return 1;
}

static pf_pending pend_pop(pf_scratch *s)
{
    pf_pending top = s->heap[0], last = s->heap[--s->n];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->n) break;
        if (c + 1 < s->n && s->heap[c + 1].end < s->heap[c].end) c++;
        if (s->heap[c].end >= last.end) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n) s->heap[i] = last;
    return top;
}

/* Report the held hits that end before `upto`, in end order. Returns the callback's stop. */
static int pend_flush(chunk_ctx *c, uint64_t upto)
{
    pf_scratch *s = c->s;
    while (s->n && s->heap[0].end < upto) {
        pf_pending p = pend_pop(s);
        if (c->fn(p.id, p.end, c->ud)) return 1;
    }
    return 0;
}

/* Vectorscan reports hits in order of the found pattern's end. A literal-database pattern may be
 * a run inside its atom (lit_form): the atom then ends delta bytes later, so its hit is held
 * (pend_push) and reported once no later-found run can end before it. The caller thus sees each
 * database's hits in order of the atom's end offset, as if the whole atom had been searched. */
static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                    void *ctx)
{
    (void)from;
    (void)fl;
    chunk_ctx *c = ctx;
    if (id >= c->natoms) return 0;    /* only a database from a crafted file reports such ids */
    uint64_t run_end = c->base + to, end = run_end + c->delta[id];
    if (run_end <= c->min_end || end > c->len) return 0;   /* seen already / runs past the end */
    if (c->s->n && pend_flush(c, run_end)) return 1;
    if (c->delta[id] == 0) return c->fn(id, end, c->ud) ? 1 : 0;
    if (!pend_push(c->s, end, id)) { c->nomem = 1; return 1; }
    return 0;
}

#define PF_CHUNK ((size_t)1 << 30)

/* Returns 0 (done), 1 (stopped by the callback), -1 (Vectorscan error), -2 (out of memory). */
static int scan_one(const pf_db *db, const hs_database_t *hdb, uint32_t max_len, pf_scratch *s,
                    const uint8_t *data, size_t len, pf_hit_fn fn, void *ud)
{
    chunk_ctx c = {fn, ud, s, 0, 0, len, db->delta, db->natoms, 0};
    size_t pos = 0;
    s->n = 0;
    for (;;) {
        size_t n = len - pos > PF_CHUNK ? PF_CHUNK : len - pos;
        c.base = pos;
        hs_error_t e = hs_scan(hdb, (const char *)data + pos, (unsigned)n, 0, s->s, on_match, &c);
        if (c.nomem) return -2;
        if (e == HS_SCAN_TERMINATED) return 1;
        if (e != HS_SUCCESS) return -1;
        if (pos + n >= len) return pend_flush(&c, UINT64_MAX);
        c.min_end = pos + n;
        pos = pos + n - max_len;   /* overlap so atoms across the seam are found */
    }
}

int pf_scan(const pf_db *db, pf_scratch *s, const uint8_t *data, size_t len, int gate_open,
            pf_hit_fn fn, void *ud)
{
    if (len == 0) return KS_OK;
    /* the ungated literal database is looked up (and built, the first time) before anything
     * reads the data: the pages of a mapped file are not in memory yet while it compiles */
    const hs_database_t *ng = !gate_open && db->h[PF_LIT] ? ng_get(db, s, len) : NULL;
    if (gate_open && atomic_load_explicit(&db->ng_state, memory_order_relaxed) == NG_LAZY)
        atomic_fetch_add_explicit(&((pf_db *)db)->ng_open, len, memory_order_relaxed);
    static const int order[3] = {PF_RE, PF_GATED, PF_LIT};
    int r = 0;
    for (int k = 0; k < 3 && r == 0; k++) {
        int w = order[k];
        const hs_database_t *h = db->h[w];
        if (!h || (w == PF_GATED && !gate_open)) continue;
        if (w == PF_LIT && ng) { h = ng; w = PF_LITNG; }
        r = scan_one(db, h, db->max_len[w], s, data, len, fn, ud);
    }
    return r == -2 ? KS_ENOMEM : r < 0 ? KS_EINTERNAL : KS_OK;
}

/* ------------------------------------------------------------------ saving and loading */

const char *pf_version(void) { return hs_version(); }

int pf_write(ser_w *w, const pf_db *cdb)
{
    pf_db *db = (pf_db *)cdb;       /* the lazily built part only */
    if (atomic_load(&db->ng_state) == NG_LAZY) {   /* a compiled file carries it built */
        pthread_mutex_lock(&db->ng_lock);
        if (atomic_load(&db->ng_state) == NG_LAZY) ng_build(db);
        pthread_mutex_unlock(&db->ng_lock);
    }
    ser_put_u32(w, db->natoms);
    for (int k = 0; k < PF_NDB; k++) ser_put_u32(w, db->max_len[k]);
    ser_put_array(w, db->delta, 1, db->delta ? db->natoms : 0);
    for (int k = 0; k < PF_NDB; k++) {
        char *bytes = NULL;
        size_t n = 0;
        if (db->h[k] && hs_serialize_database(db->h[k], &bytes, &n) != HS_SUCCESS) return KS_ENOMEM;
        if (n > UINT32_MAX) { free(bytes); return KS_ELIMIT; }
        ser_put_array(w, bytes, 1, (uint32_t)n);
        free(bytes);    /* hs_serialize_database allocates with the default (malloc) allocator */
    }
    return w->err;
}

int pf_read(ser_r *r, uint32_t natoms, pf_db **out)
{
    *out = NULL;
    pf_db *db = db_new();
    if (!db) { r->err = KS_ENOMEM; return KS_ENOMEM; }
    db->natoms = ser_get_u32(r);
    for (int k = 0; k < PF_NDB; k++) db->max_len[k] = ser_get_u32(r);
    uint32_t nd;
    db->delta = ser_get_array(r, 1, &nd, natoms, 0);
    for (int k = 0; k < PF_NDB; k++) db->ser[k] = ser_get_array(r, 1, &db->ser_len[k], UINT32_MAX, 0);
    if (!r->err) {
        int ok = db->natoms == natoms && nd == natoms;
        for (int k = 0; k < PF_NDB; k++) {
            ok = ok && db->max_len[k] <= PF_MAX_ATOM;
            if (!natoms) ok = ok && !db->ser_len[k];
        }
        for (uint32_t i = 0; ok && i < nd; i++) ok = db->delta[i] <= PF_MAX_ATOM;
        if (!ok) r->err = KS_EFORMAT;
    }
    if (r->err) { pf_free(db); return r->err; }
    *out = db;
    return KS_OK;
}

/* One stored database: a block-mode database this Vectorscan accepts on this machine. The
 * header check (hs_serialized_database_size) and hs_deserialize_database (version, platform,
 * Vectorscan's own CRC of the bytecode) come before anything reads the bytecode (the mode, for
 * hs_database_info). */
static int open_one(const char *bytes, uint32_t len, hs_database_t **out)
{
    size_t need;
    char *info = NULL;
    if (hs_serialized_database_size(bytes, len, &need) != HS_SUCCESS) return KS_EFORMAT;
    if (hs_deserialize_database(bytes, len, out) != HS_SUCCESS) { *out = NULL; return KS_EFORMAT; }
    int block = hs_database_info(*out, &info) == HS_SUCCESS && info &&
                strstr(info, "Mode: BLOCK") != NULL;
    free(info);         /* allocated with the default (malloc) allocator */
    if (!block) { hs_free_database(*out); *out = NULL; return KS_EFORMAT; }
    return KS_OK;
}

int pf_open(pf_db *db)
{
    int rc = KS_OK;
    for (int k = 0; k < PF_NDB && rc == KS_OK; k++)
        if (db->ser_len[k]) rc = open_one(db->ser[k], db->ser_len[k], &db->h[k]);
    for (int k = 0; k < PF_NDB; k++) {
        free(db->ser[k]);
        db->ser[k] = NULL;
        db->ser_len[k] = 0;
    }
    if (rc == KS_OK && db->h[PF_LITNG]) {
        atomic_store_explicit(&db->ng, db->h[PF_LITNG], memory_order_release);
        atomic_store(&db->ng_state, NG_READY);
    }
    return rc;
}
