/*
 * test_prefilter.c - the Vectorscan prefilter (src/match/prefilter.c) against a brute-force
 * search, on random atoms and data built to contain them:
 *   - every occurrence of every atom is reported, with the offset one past its last byte;
 *   - each database's hits come in non-decreasing end order (the regex database's first), also
 *     for atoms searched through a run inside them (held in the reorder buffer);
 *   - no hit is reported twice; extra hits (a superset from a run, a folded letter or leading
 *     NULs left out) are allowed, but only for atoms that are searched that way.
 * Plus fixed cases: a wide-string atom with leading NULs, case-folded letters, an atom whose run
 * is at its front (hits held until later-found runs pass them), and the lit_capable rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"
#include "match/prefilter.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

typedef struct hit { uint32_t id; uint64_t end; } hit;
typedef struct hits { hit *v; size_t n, cap; } hits;

static int collect(uint32_t id, uint64_t end, void *ud)
{
    hits *h = ud;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v) abort();
    }
    h->v[h->n].id = id;
    h->v[h->n].end = end;
    h->n++;
    return 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* does atom a occur with its last byte at end-1 */
static int occurs(const pf_atom *a, const uint8_t *d, size_t n, size_t end)
{
    if (end < a->len || end > n) return 0;
    const uint8_t *p = d + end - a->len;
    for (uint32_t k = 0; k < a->len; k++) {
        uint8_t x = p[k], b = a->bytes[k];
        if (a->nocase && a->mask[k] == 0xFF) {
            if (lower(x) != lower(b)) return 0;
        } else if ((x & a->mask[k]) != (b & a->mask[k])) {
            return 0;
        }
    }
    return 1;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* scan data with atoms; check completeness, order per database, no duplicates, and that extra
 * hits come only from atoms that may report a superset */
static void check_scan(const pf_atom *atoms, uint32_t na, const uint8_t *d, size_t n,
                       const char *what)
{
    pf_db *db = NULL;
    pf_scratch *s = NULL;
    char err[256];
    int rc = pf_build(atoms, na, 1, &db, err, sizeof err);
    CHECK(rc == KS_OK, "%s: pf_build: %s", what, err);
    if (rc != KS_OK) return;
    CHECK(pf_scratch_alloc(db, &s) == KS_OK, "%s: scratch", what);
    /* with the gate closed: no gated atom is reported, every other atom is (counted below
     * against the open scan's hits) */
    hits hc = {0};
    CHECK(pf_scan(db, s, d, n, 0, collect, &hc) == KS_OK, "%s: scan (gate closed)", what);
    size_t ungated_hits = 0;
    for (size_t i = 0; i < hc.n; i++) {
        const pf_atom *a = &atoms[hc.v[i].id];
        CHECK(!(a->gated && !(a->lit && pf_lit_capable(a))), "%s: gated atom %u reported with the "
              "gate closed", what, hc.v[i].id);
    }
    hits h = {0};
    CHECK(pf_scan(db, s, d, n, 1, collect, &h) == KS_OK, "%s: scan", what);
    /* order: the regex database's hits, the gated one's, then the literal one's; each part
     * non-decreasing */
    int phase = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < h.n; i++) {
        const pf_atom *a = &atoms[h.v[i].id];
        int lit = a->lit && pf_lit_capable(a);
        int ph = lit ? 2 : a->gated ? 1 : 0;
        CHECK(h.v[i].id < na, "%s: id %u out of range", what, h.v[i].id);
        if (ph > phase) { phase = ph; last = 0; }
        CHECK(ph == phase, "%s: a hit of database %d after database %d's", what, ph, phase);
        CHECK(h.v[i].end >= last, "%s: hit %zu ends at %llu before %llu", what, i,
              (unsigned long long)h.v[i].end, (unsigned long long)last);
        last = h.v[i].end;
        ungated_hits += ph != 1;
    }
    CHECK(ungated_hits == hc.n, "%s: %zu hits of ungated atoms with the gate open, %zu closed", what,
          ungated_hits, hc.n);
    free(hc.v);
    /* once the ungated literal database is built (at once here), a gate-closed scan reports no
     * gated atom at all, and every hit of the others, in the same order as the open scan */
    pf_set_lazy_bytes(db, 0);
    for (int round = 0; round < 2; round++) {
        hits hn = {0};
        CHECK(pf_scan(db, s, d, n, 0, collect, &hn) == KS_OK, "%s: scan (gate closed, built)", what);
        size_t j = 0;
        for (size_t i = 0; i < h.n; i++) {
            if (atoms[h.v[i].id].gated) continue;
            CHECK(j < hn.n && hn.v[j].id == h.v[i].id && hn.v[j].end == h.v[i].end,
                  "%s: round %d: hit %zu of the open scan (atom %u at %llu) is not the closed "
                  "scan's hit %zu", what, round, i, h.v[i].id, (unsigned long long)h.v[i].end, j);
            j++;
        }
        CHECK(j == hn.n, "%s: round %d: %zu ungated hits open, %zu closed", what, round, j, hn.n);
        free(hn.v);
    }
    /* completeness and no duplicates */
    uint8_t *seen = calloc((size_t)na * (n + 1), 1);
    if (!seen) abort();
    for (size_t i = 0; i < h.n; i++) {
        uint8_t *p = &seen[(size_t)h.v[i].id * (n + 1) + h.v[i].end];
        CHECK(*p == 0, "%s: atom %u reported twice at %llu", what, h.v[i].id,
              (unsigned long long)h.v[i].end);
        *p = 1;
        const pf_atom *a = &atoms[h.v[i].id];
        if (!occurs(a, d, n, h.v[i].end)) {
            /* a superset hit: only an atom with a masked byte or leading NULs (left out of its
             * literal pattern) may report one */
            int masked = a->bytes[0] == 0;
            for (uint32_t k = 0; k < a->len; k++) masked |= a->mask[k] != 0xFF;
            CHECK(masked, "%s: exact atom %u (len %u, nocase %u, lit %u) reported at %llu where it "
                  "does not occur", what, h.v[i].id, a->len, a->nocase, a->lit,
                  (unsigned long long)h.v[i].end);
            if (!masked) {
                for (uint32_t k = 0; k < a->len; k++) fprintf(stderr, " %02x", a->bytes[k]);
                fprintf(stderr, "  data:");
                for (uint32_t k = 0; k < a->len && h.v[i].end >= a->len; k++)
                    fprintf(stderr, " %02x", d[h.v[i].end - a->len + k]);
                fputc('\n', stderr);
            }
        }
    }
    for (uint32_t id = 0; id < na; id++)
        for (size_t e = 1; e <= n; e++)
            if (occurs(&atoms[id], d, n, e))
                CHECK(seen[(size_t)id * (n + 1) + e], "%s: atom %u at end %zu not reported",
                      what, id, e);
    free(seen);
    free(h.v);
    pf_scratch_free(s);
    pf_free(db);
}

