/*
 * strings.c - build atoms and targets for all strings; verify prefilter hits (see strings.h).
 */
#include "match/strings.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/freq.h"
#include "match/re.h"

/* Literal atoms: the best LIT_ATOM_MAX-byte window of each variant (shorter atoms build a
 * Vectorscan database much faster; 8 bytes stay selective). */
#define LIT_ATOM_MAX 8
#define BWD_EXT_MAX 16      /* a regex/hex atom extended backwards: at most this long */

static const char std_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ------------------------------------------------------------------ atom table */

typedef struct atom_map {
    pf_atom *atoms;
    uint32_t n, cap;
    uint32_t *slots;      /* open addressing: atom index + 1, 0 = empty */
    uint32_t nslots;
} atom_map;

static uint64_t atom_hash(const pf_atom *a)
{
    uint64_t h = hash_bytes(a->bytes, a->len) ^ (hash_bytes(a->mask, a->len) * 31) ^ a->nocase;
    return h * 0x9E3779B97F4A7C15ULL;
}

static int atom_eq(const pf_atom *a, const pf_atom *b)
{
    return a->len == b->len && a->nocase == b->nocase && memcmp(a->bytes, b->bytes, a->len) == 0 &&
           memcmp(a->mask, b->mask, a->len) == 0;
}

/* Intern atom; returns its id or KS_NONE on out-of-memory. */
static uint32_t atom_intern(atom_map *m, const pf_atom *a)
{
    if ((m->n + 1) * 2 > m->nslots) {
        uint32_t ns = m->nslots ? m->nslots * 2 : 1024;
        uint32_t *s = calloc(ns, sizeof *s);
        if (!s) return KS_NONE;
        for (uint32_t i = 0; i < m->n; i++) {
            uint32_t j = (uint32_t)(atom_hash(&m->atoms[i]) >> 20) & (ns - 1);
            while (s[j]) j = (j + 1) & (ns - 1);
            s[j] = i + 1;
        }
        free(m->slots);
        m->slots = s;
        m->nslots = ns;
    }
    uint32_t j = (uint32_t)(atom_hash(a) >> 20) & (m->nslots - 1);
    while (m->slots[j]) {
        if (atom_eq(&m->atoms[m->slots[j] - 1], a)) return m->slots[j] - 1;
        j = (j + 1) & (m->nslots - 1);
    }
    if (m->n == m->cap) {
        uint32_t nc = m->cap ? m->cap * 2 : 1024;
        pf_atom *na = realloc(m->atoms, (size_t)nc * sizeof *na);
        if (!na) return KS_NONE;
        m->atoms = na;
        m->cap = nc;
    }
    m->atoms[m->n] = *a;
    m->slots[j] = m->n + 1;
    return m->n++;
}

typedef struct pending { uint32_t atom; pf_target t; } pending;
typedef VEC(pending) pending_vec;

/* ------------------------------------------------------------------ variants of text strings */

/* Offset of the rarest window of w bytes (1 <= w <= len) by the byte-pair model (freq_cost;
 * letters of a caseless variant count in either case). A window starting with NUL is taken only
 * when every window does: the literal database searches what follows the NULs (prefilter.c,
 * lit_form_of), so such a window is no rarer than the one after it. Over /usr/bin this model
 * picked `ernalurl` rather than `internal` for "internalurl". */
static uint32_t best_window(const uint8_t *b, uint32_t len, uint32_t w, int nocase)
{
    if (w >= len) return 0;
    /* the window's pair costs are kept as a running sum while it slides */
#define WMASK(c) (nocase && pf_folded((c), 0xDF) ? 0xDF : 0xFF)
    int pairs = 0;
    for (uint32_t k = 1; k < w; k++) pairs += freq_pair(b[k - 1], WMASK(b[k - 1]), b[k], WMASK(b[k]));
    uint32_t best = 0;
    int bs = -1, bnul = 1;
    for (uint32_t i = 0; i + w <= len; i++) {
        if (i > 0) {
            pairs -= freq_pair(b[i - 1], WMASK(b[i - 1]), b[i], WMASK(b[i]));
            pairs += freq_pair(b[i + w - 2], WMASK(b[i + w - 2]), b[i + w - 1], WMASK(b[i + w - 1]));
        }
        int nul = b[i] == 0;
        if (nul && !bnul) continue;
        int sc = freq_byte(b[i], WMASK(b[i])) + pairs;
        if (sc > bs || (bnul && !nul)) { bs = sc; best = i; bnul = nul; }
    }
#undef WMASK
    return best;
}

static int add_variant(strings_rt *rt, atom_map *am, pending_vec *pend, uint32_t str,
                       const uint8_t *b, uint32_t len, int32_t xor_key, int nocase, int wide)
{
    if (len == 0) return KS_OK;
    str_variant v;
    memset(&v, 0, sizeof v);     /* padding included: variants are saved as bytes */
    v.str = str;
    v.off = rt->bytes.n;
    v.len = len;
    v.xor_key = xor_key;
    v.nocase = (uint8_t)nocase;
    v.wide = (uint8_t)wide;
    if (vec_reserve(rt->bytes, len) != KS_OK) return KS_ENOMEM;
    memcpy(rt->bytes.v + rt->bytes.n, b, len);
    rt->bytes.n += len;
    if (vec_push(rt->vars, v) != KS_OK) return KS_ENOMEM;
    pf_atom a;
    memset(&a, 0, sizeof a);
    a.len = len < LIT_ATOM_MAX ? len : LIT_ATOM_MAX;
    uint32_t back = best_window(b, len, a.len, nocase);
    memcpy(a.bytes, b + back, a.len);
    memset(a.mask, 0xFF, a.len);
    a.nocase = (uint32_t)nocase;
    uint32_t id = atom_intern(am, &a);
    if (id == KS_NONE) return KS_ENOMEM;
    pending p;
    memset(&p, 0, sizeof p);
    p.atom = id;
    p.t.kind = TG_LIT;
    p.t.str = str;
    p.t.x = rt->vars.n - 1;
    p.t.alen = a.len;
    p.t.back = back;
    return vec_push(*pend, p);
}

static uint8_t *widen(const uint8_t *b, uint32_t n)
{
    uint8_t *w = malloc((size_t)n * 2 + 1);
    if (!w) return NULL;
    for (uint32_t i = 0; i < n; i++) { w[2 * i] = b[i]; w[2 * i + 1] = 0; }
    return w;
}

/* Encode `pad` zero bytes followed by s with `alpha`, then keep only the characters that do not
 * depend on the unknown bytes before and after s. Returns length written to out. */
static uint32_t b64_variant(const uint8_t *s, uint32_t n, int pad, const char *alpha, uint8_t *out)
{
    uint32_t m = n + (uint32_t)pad;
    uint8_t *in = calloc(m + 3, 1);
    if (!in) return 0;
    memcpy(in + pad, s, n);
    uint32_t o = 0;
    for (uint32_t i = 0; i < m; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = (uint8_t)alpha[(v >> 18) & 63];
        out[o++] = (uint8_t)alpha[(v >> 12) & 63];
        if (i + 1 < m) out[o++] = (uint8_t)alpha[(v >> 6) & 63];
        if (i + 2 < m) out[o++] = (uint8_t)alpha[v & 63];
    }
    free(in);
    /* leading characters mixed with the unknown prefix */
    static const uint32_t lead[3] = {0, 2, 3};
    /* trailing character mixed with the unknown suffix */
    uint32_t trail = m % 3 ? 1 : 0;
    if (o <= lead[pad] + trail) return 0;
    uint32_t keep = o - lead[pad] - trail;
    memmove(out, out + lead[pad], keep);
    return keep;
}

