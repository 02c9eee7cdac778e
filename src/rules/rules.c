/*
 * rules.c - compiled rules: run-time setup, public views, save and load.
 *
 * File format (all integers little-endian as stored by this machine; the header records a byte
 * order mark and the version, and a file from another kensa version is refused):
 *
 *   "KENSARUL" | u32 version | u32 0x01020304 | for each table in ks_tables order:
 *   u32 item_size | u32 count | count * item_size bytes
 *
 * Loading validates every index between tables before anything runs (a hostile file gives
 * KS_EFORMAT, never an out-of-bounds read), then rebuilds the prefilter from the atoms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "match/re.h"
#include "match/strings.h"
#include "eval/needs.h"
#include "eval/object.h"

#define FORMAT_VERSION 1

int rules_finish(ks_rules *r)
{
    const ks_tables *t = &r->t;
    char err[256];
    r->srt = calloc(1, sizeof(strings_rt));
    if (!r->srt) return KS_ENOMEM;
    int rc = strings_build(t, r->srt, err, sizeof err);
    if (rc != KS_OK) { free(r->srt); r->srt = NULL; return rc; }
    r->needs = calloc(1, sizeof(needs_rt));
    if (!r->needs) return KS_ENOMEM;
    rc = needs_build(t, r->needs);
    if (rc != KS_OK) { free(r->needs); r->needs = NULL; return rc; }
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
    return KS_OK;
}

void ks_rules_destroy(ks_rules *r)
{
    if (!r) return;
    if (r->srt) { strings_free(r->srt); free(r->srt); }
    if (r->needs) { needs_free(r->needs); free(r->needs); }
    free(r->infos);
    free(r->tag_ptrs);
    free(r->meta_views);
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
}

/* ------------------------------------------------------------------ save */

#define TABLES(X) \
    X(nodes) X(lists) X(strs) X(res) X(metas) X(u32s) X(rules) X(exts) X(imports) X(namespaces) X(pool)

int ks_rules_save(const ks_rules *r, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return KS_EIO;
    const ks_tables *t = &r->t;
    uint32_t hdr[2] = {FORMAT_VERSION, 0x01020304};
    int ok = fwrite("KENSARUL", 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1;
#define W(name)                                                                     \
    if (ok) {                                                                       \
        uint32_t h[2] = {(uint32_t)sizeof(*t->name.v), t->name.n};                  \
        ok = fwrite(h, sizeof h, 1, f) == 1 &&                                      \
             (t->name.n == 0 || fwrite(t->name.v, sizeof(*t->name.v), t->name.n, f) == t->name.n); \
    }
    TABLES(W)
#undef W
    if (fclose(f) != 0) ok = 0;
    return ok ? KS_OK : KS_EIO;
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
static int validate(const ks_tables *t)
{
    for (uint32_t i = 0; i < t->nodes.n; i++) {
        const ks_node *n = &t->nodes.v[i];
        switch (n->op) {
        case N_TRUE: case N_FALSE: case N_INT: case N_FLOAT: case N_FILESIZE: case N_ENTRYPOINT:
        case N_QUANT:
            break;
        case N_STR:
            if (!valid_bytes(t, (uint32_t)n->i, n->b) || n->i < 0) return 0;
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
        case N_NOT: case N_NEG: case N_BITNOT: case N_DEFINED: case N_INTREAD: case N_PERCENT:
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
            if (!node_ok(t, i, n->a) || n->i < 0 || !valid_str(t, (uint32_t)n->i)) return 0;
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
    for (uint32_t i = 0; i < t->res.n; i++) {
        const ks_re *re = &t->res.v[i];
        if (re->off % 8 || !valid_bytes(t, re->off, re->size) || re->size < sizeof(re_code)) return 0;
        if (re_code_check((const re_code *)(t->pool.v + re->off), re->size) != 0) return 0;
    }
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

int ks_rules_load(const char *path, ks_rules **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return KS_EIO;
    ks_rules *r = calloc(1, sizeof *r);
    if (!r) { fclose(f); return KS_ENOMEM; }
    ks_tables *t = &r->t;
    int rc = KS_EFORMAT;
    char magic[8];
    uint32_t hdr[2];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "KENSARUL", 8) != 0) goto out;
    if (fread(hdr, sizeof hdr, 1, f) != 1 || hdr[0] != FORMAT_VERSION || hdr[1] != 0x01020304) goto out;
#define R(name)                                                                       \
    {                                                                                 \
        uint32_t h[2];                                                                \
        if (fread(h, sizeof h, 1, f) != 1 || h[0] != sizeof(*t->name.v) ||          \
            h[1] > (1u << 28))                                                        \
            goto out;                                                                 \
        if (h[1]) {                                                                   \
            t->name.v = malloc((size_t)h[1] * sizeof(*t->name.v));                   \
            if (!t->name.v) { rc = KS_ENOMEM; goto out; }                             \
            if (fread(t->name.v, sizeof(*t->name.v), h[1], f) != h[1]) goto out;      \
            t->name.n = t->name.cap = h[1];                                           \
        }                                                                             \
    }
    TABLES(R)
#undef R
    if (fgetc(f) != EOF) goto out;
    if (!validate(t)) goto out;
    rc = rules_finish(r);
out:
    fclose(f);
    if (rc != KS_OK) { ks_rules_destroy(r); return rc; }
    *out = r;
    return KS_OK;
}
