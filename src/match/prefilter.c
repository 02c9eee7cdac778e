/*
 * prefilter.c - Vectorscan database of atoms (see prefilter.h).
 *
 * Every atom becomes a pattern in which each byte is written as an escape (\xNN) or a
 * character class for masked bytes, so NUL bytes and metacharacters need no special care.
 */
#include "match/prefilter.h"

#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"

struct pf_db {
    hs_database_t *db;    /* NULL when there are no atoms */
    uint32_t max_len;
};

struct pf_scratch {
    hs_scratch_t *s;
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

int pf_build(const pf_atom *atoms, uint32_t n, pf_db **out, char *err, size_t errlen)
{
    pf_db *db = calloc(1, sizeof *db);
    if (!db) return KS_ENOMEM;
    *out = db;
    if (n == 0) return KS_OK;
    char **pats = calloc(n, sizeof *pats);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = calloc(n, sizeof *ids);
    int rc = KS_OK;
    if (!pats || !flags || !ids) { rc = KS_ENOMEM; goto out; }
    for (uint32_t i = 0; i < n; i++) {
        const pf_atom *a = &atoms[i];
        size_t cap = 16;
        for (uint32_t k = 0; k < a->len; k++) cap += a->mask[k] == 0xFF || a->mask[k] == 0 ? 4 : 4 * 256 + 2;
        pats[i] = malloc(cap + 1);
        if (!pats[i]) { rc = KS_ENOMEM; goto out; }
        size_t p = 0;
        for (uint32_t k = 0; k < a->len; k++) p += byte_pattern(pats[i] + p, a->bytes[k], a->mask[k]);
        pats[i][p] = 0;
        flags[i] = HS_FLAG_DOTALL | (a->nocase ? HS_FLAG_CASELESS : 0);
        ids[i] = i;
        if (a->len > db->max_len) db->max_len = a->len;
    }
    hs_compile_error_t *ce = NULL;
    if (hs_compile_multi((const char *const *)pats, flags, ids, n, HS_MODE_BLOCK, NULL, &db->db, &ce)
        != HS_SUCCESS) {
        snprintf(err, errlen, "prefilter: %s", ce && ce->message ? ce->message : "compile failed");
        if (ce) hs_free_compile_error(ce);
        rc = KS_EINTERNAL;
    }
out:
    if (pats) for (uint32_t i = 0; i < n; i++) free(pats[i]);
    free(pats);
    free(flags);
    free(ids);
    if (rc != KS_OK) { pf_free(db); *out = NULL; }
    return rc;
}

void pf_free(pf_db *db)
{
    if (!db) return;
    if (db->db) hs_free_database(db->db);
    free(db);
}

int pf_scratch_alloc(const pf_db *db, pf_scratch **out)
{
    pf_scratch *s = calloc(1, sizeof *s);
    if (!s) return KS_ENOMEM;
    if (db->db && hs_alloc_scratch(db->db, &s->s) != HS_SUCCESS) { free(s); return KS_ENOMEM; }
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
} chunk_ctx;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                    void *ctx)
{
    (void)from;
    (void)fl;
    chunk_ctx *c = ctx;
    uint64_t end = c->base + to;
    if (end <= c->min_end) return 0;
    return c->fn(id, end, c->ud) ? 1 : 0;
}

#define PF_CHUNK ((size_t)1 << 30)

int pf_scan(const pf_db *db, pf_scratch *s, const uint8_t *data, size_t len, pf_hit_fn fn, void *ud)
{
    if (!db->db || len == 0) return KS_OK;
    chunk_ctx c = {fn, ud, 0, 0};
    size_t pos = 0;
    for (;;) {
        size_t n = len - pos > PF_CHUNK ? PF_CHUNK : len - pos;
        c.base = pos;
        hs_error_t e = hs_scan(db->db, (const char *)data + pos, (unsigned)n, 0, s->s, on_match, &c);
        if (e == HS_SCAN_TERMINATED) return KS_OK;
        if (e != HS_SUCCESS) return KS_EINTERNAL;
        if (pos + n >= len) return KS_OK;
        c.min_end = pos + n;
        pos = pos + n - db->max_len;   /* overlap so atoms across the seam are found */
    }
}