static int text_variants(const ks_tables *t, strings_rt *rt, atom_map *am, pending_vec *pend,
                         uint32_t si)
{
    const ks_str *s = &t->strs.v[si];
    const uint8_t *lit = t->pool.v + s->lit;
    uint32_t n = s->lit_len;
    int nocase = (s->mods & M_NOCASE) != 0;
    int want_ascii = (s->mods & M_ASCII) || !(s->mods & M_WIDE);
    int want_wide = (s->mods & M_WIDE) != 0;
    int rc = KS_OK;

    if (s->mods & (M_BASE64 | M_BASE64WIDE)) {
        /* the source is the plain and/or the wide form of the literal (ascii/wide modifiers);
         * each is encoded, and base64wide widens the encoded text */
        const char *alpha = s->b64alpha != KS_NONE ? pool_str(t, s->b64alpha) : std_b64;
        uint8_t *wl = widen(lit, n);
        uint8_t *buf = malloc((size_t)n * 4 + 16);
        if (!buf || !wl) { free(buf); free(wl); return KS_ENOMEM; }
        for (int form = 0; form < 2 && rc == KS_OK; form++) {
            if (form == 0 ? !want_ascii : !want_wide) continue;
            const uint8_t *src = form ? wl : lit;
            uint32_t sn = form ? 2 * n : n;
            for (int pad = 0; pad < 3 && rc == KS_OK; pad++) {
                uint32_t k = b64_variant(src, sn, pad, alpha, buf);
                if (!k) continue;
                if (s->mods & M_BASE64) rc = add_variant(rt, am, pend, si, buf, k, -1, 0, 0);
                if (rc == KS_OK && (s->mods & M_BASE64WIDE)) {
                    uint8_t *w = widen(buf, k);
                    if (!w) { rc = KS_ENOMEM; break; }
                    rc = add_variant(rt, am, pend, si, w, k * 2, -1, 0, 1);
                    free(w);
                }
            }
        }
        free(buf);
        free(wl);
        return rc;
    }
    uint8_t *w = want_wide ? widen(lit, n) : NULL;
    if (want_wide && !w) return KS_ENOMEM;
    if (s->mods & M_XOR) {
        uint8_t *x = malloc((size_t)n * 2 + 1);
        if (!x) { free(w); return KS_ENOMEM; }
        for (uint32_t key = s->xor_min; key <= s->xor_max && rc == KS_OK; key++) {
            if (want_ascii) {
                for (uint32_t i = 0; i < n; i++) x[i] = lit[i] ^ (uint8_t)key;
                rc = add_variant(rt, am, pend, si, x, n, (int32_t)key, 0, 0);
            }
            if (rc == KS_OK && want_wide) {
                for (uint32_t i = 0; i < 2 * n; i++) x[i] = w[i] ^ (uint8_t)key;
                rc = add_variant(rt, am, pend, si, x, 2 * n, (int32_t)key, 0, 1);
            }
        }
        free(x);
    } else {
        if (want_ascii) rc = add_variant(rt, am, pend, si, lit, n, -1, nocase, 0);
        if (rc == KS_OK && want_wide) rc = add_variant(rt, am, pend, si, w, 2 * n, -1, nocase, 1);
    }
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ build */

static int prefix_of(const uint8_t *a, uint32_t an, const uint8_t *b, int nocase)
{
    if (!nocase) return memcmp(a, b, an) == 0;
    for (uint32_t i = 0; i < an; i++)
        if (tolower(a[i]) != tolower(b[i])) return 0;
    return 1;
}

/* Rivals of variant a (see build_rivals), appended to rt->rivals in increasing index order.
 * The candidates are cand[0..ncand) in increasing order or, when cand is NULL, the indexes
 * i .. i + ncand - 1: all variants of a's string, or (when none of them is nocase) only those
 * starting with a's first byte, as the others cannot be prefix-related. */
static int variant_rivals(strings_rt *rt, uint32_t a, const uint32_t *cand, uint32_t ncand,
                          uint32_t i)
{
    str_variant *va = &rt->vars.v[a];
    va->rfirst = rt->rivals.n;
    const uint8_t *ba = rt->bytes.v + va->off;
    uint32_t ka = va->len < 32 ? va->len : 32;
    for (uint32_t c = 0; c < ncand; c++) {
        uint32_t b = cand ? cand[c] : i + c;
        if (b == a) continue;
        const str_variant *vb = &rt->vars.v[b];
        uint32_t kb = vb->len < 32 ? vb->len : 32;
        if (!(kb < ka || (kb == ka && b < a))) continue;
        const uint8_t *bb = rt->bytes.v + vb->off;
        uint32_t m = va->len < vb->len ? va->len : vb->len;
        int nc = va->nocase | vb->nocase;
        /* variants are never empty: most pairs differ in their first byte */
        if (nc ? tolower(ba[0]) != tolower(bb[0]) : ba[0] != bb[0]) continue;
        if (!prefix_of(ba, m, bb, nc)) continue;
        if (vec_push(rt->rivals, b) != KS_OK) return KS_ENOMEM;
        va->nrival++;
    }
    return KS_OK;
}

#define RIVAL_BUCKET_MIN 16      /* strings with this many variants bucket them by first byte */

/* Hits of one string's variants are verified in atom-end order. Before atoms were windows,
 * that order put, among variants matching at the same offset, the one with the smaller
 * (min(len,32), index) first, and the first recorded match of an offset is kept. Recreate that
 * choice independently of the hit order: a variant is dropped at an offset where a preferred,
 * prefix-related variant (its "rival") matches too. */
static int build_rivals(strings_rt *rt)
{
    uint32_t n = rt->vars.n;
    uint32_t *order = NULL, ocap = 0;      /* [i, j) sorted by first byte, stable */
    int rc = KS_OK;
    for (uint32_t i = 0; i < n && rc == KS_OK;) {
        uint32_t j = i, any_nocase = 0;
        while (j < n && rt->vars.v[j].str == rt->vars.v[i].str) any_nocase |= rt->vars.v[j++].nocase;
        if (j - i < RIVAL_BUCKET_MIN || any_nocase) {
            for (uint32_t a = i; a < j && rc == KS_OK; a++)
                rc = variant_rivals(rt, a, NULL, j - i, i);
            i = j;
            continue;
        }
        /* xor strings have hundreds of variants: compare each only with those sharing its
         * first byte (counting sort by that byte) */
        if (j - i > ocap) {
            free(order);
            ocap = j - i;
            order = malloc((size_t)ocap * sizeof *order);
            if (!order) return KS_ENOMEM;
        }
        uint32_t start[257];
        memset(start, 0, sizeof start);
        for (uint32_t a = i; a < j; a++) start[rt->bytes.v[rt->vars.v[a].off] + 1]++;
        for (int b = 0; b < 256; b++) start[b + 1] += start[b];
        uint32_t fill[256];
        memcpy(fill, start, sizeof fill);
        for (uint32_t a = i; a < j; a++) order[fill[rt->bytes.v[rt->vars.v[a].off]]++] = a;
        for (uint32_t a = i; a < j && rc == KS_OK; a++) {
            uint8_t f = rt->bytes.v[rt->vars.v[a].off];
            rc = variant_rivals(rt, a, order + start[f], start[f + 1] - start[f], i);
        }
        i = j;
    }
    free(order);
    return rc;
}

/* Prefix filters of a regex/hex target: the straight-line bytes its forward program must read
 * from the atom's first byte on (see re_fwd_prefix). A hit failing every filter cannot emit. */
static void set_filters(pf_target *tg, const re_code *code, uint32_t ai)
{
    tg->nf = 0;
    uint8_t v[8], m[8];
    int have_form[2] = {0, 0};
    uint64_t fv[2] = {0, 0}, fm[2] = {0, 0};
    uint8_t fl[2] = {0, 0};
    for (int form = 0; form < 2; form++) {
        bool ascii = (code->flags & RE_ASCII) || !(code->flags & RE_WIDE);
        if (form == 0 ? !ascii : !(code->flags & RE_WIDE)) continue;
        have_form[form] = 1;
        int n = re_fwd_prefix(code, ai, form, v, m);
        if (n <= (int)tg->alen) return;   /* no better than the atom: a form always passes */
        for (int i = 0; i < n; i++) {
            fv[form] |= (uint64_t)v[i] << (8 * i);
            fm[form] |= (uint64_t)m[i] << (8 * i);
        }
        fl[form] = (uint8_t)n;
    }
    for (int form = 0; form < 2; form++) {
        if (!have_form[form]) continue;
        tg->fval[tg->nf] = fv[form];
        tg->fmask[tg->nf] = fm[form];
        tg->flen[tg->nf] = fl[form];
        tg->nf++;
    }
}

/* ------------------------------------------------------------------ far keys
 *
 * A hex string's atom is often common in code (01 00 00 00, E8, FF 15) while what makes the
 * string rare lies past its jumps. The far key is the rarest 2-4 exact bytes the program must
 * read beyond a jump (re_far_runs), with the range of their offset from the atom: a hit without
 * them there cannot match and is not verified. A necessary condition only: results never
 * change. Chosen by the rarity model less the window's width (its chances to occur in it). */

#define FK_MAX_SPAN 256          /* widest offset range searched for a key */
#define FK_MIN_GAIN (4 * 5)      /* quarter bits: keep a key that fails at least ~31 in 32 hits */

typedef struct fk_pick {
    int score;
    uint8_t key[4];
    uint8_t len;
    int32_t omin, omax;
} fk_pick;

static void fk_consider(const uint8_t *b, uint32_t n, int32_t omin, int32_t omax, void *ud)
{
    fk_pick *p = ud;
    if (omax - omin > FK_MAX_SPAN) return;
    int span = 0;                          /* log2(width + 1) in quarter bits, rounded up */
    for (uint32_t w = (uint32_t)(omax - omin) + 1; w > 1; w = (w + 1) / 2) span += 4;
    /* by the model a longer window is about as rare as the rarest inside it or rarer, so only the
     * longest ones are scored */
    static const uint8_t exact[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    uint32_t len = n < 4 ? n : 4;
    if (len < 2) return;
    for (uint32_t k = 0; k + len <= n; k++) {
        int sc = freq_cost(b + k, exact, len) - span;
        if (sc <= p->score) continue;
        p->score = sc;
        memcpy(p->key, b + k, len);
        p->len = (uint8_t)len;
        p->omin = omin + (int32_t)k;
        p->omax = omax + (int32_t)k;
    }
}

static void set_far_key(pf_target *tg, const re_code *code, uint32_t ai)
{
    fk_pick p = {FK_MIN_GAIN - 1, {0}, 0, 0, 0};
    re_far_runs(code, ai, fk_consider, &p);
    if (!p.len) return;
    memcpy(tg->fk, p.key, p.len);
    tg->fklen = p.len;
    tg->fkr = 0;
    for (uint8_t i = 1; i < p.len; i++)
        if (freq_byte(p.key[i], 0xFF) > freq_byte(p.key[tg->fkr], 0xFF)) tg->fkr = i;
    tg->fkmin = p.omin;
    tg->fkmax = p.omax;
}

/* ------------------------------------------------------------------ shifted windows
 *
 * A regex/hex target whose program has one atom is found by the prefilter through any exact run
 * of the straight-line bytes around it (every match with the atom at pos has them at fixed
 * offsets from pos), not only through the atom YARA chose: `c6 45 e8 65 c6 45 e9 70 c6 45 ea 74
 * c6 45 eb 5f` is searched as its last 8 bytes rather than its atom `c6 45 eb 5f`, and
 * `48 8B 05 ?? ?? ?? ?? 48 89 44 24` through `48 89 44 24` rather than `48 8B 05`. The target's
 * `ext` is the window's end minus the atom's end, so hit_target verifies the atom where it was;
 * the atom stays the verification anchor, so results and their order (one pattern per string,
 * shifted by a constant) are unchanged. Short, common runs are what slows the literal database
 * (Vectorscan's FDR): over 50 MB of binaries its ~430 patterns of 4 bytes or less gave 96% of
 * the hits and halved its speed. */
#define WIN_BWD 24          /* straight-line bytes looked at before the atom */
#define WIN_FWD 40          /* and from its first byte on */
_Static_assert(WIN_BWD + RE_MAX_ATOM <= 127 && WIN_FWD <= 127, "pf_target.ext is an int8_t");

/* 1 when no byte of the atom is masked */
static int atom_exact(const pf_atom *a)
{
    for (uint32_t k = 0; k < a->len; k++)
        if (a->mask[k] != 0xFF) return 0;
    return 1;
}

/* A literal byte of a window: exact, or a letter of either case (searched caselessly, as
 * prefilter.c's lit_form does). */
static int win_byte(uint8_t v, uint8_t m) { return m == 0xFF || pf_folded(v, m); }

/* The best window for atom ai of a one-atom program, as a pattern (a) and the shift of its end
 * from the atom's end (*ext): the rarest (freq_cost) run of 3 to 8 literal bytes inside the
 * straight-line bytes around the atom. Returns 0 when there is none, or the program has both a plain and a wide form
 * (no single line of bytes is necessary then). */
static int line_window(const re_code *code, uint32_t ai, pf_atom *a, int *ext)
{
    bool ascii = (code->flags & RE_ASCII) || !(code->flags & RE_WIDE);
    bool wide = (code->flags & RE_WIDE) != 0;
    if (ascii && wide) return 0;
    const re_atom *ra = &re_atoms(code)[ai];
    uint8_t v[WIN_BWD + WIN_FWD], m[WIN_BWD + WIN_FWD];
    int nb = wide ? 0 : re_bwd_prefix(code, ai, WIN_BWD, v, m);
    if (nb < 0) nb = 0;
    int nf = re_fwd_line(code, ai, wide ? 1 : 0, WIN_FWD, v + nb, m + nb);
    if (nf < (int)ra->len) return 0;     /* the line must hold the atom itself */
    uint32_t n = (uint32_t)(nb + nf);
    /* pair costs as prefix sums: a window's cost is its first byte's plus a difference */
    int psum[WIN_BWD + WIN_FWD + 1];
    psum[0] = 0;
    for (uint32_t i = 0; i + 1 < n; i++) psum[i + 1] = psum[i] + freq_pair(v[i], m[i], v[i + 1], m[i + 1]);
    int best = -1;
    uint32_t bs = 0, bl = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!win_byte(v[i], m[i])) continue;
        uint32_t j = i, z = i;
        while (j < n && j - i < LIT_ATOM_MAX && win_byte(v[j], m[j])) j++;
        while (z < j && v[z] == 0 && m[z] == 0xFF) z++;
        if (j - i < 3) continue;
        int sc = freq_byte(v[i], m[i]) + psum[j - 1] - psum[i];
        if (sc < 0) sc = 0;
        if (z > i) {
            /* NULs first: the literal database searches what follows them, a window of its
             * own (when 4 bytes or more: prefilter.c, lit_form_of); shorter, the regex
             * database searches the whole window, a little dearer per pattern */
            if (j - z >= 4) continue;
            sc -= 8;
        }
        if (sc > best) { best = sc; bs = i; bl = j - i; }
    }
    if (best < 0) return 0;
    memset(a, 0, sizeof *a);
    a->len = bl;
    memcpy(a->bytes, v + bs, bl);
    memcpy(a->mask, m + bs, bl);
    *ext = (int)(bs + bl) - (nb + (int)ra->len);
    return 1;
}

