/*
 * scanner.c - the public scanner API: one scan = search all strings, load imported modules,
 * evaluate every rule in order, report through the callback.
 *
 * A scanner holds all per-scan state (matches, rule results, module trees, loop variables) and
 * only reads the shared compiled rules, so one ks_rules serves any number of scanners/threads.
 */
#include "scan/scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/object.h"
#include "eval/needs.h"
#include "modules/kensa_module.h"

typedef struct gset_at {
    uint32_t g[GUARD_MAX];       /* the rule's guards (uguard indices, UINT32_MAX after the last) */
    uint32_t ri;
} gset_at;

static int gset_cmp(const void *x, const void *y)
{
    const gset_at *a = x, *b = y;
    for (int j = 0; j < GUARD_MAX; j++)
        if (a->g[j] != b->g[j]) return a->g[j] < b->g[j] ? -1 : 1;
    return 0;
}

/* The tables that let a scan touch only what it must (ks_scanner_scan_mem): the guard sets
 * (rules with the same guards share one; each string is mapped to its rule's), the rules
 * evaluated always, the global rules. Needs s->gid (guards_index). KS_OK or KS_ENOMEM. */
static int scanner_lists(ks_scanner *s)
{
    const ks_tables *t = &s->r->t;
    const needs_rt *nd = s->r->needs;
    if (!s->gid) return KS_ENOMEM;
    gset_at *gr = malloc(((size_t)t->rules.n + 1) * sizeof *gr);    /* guarded rules */
    s->sgset = calloc((size_t)t->strs.n + 1, sizeof *s->sgset);
    s->gsets = malloc(((size_t)t->rules.n + 1) * GUARD_MAX * sizeof *s->gsets);
    s->gsdead = calloc((size_t)t->rules.n + 1, 1);
    s->always = malloc(((size_t)t->rules.n + 1) * sizeof *s->always);
    s->globals = malloc(((size_t)t->rules.n + 1) * sizeof *s->globals);
    s->clist = malloc(((size_t)t->rules.n + 1) * sizeof *s->clist);
    if (!gr || !s->sgset || !s->gsets || !s->gsdead || !s->always || !s->globals || !s->clist) {
        free(gr);
        return KS_ENOMEM;
    }
    uint32_t ng = 0;
    for (uint32_t ri = 0; ri < t->rules.n; ri++) {
        const uint32_t *g = &s->gid[(size_t)ri * GUARD_MAX];
        if (g[0] == UINT32_MAX || !t->rules.v[ri].nstr) continue;
        memcpy(gr[ng].g, g, sizeof gr[ng].g);
        gr[ng++].ri = ri;
    }
    qsort(gr, ng, sizeof *gr, gset_cmp);
    s->ngsets = 0;
    for (uint32_t k = 0; k < ng; k++) {
        if (k == 0 || gset_cmp(&gr[k - 1], &gr[k]) != 0) {
            s->ngsets++;
            memcpy(&s->gsets[(size_t)s->ngsets * GUARD_MAX], gr[k].g, sizeof gr[k].g);
        }
        const ks_rule *r = &t->rules.v[gr[k].ri];
        for (uint32_t si = r->str_first; si < r->str_first + r->nstr; si++) s->sgset[si] = s->ngsets;
    }
    free(gr);
    /* per key group (eval/needs.c): the rules its keys are needed by, each once */
    if (nd && nd->ngroups) {
        uint32_t ns = t->strs.n;
        s->grfirst = calloc((size_t)nd->ngroups + 1, sizeof *s->grfirst);
        s->grules = malloc(((size_t)nd->by_str_first[ns + nd->nkeys] - nd->by_str_first[ns] + 1) *
                           sizeof *s->grules);
        if (!s->grfirst || !s->grules || !s->cand) return KS_ENOMEM;
        uint32_t n = 0;
        for (uint32_t g = 0; g < nd->ngroups; g++) {
            uint32_t from = n;
            for (uint32_t k = nd->gkfirst[g]; k < nd->gkfirst[g + 1]; k++)
                for (uint32_t j = nd->by_str_first[ns + k]; j < nd->by_str_first[ns + k + 1]; j++)
                    if (!s->cand[nd->by_str[j]]) { s->cand[nd->by_str[j]] = 1; s->grules[n++] = nd->by_str[j]; }
            for (uint32_t j = from; j < n; j++) s->cand[s->grules[j]] = 0;
            s->grfirst[g + 1] = n;
        }
    }
    for (uint32_t ri = 0; ri < t->rules.n; ri++) {
        if (nd && nd->n[ri] == NEEDS_ALWAYS) s->always[s->nalways++] = ri;
        if (t->rules.v[ri].flags & KS_RULE_GLOBAL) s->globals[s->nglobals++] = ri;
    }
    /* lazy strings (eval/needs.c): the per-scan answers of lazy_need */
    if (nd && nd->nlazy) {
        s->lzc = calloc((size_t)t->rules.n + 1, 1);
        s->lzlist = malloc(((size_t)t->rules.n + 1) * sizeof *s->lzlist);
        if (!s->lzc || !s->lzlist) return KS_ENOMEM;
    }
    return KS_OK;
}

