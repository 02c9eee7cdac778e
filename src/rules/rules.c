/*
 * rules.c - compiled rules: run-time setup, public views, save and load.
 *
 * File format (version 3; integers and structs in this machine's layout: the header records a
 * byte order mark, every array its item size, and a file of another format version is refused):
 *
 *   "KENSARUL" | u32 version | u32 0x01020304
 *   tables:   for each table in TABLES order: u32 item_size | u32 count | count * item_size bytes
 *   u64 length of the run-time section
 *   u32 digest (CRC-32) of every byte above
 *   run-time section (what rules_finish derives from the tables, saved so that loading does not
 *   compute it again):
 *     u32 RUNTIME_VERSION | str KENSA_VERSION | str Vectorscan version (pf_version)
 *     strings_write: string variants, targets, classes, ... and the prefilter (pf_write: both
 *     Vectorscan databases serialized)
 *     needs_write: per rule, the strings it needs (and the lazy strings, eval/needs.c)
 *   u32 digest of the run-time section
 *
 * Loading (see also include/kensa.h, ks_rules_load_opts): a compiled file is trusted input, as it
 * is for yara, but kensa's own code never reads out of bounds whatever the file holds:
 *  - the tables must be intact (first digest) and valid: every index between tables is checked
 *    (validate()); otherwise KS_EFORMAT;
 *  - the run-time section is used when it was written by this kensa and Vectorscan version, its
 *    digest matches, and Vectorscan accepts the databases on this machine (hs_deserialize_database
 *    checks version and CPU features); otherwise it is ignored and rebuilt from the tables
 *    (rules_finish), which gives what the file would have held. A section that passes its digest
 *    but holds an index out of range (strings_check, needs_check) gives KS_EFORMAT;
 *  - KS_LOAD_REBUILD ignores the run-time section.
 * The digests catch accidental damage only (a crafted file can carry matching ones).
 * Vectorscan checks its databases' header and CRC, not their bytecode, so a crafted database
 * can still make Vectorscan itself misbehave: use KS_LOAD_REBUILD (`kensa scan -C
 * --rebuild-prefilter`) for files from untrusted sources.
 *
 * Memory: the file is read once, sequentially, straight into the arrays that keep the data;
 * only the serialized Vectorscan databases have a second, temporary copy (freed by pf_open).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/rules.h"
#include "core/ser.h"
#include "match/re.h"
#include "match/strings.h"
#include "eval/needs.h"
#include "eval/object.h"
#include "scan/scanner.h"
#include "eval/orset.h"

#define FORMAT_VERSION 4
/* The run-time section is what strings_build, needs_build and pf_build derive from the tables.
 * Bump RUNTIME_VERSION whenever one of them changes what it derives, or a stored struct
 * (str_variant, pf_target, tclass, gentry) changes: files written before then keep their tables
 * and have the run-time part rebuilt. */
#define RUNTIME_VERSION 8
#define MAX_TABLE_ITEMS (1u << 28)

/* The public views (infos, tags, metas) over the tables. */
static int build_views(ks_rules *r)
{
    const ks_tables *t = &r->t;
    r->infos = calloc((size_t)t->rules.n + 1, sizeof *r->infos);
    r->tag_ptrs = calloc((size_t)t->u32s.n + 1, sizeof *r->tag_ptrs);
    r->meta_views = calloc((size_t)t->metas.n + 1, sizeof *r->meta_views);
    if (!r->infos || !r->tag_ptrs || !r->meta_views) return KS_ENOMEM;
    for (uint32_t i = 0; i < t->u32s.n; i++) r->tag_ptrs[i] = pool_str(t, t->u32s.v[i]);
    for (uint32_t i = 0; i < t->metas.n; i++) {
        const ks_meta_rec *m = &t->metas.v[i];
        ks_meta *v = &r->meta_views[i];
        v->id = pool_str(t, m->id);
        v->type = (int)m->type;
        v->i = m->i;
        v->s = m->type == KS_META_STRING ? pool_str(t, m->s) : NULL;
        v->slen = m->slen;
    }
    r->max_vars = 0;
    for (uint32_t i = 0; i < t->rules.n; i++) {
        const ks_rule *ru = &t->rules.v[i];
        ks_rule_info *in = &r->infos[i];
        in->index = i;
        in->id = pool_str(t, ru->id);
        in->ns = pool_str(t, ru->ns);
        in->tags = r->tag_ptrs + ru->tags_first;
        in->ntags = (int)ru->ntags;
        in->metas = r->meta_views + ru->meta_first;
        in->nmetas = (int)ru->nmeta;
        in->flags = (int)ru->flags;
        in->nstrings = (int)ru->nstr;
        if (ru->nvars > r->max_vars) r->max_vars = ru->nvars;
    }
    /* derived from the tables on build and on load alike (not stored) */
    r->orsets = calloc(1, sizeof *r->orsets);
    if (!r->orsets) return KS_ENOMEM;
    return orset_build(t, r->orsets);
}