static int tie_cmp(const void *a, const void *b);

static uint32_t uf_find(uint32_t *par, uint32_t a)
{
    while (par[a] != a) a = par[a] = par[par[a]];
    return a;
}

/* Choose the atoms the literal database may search (pf_atom.lit). It reports its hits after the
 * regex database's, so a string's hits must all come from one database to keep their end-offset
 * order (which decides the first match under -f, the matches kept at the match limit, and the
 * tie order of a string's atoms at one end offset). Atoms linked by a string form a group; a
 * group goes to the literal database only if all its atoms fit it (pf_lit_capable: the atom or
 * a long enough run in it is a literal). Measured on signature-base: the literal database scans
 * several times faster per pattern; moving the unmasked hex atoms there roughly halved prefilter
 * time. Searching masked atoms through a literal run, and extending regex/hex atoms backwards
 * (strings_build), left 29 of 53 patterns in the regex database and cut its scan of 200 MB of
 * /usr/bin from 0.17 to 0.07 s. */
static int mark_literal_atoms(const ks_tables *t, atom_map *am, const pending_vec *pend,
                              const uint8_t *gated)
{
    uint32_t *par = malloc(((size_t)am->n + 1) * sizeof *par);
    uint32_t *first = malloc(((size_t)t->strs.n + 1) * sizeof *first);
    uint8_t *bad = calloc((size_t)am->n + 1, 1);
    if (!par || !first || !bad) { free(par); free(first); free(bad); return KS_ENOMEM; }
    for (uint32_t a = 0; a < am->n; a++) par[a] = a;
    for (uint32_t i = 0; i < t->strs.n; i++) first[i] = KS_NONE;
    for (uint32_t i = 0; i < pend->n; i++) {
        uint32_t a = pend->v[i].atom, si = pend->v[i].t.str;
        if (first[si] == KS_NONE) { first[si] = a; continue; }
        uint32_t x = uf_find(par, first[si]), y = uf_find(par, a);
        if (x != y) par[x] = y;
    }
    for (uint32_t a = 0; a < am->n; a++)
        if (bad[a] || !pf_lit_capable(&am->atoms[a])) bad[uf_find(par, a)] = 1;
    for (uint32_t a = 0; a < am->n; a++) am->atoms[a].lit = !bad[uf_find(par, a)];
    /* A group only rules gated on "MZ" need is gated: a regex-database one goes to the gated
     * database, a literal one stays out of the ungated literal database (2 in bad[] marks a
     * group some other rule needs). */
    for (uint32_t i = 0; i < pend->n; i++) {
        uint32_t si = pend->v[i].t.str;
        uint32_t ri = si < t->strs.n ? t->strs.v[si].rule : KS_NONE;
        if (!gated || ri >= t->rules.n || !gated[ri]) bad[uf_find(par, pend->v[i].atom)] |= 2;
    }
    for (uint32_t a = 0; a < am->n; a++)
        am->atoms[a].gated = !(bad[uf_find(par, a)] & 2);
    free(par);
    free(first);
    free(bad);
    return KS_OK;
}

/* ------------------------------------------------------------------ target classes */

#define CLASS_MIN_TARGETS 8      /* an atom shared by fewer keyed targets keeps the plain loop */

typedef struct keyed { int64_t rel; uint32_t jmin, jmax, key, target; } keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->rel != y->rel) return x->rel < y->rel ? -1 : 1;
    if (x->jmin != y->jmin) return x->jmin < y->jmin ? -1 : 1;
    if (x->jmax != y->jmax) return x->jmax < y->jmax ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->target < y->target ? -1 : x->target > y->target;
}

/* Atoms shared by many hex targets (hundreds of version-info strings starting with the same
 * wide field name, say) would verify every one of them at each hit. For those atoms, targets
 * with a second key (re_fwd_key) move behind the plain ones and are grouped into classes; at a
 * hit only the targets whose key is present are processed. The key is a necessary condition of
 * re_verify, so results do not change; the order of targets within one hit never mattered
 * (each belongs to another string; ties are sorted at flush). */