/* strings_state.lazy_need: 1 when lazy string si's rule may be true, i.e. a string of its lazy
 * set matched (eval/needs.c); asked once the search is over, once per rule and scan. */
static int lazy_need(void *ud, uint32_t si)
{
    ks_scanner *s = ud;
    const needs_rt *nd = s->r->needs;
    uint32_t ri = s->r->t.strs.v[si].rule;
    if (!s->lzc[ri]) {
        int need = nd->ln[ri] == NEEDS_ALWAYS;
        for (uint32_t k = 0; !need && k < nd->ln[ri]; k++)
            need = s->st.m[nd->llist.v[nd->lfirst[ri] + k]].n != 0;
        s->lzc[ri] = need ? 1 : 2;
        s->lzlist[s->nlz++] = ri;
    }
    return s->lzc[ri] == 1;
}

/* Keys (eval/needs.c): adds to s->clist (*nc items, flagged in s->cand) the rules of this
 * scan's true keys. A group's expression is evaluated only when some rule of the group is not
 * proven false by its guard. When the value cannot be looked up (an error, a float, a group
 * with both integer and text constants), all the group's rules are added: they are then
 * evaluated, which gives their exact result. */
static void key_candidates(ks_scanner *s, uint32_t *nc)
{
    const needs_rt *nd = s->r->needs;
    const ks_tables *t = &s->r->t;
    uint32_t ns = t->strs.n;
    for (uint32_t g = 0; g < nd->ngroups; g++) {
        int live = 0;
        for (uint32_t j = s->grfirst[g]; !live && j < s->grfirst[g + 1]; j++)
            live = !eval_guard_false(s, s->grules[j]);
        if (!live) continue;
        uint32_t lo = nd->gkfirst[g], hi = nd->gkfirst[g + 1];
        if (lo == hi) continue;
        value v;
        int rc = eval_expr(s, nd->gexpr[g], &v);
        int mixed = t->nodes.v[nd->kconst[lo]].op != t->nodes.v[nd->kconst[hi - 1]].op;
        if (rc == KS_OK && !mixed && v.t == VU) continue;
        if (rc == KS_OK && !mixed && (v.t == VI || v.t == VS)) {
            uint32_t k = needs_key_find(nd, t, g, v.t == VS, v.i, v.s, v.len);
            if (k == UINT32_MAX) continue;
            lo = k;
            hi = k + 1;
        }
        for (uint32_t k = lo; k < hi; k++)
            for (uint32_t j = nd->by_str_first[ns + k]; j < nd->by_str_first[ns + k + 1]; j++) {
                uint32_t ri = nd->by_str[j];
                if (!s->cand[ri]) { s->cand[ri] = 1; s->clist[(*nc)++] = ri; }
            }
    }
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

int ks_scanner_create(const ks_rules *r, ks_scanner **out)
{
    if (!r || !out) return KS_EARG;
    ks_scanner *s = calloc(1, sizeof *s);
    if (!s) return KS_ENOMEM;
    s->r = r;
    const ks_tables *t = &r->t;
    int rc = strings_state_init(t, r->srt, &s->st);
    s->rule_res = calloc((size_t)t->rules.n + 1, 1);
    s->cand = calloc((size_t)t->rules.n + 1, 1);
    s->nvars = r->max_vars + 2;
    s->vars = calloc(s->nvars, sizeof *s->vars);
    s->mods = calloc((size_t)t->imports.n + 1, sizeof *s->mods);
    s->decl = calloc((size_t)t->imports.n + 1, sizeof *s->decl);
    s->guard = guards_build(t);
    int grc = s->guard ? guards_index(s) : KS_ENOMEM;
    int xrc = scanner_lists(s);
    s->matched = calloc((size_t)t->rules.n + 1, sizeof *s->matched);
    s->fhint = calloc((size_t)t->nodes.n + 1, sizeof *s->fhint);
    s->rflags = calloc((size_t)t->rules.n + 1, 1);
    if (s->rflags)
        for (uint32_t i = 0; i < t->rules.n; i++)
            s->rflags[i] = (uint8_t)(((t->rules.v[i].flags & KS_RULE_GLOBAL) ? RF_GLOBAL : 0) |
                                     ((t->rules.v[i].flags & KS_RULE_PRIVATE) ? RF_PRIVATE : 0));
    s->moddata = calloc((size_t)t->imports.n + 1, sizeof *s->moddata);
    s->mod_failed = calloc((size_t)t->imports.n + 1, 1);
    s->moddata_len = calloc((size_t)t->imports.n + 1, sizeof *s->moddata_len);
    s->ext = calloc((size_t)t->exts.n + 1, sizeof *s->ext);
    s->scratch = ks_scratch_new();
    if (rc != KS_OK || grc != KS_OK || xrc != KS_OK || !s->rule_res || !s->cand || !s->vars || !s->mods || !s->decl || !s->guard || !s->matched || !s->fhint || !s->rflags || !s->moddata || !s->mod_failed || !s->moddata_len ||
        !s->ext || !s->scratch) {
        ks_scanner_destroy(s);
        return rc != KS_OK ? rc : KS_ENOMEM;
    }
    for (uint32_t i = 0; i < t->exts.n; i++) {
        s->ext[i].type = t->exts.v[i].type;
        s->ext[i].i = t->exts.v[i].i;
        s->ext[i].f = t->exts.v[i].f;
    }
    *out = s;
    return KS_OK;
}

static void unload_modules(ks_scanner *s)
{
    const ks_tables *t = &s->r->t;
    for (uint32_t i = 0; i < t->imports.n; i++) {
        if (!s->mods[i]) continue;
        const ks_module *m = ks_module_find(pool_str(t, t->imports.v[i]));
        if (m && m->unload) m->unload(s->mods[i]);
        obj_reset(s->mods[i]);
        s->mods[i] = NULL;
    }
}

void ks_scanner_destroy(ks_scanner *s)
{
    if (!s) return;
    const ks_tables *t = &s->r->t;
    if (s->mods) unload_modules(s);
    if (s->decl) for (uint32_t i = 0; i < t->imports.n; i++) obj_destroy(s->decl[i]);
    free(s->decl);
    free(s->guard);
    free(s->sgset);
    free(s->gsets);
    free(s->gsdead);
    free(s->always);
    free(s->globals);
    free(s->clist);
    free(s->grfirst);
    free(s->grules);
    free(s->lzc);
    free(s->lzlist);
    free(s->uguard);
    free(s->gid);
    free(s->gfalse);
    free(s->fhint);
    free(s->matched);
    free(s->rflags);
    strings_state_free(t, &s->st);
    if (s->ext) for (uint32_t i = 0; i < t->exts.n; i++) free(s->ext[i].s);
    if (s->moddata) for (uint32_t i = 0; i < t->imports.n; i++) free(s->moddata[i]);
    free(s->moddata);
    free(s->moddata_len);
    free(s->mod_failed);
    free(s->ext);
    free(s->mods);
    free(s->vars);
    free(s->rule_res);
    free(s->cand);
    free(s->mbuf);
    free(s->fbuf);
    if (s->scratch) ks_scratch_destroy(s->scratch);
    free(s);
}

static ext_val *find_ext(ks_scanner *s, const char *name, uint32_t *idx)
{
    const ks_tables *t = &s->r->t;
    for (uint32_t i = 0; i < t->exts.n; i++)
        if (strcmp(pool_str(t, t->exts.v[i].id), name) == 0) { if (idx) *idx = i; return &s->ext[i]; }
    return NULL;
}

int ks_scanner_define_int(ks_scanner *s, const char *name, int64_t v)
{
    ext_val *x = find_ext(s, name, NULL);
    if (!x) return KS_EUNDEF;
    if (x->type == X_FLOAT) { x->f = (double)v; return KS_OK; }
    if (x->type != X_INT) return KS_ETYPE;
    x->i = v;
    return KS_OK;
}

int ks_scanner_define_float(ks_scanner *s, const char *name, double v)
{
    ext_val *x = find_ext(s, name, NULL);
    if (!x) return KS_EUNDEF;
    if (x->type != X_FLOAT) return KS_ETYPE;
    x->f = v;
    return KS_OK;
}

int ks_scanner_define_bool(ks_scanner *s, const char *name, int v)
{
    ext_val *x = find_ext(s, name, NULL);
    if (!x) return KS_EUNDEF;
    if (x->type != X_BOOL) return KS_ETYPE;
    x->i = v != 0;
    return KS_OK;
}

int ks_scanner_define_string(ks_scanner *s, const char *name, const char *v)
{
    ext_val *x = find_ext(s, name, NULL);
    if (!x) return KS_EUNDEF;
    if (x->type != X_STR) return KS_ETYPE;
    char *c = xstrdup(v ? v : "");
    if (!c) return KS_ENOMEM;
    free(x->s);
    x->s = c;
    x->slen = strlen(c);
    return KS_OK;
}

void ks_scanner_set_timeout(ks_scanner *s, int seconds) { s->timeout = seconds > 0 ? seconds : 0; }
void ks_scanner_set_flags(ks_scanner *s, int flags) { s->flags = flags; }

int ks_scanner_set_module_data(ks_scanner *s, const char *module, const void *data, size_t len)
{
    const ks_tables *t = &s->r->t;
    for (uint32_t i = 0; i < t->imports.n; i++) {
        if (strcmp(pool_str(t, t->imports.v[i]), module) != 0) continue;
        uint8_t *c = malloc(len ? len : 1);
        if (!c) return KS_ENOMEM;
        if (len) memcpy(c, data, len);
        free(s->moddata[i]);
        s->moddata[i] = c;
        s->moddata_len[i] = len;
        return KS_OK;
    }
    return KS_OK; /* data for a module the rules don't import is ignored, as in yara */
}

int scan_expired(ks_scanner *s)
{
    if (s->timed_out) return 1;
    if (!s->timeout) return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > s->deadline.tv_sec ||
        (now.tv_sec == s->deadline.tv_sec && now.tv_nsec >= s->deadline.tv_nsec))
        s->timed_out = 1;
    return s->timed_out;
}