/* Per string, 1 when it has a target verified at every offset (never lazy: needs_build), or
 * NULL when out of memory. */
static uint8_t *eager_strings(const ks_tables *t, const strings_rt *rt)
{
    uint8_t *e = calloc((size_t)t->strs.n + 1, 1);
    if (!e) return NULL;
    for (uint32_t k = 0; k < rt->everywhere.n; k++)
        if (rt->everywhere.v[k].str < t->strs.n) e[rt->everywhere.v[k].str] = 1;
    return e;
}

int rules_finish(ks_rules *r, int threads)
{
    const ks_tables *t = &r->t;
    char err[256];
    r->srt = calloc(1, sizeof(strings_rt));
    if (!r->srt) return KS_ENOMEM;
    /* rules false unless the data starts with "MZ": a guard uint16(0) == 0x5A4D (the gated
     * prefilter database, strings_build) */
    uint8_t *gated = calloc((size_t)t->rules.n + 1, 1);
    rule_guard *g = guards_build(t);
    if (!gated || !g) { free(gated); free(g); free(r->srt); r->srt = NULL; return KS_ENOMEM; }
    for (uint32_t i = 0; i < t->rules.n; i++)
        for (int k = 0; k < GUARD_MAX; k++)
            if (guard_is_mz(&g[(size_t)i * GUARD_MAX + k])) gated[i] = 1;
    free(g);
    int rc = strings_build(t, r->srt, threads, gated, err, sizeof err);
    free(gated);
    if (rc != KS_OK) { free(r->srt); r->srt = NULL; return rc; }
    r->needs = calloc(1, sizeof(needs_rt));
    uint8_t *eager = eager_strings(t, r->srt);
    if (!r->needs || !eager) { free(eager); free(r->needs); r->needs = NULL; return KS_ENOMEM; }
    rc = needs_build(t, eager, r->needs);
    free(eager);
    if (rc != KS_OK) { free(r->needs); r->needs = NULL; return rc; }
    r->rt_stored = 0;
    return build_views(r);
}

/* Free the run-time part (srt, needs), e.g. a stored one that cannot be used. */
static void drop_runtime(ks_rules *r)
{
    if (r->srt) { strings_free(r->srt); free(r->srt); r->srt = NULL; }
    if (r->needs) { needs_free(r->needs); free(r->needs); r->needs = NULL; }
    r->rt_stored = 0;
}

void ks_rules_destroy(ks_rules *r)
{
    if (!r) return;
    drop_runtime(r);
    free(r->infos);
    free(r->tag_ptrs);
    free(r->meta_views);
    if (r->orsets) { orset_free(r->orsets); free(r->orsets); }
    tables_free(&r->t);
    free(r);
}

uint32_t ks_rules_count(const ks_rules *r) { return r->t.rules.n; }

int ks_rules_info(const ks_rules *r, uint32_t index, ks_rule_info *out)
{
    if (index >= r->t.rules.n) return KS_EARG;
    *out = r->infos[index];
    return KS_OK;
}

const char *ks_rules_string_id(const ks_rules *r, uint32_t ri, int si, int *is_private)
{
    if (ri >= r->t.rules.n || si < 0 || (uint32_t)si >= r->t.rules.v[ri].nstr) return NULL;
    const ks_str *s = &r->t.strs.v[r->t.rules.v[ri].str_first + (uint32_t)si];
    if (is_private) *is_private = (s->mods & M_PRIVATE) != 0;
    return pool_str(&r->t, s->id);
}