static pf_atom atom_of(const char *hex)
{
    /* "4D 5A ?? 9? ~~" : byte, any, high nibble; "a_" is 'a' with its case bit masked */
    pf_atom a;
    memset(&a, 0, sizeof a);
    a.lit = 1;
    for (const char *p = hex; *p && a.len < PF_MAX_ATOM;) {
        if (*p == ' ') { p++; continue; }
        if (p[0] == '?' && p[1] == '?') { a.bytes[a.len] = 0; a.mask[a.len++] = 0; p += 2; continue; }
        if (p[1] == '_') { a.bytes[a.len] = (uint8_t)p[0]; a.mask[a.len++] = 0xDF; p += 2; continue; }
        unsigned v;
        if (p[1] == '?') {
            sscanf(p, "%1x", &v);
            a.bytes[a.len] = (uint8_t)(v << 4);
            a.mask[a.len++] = 0xF0;
        } else {
            sscanf(p, "%2x", &v);
            a.bytes[a.len] = (uint8_t)v;
            a.mask[a.len++] = 0xFF;
        }
        p += 2;
    }
    return a;
}

static void test_lit_capable(void)
{
    pf_atom a = atom_of("4D 5A");
    CHECK(pf_lit_capable(&a), "short exact atom is literal");
    a = atom_of("00 41");
    CHECK(!pf_lit_capable(&a), "NUL before a 1-byte rest is not");
    a = atom_of("00 41 00 42 00 43");
    CHECK(pf_lit_capable(&a), "NUL before a 5-byte rest is");
    a = atom_of("c_ m_ d_ 2E");
    CHECK(pf_lit_capable(&a), "case-folded letters are");
    a = atom_of("8B ?? 48 81");
    CHECK(!pf_lit_capable(&a), "no 3-byte run: not literal");
    a = atom_of("8B EC 83 C4 ?? 74");
    CHECK(pf_lit_capable(&a), "4-byte run: literal");
    a = atom_of("?? 00 00 00 01");
    CHECK(!pf_lit_capable(&a), "run of NULs then one byte is not");
    a = atom_of("3_ 41 42 43 44");   /* '3' with its case bit masked is not a letter fold */
    CHECK(pf_lit_capable(&a), "run after a non-letter masked byte");
    a = atom_of("6A FF 8D 4? ?? 5?");
    CHECK(pf_lit_capable(&a), "3-byte run (PF_MIN_RUN): literal");
    a = atom_of("00 89 44 24 ?? C7");
    CHECK(!pf_lit_capable(&a), "3-byte run left after a leading NUL: not literal");
    a = atom_of("00 89 44 24 11 ?? C7");
    CHECK(pf_lit_capable(&a), "4-byte run after a leading NUL: literal");
    a = atom_of("6A FF ?? 4? 8D 5?");
    CHECK(!pf_lit_capable(&a), "no 3-byte run of literal bytes: not literal");
}