int scanner_module(ks_scanner *s, uint32_t i, ks_object **out)
{
    const ks_tables *t = &s->r->t;
    if (out) *out = NULL;
    if (i >= t->imports.n) return KS_EINTERNAL;
    if (s->mods[i]) {
        if (out) *out = s->mods[i];
        return KS_OK;
    }
    if (s->mod_failed && s->mod_failed[i]) return s->mod_failed[i];
    const char *name = pool_str(t, t->imports.v[i]);
    const ks_module *m = ks_module_find(name);
    if (!m) return KS_ENOMODULE;
    ks_object *root = s->decl[i];
    if (!root) {
        /* declared once per scanner; reset (not rebuilt) after each scan */
        root = obj_new_root(name);
        if (!root) return KS_ENOMEM;
        if (m->declare(root) != 0) { obj_destroy(root); return KS_ENOMEM; }
        s->decl[i] = root;
    }
    if (m->load) {
        /* A module that cannot parse the scanned data leaves its values undefined and
         * returns 0; a negative return means its -x module data is unusable, which fails
         * the scan as in yara (ERROR_INVALID_MODULE_DATA). */
        int lr;
        if (m == &ks_module_kensa) {
            /* its data is the scanner's current object, never -x data */
            ks_kensa_data kd = {s->have_obj ? &s->obj : NULL, s->target};
            lr = m->load(root, s->data, s->size, &kd, sizeof kd);
        } else {
            lr = m->load(root, s->data, s->size, s->moddata[i], s->moddata_len[i]);
        }
        if (lr < 0) {
            if (m->unload) m->unload(root);
            obj_reset(root);
            int rc = lr == KS_ENOMEM ? KS_ENOMEM : KS_EMODDATA;
            if (s->mod_failed) s->mod_failed[i] = (int8_t)rc;
            return rc;
        }
    }
    s->mods[i] = root;
    if (out) *out = root;
    return KS_OK;
}