int ks_rules_string_kind(const ks_rules *r, uint32_t ri, int si)
{
    if (ri >= r->t.rules.n || si < 0 || (uint32_t)si >= r->t.rules.v[ri].nstr) return -1;
    switch (r->t.strs.v[r->t.rules.v[ri].str_first + (uint32_t)si].kind) {
    case S_HEX: return KS_STRING_HEX;
    case S_REGEX: return KS_STRING_REGEX;
    default: return KS_STRING_TEXT;
    }
}

uint32_t ks_rules_externals(const ks_rules *r, const char ***names)
{
    static const char *none[1] = {NULL};
    (void)none;
    if (names) *names = NULL;
    return r->t.exts.n;
}

void ks_rules_stats(const ks_rules *r, ks_stats *out)
{
    memset(out, 0, sizeof *out);
    out->rules = r->t.rules.n;
    out->strings = r->t.strs.n;
    if (r->srt) {
        out->atoms = r->srt->targets.n + r->srt->everywhere.n;
        out->ac_like_patterns = r->srt->natoms;
    }
    out->loaded_prefilter = (uint32_t)r->rt_stored;
}

/* ------------------------------------------------------------------ save */

#define TABLES(X) \
    X(nodes) X(lists) X(strs) X(res) X(metas) X(u32s) X(rules) X(exts) X(imports) X(namespaces) X(pool)

static int write_runtime(ser_w *w, const ks_rules *r)
{
    ser_put_u32(w, RUNTIME_VERSION);
    ser_put_str(w, KENSA_VERSION);
    ser_put_str(w, pf_version());
    int rc = strings_write(w, r->srt);
    if (rc == KS_OK) rc = needs_write(w, r->needs, &r->t);
    return rc;
}

int ks_rules_save(const ks_rules *r, const char *path)
{
    if (!r->srt || !r->needs) return KS_EARG;
    /* the run-time section's length comes first: measure it with a counting writer */
    ser_w count;
    ser_w_init(&count, NULL);
    int rc = write_runtime(&count, r);
    if (rc != KS_OK) return rc;
    FILE *f = fopen(path, "wb");
    if (!f) return KS_EIO;
    const ks_tables *t = &r->t;
    ser_w w;
    ser_w_init(&w, f);
    ser_put(&w, "KENSARUL", 8);
    ser_put_u32(&w, FORMAT_VERSION);
    ser_put_u32(&w, 0x01020304);
#define W(name) SER_PUT_VEC(&w, t->name);
    TABLES(W)
#undef W
    ser_put_u64(&w, count.pos);
    ser_put_sum(&w);
    uint64_t start = w.pos;
    rc = write_runtime(&w, r);
    if (rc == KS_OK && w.pos - start != count.pos) rc = KS_EINTERNAL;   /* passes must agree */
    ser_put_sum(&w);
    if (fclose(f) != 0 && rc == KS_OK) rc = KS_EIO;
    return rc != KS_OK ? rc : w.err;
}

/* ------------------------------------------------------------------ load */

static int valid_str(const ks_tables *t, uint32_t off)
{
    if (off >= t->pool.n) return 0;
    return memchr(t->pool.v + off, 0, t->pool.n - off) != NULL;
}

static int valid_bytes(const ks_tables *t, uint32_t off, uint32_t len)
{
    return off <= t->pool.n && len <= t->pool.n - off;
}

static int node_ok(const ks_tables *t, uint32_t ni, uint32_t x) { return x < ni && x < t->nodes.n; }

static int list_ok(const ks_tables *t, int64_t first, uint32_t n)
{
    return first >= 0 && (uint64_t)first <= t->lists.n && n <= t->lists.n - (uint64_t)first;
}

/* Every node refers only to nodes built before it (children first), so trees are acyclic. */
static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Every res entry's compiled code is a valid block in the pool. Entries of repeated patterns
 * share their blocks (compiler.c, pat_copy), so each distinct (offset, size) is checked once. */
static int res_ok(const ks_tables *t)
{
    uint64_t *k = malloc(((size_t)t->res.n + 1) * sizeof *k);
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->res.n; i++) {
        const ks_re *re = &t->res.v[i];
        if (re->off % 8 || !valid_bytes(t, re->off, re->size) || re->size < sizeof(re_code)) {
            free(k);
            return 0;
        }
        if (k) {
            k[n++] = (uint64_t)re->off << 32 | re->size;
        } else if (re_code_check((const re_code *)(t->pool.v + re->off), re->size) != 0) {
            return 0;                       /* out of memory: every entry checked */
        }
    }
    if (!k) return 1;
    qsort(k, n, sizeof *k, u64_cmp);
    int ok = 1;
    for (uint32_t i = 0; ok && i < n; i++)
        if (i == 0 || k[i] != k[i - 1])
            ok = re_code_check((const re_code *)(t->pool.v + (k[i] >> 32)), (uint32_t)k[i]) == 0;
    free(k);
    return ok;
}