static int build_classes(const ks_tables *t, strings_rt *rt)
{
    uint32_t na = rt->natoms;
    rt->tsplit = malloc(((size_t)na + 1) * sizeof *rt->tsplit);
    rt->cfirst = malloc(((size_t)na + 2) * sizeof *rt->cfirst);
    if (!rt->tsplit || !rt->cfirst) return KS_ENOMEM;
    keyed *kb = NULL;
    pf_target *plain = NULL;
    uint32_t kcap = 0;
    int rc = KS_OK;
    for (uint32_t a = 0; a < na && rc == KS_OK; a++) {
        uint32_t b = rt->tfirst[a], e = rt->tfirst[a + 1];
        rt->tsplit[a] = e;
        rt->cfirst[a] = rt->classes.n;
        if (e - b < CLASS_MIN_TARGETS) continue;
        if (e - b > kcap) {
            free(kb);
            free(plain);
            kcap = e - b;
            kb = malloc((size_t)kcap * sizeof *kb);
            plain = malloc((size_t)kcap * sizeof *plain);
            if (!kb || !plain) { rc = KS_ENOMEM; break; }
        }
        uint32_t nk = 0, np = 0;
        for (uint32_t k = b; k < e; k++) {
            const pf_target *tg = &rt->targets.v[k];
            uint32_t d, lo, hi;
            uint8_t key[4];
            if (tg->kind == TG_RE &&
                re_fwd_key(rules_re(t, tg->x), tg->atom, &d, &lo, &hi, key)) {
                kb[nk].rel = (int64_t)d - tg->ext - tg->alen;
                kb[nk].jmin = lo;
                kb[nk].jmax = hi;
                kb[nk].key = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
                             (uint32_t)key[3] << 24;
                kb[nk].target = k;
                nk++;
            } else {
                plain[np++] = *tg;
            }
        }
        if (nk < CLASS_MIN_TARGETS) continue;
        qsort(kb, nk, sizeof *kb, keyed_cmp);
        /* new layout of the atom's targets: plain ones (in their order), then keyed ones in
         * class/key order; gent refers to the new positions */
        pf_target *keyedt = malloc((size_t)nk * sizeof *keyedt);
        if (!keyedt) { rc = KS_ENOMEM; break; }
        for (uint32_t i = 0; i < nk; i++) keyedt[i] = rt->targets.v[kb[i].target];
        memcpy(rt->targets.v + b, plain, (size_t)np * sizeof *plain);
        memcpy(rt->targets.v + b + np, keyedt, (size_t)nk * sizeof *keyedt);
        free(keyedt);
        rt->tsplit[a] = b + np;
        for (uint32_t i = 0; i < nk && rc == KS_OK; i++) {
            if (i == 0 || kb[i].rel != kb[i - 1].rel || kb[i].jmin != kb[i - 1].jmin ||
                kb[i].jmax != kb[i - 1].jmax) {
                tclass c = {kb[i].rel, kb[i].jmin, kb[i].jmax, rt->gent.n, 0};
                if ((rc = vec_push(rt->classes, c)) != KS_OK) break;
            }
            gentry g = {kb[i].key, b + np + i};
            if ((rc = vec_push(rt->gent, g)) != KS_OK) break;
            rt->classes.v[rt->classes.n - 1].n++;
        }
    }
    rt->cfirst[na] = rt->classes.n;
    free(kb);
    free(plain);
    return rc;
}

/* Do targets a and b verify alike? Both regex/hex targets of one atom whose programs are the
 * same bytes (a string copied into several rules: signature-base has thousands), with the same
 * atom, filters and dispatch. re_verify then emits the same matches for both at any hit; only
 * what re_emit does with them (the string's list, fullword, chain piece) differs. */
static int same_verification(const ks_tables *t, const pf_target *a, const pf_target *b)
{
    if (a->kind != TG_RE || b->kind != TG_RE || a->atom != b->atom || a->alen != b->alen ||
        a->ext != b->ext || a->nf != b->nf || a->solo != b->solo || a->back != b->back)
        return 0;
    for (uint32_t i = 0; i < a->nf; i++)
        if (a->flen[i] != b->flen[i] || a->fval[i] != b->fval[i] || a->fmask[i] != b->fmask[i])
            return 0;
    if (a->fklen != b->fklen || a->fkmin != b->fkmin || a->fkmax != b->fkmax ||
        memcmp(a->fk, b->fk, a->fklen < 4 ? a->fklen : 4) != 0)
        return 0;
    const re_code *x = rules_re(t, a->x), *y = rules_re(t, b->x);
    return x == y || (x->size == y->size && memcmp(x, y, x->size) == 0);
}

/* Mark neighbours in each atom's group that verify alike (TWIN_PREV / TWIN_NEXT). */
static void mark_twins(const ks_tables *t, strings_rt *rt)
{
    for (uint32_t k = 0; k < rt->targets.n; k++) rt->targets.v[k].twin = 0;
    for (uint32_t a = 0; a < rt->natoms; a++)
        for (uint32_t k = rt->tfirst[a] + 1; k < rt->tfirst[a + 1]; k++)
            if (same_verification(t, &rt->targets.v[k - 1], &rt->targets.v[k])) {
                rt->targets.v[k].twin |= TWIN_PREV;
                rt->targets.v[k - 1].twin |= TWIN_NEXT;
            }
}