int ks_scanner_scan_mem(ks_scanner *s, const uint8_t *data, size_t len, ks_scan_fn cb, void *ud)
{
    if (!s || (!data && len)) return KS_EARG;
    static const uint8_t empty[1] = {0};
    if (!data) data = empty;
    const ks_rules *r = s->r;
    const ks_tables *t = &r->t;
    int rc = KS_OK;
    s->data = data;
    s->size = len;
    s->ep_state = 0;
    s->timed_out = 0;
    s->scan_gen++;               /* forgets the previous scan's memoized calls */
    if (s->timeout) {
        clock_gettime(CLOCK_MONOTONIC, &s->deadline);
        s->deadline.tv_sec += s->timeout;
    }
    strings_state_reset(t, &s->st);
    memset(s->mod_failed, 0, t->imports.n);
    s->st.fast = (s->flags & KS_SCAN_FAST) != 0;
    memset(s->rule_res, 0, t->rules.n);

    /* Strings of rules that their guard proves false cannot change any result: not verified
     * (unless non-matching rules are reported, with their strings). On /usr/bin with all of
     * signature-base, whose Windows rules start with uint16(0) == 0x5A4D, a third of the CPU. */
    guards_eval(s);
    int matches_only = (s->flags & KS_SCAN_MATCHES_ONLY) != 0;
    if (matches_only)
        for (uint32_t k = 1; k <= s->ngsets; k++) {
            const uint32_t *g = &s->gsets[(size_t)k * GUARD_MAX];
            uint8_t d = 0;
            for (int j = 0; j < GUARD_MAX && g[j] != UINT32_MAX; j++) d |= s->gfalse[g[j]];
            s->gsdead[k] = d;
        }
    s->st.sgset = matches_only && s->ngsets ? s->sgset : NULL;
    s->st.gsdead = s->gsdead;
    /* the gated prefilter database holds atoms only rules guarded by uint16(0) == 0x5A4D need:
     * when that guard fails all their strings are dead (above) */
    int gate_open = !matches_only || s->mz_guard == UINT32_MAX ||
                    !s->gfalse[s->mz_guard];
    /* lazy strings (eval/needs.c): their hits wait for the search's end and are verified only
     * when their rule may be true; exact for the rules reported, so only when just the
     * matching ones are (a string of a rule that is false is never shown) */
    s->st.lazy = matches_only && s->lzc ? r->needs->lazy : NULL;
    s->st.lazy_need = lazy_need;
    s->st.lazy_ud = s;
    rc = strings_scan(t, r->srt, &s->st, data, len, gate_open);
    for (uint32_t k = 0; k < s->nlz; k++) s->lzc[s->lzlist[k]] = 0;
    s->nlz = 0;
    if (rc != KS_OK) goto out;
    if (scan_expired(s)) { rc = KS_ETIMEOUT; goto out; }

    /* modules: loaded here when the client wants their data (-D) or when -x data was given
     * (invalid data fails the scan even if no rule reads the module, as in yara); otherwise on
     * first use by a condition (scanner_module), so a file no rule asks about is never parsed */
    for (uint32_t i = 0; i < t->imports.n; i++) {
        if (!(s->flags & KS_SCAN_MODULE_EVENTS) && !s->moddata[i]) continue;
        rc = scanner_module(s, i, NULL);
        if (rc != KS_OK) goto out;
        if (cb && (s->flags & KS_SCAN_MODULE_EVENTS)) {
            ks_event ev = {KS_EV_MODULE_IMPORTED, NULL, NULL, pool_str(t, t->imports.v[i])};
            int c = cb(s, &ev, ud);
            if (c < 0) { rc = c; goto out; }
        }
    }

    /* too-many-matches warnings, in string order; only strings that matched can have hit the
     * limit, so the hit list is enough unless it is incomplete */
    if (cb && (s->st.hit_lost || s->st.nfull)) {
        for (uint32_t si = 0; si < t->strs.n; si++) {
            if (!s->st.too_many[si]) continue;
            const ks_str *st = &t->strs.v[si];
            ks_event ev = {KS_EV_TOO_MANY_MATCHES, &r->infos[st->rule], pool_str(t, st->id), NULL};
            int c = cb(s, &ev, ud);
            if (c < 0) { rc = c; goto out; }
        }
    }

    /* rules, in order; a global rule that fails makes its namespace fail */
    uint8_t *ns_fail = calloc((size_t)t->namespaces.n + 1, 1);
    if (!ns_fail) { rc = KS_ENOMEM; goto out; }
    /* rules none of whose needed strings matched are false without evaluation (eval/needs.c) */
    const needs_rt *nd = r->needs;
    int prune = nd && !s->st.hit_lost && !(s->flags & KS_SCAN_EVAL_ALL);
    /* matched rules are also listed in order (s->matched), so that the steps after evaluation
     * touch only them; per-rule flags are read from the compact s->rflags. rule_res is 0 for
     * every rule not evaluated. */
    uint32_t nm = 0;
    int any_ns_fail = 0;
    if (prune) {
        /* only the rules some hit string is needed by (in rule order: sorted) and those
         * evaluated always; the others are false, a global one failing its namespace */
        uint32_t nc = 0;
        for (uint32_t k = 0; k < s->st.hit.n; k++) {
            uint32_t si = s->st.hit.v[k];
            for (uint32_t j = nd->by_str_first[si]; j < nd->by_str_first[si + 1]; j++) {
                uint32_t ri = nd->by_str[j];
                if (!s->cand[ri]) { s->cand[ri] = 1; s->clist[nc++] = ri; }
            }
        }
        if (nd->ngroups) key_candidates(s, &nc);
        for (uint32_t k = 0; k < nc; k++) s->cand[s->clist[k]] = 0;
        qsort(s->clist, nc, sizeof *s->clist, u32_cmp);
        /* a rule evaluated always needs no string, so it is never a candidate too */
        for (uint32_t i = 0, j = 0, done = 0; i < nc || j < s->nalways; done++) {
            uint32_t ri = j >= s->nalways || (i < nc && s->clist[i] < s->always[j])
                              ? s->clist[i++] : s->always[j++];
            int m = eval_rule(s, ri);
            if (m < 0) { rc = m; free(ns_fail); goto out; }
            s->rule_res[ri] = (uint8_t)m;
            if (m) s->matched[nm++] = ri;
            if ((done & 63) == 63 && scan_expired(s)) { rc = KS_ETIMEOUT; free(ns_fail); goto out; }
        }
        for (uint32_t k = 0; k < s->nglobals; k++) {
            uint32_t ri = s->globals[k];
            if (!s->rule_res[ri]) {
                ns_fail[t->rules.v[ri].ns_index] = 1;
                any_ns_fail = 1;
            }
        }
    } else {
        for (uint32_t ri = 0; ri < t->rules.n; ri++) {
            int m = eval_rule(s, ri);
            if (m < 0) { rc = m; free(ns_fail); goto out; }
            s->rule_res[ri] = (uint8_t)m;
            if (m) {
                s->matched[nm++] = ri;
            } else if (s->rflags[ri] & RF_GLOBAL) {
                ns_fail[t->rules.v[ri].ns_index] = 1;
                any_ns_fail = 1;
            }
            if ((ri & 63) == 63 && scan_expired(s)) { rc = KS_ETIMEOUT; free(ns_fail); goto out; }
        }
    }
    if (any_ns_fail) {
        uint32_t k = 0;
        for (uint32_t j = 0; j < nm; j++) {
            uint32_t ri = s->matched[j];
            if (ns_fail[t->rules.v[ri].ns_index]) s->rule_res[ri] = 0;
            else s->matched[k++] = ri;
        }
        nm = k;
    }
    free(ns_fail);

    int all = !(s->flags & KS_SCAN_MATCHES_ONLY);     /* NOMATCH events too: every rule */
    uint32_t nev = all ? t->rules.n : nm;
    for (uint32_t j = 0; cb && j < nev; j++) {
        uint32_t ri = all ? j : s->matched[j];
        if (s->rflags[ri] & RF_PRIVATE) continue;
        s->cur_rule = ri;
        ks_event ev = {s->rule_res[ri] ? KS_EV_RULE_MATCH : KS_EV_RULE_NOMATCH, &r->infos[ri], NULL,
                       NULL};
        int c = cb(s, &ev, ud);
        if (c < 0) { rc = c; goto out; }
        if (c > 0) break;
    }
    if (cb) {
        ks_event ev = {KS_EV_SCAN_END, NULL, NULL, NULL};
        cb(s, &ev, ud);
    }
out:
    unload_modules(s);
    ks_scratch_reset(s->scratch);
    s->have_obj = 0;             /* the object info applies to one scan only */
    return rc;
}