static int validate(const ks_tables *t)
{
    for (uint32_t i = 0; i < t->nodes.n; i++) {
        const ks_node *n = &t->nodes.v[i];
        switch (n->op) {
        case N_TRUE: case N_FALSE: case N_INT: case N_FLOAT: case N_FILESIZE: case N_ENTRYPOINT:
        case N_QUANT:
            break;
        case N_STR:
            if (n->i < 0 || n->i > UINT32_MAX || !valid_bytes(t, (uint32_t)n->i, n->b)) return 0;
            break;
        case N_REGEX:
            if (n->i < 0 || (uint64_t)n->i >= t->res.n) return 0;
            break;
        case N_STR_FOUND: case N_STR_COUNT:
            if (!(n->flags & 1) && n->a >= t->strs.n) return 0;
            break;
        case N_STR_AT: case N_STR_OFFSET: case N_STR_LENGTH:
            if ((!(n->flags & 1) && n->a >= t->strs.n) || !node_ok(t, i, n->b)) return 0;
            break;
        case N_STR_IN: case N_STR_COUNT_IN:
            if ((!(n->flags & 1) && n->a >= t->strs.n) || !node_ok(t, i, n->b) || !node_ok(t, i, n->c))
                return 0;
            break;
        case N_INTREAD:     /* i: size 1, 2 or 4 | 0x10 signed | 0x20 big-endian (the lexer's) */
            if ((n->i & ~(int64_t)0x3F) || ((n->i & 0x0F) != 1 && (n->i & 0x0F) != 2 &&
                                           (n->i & 0x0F) != 4))
                return 0;
            if (!node_ok(t, i, n->a)) return 0;
            break;
        case N_NOT: case N_NEG: case N_BITNOT: case N_DEFINED: case N_PERCENT:
            if (!node_ok(t, i, n->a)) return 0;
            break;
        case N_AND: case N_OR: case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_MOD:
        case N_SHL: case N_SHR: case N_BAND: case N_BOR: case N_BXOR: case N_LT: case N_LE:
        case N_GT: case N_GE: case N_EQ: case N_NE: case N_CONTAINS: case N_ICONTAINS:
        case N_STARTSWITH: case N_ISTARTSWITH: case N_ENDSWITH: case N_IENDSWITH: case N_IEQUALS:
        case N_MATCHES: case N_RANGE: case N_INDEX:
            if (!node_ok(t, i, n->a) || !node_ok(t, i, n->b)) return 0;
            break;
        case N_OF:
            if (!node_ok(t, i, n->a) || !list_ok(t, n->i, n->b)) return 0;
            if ((n->flags & OF_IN) && (n->c >= t->nodes.n || t->nodes.v[n->c].op != N_RANGE ||
                                       !node_ok(t, n->c, t->nodes.v[n->c].a) ||
                                       !node_ok(t, n->c, t->nodes.v[n->c].b)))
                return 0;
            for (uint32_t k = 0; k < n->b; k++) {
                uint32_t x = t->lists.v[n->i + k];
                if ((n->flags & OF_RULES) ? x >= t->rules.n : x >= t->strs.n) return 0;
            }
            break;
        case N_FOR_OF:
            if (!node_ok(t, i, n->a) || !node_ok(t, i, n->c) || !list_ok(t, n->i, n->b)) return 0;
            for (uint32_t k = 0; k < n->b; k++)
                if (t->lists.v[n->i + k] >= t->strs.n) return 0;
            break;
        case N_FOR_IN:
            if (!node_ok(t, i, n->a) || !node_ok(t, i, n->b) || !node_ok(t, i, n->c)) return 0;
            break;
        case N_ENUM:
            if (!list_ok(t, n->i, n->b)) return 0;
            for (uint32_t k = 0; k < n->b; k++)
                if (!node_ok(t, i, t->lists.v[n->i + k])) return 0;
            break;
        case N_RULE: if (n->a >= t->rules.n) return 0; break;
        case N_EXTERNAL: if (n->a >= t->exts.n) return 0; break;
        case N_VAR: break;
        case N_MODULE: if (n->a >= t->imports.n) return 0; break;
        case N_FIELD:
            if (!node_ok(t, i, n->a) || n->i < 0 || n->i > UINT32_MAX ||
                !valid_str(t, (uint32_t)n->i))
                return 0;
            break;
        case N_CALL:
            if (!node_ok(t, i, n->a) || !list_ok(t, n->i, n->b)) return 0;
            for (uint32_t k = 0; k < n->b; k++)
                if (!node_ok(t, i, t->lists.v[n->i + k])) return 0;
            break;
        default:
            return 0;
        }
    }
    if (!res_ok(t)) return 0;
    for (uint32_t i = 0; i < t->strs.n; i++) {
        const ks_str *s = &t->strs.v[i];
        if (!valid_str(t, s->id) || s->rule >= t->rules.n || !valid_bytes(t, s->lit, s->lit_len)) return 0;
        if (s->kind != S_TEXT && s->kind != S_HEX && s->kind != S_REGEX) return 0;
        if (s->kind == S_TEXT && s->re_count != 0) return 0;
        if (s->kind != S_TEXT && (s->re_first > t->res.n || s->re_count > t->res.n - s->re_first ||
                                  s->re_count == 0))
            return 0;
        if (s->xor_min > 255 || s->xor_max > 255) return 0;
        if (s->b64alpha != KS_NONE && !valid_bytes(t, s->b64alpha, 64)) return 0;
    }
    for (uint32_t i = 0; i < t->metas.n; i++) {
        const ks_meta_rec *m = &t->metas.v[i];
        if (!valid_str(t, m->id)) return 0;
        if (m->type == KS_META_STRING && !valid_str(t, m->s)) return 0;
    }
    for (uint32_t i = 0; i < t->u32s.n; i++) if (!valid_str(t, t->u32s.v[i])) return 0;
    for (uint32_t i = 0; i < t->imports.n; i++) {
        if (!valid_str(t, t->imports.v[i])) return 0;
        if (!ks_module_find(pool_str(t, t->imports.v[i]))) return 0;
    }
    for (uint32_t i = 0; i < t->namespaces.n; i++) if (!valid_str(t, t->namespaces.v[i])) return 0;
    for (uint32_t i = 0; i < t->exts.n; i++) {
        const ks_ext *x = &t->exts.v[i];
        if (!valid_str(t, x->id) || x->type < X_INT || x->type > X_STR) return 0;
        if (x->type == X_STR && !valid_bytes(t, x->s, x->slen)) return 0;
    }
    for (uint32_t i = 0; i < t->rules.n; i++) {
        const ks_rule *r = &t->rules.v[i];
        if (!valid_str(t, r->id) || !valid_str(t, r->ns) || r->ns_index >= t->namespaces.n) return 0;
        if (r->tags_first > t->u32s.n || r->ntags > t->u32s.n - r->tags_first) return 0;
        if (r->meta_first > t->metas.n || r->nmeta > t->metas.n - r->meta_first) return 0;
        if (r->str_first > t->strs.n || r->nstr > t->strs.n - r->str_first) return 0;
        if (r->cond >= t->nodes.n || r->nvars > 65536) return 0;
    }
    /* loop slots used by nodes must fit the rule's declared count: checked by bounding every
     * N_VAR / for slot against the maximum across rules */
    uint32_t maxv = 0;
    for (uint32_t i = 0; i < t->rules.n; i++) if (t->rules.v[i].nvars > maxv) maxv = t->rules.v[i].nvars;
    for (uint32_t i = 0; i < t->nodes.n; i++) {
        const ks_node *n = &t->nodes.v[i];
        if (n->op == N_VAR && n->a >= maxv) return 0;
        if (n->op == N_FOR_IN && (n->i < 0 || (uint64_t)n->i + n->flags > maxv)) return 0;
        if (n->op == N_FOR_OF && !(n->f >= 0 && n->f < maxv)) return 0;
        if ((n->flags & 1) && (n->op >= N_STR_FOUND && n->op <= N_STR_LENGTH) &&
            (n->i < 0 || (uint64_t)n->i >= maxv))
            return 0;
    }
    return 1;
}