int strings_build(const ks_tables *t, strings_rt *rt, int threads, const uint8_t *gated,
                  char *err, size_t errlen)
{
    memset(rt, 0, sizeof *rt);
    atom_map am;
    memset(&am, 0, sizeof am);
    pending_vec pend = {0};
    int rc = KS_OK;

    rt->piece_str = malloc(((size_t)t->res.n + 1) * sizeof(uint32_t));
    rt->piece_no = malloc(((size_t)t->res.n + 1) * sizeof(uint32_t));
    if (!rt->piece_str || !rt->piece_no) { rc = KS_ENOMEM; goto out; }
    for (uint32_t i = 0; i < t->res.n; i++) rt->piece_str[i] = rt->piece_no[i] = KS_NONE;

    for (uint32_t si = 0; si < t->strs.n && rc == KS_OK; si++) {
        const ks_str *s = &t->strs.v[si];
        if (s->kind == S_TEXT) {
            rc = text_variants(t, rt, &am, &pend, si);
            continue;
        }
        for (uint32_t p = 0; p < s->re_count && rc == KS_OK; p++) {
            uint32_t ri = s->re_first + p;
            rt->piece_str[ri] = si;
            rt->piece_no[ri] = p;
            const re_code *code = rules_re(t, ri);
            const re_atom *atoms = re_atoms(code);
            for (uint32_t ai = 0; ai < code->natoms && rc == KS_OK; ai++) {
                const re_atom *ra = &atoms[ai];
                pf_target tg;
                memset(&tg, 0, sizeof tg);
                tg.kind = TG_RE;
                tg.str = si;
                tg.x = ri;
                tg.atom = ai;
                tg.alen = ra->len;
                set_filters(&tg, code, ai);
                if (ra->len == 0) {
                    rc = vec_push(rt->everywhere, tg);
                    continue;
                }
                set_far_key(&tg, code, ai);     /* hits only: not for verify-everywhere */
                pf_atom a;
                memset(&a, 0, sizeof a);
                a.len = ra->len;
                memcpy(a.bytes, ra->bytes, ra->len);
                memcpy(a.mask, ra->mask, ra->len);
                a.nocase = ra->nocase;
                int wext = 0, win = 0;
                if (code->natoms == 1 && (win = line_window(code, ai, &a, &wext))) {
                    /* a window of the straight-line bytes around the atom (line_window); an
                     * exact one covering the prefix filter checks it already */
                    tg.ext = (int8_t)wext;
                    int ws = wext + (int)ra->len - (int)a.len, we = wext + (int)ra->len;
                    if (atom_exact(&a) && tg.nf == 1 && ws <= 0 && (int)tg.flen[0] <= we) tg.nf = 0;
                } else if (code->natoms == 1 && tg.nf == 1 && tg.flen[0] > ra->len) {
                    /* The only atom of the string, or of a chained piece (whose matches go to
                     * the piece's own list, assembled after the pass): search its whole
                     * straight-line prefix (up to 8 bytes) instead. Its hits keep their order
                     * (one pattern, verified at once), so YARA's order is unchanged; far fewer
                     * of them reach re_verify, and a prefix of a wide piece like 00 54 00 72
                     * 00 65 00 6E has a literal form where the 4-byte atom had none. */
                    a.len = tg.flen[0];
                    for (uint32_t k = 0; k < a.len; k++) {
                        a.bytes[k] = (uint8_t)(tg.fval[0] >> (8 * k));
                        a.mask[k] = (uint8_t)(tg.fmask[0] >> (8 * k));
                    }
                    a.nocase = 0;     /* folded letters are 0xDF masks */
                    tg.ext = (int8_t)(tg.flen[0] - ra->len);
                    /* An exact prefix is checked by the prefilter itself. A masked one may be
                     * searched through a run inside it only (prefilter.c, lit_form), so its
                     * filter stays: the masked bytes are checked before re_verify. */
                    if (atom_exact(&a)) tg.nf = 0;
                }
                if (!win && !pf_lit_capable(&a)) {
                    /* An atom only the regex database could search (masked, or NULs before a
                     * short rest): prepend the bytes every match has before it. The pattern
                     * ends where it did, so hits and their order are unchanged; it is rarer,
                     * and often has a literal form (a wide "00 63 00 2E" after "00 49 00 6E"
                     * becomes "49 00 6E 00 63 00 2E"). */
                    uint8_t bv[BWD_EXT_MAX], bm[BWD_EXT_MAX];
                    int k = a.len < BWD_EXT_MAX
                                ? re_bwd_prefix(code, ai, BWD_EXT_MAX - a.len, bv, bm) : 0;
                    if (k > 0) {
                        memmove(a.bytes + k, a.bytes, a.len);
                        memmove(a.mask + k, a.mask, a.len);
                        memcpy(a.bytes, bv, (size_t)k);
                        memcpy(a.mask, bm, (size_t)k);
                        a.len += (uint32_t)k;
                    }
                }
                uint32_t id = atom_intern(&am, &a);
                if (id == KS_NONE) { rc = KS_ENOMEM; break; }
                pending pe = {id, tg};
                rc = vec_push(pend, pe);
            }
        }
    }
    if (rc == KS_OK) rc = build_rivals(rt);
    if (rc != KS_OK) goto out;

    /* group targets by atom id (counting sort) */
    rt->natoms = am.n;
    rt->tfirst = calloc((size_t)am.n + 1, sizeof(uint32_t));
    if (!rt->tfirst) { rc = KS_ENOMEM; goto out; }
    for (uint32_t i = 0; i < pend.n; i++) rt->tfirst[pend.v[i].atom + 1]++;
    for (uint32_t i = 0; i < am.n; i++) rt->tfirst[i + 1] += rt->tfirst[i];
    if (pend.n && (rc = vec_reserve(rt->targets, pend.n)) != KS_OK) goto out;
    {
        uint32_t *fill = calloc((size_t)am.n + 1, sizeof(uint32_t));
        if (!fill) { rc = KS_ENOMEM; goto out; }
        for (uint32_t i = 0; i < pend.n; i++) {
            uint32_t a = pend.v[i].atom;
            rt->targets.v[rt->tfirst[a] + fill[a]++] = pend.v[i].t;
        }
        rt->targets.n = pend.n;
        free(fill);
    }
    /* Within each atom's group, order targets as hits tying at one end offset must be verified
     * (tie_cmp); a regex/hex target whose string has no other atom is then verified at once. */
    {
        uint32_t *first_atom = malloc(((size_t)t->strs.n + 1) * sizeof *first_atom);
        uint8_t *multi = calloc((size_t)t->strs.n + 1, 1);
        const pf_target **tmp = malloc(((size_t)pend.n + 1) * sizeof *tmp);
        pf_target *cp = malloc(((size_t)pend.n + 1) * sizeof *cp);
        if (!first_atom || !multi || !tmp || !cp) {
            free(first_atom); free(multi); free(tmp); free(cp);
            rc = KS_ENOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < t->strs.n; i++) first_atom[i] = KS_NONE;
        for (uint32_t a = 0; a < am.n; a++)
            for (uint32_t k = rt->tfirst[a]; k < rt->tfirst[a + 1]; k++) {
                uint32_t si = rt->targets.v[k].str;
                if (first_atom[si] == KS_NONE) first_atom[si] = a;
                else if (first_atom[si] != a) multi[si] = 1;
            }
        for (uint32_t k = 0; k < rt->everywhere.n; k++) multi[rt->everywhere.v[k].str] = 1;
        for (uint32_t k = 0; k < rt->targets.n; k++)
            rt->targets.v[k].solo = rt->targets.v[k].kind == TG_RE && !multi[rt->targets.v[k].str];
        for (uint32_t a = 0; a < am.n; a++) {
            uint32_t b = rt->tfirst[a], e = rt->tfirst[a + 1];
            if (e - b < 2) continue;
            for (uint32_t k = b; k < e; k++) tmp[k - b] = &rt->targets.v[k];
            qsort(tmp, e - b, sizeof *tmp, tie_cmp);
            for (uint32_t k = b; k < e; k++) cp[k - b] = *tmp[k - b];
            memcpy(rt->targets.v + b, cp, (size_t)(e - b) * sizeof *cp);
        }
        free(first_atom); free(multi); free(tmp); free(cp);
    }
    if ((rc = build_classes(t, rt)) != KS_OK) goto out;
    mark_twins(t, rt);
    for (uint32_t si = 0; si < t->strs.n; si++)
        if (t->strs.v[si].re_count > 1 && (rc = vec_push(rt->chained, si)) != KS_OK) goto out;
    if ((rc = mark_literal_atoms(t, &am, &pend, gated)) != KS_OK) goto out;
    rc = pf_build(am.atoms, am.n, threads, &rt->db, err, errlen);
out:
    free(am.atoms);
    free(am.slots);
    vec_free(pend);
    if (rc != KS_OK) strings_free(rt);
    return rc;
}

void strings_free(strings_rt *rt)
{
    vec_free(rt->vars);
    vec_free(rt->bytes);
    vec_free(rt->rivals);
    vec_free(rt->targets);
    vec_free(rt->everywhere);
    free(rt->tfirst);
    free(rt->tsplit);
    free(rt->cfirst);
    vec_free(rt->classes);
    vec_free(rt->gent);
    vec_free(rt->chained);
    free(rt->piece_str);
    free(rt->piece_no);
    pf_free(rt->db);
    memset(rt, 0, sizeof *rt);
}

/* ------------------------------------------------------------------ scan state */

int strings_state_init(const ks_tables *t, const strings_rt *rt, strings_state *st)
{
    memset(st, 0, sizeof *st);
    st->m = calloc((size_t)t->strs.n + 1, sizeof *st->m);
    st->pieces = calloc((size_t)t->res.n + 1, sizeof *st->pieces);
    st->too_many = calloc((size_t)t->strs.n + 1, 1);
    if (!st->m || !st->pieces || !st->too_many) return KS_ENOMEM;
    return pf_scratch_alloc(rt->db, &st->scratch);
}

void strings_state_free(const ks_tables *t, strings_state *st)
{
    if (st->m) for (uint32_t i = 0; i < t->strs.n; i++) vec_free(st->m[i]);
    if (st->pieces) for (uint32_t i = 0; i < t->res.n; i++) vec_free(st->pieces[i]);
    free(st->m);
    free(st->pieces);
    free(st->too_many);
    pf_scratch_free(st->scratch);
    vec_free(st->hit);
    vec_free(st->hitp);
    vec_free(st->held);
    memset(st, 0, sizeof *st);
}

/* Only the strings and pieces that matched have state to clear (the hit lists name them), so a
 * reset costs nothing for the thousands of strings a file never matches. If a hit list could
 * not grow, every entry is cleared. */
void strings_state_reset(const ks_tables *t, strings_state *st)
{
    if (st->hit_lost) {
        for (uint32_t i = 0; i < t->strs.n; i++) st->m[i].n = 0;
        for (uint32_t i = 0; i < t->res.n; i++) st->pieces[i].n = 0;
        memset(st->too_many, 0, t->strs.n);
        st->hit_lost = 0;
    } else {
        for (uint32_t k = 0; k < st->hit.n; k++) {
            st->m[st->hit.v[k]].n = 0;
            st->too_many[st->hit.v[k]] = 0;
        }
        for (uint32_t k = 0; k < st->hitp.n; k++) st->pieces[st->hitp.v[k]].n = 0;
    }
    st->hit.n = 0;
    st->hitp.n = 0;
    st->held.n = 0;
    st->nfull = 0;
}

/* ------------------------------------------------------------------ recording */

/* Insert (off,len) into a list sorted by offset; one entry per offset. An existing entry is
 * replaced only when `replace`. Returns 1 if the list changed. */
static int record(match_list *l, int64_t off, uint32_t len, int32_t key, int replace)
{
    uint32_t i = l->n;
    while (i > 0 && l->v[i - 1].off > off) i--;
    if (i > 0 && l->v[i - 1].off == off) {
        if (replace) { l->v[i - 1].len = len; l->v[i - 1].xor_key = key; return 1; }
        return 0;
    }
    if (vec_reserve(*l, 1) != KS_OK) return 0;
    memmove(l->v + i + 1, l->v + i, (size_t)(l->n - i) * sizeof *l->v);
    l->v[i] = (str_match){off, len, key};
    l->n++;
    return 1;
}

static int alnum(uint8_t c) { return isalnum(c) != 0; }

/* yara's fullword test: the bytes just outside the match are not alphanumeric (for a wide
 * match: not an alphanumeric followed by 00). */
static int fullword_ok(const uint8_t *d, size_t size, size_t off, size_t len, int wide)
{
    if (wide) {
        if (off >= 2 && d[off - 1] == 0 && alnum(d[off - 2])) return 0;
        if (off + len + 1 < size && d[off + len + 1] == 0 && alnum(d[off + len])) return 0;
    } else {
        if (off >= 1 && alnum(d[off - 1])) return 0;
        if (off + len < size && alnum(d[off + len])) return 0;
    }
    return 1;
}