void ks_scanner_set_object(ks_scanner *s, const ks_object_info *obj)
{
    if (!s)
        return;
    if (obj) {
        s->obj = *obj;
        s->have_obj = 1;
    } else {
        s->have_obj = 0;
    }
}

/* Regular files up to this size are read rather than mapped (ks_scanner_scan_file). */
#define SCAN_READ_MAX ((off_t)1 << 20)

int ks_scanner_scan_file(ks_scanner *s, const char *path, ks_scan_fn cb, void *ud)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return KS_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return KS_EIO; }
    int rc;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= SCAN_READ_MAX) {
        /* A small file is read into the scanner's buffer: cheaper than mapping it (no page
         * faults, no unmap), and the buffer is reused by the next file. */
        size_t want = (size_t)st.st_size;
        if (s->fbuf_cap < want) {
            size_t nc = s->fbuf_cap ? s->fbuf_cap : 65536;
            while (nc < want) nc *= 2;
            uint8_t *nb = realloc(s->fbuf, nc);
            if (!nb) { close(fd); return KS_ENOMEM; }
            s->fbuf = nb;
            s->fbuf_cap = nc;
        }
        size_t n = 0;
        while (n < want) {
            ssize_t r = read(fd, s->fbuf + n, want - n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) { close(fd); return KS_EIO; }
            if (r == 0) break;           /* the file shrank: scan what was read */
            n += (size_t)r;
        }
        close(fd);
        s->target = path;
        rc = ks_scanner_scan_mem(s, s->fbuf, n, cb, ud);
        s->target = NULL;
        return rc;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) { close(fd); return KS_EIO; }
        close(fd);
        s->target = path;
        rc = ks_scanner_scan_mem(s, p, (size_t)st.st_size, cb, ud);
        s->target = NULL;
        munmap(p, (size_t)st.st_size);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) { close(fd); return KS_EIO; }
    /* empty files, pipes, devices: read (bounded) */
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) { close(fd); return KS_ENOMEM; }
    for (;;) {
        if (n == cap) {
            if (cap >= ((size_t)1 << 32)) break;
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); close(fd); return KS_ENOMEM; }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) { free(buf); close(fd); return KS_EIO; }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    s->target = path;
    rc = ks_scanner_scan_mem(s, buf, n, cb, ud);
    s->target = NULL;
    free(buf);
    return rc;
}