/* Header and tables: KS_OK when they are intact (digest) and valid; *rt_len is the run-time
 * section's length. */
static int read_tables(ser_r *rd, ks_tables *t, uint64_t *rt_len)
{
    char magic[8];
    ser_get(rd, magic, 8);
    uint32_t version = ser_get_u32(rd), bom = ser_get_u32(rd);
    if (rd->err || memcmp(magic, "KENSARUL", 8) != 0 || version != FORMAT_VERSION ||
        bom != 0x01020304)
        return KS_EFORMAT;
#define R(name) SER_GET_VEC(rd, t->name, MAX_TABLE_ITEMS);
    TABLES(R)
#undef R
    *rt_len = ser_get_u64(rd);
    int intact = ser_get_sum(rd);
    if (rd->err) return rd->err;
    if (!intact || !validate(t)) return KS_EFORMAT;
    return KS_OK;
}

/* The run-time section (rt_len bytes, then its digest, then the end of the file). Returns KS_OK
 * with r->srt and r->needs set from the file, KS_OK with them NULL when the section cannot be
 * used (another kensa or Vectorscan version, damaged, refused by Vectorscan: the caller
 * rebuilds), or an error: KS_EFORMAT for an intact section with an index out of range. */
static int read_runtime(ser_r *rd, ks_rules *r, uint64_t rt_len)
{
    uint64_t outer = ser_r_limit(rd, rt_len);
    if (rd->err || outer < 4) return KS_EFORMAT;
    int same = ser_get_u32(rd) == RUNTIME_VERSION;
    same &= ser_get_str_eq(rd, KENSA_VERSION);
    same &= ser_get_str_eq(rd, pf_version());
    if (!same) return rd->err == KS_ENOMEM || rd->err == KS_EIO ? rd->err : KS_OK;
    r->srt = calloc(1, sizeof *r->srt);
    r->needs = calloc(1, sizeof *r->needs);
    if (!r->srt || !r->needs) return KS_ENOMEM;
    if (strings_read(rd, &r->t, r->srt) == KS_OK) needs_read(rd, &r->t, r->needs);
    int parsed = rd->err;
    if (parsed == KS_ENOMEM || parsed == KS_EIO) return parsed;
    /* the digest decides between damage (rebuild) and a crafted section (refused) */
    rd->err = KS_OK;
    int tail = parsed == KS_OK && rd->left != 0;
    ser_skip(rd, rd->left);
    rd->left = 4;
    int intact = ser_get_sum(rd);
    if (rd->err == KS_EIO) return KS_EIO;
    if (!intact) { drop_runtime(r); return KS_OK; }
    if (parsed != KS_OK || tail || fgetc(rd->f) != EOF) return KS_EFORMAT;
    if (!strings_check(&r->t, r->srt)) return KS_EFORMAT;
    uint8_t *eager = eager_strings(&r->t, r->srt);
    if (!eager) return KS_ENOMEM;
    int needs_ok = needs_check(&r->t, eager, r->needs);
    free(eager);
    if (!needs_ok) return KS_EFORMAT;
    if (pf_open(r->srt->db) != KS_OK) { drop_runtime(r); return KS_OK; }
    r->rt_stored = 1;
    return KS_OK;
}

int ks_rules_load_opts(const char *path, unsigned flags, ks_rules **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return KS_EIO;
    struct stat st;
    uint64_t size = UINT64_MAX;       /* unknown: reads are bounded by the end of the data */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) size = (uint64_t)st.st_size;
    ks_rules *r = calloc(1, sizeof *r);
    if (!r) { fclose(f); return KS_ENOMEM; }
    ser_r rd;
    ser_r_init(&rd, f, size);
    uint64_t rt_len = 0;
    int rc = read_tables(&rd, &r->t, &rt_len);
    if (rc == KS_OK && !(flags & KS_LOAD_REBUILD)) rc = read_runtime(&rd, r, rt_len);
    fclose(f);
    if (rc == KS_OK) rc = r->srt ? build_views(r) : rules_finish(r, 1);
    if (rc != KS_OK) { ks_rules_destroy(r); return rc; }
    *out = r;
    return KS_OK;
}

int ks_rules_load(const char *path, ks_rules **out) { return ks_rules_load_opts(path, 0, out); }