#define REC_MAX 32           /* emissions kept for twins; more: each twin verifies itself */

typedef struct scan_ctx {
    const ks_tables *t;
    const strings_rt *rt;
    strings_state *st;
    const uint8_t *data;
    size_t size;
    const pf_target *tg;     /* target being verified (for the re emit callback) */
    int greedy;
    /* what re_verify emitted for target rec_tg at the hit ending at rec_end, replayed for
     * its twins (TWIN_PREV); rec_tg is NULL when no complete record is held */
    const pf_target *rec_tg;
    uint64_t rec_end;
    int recording, rec_over;
    uint32_t nrec;
    struct { size_t start, len; int wide; } rec[REC_MAX];
    const pf_target **ties;  /* regex/hex hits ending at tie_end, not yet verified */
    uint32_t ntie, tie_cap;
    uint64_t tie_end;
    const uint8_t *lazy;     /* st->lazy while hits of lazy strings are held, else NULL */
} scan_ctx;

static void add_match(scan_ctx *x, uint32_t si, int64_t off, uint32_t len, int32_t key, int replace)
{
    strings_state *st = x->st;
    if (st->too_many[si]) return;
    const ks_str *s = &x->t->strs.v[si];
    if ((s->mods & M_FIXED) && (s->mods & M_FIXED_SET) && off != s->fixed_off) return;
    match_list *l = &st->m[si];
    if (st->fast && (s->mods & M_SINGLE) && l->n) return;
    if (l->n >= KS_MAX_MATCHES) {
        st->too_many[si] = 1;
        st->nfull++;
        return;
    }
    uint32_t before = l->n;
    record(l, off, len, key, replace);
    if (before == 0 && l->n == 1 && vec_push(st->hit, si) != KS_OK) st->hit_lost = 1;
}

static int eqcase(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower(a[i]) != tolower(b[i])) return 0;
    return 1;
}

static int re_emit(size_t start, size_t len, int wide, void *ud)
{
    scan_ctx *x = ud;
    const pf_target *tg = x->tg;
    const ks_str *s = &x->t->strs.v[tg->str];
    if (x->recording) {
        if (x->nrec < REC_MAX) {
            x->rec[x->nrec].start = start;
            x->rec[x->nrec].len = len;
            x->rec[x->nrec++].wide = wide;
        } else {
            x->rec_over = 1;
        }
    }
    /* fullword is checked on each match as found: for a chained string, on each piece */
    if ((s->mods & M_FULLWORD) && !fullword_ok(x->data, x->size, start, len, wide)) return 0;
    if (s->re_count > 1) {
        match_list *l = &x->st->pieces[tg->x];
        uint32_t before = l->n;
        if (l->n < KS_MAX_MATCHES) record(l, (int64_t)start, (uint32_t)len, -1, x->greedy);
        if (before == 0 && l->n == 1 && vec_push(x->st->hitp, tg->x) != KS_OK)
            x->st->hit_lost = 1;
        return 0;
    }
    add_match(x, tg->str, (int64_t)start, (uint32_t)len, -1, x->greedy);
    return 0;
}

/* 1 when no further match of string si can be recorded (add_match would drop it): the match
 * limit was reached, or fast mode keeps only its first match. Its hits need no verification. */
static inline int str_done(const scan_ctx *x, uint32_t si)
{
    const strings_state *st = x->st;
    if (st->too_many[si]) return 1;
    return st->fast && st->m[si].n && (x->t->strs.v[si].mods & M_SINGLE);
}

static void verify(scan_ctx *x, const pf_target *tg, uint64_t end)
{
    if (str_done(x, tg->str)) return;
    if (tg->kind == TG_LIT) {
        const str_variant *v = &x->rt->vars.v[tg->x];
        if (end < (uint64_t)tg->alen + tg->back) return;
        uint64_t start = end - tg->alen - tg->back;
        if (start + v->len > x->size) return;
        const uint8_t *p = x->data + start, *b = x->rt->bytes.v + v->off;
        /* the prefilter checked the atom, except its leading NULs (prefilter.c, lit_form_of) */
        if (v->len > tg->alen || b[tg->back] == 0) {
            if (v->nocase ? !eqcase(p, b, v->len) : memcmp(p, b, v->len) != 0) return;
        }
        const ks_str *s = &x->t->strs.v[tg->str];
        if ((s->mods & M_FULLWORD) && !fullword_ok(x->data, x->size, start, v->len, v->wide)) return;
        for (uint32_t r = 0; r < v->nrival; r++) {
            const str_variant *u = &x->rt->vars.v[x->rt->rivals.v[v->rfirst + r]];
            if (start + u->len > x->size) continue;
            if (u->len > v->len) {
                const uint8_t *ub = x->rt->bytes.v + u->off;
                if (u->nocase ? !eqcase(p, ub, u->len) : memcmp(p, ub, u->len) != 0) continue;
            }
            if ((s->mods & M_FULLWORD) && !fullword_ok(x->data, x->size, start, u->len, u->wide))
                continue;
            return;    /* the rival is recorded at this offset */
        }
        add_match(x, tg->str, (int64_t)start, v->len, v->xor_key, 0);
        return;
    }
    if (end < tg->alen) return;
    const re_code *code = rules_re(x->t, tg->x);
    x->tg = tg;
    x->greedy = code->greedy;
    /* a twin of the target verified just before at this hit: the same emissions, replayed
     * into this string (strings_check keeps TWIN_PREV off the first target of a group) */
    if ((tg->twin & TWIN_PREV) && x->rec_tg && x->rec_tg == tg - 1 && x->rec_end == end) {
        for (uint32_t i = 0; i < x->nrec; i++)
            re_emit(x->rec[i].start, x->rec[i].len, x->rec[i].wide, x);
        x->rec_tg = tg;
        return;
    }
    int rec = (tg->twin & TWIN_NEXT) != 0;
    if (rec) {
        x->recording = 1;
        x->rec_over = 0;
        x->nrec = 0;
    }
    re_verify(code, tg->atom, x->data, x->size, end - tg->alen, re_emit, x);
    if (rec) {
        x->recording = 0;
        x->rec_tg = x->rec_over ? NULL : tg;
        x->rec_end = end;
    }
}

/* Hits that end at the same offset are verified together, longer atoms first and then higher
 * atom index (the order yara's Aho-Corasick automaton reports them in, which decides which
 * match is recorded first); Vectorscan leaves the order of such ties open. */
static int tie_cmp(const void *a, const void *b)
{
    const pf_target *x = *(const pf_target *const *)a, *y = *(const pf_target *const *)b;
    if (x->alen != y->alen) return x->alen > y->alen ? -1 : 1;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->atom != y->atom) return x->atom > y->atom ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void flush_ties(scan_ctx *x)
{
    if (x->ntie > 32) qsort(x->ties, x->ntie, sizeof *x->ties, tie_cmp);
    else {
        for (uint32_t i = 1; i < x->ntie; i++) {      /* insertion sort: ties are few */
            const pf_target *v = x->ties[i];
            uint32_t j = i;
            while (j > 0 && tie_cmp(&x->ties[j - 1], &v) > 0) { x->ties[j] = x->ties[j - 1]; j--; }
            x->ties[j] = v;
        }
    }
    for (uint32_t k = 0; k < x->ntie; k++) verify(x, x->ties[k], x->tie_end);
    x->ntie = 0;
}

/* The target's prefix filters (set_filters): 0 when no form of its forward program can match. */
static inline int prefix_ok(const scan_ctx *x, const pf_target *tg, uint64_t end)
{
    if (end < tg->alen) return 0;
    uint64_t pos = end - tg->alen;
    size_t avail = x->size - (size_t)pos;
    uint64_t w;
    if (avail >= 8) {
        memcpy(&w, x->data + pos, 8);
    } else {
        uint8_t b[8] = {0};
        memcpy(b, x->data + pos, avail);
        memcpy(&w, b, 8);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);     /* filters hold byte i in bits 8i..8i+7 */
#endif
    for (uint32_t i = 0; i < tg->nf; i++)
        if (tg->flen[i] <= avail && (w & tg->fmask[i]) == tg->fval[i]) return 1;
    return 0;
}

/* 1 when the far key of tg occurs where a match with the atom ending at `end` must have it. */
static int far_key_ok(const scan_ctx *x, const pf_target *tg, uint64_t end)
{
    int64_t pos = (int64_t)end - tg->alen;
    int64_t lo = pos + tg->fkmin, hi = pos + tg->fkmax;      /* the key's first byte */
    if (lo < 0) lo = 0;
    if (hi > (int64_t)x->size - tg->fklen) hi = (int64_t)x->size - tg->fklen;
    const uint8_t *k = tg->fk;
    uint32_t r = tg->fkr;               /* searched for its rarest byte (< fklen: target_ok) */
    for (int64_t q = lo; q <= hi; q++) {
        const uint8_t *p = memchr(x->data + q + r, k[r], (size_t)(hi - q + 1));
        if (!p) return 0;
        q = p - x->data - r;
        if (memcmp(x->data + q, k, tg->fklen) == 0) return 1;
    }
    return 0;
}