int ks_scanner_matches(ks_scanner *s, uint32_t ri, int si, const ks_match **out)
{
    const ks_tables *t = &s->r->t;
    *out = NULL;
    if (ri >= t->rules.n || si < 0 || (uint32_t)si >= t->rules.v[ri].nstr) return 0;
    const match_list *l = &s->st.m[t->rules.v[ri].str_first + (uint32_t)si];
    if (l->n > s->mbuf_cap) {
        ks_match *nb = realloc(s->mbuf, (size_t)l->n * sizeof *nb);
        if (!nb) return 0;
        s->mbuf = nb;
        s->mbuf_cap = l->n;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        ks_match *m = &s->mbuf[i];
        m->offset = l->v[i].off;
        m->length = l->v[i].len;
        m->data = s->data + l->v[i].off;
        uint64_t avail = s->size - (uint64_t)l->v[i].off;
        uint64_t dl = l->v[i].len < 512 ? l->v[i].len : 512;
        m->data_len = (uint32_t)(dl < avail ? dl : avail);
        m->xor_key = l->v[i].xor_key;
    }
    *out = s->mbuf;
    return (int)l->n;
}

int ks_scanner_print_module(ks_scanner *s, const char *module, FILE *out)
{
    const ks_tables *t = &s->r->t;
    for (uint32_t i = 0; i < t->imports.n; i++) {
        if (strcmp(pool_str(t, t->imports.v[i]), module) == 0 && s->mods[i]) {
            obj_print(out, s->mods[i]);
            return KS_OK;
        }
    }
    return KS_ENOMODULE;
}