static void test_fixed(void)
{
    pf_atom at[7];
    at[0] = atom_of("00 49 00 6E 00 63 00 2E");        /* wide "Inc." after a NUL */
    at[1] = atom_of("c_ m_ d_ 2E e_ x_ e_");           /* "cmd.exe", any case */
    at[2] = atom_of("41 42 43 44 ?? ?? ?? ?? ?? ?? 5A"); /* run at the front: end 7 bytes later */
    at[3] = atom_of("45 46");                         /* short exact */
    at[4] = atom_of("8B ?? 48 81");                   /* regex database */
    at[5] = atom_of("9? 41 42 43 44");                /* run at the back */
    at[6] = atom_of("6A FF 8D 4? ?? 5?");             /* regex database */
    at[6].gated = 1;                                  /* the gated one */
    static const char text[] = "xx\0I\0n\0c\0.ABCD123456ZEF CMD.EXE cmd.exe Cmd.ExE ABCDxxxxxxZ "
                               "\x8B\x01\x48\x81 \x9f" "ABCD \x7f" "ABCD EF"
                               "\x6a\xff\x8d\x45\x00\x51 \x6a\xff\x8d\x4f\x01\x5f\x6a\xff\x8d\x50";
    check_scan(at, 7, (const uint8_t *)text, sizeof text - 1, "fixed");
}

static void test_random(void)
{
    for (int round = 0; round < 40; round++) {
        uint32_t na = 1 + rnd() % 24;
        pf_atom *at = calloc(na, sizeof *at);
        size_t n = 4096;
        uint8_t *d = malloc(n);
        if (!at || !d) abort();
        /* a small alphabet so that atoms and their near misses occur often */
        for (size_t i = 0; i < n; i++) d[i] = "ABab\0\x01xyZ"[rnd() % 9];
        for (uint32_t i = 0; i < na; i++) {
            pf_atom *a = &at[i];
            a->len = 1 + rnd() % 12;
            a->lit = rnd() % 4 != 0;
            a->gated = rnd() % 3 == 0;
            a->nocase = rnd() % 5 == 0;
            for (uint32_t k = 0; k < a->len; k++) {
                a->bytes[k] = "ABab\0\x01xyZ"[rnd() % 9];
                uint32_t m = rnd() % 11;
                a->mask[k] = m == 0 ? 0x00 : m == 1 ? 0xF0 : m == 2 ? 0xDF : m == 3 ? 0x0F : 0xFF;
                a->bytes[k] &= a->mask[k];
            }
            /* plant it a few times (masked bytes take the data's value) */
            for (int c = 0; c < 3; c++) {
                size_t at_ = rnd() % (n - a->len);
                for (uint32_t k = 0; k < a->len; k++)
                    d[at_ + k] = (uint8_t)((d[at_ + k] & ~a->mask[k]) | a->bytes[k]);
            }
        }
        char what[32];
        snprintf(what, sizeof what, "random %d", round);
        check_scan(at, na, d, n, what);
        free(at);
        free(d);
    }
}

int main(void)
{
    test_lit_capable();
    test_fixed();
    test_random();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("test_prefilter: ok\n");
    return 0;
}