/* Hits of strings with several atoms are verified per end offset in YARA's tie order. */
static void tie_add(scan_ctx *x, const pf_target *tg, uint64_t end)
{
    if (x->ntie && end != x->tie_end) flush_ties(x);
    x->tie_end = end;
    if (x->ntie == x->tie_cap) {
        uint32_t nc = x->tie_cap ? x->tie_cap * 2 : 64;
        const pf_target **nt = realloc(x->ties, nc * sizeof *nt);
        if (!nt) { verify(x, tg, end); return; }
        x->ties = nt;
        x->tie_cap = nc;
    }
    x->ties[x->ntie++] = tg;
}

/* Verifies the held hits in the order they came: those of the strings st->lazy_need asks for
 * (`all`: every one). Ties among them are grouped apart from the ties pending in x (those are
 * other strings' hits, and a string's matches depend only on the order of its own hits). */
static void release_held(scan_ctx *x, int all)
{
    strings_state *st = x->st;
    const pf_target **ties = x->ties;
    uint32_t ntie = x->ntie, tie_cap = x->tie_cap;
    uint64_t tie_end = x->tie_end;
    const uint8_t *lazy = x->lazy;
    x->ties = NULL;
    x->ntie = x->tie_cap = 0;
    x->lazy = NULL;
    x->rec_tg = NULL;
    if (!st->lazy_need || st->hit_lost) all = 1;
    for (uint32_t i = 0; i < st->held.n; i++) {
        const lazy_hit *h = &st->held.v[i];
        const pf_target *tg = &x->rt->targets.v[h->tg];
        if (!all && !st->lazy_need(st->lazy_ud, tg->str)) continue;
        if (h->tie) tie_add(x, tg, h->end);
        else verify(x, tg, h->end);
    }
    flush_ties(x);
    free(x->ties);
    st->held.n = 0;
    x->ties = ties;
    x->ntie = ntie;
    x->tie_cap = tie_cap;
    x->tie_end = tie_end;
    x->lazy = lazy;
    x->rec_tg = NULL;
}

/* A hit that passed the target's filters: verified now (in tie order when `tie`), or held when
 * its string is lazy. */
static inline void verify_at(scan_ctx *x, const pf_target *tg, uint64_t end, int tie)
{
    if (x->lazy && x->lazy[tg->str]) {
        strings_state *st = x->st;
        lazy_hit h = {end, (uint32_t)(tg - x->rt->targets.v), (uint32_t)tie};
        if (st->held.n < LAZY_MAX_HELD && vec_push(st->held, h) == KS_OK) return;
        release_held(x, 1);      /* too many (or no memory): verify all, hold no more */
        x->lazy = NULL;
    }
    if (tie) tie_add(x, tg, end);
    else verify(x, tg, end);
}

static inline void hit_target(scan_ctx *x, const pf_target *tg, uint64_t end)
{
    if (str_dead(x->st, tg->str)) return;
    if (tg->kind == TG_LIT) { verify_at(x, tg, end, 0); return; }
    if (tg->ext) {
        /* the atom's end: before the pattern's, or after it (checked against the data, as a
         * loaded file's ext is any value) */
        int64_t ae = (int64_t)end - tg->ext;
        if (ae < (int64_t)tg->alen || (uint64_t)ae > x->size) return;
        if (tg->nf && !prefix_ok(x, tg, (uint64_t)ae)) return;
        if (tg->fklen && !far_key_ok(x, tg, (uint64_t)ae)) return;
        verify_at(x, tg, (uint64_t)ae, 0);
        return;
    }
    if (tg->nf && !prefix_ok(x, tg, end)) return;
    if (tg->fklen && !far_key_ok(x, tg, end)) return;
    verify_at(x, tg, end, !tg->solo);
}

static int on_hit(uint32_t id, uint64_t end, void *ud)
{
    scan_ctx *x = ud;
    const strings_rt *rt = x->rt;
    if (id >= rt->natoms) return 0;
    for (uint32_t k = rt->tfirst[id]; k < rt->tsplit[id]; k++)
        hit_target(x, &rt->targets.v[k], end);
    for (uint32_t c = rt->cfirst[id]; c < rt->cfirst[id + 1]; c++) {
        const tclass *cl = &rt->classes.v[c];
        const gentry *ge = rt->gent.v + cl->first;
        for (uint32_t g = cl->jmin; g <= cl->jmax; g++) {
            int64_t q = (int64_t)end + cl->rel + g;
            if (q < 0 || (uint64_t)q + 4 > x->size) continue;
            const uint8_t *p = x->data + q;
            uint32_t key = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24;
            uint32_t lo = 0, hi = cl->n;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (ge[mid].key < key) lo = mid + 1;
                else hi = mid;
            }
            for (; lo < cl->n && ge[lo].key == key; lo++)
                hit_target(x, &rt->targets.v[ge[lo].target], end);
        }
    }
    return 0;
}

/* Assemble chained hex pieces into whole matches of their string: of the lazy strings
 * (st->lazy) when `lazy`, of the others when not. */
#define CHAIN_FRONTIER 4096
static void assemble_chains(scan_ctx *x, int lazy)
{
    const ks_tables *t = x->t;
    const uint8_t *lz = x->st->lazy;
    int64_t *fa = malloc(CHAIN_FRONTIER * sizeof *fa), *fb = malloc(CHAIN_FRONTIER * sizeof *fb);
    if (!fa || !fb) { free(fa); free(fb); return; }
    for (uint32_t ci = 0; ci < x->rt->chained.n; ci++) {
        uint32_t si = x->rt->chained.v[ci];
        if ((lz && lz[si]) != lazy) continue;
        const ks_str *s = &t->strs.v[si];
        const match_list *p0 = &x->st->pieces[s->re_first];
        for (uint32_t h = 0; h < p0->n; h++) {
            uint32_t nf = 1;
            fa[0] = p0->v[h].off + p0->v[h].len;
            for (uint32_t k = 1; k < s->re_count && nf; k++) {
                const ks_re *r = &t->res.v[s->re_first + k];
                const match_list *pk = &x->st->pieces[s->re_first + k];
                uint32_t nn = 0;
                /* only matches starting in [min(fa) + gap_min, max(fa) + gap_max] can continue
                 * the chain: find the first by binary search (the list is sorted by offset) and
                 * stop after the last, so the work is bounded by the gap window, not the list */
                int64_t fmin = fa[0], fmax = fa[0];
                for (uint32_t f = 1; f < nf; f++) {
                    if (fa[f] < fmin) fmin = fa[f];
                    if (fa[f] > fmax) fmax = fa[f];
                }
                int64_t lo_off = fmin + r->gap_min;
                uint32_t lo = 0, hi = pk->n;
                while (lo < hi) {
                    uint32_t mid = lo + (hi - lo) / 2;
                    if (pk->v[mid].off < lo_off) lo = mid + 1;
                    else hi = mid;
                }
                for (uint32_t m = lo; m < pk->n && nn < CHAIN_FRONTIER; m++) {
                    int64_t st = pk->v[m].off;
                    if (r->gap_max >= 0 && st > fmax + r->gap_max) break;
                    for (uint32_t f = 0; f < nf; f++) {
                        int64_t gap = st - fa[f];
                        if (gap >= r->gap_min && (r->gap_max < 0 || gap <= r->gap_max)) {
                            fb[nn++] = st + pk->v[m].len;
                            break;
                        }
                    }
                }
                memcpy(fa, fb, nn * sizeof *fa);
                nf = nn;
            }
            if (!nf) continue;
            int64_t best = fa[0];
            for (uint32_t f = 1; f < nf; f++) if (fa[f] < best) best = fa[f];
            /* yara 4.2.3 records a chained match's length capped at its 512-byte data length */
            int64_t full = best - p0->v[h].off;
            add_match(x, si, p0->v[h].off, (uint32_t)(full > 512 ? 512 : full), -1, 0);
        }
    }
    free(fa);
    free(fb);
}

int strings_scan(const ks_tables *t, const strings_rt *rt, strings_state *st,
                 const uint8_t *data, size_t size, int gate_open)
{
    scan_ctx x;
    memset(&x, 0, sizeof x);
    x.t = t;
    x.rt = rt;
    x.st = st;
    x.data = data;
    x.size = size;
    x.lazy = st->lazy;
    st->held.n = 0;
    int rc = pf_scan(rt->db, st->scratch, data, size, gate_open, on_hit, &x);
    flush_ties(&x);
    free(x.ties);
    x.ties = NULL;
    x.ntie = x.tie_cap = 0;
    if (rc != KS_OK) { st->held.n = 0; return rc; }
    if (rt->everywhere.n) {
        for (size_t pos = 0; pos < size; pos++)
            for (uint32_t k = 0; k < rt->everywhere.n; k++) {
                const pf_target *tg = &rt->everywhere.v[k];
                if (str_dead(st, tg->str)) continue;
                x.tg = tg;
                const re_code *code = rules_re(t, tg->x);
                x.greedy = code->greedy;
                re_verify(code, tg->atom, data, size, pos, re_emit, &x);
            }
    }
    /* the held hits, once the other strings' matches are complete (no set string is lazy):
     * chained ones are assembled first */
    assemble_chains(&x, 0);
    if (st->held.n) release_held(&x, 0);
    if (st->lazy) assemble_chains(&x, 1);
    return KS_OK;
}

