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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"

struct pf_db {
    hs_database_t *db;    /* regex database; NULL when it has no atoms */
    hs_database_t *lit;   /* pure-literal database; NULL when it has no atoms */
    uint32_t natoms;      /* ids reported are below this (others are ignored) */
    uint32_t max_len, lit_max_len;
    uint8_t *delta;       /* per atom id: bytes from the end of its literal pattern to the end
                             of the atom (masked atoms searched by an exact run inside them) */
    char *ser[2];         /* pf_read: the stored regex/literal databases until pf_open */
    uint32_t ser_len[2];
};

struct pf_scratch {
    hs_scratch_t *s;      /* sized for both databases */
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

/* Leading NUL bytes of an atom searched in the literal database (hs_compile_lit_multi sees a
 * pattern starting with NUL as empty). They are left out of the pattern: its hits end where the
 * atom's do, and the verification reads the whole atom from the data anyway. */
static uint32_t lead_nuls(const pf_atom *a)
{
    uint32_t k = 0;
    while (k < a->len && a->bytes[k] == 0) k++;
    return k;
}

/* hs_compile_lit_multi takes only unmasked atoms; one with leading NULs only if 4 bytes or more
 * remain without them (a shorter rest, like the 01 of 00 00 00 00 01, would hit everywhere) */
int pf_lit_capable(const pf_atom *a)
{
    uint32_t z = lead_nuls(a);
    if (a->len == 0 || (z && a->len - z < 4)) return 0;
    for (uint32_t k = 0; k < a->len; k++)
        if (a->mask[k] != 0xFF) return 0;
    return 1;
}

static int compile_err(hs_compile_error_t *ce, char *err, size_t errlen)
{
    snprintf(err, errlen, "prefilter: %s", ce && ce->message ? ce->message : "compile failed");
    if (ce) hs_free_compile_error(ce);
    return KS_EINTERNAL;
}

/* A masked atom that may be shifted (shift_ok): its longest run of exact bytes, without leading
 * NULs, if 4 bytes or longer. Returns the run length and sets *start; 0 if none. */
#define PF_MIN_RUN 4
static uint32_t exact_run(const pf_atom *a, uint32_t *start)
{
    uint32_t best = 0, bs = 0, i = 0;
    while (i < a->len) {
        if (a->mask[i] != 0xFF) { i++; continue; }
        uint32_t j = i;
        while (j < a->len && a->mask[j] == 0xFF) j++;
        uint32_t k = i;
        while (k < j && a->bytes[k] == 0) k++;
        if (j - k > best) { best = j - k; bs = k; }
        i = j;
    }
    if (best < PF_MIN_RUN) return 0;
    *start = bs;
    return best;
}

/* The regex database's compile, run on its own thread when pf_build may use two. */
typedef struct re_job {
    const char *const *pats;
    const unsigned *flags, *ids;
    uint32_t n;
    hs_database_t *db;
    hs_compile_error_t *ce;
    hs_error_t rc;
} re_job;

static void *re_compile_job(void *arg)
{
    re_job *j = arg;
    j->rc = hs_compile_multi(j->pats, j->flags, j->ids, j->n, HS_MODE_BLOCK, NULL, &j->db, &j->ce);
    return NULL;
}

int pf_build(const pf_atom *atoms, uint32_t n, int threads, pf_db **out, char *err,
             size_t errlen)
{
    pf_db *db = calloc(1, sizeof *db);
    if (!db) return KS_ENOMEM;
    *out = db;
    db->natoms = n;
    if (n == 0) return KS_OK;
    char **pats = calloc(n, sizeof *pats);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = calloc(n, sizeof *ids);
    const char **lpats = calloc(n, sizeof *lpats);
    unsigned *lflags = calloc(n, sizeof *lflags);
    unsigned *lids = calloc(n, sizeof *lids);
    size_t *llens = calloc(n, sizeof *llens);
    uint32_t nr = 0, nl = 0;
    int rc = KS_OK;
    if (!pats || !flags || !ids || !lpats || !lflags || !lids || !llens) { rc = KS_ENOMEM; goto out; }
    db->delta = calloc(n, 1);
    if (!db->delta) { rc = KS_ENOMEM; goto out; }
    for (uint32_t i = 0; i < n; i++) {
        const pf_atom *a = &atoms[i];
        uint32_t rs = 0, rl = 0;
        if (!(a->lit && pf_lit_capable(a)) && a->shift_ok && !a->nocase &&
            (rl = exact_run(a, &rs)) != 0 && a->len - (rs + rl) < 256) {
            /* the regex database costs per byte scanned far more than the literal one: a
             * masked atom is searched there only when it has no usable exact run */
            lpats[nl] = (const char *)a->bytes + rs;
            llens[nl] = rl;
            lflags[nl] = 0;
            lids[nl++] = i;
            db->delta[i] = (uint8_t)(a->len - (rs + rl));
            if (a->len > db->lit_max_len) db->lit_max_len = a->len;
            continue;
        }
        if (a->lit && pf_lit_capable(a)) {
            uint32_t skip = lead_nuls(a);
            lpats[nl] = (const char *)a->bytes + skip;
            llens[nl] = a->len - skip;
            lflags[nl] = a->nocase ? HS_FLAG_CASELESS : 0;
            lids[nl++] = i;
            if (a->len > db->lit_max_len) db->lit_max_len = a->len;
            continue;
        }
        size_t cap = 16;
        for (uint32_t k = 0; k < a->len; k++) cap += a->mask[k] == 0xFF || a->mask[k] == 0 ? 4 : 4 * 256 + 2;
        char *pt = malloc(cap + 1);
        if (!pt) { rc = KS_ENOMEM; goto out; }
        pats[nr] = pt;
        size_t p = 0;
        for (uint32_t k = 0; k < a->len; k++) p += byte_pattern(pt + p, a->bytes[k], a->mask[k]);
        pt[p] = 0;
        flags[nr] = HS_FLAG_DOTALL | (a->nocase ? HS_FLAG_CASELESS : 0);
        ids[nr++] = i;
        if (a->len > db->max_len) db->max_len = a->len;
    }
    hs_compile_error_t *ce = NULL;
    re_job job = {(const char *const *)pats, flags, ids, nr, NULL, NULL, HS_SUCCESS};
    pthread_t th;
    int threaded = nr && nl && threads >= 2 && pthread_create(&th, NULL, re_compile_job, &job) == 0;
    if (nr && !threaded) re_compile_job(&job);
    hs_error_t lrc = HS_SUCCESS;
    if (nl && (threaded || job.rc == HS_SUCCESS))
        lrc = hs_compile_lit_multi(lpats, lflags, lids, llens, nl, HS_MODE_BLOCK, NULL, &db->lit,
                                   &ce);
    if (threaded) pthread_join(th, NULL);
    db->db = job.db;
    if (job.rc != HS_SUCCESS) {
        rc = compile_err(job.ce, err, errlen);
        if (ce) hs_free_compile_error(ce);
    } else if (lrc != HS_SUCCESS) {
        rc = compile_err(ce, err, errlen);
    }
out:
    if (pats) for (uint32_t i = 0; i < nr; i++) free(pats[i]);
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
    if (db->db) hs_free_database(db->db);
    if (db->lit) hs_free_database(db->lit);
    free(db->delta);
    free(db->ser[0]);
    free(db->ser[1]);
    free(db);
}

int pf_scratch_alloc(const pf_db *db, pf_scratch **out)
{
    pf_scratch *s = calloc(1, sizeof *s);
    if (!s) return KS_ENOMEM;
    if ((db->db && hs_alloc_scratch(db->db, &s->s) != HS_SUCCESS) ||
        (db->lit && hs_alloc_scratch(db->lit, &s->s) != HS_SUCCESS)) {
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
    free(s);
}

typedef struct chunk_ctx {
    pf_hit_fn fn;
    void *ud;
    uint64_t base;      /* offset of the chunk in the input */
    uint64_t min_end;   /* hits ending at or before this were reported by the previous chunk */
    uint64_t len;       /* whole input */
    const uint8_t *delta;
    uint32_t natoms;
} chunk_ctx;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                    void *ctx)
{
    (void)from;
    (void)fl;
    chunk_ctx *c = ctx;
    if (id >= c->natoms) return 0;    /* only a database from a crafted file reports such ids */
    uint64_t end = c->base + to + c->delta[id];
    if (end <= c->min_end || end > c->len) return 0;   /* the atom's masked tail runs past the end */
    return c->fn(id, end, c->ud) ? 1 : 0;
}

#define PF_CHUNK ((size_t)1 << 30)

static int scan_one(const pf_db *db, const hs_database_t *hdb, uint32_t max_len, pf_scratch *s,
                    const uint8_t *data, size_t len, pf_hit_fn fn, void *ud)
{
    chunk_ctx c = {fn, ud, 0, 0, len, db->delta, db->natoms};
    size_t pos = 0;
    for (;;) {
        size_t n = len - pos > PF_CHUNK ? PF_CHUNK : len - pos;
        c.base = pos;
        hs_error_t e = hs_scan(hdb, (const char *)data + pos, (unsigned)n, 0, s->s, on_match, &c);
        if (e == HS_SCAN_TERMINATED) return 1;
        if (e != HS_SUCCESS) return -1;
        if (pos + n >= len) return 0;
        c.min_end = pos + n;
        pos = pos + n - max_len;   /* overlap so atoms across the seam are found */
    }
}

int pf_scan(const pf_db *db, pf_scratch *s, const uint8_t *data, size_t len, pf_hit_fn fn, void *ud)
{
    if (len == 0) return KS_OK;
    int r = 0;
    if (db->db) r = scan_one(db, db->db, db->max_len, s, data, len, fn, ud);
    if (r == 0 && db->lit) r = scan_one(db, db->lit, db->lit_max_len, s, data, len, fn, ud);
    return r < 0 ? KS_EINTERNAL : KS_OK;
}

/* ------------------------------------------------------------------ saving and loading */

const char *pf_version(void) { return hs_version(); }

int pf_write(ser_w *w, const pf_db *db)
{
    ser_put_u32(w, db->natoms);
    ser_put_u32(w, db->max_len);
    ser_put_u32(w, db->lit_max_len);
    ser_put_array(w, db->delta, 1, db->delta ? db->natoms : 0);
    const hs_database_t *h[2] = {db->db, db->lit};
    for (int k = 0; k < 2; k++) {
        char *bytes = NULL;
        size_t n = 0;
        if (h[k] && hs_serialize_database(h[k], &bytes, &n) != HS_SUCCESS) return KS_ENOMEM;
        if (n > UINT32_MAX) { free(bytes); return KS_ELIMIT; }
        ser_put_array(w, bytes, 1, (uint32_t)n);
        free(bytes);    /* hs_serialize_database allocates with the default (malloc) allocator */
    }
    return w->err;
}

int pf_read(ser_r *r, uint32_t natoms, pf_db **out)
{
    *out = NULL;
    pf_db *db = calloc(1, sizeof *db);
    if (!db) { r->err = KS_ENOMEM; return KS_ENOMEM; }
    db->natoms = ser_get_u32(r);
    db->max_len = ser_get_u32(r);
    db->lit_max_len = ser_get_u32(r);
    uint32_t nd;
    db->delta = ser_get_array(r, 1, &nd, natoms, 0);
    for (int k = 0; k < 2; k++) db->ser[k] = ser_get_array(r, 1, &db->ser_len[k], UINT32_MAX, 0);
    if (!r->err) {
        int ok = db->natoms == natoms && nd == natoms && db->max_len <= PF_MAX_ATOM &&
                 db->lit_max_len <= PF_MAX_ATOM && (natoms || (!db->ser_len[0] && !db->ser_len[1]));
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
    hs_database_t **h[2] = {&db->db, &db->lit};
    int rc = KS_OK;
    for (int k = 0; k < 2 && rc == KS_OK; k++)
        if (db->ser_len[k]) rc = open_one(db->ser[k], db->ser_len[k], h[k]);
    for (int k = 0; k < 2; k++) {
        free(db->ser[k]);
        db->ser[k] = NULL;
        db->ser_len[k] = 0;
    }
    return rc;
}