/* ------------------------------------------------------------------ saving and loading */

#define SER_MAX_ITEMS (1u << 28)

int strings_write(ser_w *w, const strings_rt *rt)
{
    SER_PUT_VEC(w, rt->vars);
    SER_PUT_VEC(w, rt->bytes);
    SER_PUT_VEC(w, rt->rivals);
    SER_PUT_VEC(w, rt->targets);
    SER_PUT_VEC(w, rt->everywhere);
    ser_put_u32(w, rt->natoms);
    ser_put_array(w, rt->tfirst, sizeof *rt->tfirst, rt->natoms + 1);
    ser_put_array(w, rt->tsplit, sizeof *rt->tsplit, rt->natoms);
    ser_put_array(w, rt->cfirst, sizeof *rt->cfirst, rt->natoms + 1);
    SER_PUT_VEC(w, rt->classes);
    SER_PUT_VEC(w, rt->gent);
    if (w->err) return w->err;
    return pf_write(w, rt->db);
}

/* piece_str, piece_no and chained, as strings_build sets them */
static int derive_pieces(const ks_tables *t, strings_rt *rt)
{
    rt->piece_str = malloc(((size_t)t->res.n + 1) * sizeof(uint32_t));
    rt->piece_no = malloc(((size_t)t->res.n + 1) * sizeof(uint32_t));
    if (!rt->piece_str || !rt->piece_no) return KS_ENOMEM;
    for (uint32_t i = 0; i < t->res.n; i++) rt->piece_str[i] = rt->piece_no[i] = KS_NONE;
    for (uint32_t si = 0; si < t->strs.n; si++) {
        const ks_str *s = &t->strs.v[si];
        if (s->kind == S_TEXT) continue;
        for (uint32_t p = 0; p < s->re_count; p++) {
            rt->piece_str[s->re_first + p] = si;
            rt->piece_no[s->re_first + p] = p;
        }
        if (s->re_count > 1 && vec_push(rt->chained, si) != KS_OK) return KS_ENOMEM;
    }
    return KS_OK;
}

int strings_read(ser_r *r, const ks_tables *t, strings_rt *rt)
{
    memset(rt, 0, sizeof *rt);
    SER_GET_VEC(r, rt->vars, SER_MAX_ITEMS);
    SER_GET_VEC(r, rt->bytes, VEC_HARD_CAP);
    SER_GET_VEC(r, rt->rivals, SER_MAX_ITEMS);
    SER_GET_VEC(r, rt->targets, SER_MAX_ITEMS);
    SER_GET_VEC(r, rt->everywhere, SER_MAX_ITEMS);
    rt->natoms = ser_get_u32(r);
    if (!r->err && rt->natoms >= SER_MAX_ITEMS) r->err = KS_EFORMAT;
    uint32_t n1, n2, n3;
    /* allocated as strings_build does: tsplit with natoms + 1 items, cfirst natoms + 2 */
    rt->tfirst = ser_get_array(r, sizeof *rt->tfirst, &n1, SER_MAX_ITEMS, 0);
    rt->tsplit = ser_get_array(r, sizeof *rt->tsplit, &n2, SER_MAX_ITEMS, 1);
    rt->cfirst = ser_get_array(r, sizeof *rt->cfirst, &n3, SER_MAX_ITEMS, 1);
    if (!r->err && (n1 != rt->natoms + 1 || n2 != rt->natoms || n3 != rt->natoms + 1))
        r->err = KS_EFORMAT;
    SER_GET_VEC(r, rt->classes, SER_MAX_ITEMS);
    SER_GET_VEC(r, rt->gent, SER_MAX_ITEMS);
    if (!r->err) pf_read(r, rt->natoms, &rt->db);
    if (!r->err && derive_pieces(t, rt) != KS_OK) r->err = KS_ENOMEM;
    return r->err;
}

static int target_ok(const ks_tables *t, const strings_rt *rt, const pf_target *tg)
{
    if (tg->str >= t->strs.n || tg->nf > 2 || tg->alen > PF_MAX_ATOM) return 0;
    /* a far key's window as set_far_key makes them: a wider one read from a crafted file would
     * make every hit search up to the whole data */
    if (tg->fklen > 4 || tg->fkmin > tg->fkmax || (int64_t)tg->fkmax - tg->fkmin > FK_MAX_SPAN ||
        (tg->fklen && tg->fkr >= tg->fklen))
        return 0;
    for (uint32_t i = 0; i < tg->nf; i++)
        if (tg->flen[i] > 8) return 0;
    const ks_str *s = &t->strs.v[tg->str];
    if (tg->kind == TG_LIT) {
        if (tg->x >= rt->vars.n) return 0;
        const str_variant *v = &rt->vars.v[tg->x];
        return v->str == tg->str && tg->back <= v->len && tg->alen <= v->len - tg->back;
    }
    if (tg->kind != TG_RE || s->kind == S_TEXT) return 0;
    /* the piece is one of the string's (validated tables: re_first + re_count <= res.n) */
    if (tg->x < s->re_first || tg->x - s->re_first >= s->re_count) return 0;
    return tg->atom < rules_re(t, tg->x)->natoms;
}

int strings_check(const ks_tables *t, const strings_rt *rt)
{
    for (uint32_t i = 0; i < rt->vars.n; i++) {
        const str_variant *v = &rt->vars.v[i];
        if (v->str >= t->strs.n || t->strs.v[v->str].kind != S_TEXT) return 0;
        if (v->off > rt->bytes.n || v->len > rt->bytes.n - v->off) return 0;
        if (v->rfirst > rt->rivals.n || v->nrival > rt->rivals.n - v->rfirst) return 0;
        if (v->xor_key < -1 || v->xor_key > 255 || v->nocase > 1 || v->wide > 1) return 0;
    }
    for (uint32_t i = 0; i < rt->rivals.n; i++)
        if (rt->rivals.v[i] >= rt->vars.n) return 0;
    for (uint32_t i = 0; i < rt->targets.n; i++)
        if (!target_ok(t, rt, &rt->targets.v[i])) return 0;
    for (uint32_t i = 0; i < rt->everywhere.n; i++)
        if (rt->everywhere.v[i].kind != TG_RE || rt->everywhere.v[i].twin ||
            !target_ok(t, rt, &rt->everywhere.v[i]))
            return 0;
    /* per atom: targets [tfirst[a], tfirst[a+1]) split at tsplit[a]; classes [cfirst[a],
     * cfirst[a+1]), each class's keys within gent, each key's target one of the atom's keyed
     * ones (past tsplit) */
    uint32_t na = rt->natoms;
    if (rt->tfirst[0] != 0 || rt->tfirst[na] != rt->targets.n) return 0;
    if (rt->cfirst[0] != 0 || rt->cfirst[na] != rt->classes.n) return 0;
    for (uint32_t a = 0; a < na; a++)      /* ascending from 0 to the size: all in range */
        if (rt->tfirst[a] > rt->tfirst[a + 1] || rt->cfirst[a] > rt->cfirst[a + 1]) return 0;
    for (uint32_t a = 0; a < na; a++) {
        uint32_t b = rt->tfirst[a], e = rt->tfirst[a + 1];
        if (rt->tsplit[a] < b || rt->tsplit[a] > e) return 0;
        /* twins as mark_twins sets them: a replayed record must be of the same program */
        for (uint32_t k = b, prev = 0; k < e; k++) {
            const pf_target *tg = &rt->targets.v[k];
            uint32_t next = k + 1 < e && same_verification(t, tg, tg + 1);
            if (tg->twin != ((prev ? TWIN_PREV : 0) | (next ? TWIN_NEXT : 0))) return 0;
            prev = next;
        }
        for (uint32_t c = rt->cfirst[a]; c < rt->cfirst[a + 1]; c++) {
            const tclass *cl = &rt->classes.v[c];
            if (cl->first > rt->gent.n || cl->n > rt->gent.n - cl->first) return 0;
            /* on_hit loops g = jmin..jmax with g <= jmax: jmax = UINT32_MAX never ends (a
             * crafted file hung the scan: fuzz/corpus/rules_file/regress-class-window-wrap).
             * re_fwd_key's windows are 16-bit jump bounds, so bound jmax itself. */
            if (cl->jmin > cl->jmax || cl->jmax > 65535) return 0;
            if (cl->rel < INT32_MIN || cl->rel > INT32_MAX) return 0;
            for (uint32_t g = cl->first; g < cl->first + cl->n; g++) {
                const gentry *ge = &rt->gent.v[g];
                if (ge->target < rt->tsplit[a] || ge->target >= e) return 0;
                if (g > cl->first && ge[-1].key > ge->key) return 0;   /* binary searched */
            }
        }
    }
    return 1;
}
