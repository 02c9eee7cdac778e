/*
 * compiler.c - rule text to compiled tables: sources, imports, includes, rules, meta, strings.
 *
 * A recursive-descent parser over the token stream of lexer.c. Conditions are parsed by cond.c.
 * Diagnostics are collected and counted; after a syntax error the parser skips to the next
 * `rule` keyword and goes on, so one pass reports as many errors as it can. Compiled tables are
 * only handed out (ks_compiler_get_rules) when there were no errors.
 */
#include "rules/compiler_int.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/object.h"
#include "match/re.h"

#define MAX_RULE_FILE (256u << 20)

/* names of YARA modules kensa does not implement yet (import gives a clear error) */
static const char *const yara_modules[] = {
    "pe", "elf", "math", "hash", "time", "tests", "dotnet", "cuckoo", "magic", "macho", "dex",
    "console", "string", NULL
};

/* ------------------------------------------------------------------ pool */

uint32_t pool_add(ks_tables *t, const void *p, size_t n)
{
    if (n > UINT32_MAX / 2 || (uint64_t)t->pool.n + n + 1 > UINT32_MAX / 2) return KS_NONE;
    if (vec_reserve(t->pool, (uint32_t)n + 1) != KS_OK) return KS_NONE;
    uint32_t off = t->pool.n;
    if (n) memcpy(t->pool.v + off, p, n);
    t->pool.v[off + n] = 0;
    t->pool.n += (uint32_t)n + 1;
    return off;
}

/* Pads the pool to a multiple of 8 and makes room for n more bytes; returns the offset they
 * go to (the pool's length), or KS_NONE. */
static uint32_t pool_blob_room(ks_tables *t, size_t n)
{
    while (t->pool.n % 8) {
        if (vec_push(t->pool, 0) != KS_OK) return KS_NONE;
    }
    if (n > UINT32_MAX / 2 || (uint64_t)t->pool.n + n > UINT32_MAX / 2) return KS_NONE;
    if (vec_reserve(t->pool, (uint32_t)n) != KS_OK) return KS_NONE;
    return t->pool.n;
}

uint32_t pool_add_blob(ks_tables *t, const void *p, size_t n)
{
    uint32_t off = pool_blob_room(t, n);
    if (off == KS_NONE) return KS_NONE;
    memcpy(t->pool.v + off, p, n);
    t->pool.n += (uint32_t)n;
    return off;
}

void tables_free(ks_tables *t)
{
    vec_free(t->nodes);
    vec_free(t->lists);
    vec_free(t->strs);
    vec_free(t->res);
    vec_free(t->metas);
    vec_free(t->u32s);
    vec_free(t->rules);
    vec_free(t->exts);
    vec_free(t->imports);
    vec_free(t->namespaces);
    vec_free(t->pool);
}

/* ------------------------------------------------------------------ diagnostics */

static void emit_diag(ks_compiler *c, int warn, int line, const char *fmt, va_list ap)
{
    char msg[1024], text[1400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *file = c->file ? c->file : "line";
    if (c->rule_name)
        snprintf(text, sizeof text, "%s: rule \"%s\" in %s(%d): %s", warn ? "warning" : "error",
                 c->rule_name, file, line, msg);
    else
        snprintf(text, sizeof text, "%s(%d): %s: %s", file, line, warn ? "warning" : "error", msg);
    if (warn) c->warnings++; else c->errors++;
    if (c->diag) {
        ks_diag d = {warn, c->file, line, c->rule_name, msg, text};
        c->diag(&d, c->diag_ud);
    }
}

void cc_error(ks_compiler *c, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_diag(c, 0, line, fmt, ap);
    va_end(ap);
    /* the first error ends the current rule (as in yara); the parser skips to the next one, so
     * a semantic error is not followed by a cascade of syntax errors */
    if (c->rule_name) c->syntax_error = 1;
}

void cc_warning(ks_compiler *c, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_diag(c, 1, line, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ tokens */

void cc_syntax_error(ks_compiler *c)
{
    if (c->syntax_error) return;
    c->syntax_error = 1;
    if (c->tok.kind == TK_ERROR) cc_error(c, c->tok.line, "%s", c->tok.err);
    else cc_error(c, c->tok.line, "syntax error, unexpected %s", lex_kind_name(c->tok.kind));
}

void cc_advance(ks_compiler *c)
{
    lex_token_free(&c->tok);
    lex_next(&c->lx, &c->tok);
}

static void advance_value(ks_compiler *c)
{
    lex_token_free(&c->tok);
    lex_next_value(&c->lx, &c->tok);
}

int cc_accept(ks_compiler *c, int kind)
{
    if (c->tok.kind != kind) return 0;
    cc_advance(c);
    return 1;
}

int cc_expect(ks_compiler *c, int kind)
{
    if (c->tok.kind == kind) { cc_advance(c); return 1; }
    cc_syntax_error(c);
    return 0;
}

uint32_t cc_node(ks_compiler *c, int op, int type, uint32_t a, uint32_t b, uint32_t c_, int64_t i)
{
    ks_node n;
    memset(&n, 0, sizeof n);
    n.op = (uint16_t)op;
    n.type = (uint8_t)type;
    n.a = a;
    n.b = b;
    n.c = c_;
    n.i = i;
    if (vec_push(c->t.nodes, n) != KS_OK) {
        cc_error(c, c->tok.line, "out of memory");
        return KS_NONE;
    }
    return c->t.nodes.n - 1;
}

/* ------------------------------------------------------------------ symbols */

static uint64_t rule_key(uint32_t ns, const char *name)
{
    return hash_bytes(name, strlen(name)) ^ ((uint64_t)ns * 0x9E3779B97F4A7C15ULL);
}

uint32_t cc_find_rule(ks_compiler *c, uint32_t ns, const char *name)
{
    if (!c->rsym_cap) return KS_NONE;
    uint64_t h = rule_key(ns, name);
    for (uint32_t i = (uint32_t)h & (c->rsym_cap - 1);; i = (i + 1) & (c->rsym_cap - 1)) {
        rule_sym *s = &c->rsyms[i];
        if (!s->used) return KS_NONE;
        if (s->h == h && s->ns == ns && strcmp(pool_str(&c->t, c->t.rules.v[s->rule].id), name) == 0)
            return s->rule;
    }
}

static int add_rule_sym(ks_compiler *c, uint32_t ns, const char *name, uint32_t rule)
{
    if ((c->t.rules.n + 1) * 2 > c->rsym_cap) {
        uint32_t ncap = c->rsym_cap ? c->rsym_cap * 2 : 256;
        rule_sym *n = calloc(ncap, sizeof *n);
        if (!n) return KS_ENOMEM;
        for (uint32_t i = 0; i < c->rsym_cap; i++) {
            if (!c->rsyms[i].used) continue;
            uint32_t j = (uint32_t)c->rsyms[i].h & (ncap - 1);
            while (n[j].used) j = (j + 1) & (ncap - 1);
            n[j] = c->rsyms[i];
        }
        free(c->rsyms);
        c->rsyms = n;
        c->rsym_cap = ncap;
    }
    uint64_t h = rule_key(ns, name);
    uint32_t i = (uint32_t)h & (c->rsym_cap - 1);
    while (c->rsyms[i].used) i = (i + 1) & (c->rsym_cap - 1);
    c->rsyms[i] = (rule_sym){ns, rule, h, 1};
    return KS_OK;
}

int cc_note_rule_wildcard(ks_compiler *c, const char *prefix)
{
    uint32_t off = pool_add(&c->t, prefix, strlen(prefix));
    if (off == KS_NONE || vec_push(c->wild_pool, off) != KS_OK || vec_push(c->wild_ns, c->ns) != KS_OK) {
        cc_error(c, c->tok.line, "out of memory");
        return -1;
    }
    return 0;
}

int cc_find_import(ks_compiler *c, const char *name)
{
    for (uint32_t i = 0; i < c->t.imports.n; i++)
        if (strcmp(pool_str(&c->t, c->t.imports.v[i]), name) == 0) return (int)i;
    return -1;
}

static uint32_t ns_index(ks_compiler *c, const char *name)
{
    for (uint32_t i = 0; i < c->t.namespaces.n; i++)
        if (strcmp(pool_str(&c->t, c->t.namespaces.v[i]), name) == 0) return i;
    uint32_t off = pool_add(&c->t, name, strlen(name));
    if (off == KS_NONE || vec_push(c->t.namespaces, off) != KS_OK) return KS_NONE;
    return c->t.namespaces.n - 1;
}

/* ------------------------------------------------------------------ public: setup */

int ks_compiler_create(ks_compiler **out)
{
    ks_compiler *c = calloc(1, sizeof *c);
    if (!c) return KS_ENOMEM;
    c->max_strings = 10000;
    c->threads = 1;
    if (pool_add(&c->t, "", 0) == KS_NONE) { free(c); return KS_ENOMEM; }
    *out = c;
    return KS_OK;
}

void ks_compiler_destroy(ks_compiler *c)
{
    if (!c) return;
    tables_free(&c->t);
    for (uint32_t i = 0; i < c->decls.n; i++) obj_destroy(c->decls.v[i]);
    vec_free(c->decls);
    vec_free(c->wild_pool);
    vec_free(c->wild_ns);
    free(c->rsyms);
    free(c->pats);
    lex_token_free(&c->tok);
    free(c->dir);
    free(c);
}

void ks_compiler_set_diag(ks_compiler *c, ks_diag_fn fn, void *ud)
{
    c->diag = fn;
    c->diag_ud = ud;
}

void ks_compiler_set_max_strings_per_rule(ks_compiler *c, uint32_t n) { c->max_strings = n; }
void ks_compiler_set_threads(ks_compiler *c, int n) { if (c) c->threads = n < 1 ? 1 : n; }
int ks_compiler_error_count(const ks_compiler *c) { return c->errors; }
int ks_compiler_warning_count(const ks_compiler *c) { return c->warnings; }

static ks_ext *find_ext(ks_compiler *c, const char *name)
{
    for (uint32_t i = 0; i < c->t.exts.n; i++)
        if (strcmp(pool_str(&c->t, c->t.exts.v[i].id), name) == 0) return &c->t.exts.v[i];
    return NULL;
}

static int define_ext(ks_compiler *c, const char *name, int type, int64_t i, double f,
                      const char *s)
{
    if (!name || !*name || c->finished) return KS_EARG;
    ks_ext *e = find_ext(c, name);
    if (!e) {
        ks_ext ne;
        memset(&ne, 0, sizeof ne);
        ne.id = pool_add(&c->t, name, strlen(name));
        if (ne.id == KS_NONE || vec_push(c->t.exts, ne) != KS_OK) return KS_ENOMEM;
        e = &c->t.exts.v[c->t.exts.n - 1];
    }
    e->type = (uint32_t)type;
    e->i = i;
    e->f = f;
    if (s) {
        e->s = pool_add(&c->t, s, strlen(s));
        if (e->s == KS_NONE) return KS_ENOMEM;
        e->slen = (uint32_t)strlen(s);
    }
    return KS_OK;
}

int ks_compiler_define_int(ks_compiler *c, const char *n, int64_t v)
{ return define_ext(c, n, X_INT, v, 0, NULL); }
int ks_compiler_define_float(ks_compiler *c, const char *n, double v)
{ return define_ext(c, n, X_FLOAT, 0, v, NULL); }
int ks_compiler_define_bool(ks_compiler *c, const char *n, int v)
{ return define_ext(c, n, X_BOOL, v != 0, 0, NULL); }
int ks_compiler_define_string(ks_compiler *c, const char *n, const char *v)
{ return define_ext(c, n, X_STR, 0, 0, v ? v : ""); }

/* ------------------------------------------------------------------ strings section */

static int add_re_piece(ks_compiler *c, const re_code *code, int32_t gmin, int32_t gmax)
{
    ks_re r;
    r.off = pool_add_blob(&c->t, code, code->size);
    r.size = code->size;
    r.gap_min = gmin;
    r.gap_max = gmax;
    if (r.off == KS_NONE || vec_push(c->t.res, r) != KS_OK) return KS_ENOMEM;
    return KS_OK;
}

/* ------------------------------------------------------------------ compiled patterns memo */

/* Compiling a pattern is a pure function of (kind, RE_* flags, source), and rule sets repeat
 * patterns a lot (signature-base: two thirds of its hex string text). So each compiled pattern
 * is remembered by that key; a string with the same key gets res entries of its own for the
 * earlier pieces, which share their pool blobs (compiled code is never written after it is
 * added). Only successful compilations are remembered: a failing pattern fails again with its
 * message. */

/* Hash of a memo key. Patterns are long (hex strings: 130 bytes on average in signature-base),
 * so the source is mixed 8 bytes at a time. */
static uint64_t pat_key_hash(int kind, uint32_t fl, const char *src, size_t len)
{
    const uint64_t mul = 0xFF51AFD7ED558CCDULL;
    uint64_t h = ((uint64_t)len ^ ((uint64_t)fl << 40) ^ ((uint64_t)kind << 56)) * 0x9E3779B97F4A7C15ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        h = (h ^ w) * mul;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (size_t k = 0; i + k < len; k++) w |= (uint64_t)(unsigned char)src[i + k] << (8 * k);
    h = (h ^ w) * mul;
    h ^= h >> 32;
    return h;
}

/* Probes per lookup or insertion: the memo is only a shortcut, so a crowded chain (crafted
 * colliding patterns, say) just means compiling again, never a long search. */
#define PAT_MAX_PROBE 32

/* The remembered pieces of (kind, fl, src), or NULL. */
static const pat_memo *pat_find(const ks_compiler *c, uint64_t h, int kind, uint32_t fl,
                                const char *src, size_t len)
{
    if (!c->pat_cap) return NULL;
    uint32_t i = (uint32_t)h & (c->pat_cap - 1);
    for (int probe = 0; probe < PAT_MAX_PROBE; probe++, i = (i + 1) & (c->pat_cap - 1)) {
        const pat_memo *m = &c->pats[i];
        if (!m->used) return NULL;
        if (m->h == h && m->kind == kind && m->flags == fl && m->len == len &&
            memcmp(c->t.pool.v + m->src, src, len) == 0)
            return m;
    }
    return NULL;
}

/* Remembers pieces [re_first, re_first + re_count) for the key whose source is the pool string
 * at src_off. Best effort: out of memory only means no reuse. */
static void pat_remember(ks_compiler *c, uint64_t h, int kind, uint32_t fl, uint32_t src_off,
                         size_t len, uint32_t re_first, uint32_t re_count)
{
    if (len > UINT32_MAX) return;
    if ((c->pat_n + 1) * 2 > c->pat_cap) {
        uint32_t ncap = c->pat_cap ? c->pat_cap * 2 : 1024;
        if (ncap > (1u << 28)) return;
        pat_memo *n = calloc(ncap, sizeof *n);
        if (!n) return;
        uint32_t kept = 0;
        for (uint32_t i = 0; i < c->pat_cap; i++) {
            if (!c->pats[i].used) continue;
            uint32_t j = (uint32_t)c->pats[i].h & (ncap - 1);
            int probe = 0;
            while (n[j].used && ++probe < PAT_MAX_PROBE) j = (j + 1) & (ncap - 1);
            if (n[j].used) continue;                    /* dropped: it will be compiled again */
            n[j] = c->pats[i];
            kept++;
        }
        free(c->pats);
        c->pats = n;
        c->pat_cap = ncap;
        c->pat_n = kept;
    }
    uint32_t i = (uint32_t)h & (c->pat_cap - 1);
    for (int probe = 0; c->pats[i].used; probe++, i = (i + 1) & (c->pat_cap - 1))
        if (probe + 1 >= PAT_MAX_PROBE) return;       /* pat_find would not get this far */
    c->pats[i] = (pat_memo){h, src_off, (uint32_t)len, fl, re_first, re_count, (uint8_t)kind, 1};
    c->pat_n++;
}

/* Appends res entries for the remembered pieces m (same blobs) to the tables. Returns KS_OK
 * or KS_ENOMEM. */
static int pat_copy(ks_compiler *c, const pat_memo *m)
{
    for (uint32_t i = 0; i < m->re_count; i++) {
        ks_re r = c->t.res.v[m->re_first + i];      /* by value: res may move */
        if (vec_push(c->t.res, r) != KS_OK) return KS_ENOMEM;
    }
    return KS_OK;
}

static void warn_dot_star(ks_compiler *c, const ks_str *s, int line)
{
    cc_warning(c, line, "%s contains .*, .+ or .{x,} consider using .{,N}, .{1,N} or {x,N} "
               "with a reasonable value for N", pool_str(&c->t, s->id));
}

/* Compile the regex/hex of string `s` into pieces. Reports errors; returns 0 on success. */
static int compile_pattern(ks_compiler *c, ks_str *s, const char *src, size_t len, int line)
{
    re_error err;
    memset(&err, 0, sizeof err);
    uint32_t fl = 0;
    if (s->mods & (M_NOCASE | M_ICASE_RE)) fl |= RE_NOCASE;
    if (s->mods & M_DOTALL) fl |= RE_DOTALL;
    if (s->mods & M_WIDE) fl |= RE_WIDE;
    if ((s->mods & M_ASCII) || !(s->mods & M_WIDE)) fl |= RE_ASCII;
    s->re_first = c->t.res.n;
    uint64_t h = pat_key_hash((int)s->kind, fl, src, len);
    const pat_memo *m = pat_find(c, h, (int)s->kind, fl, src, len);
    if (m) {
        if (pat_copy(c, m) != KS_OK) { cc_error(c, line, "out of memory"); return -1; }
        if (s->kind == S_REGEX && m->re_count > 0 && rules_re(&c->t, s->re_first)->has_dot_star)
            warn_dot_star(c, s, line);
        s->re_count = m->re_count;
        return 0;
    }
    re_code **pieces = NULL;
    int32_t *gmin = NULL, *gmax = NULL;
    int np = 0;
    int rc = s->kind == S_REGEX
                 ? re_compile_regex_pieces(src, len, fl, &pieces, &gmin, &gmax, &np, &err)
                 : re_compile_hex(src, len, fl, &pieces, &gmin, &gmax, &np, &err);
    if (rc != RE_OK) {
        cc_error(c, line, "invalid %s \"%s\": %s",
                 s->kind == S_REGEX ? "regular expression" : "hex string", pool_str(&c->t, s->id),
                 err.msg[0] ? err.msg : "syntax error");
        return -1;
    }
    if (s->kind == S_REGEX && np > 0 && pieces[0]->has_dot_star)
        warn_dot_star(c, s, line);
    int ok = 1;
    for (int i = 0; i < np; i++) {
        if (ok && add_re_piece(c, pieces[i], gmin[i], gmax[i]) != KS_OK) ok = 0;
        free(pieces[i]);
    }
    free(pieces);
    free(gmin);
    free(gmax);
    if (!ok) { cc_error(c, line, "out of memory"); return -1; }
    s->re_count = (uint32_t)np;
    if (s->lit != KS_NONE && s->lit_len == len)
        pat_remember(c, h, (int)s->kind, fl, s->lit, len, s->re_first, s->re_count);
    return 0;
}

/* Is a regex/hex source a plain sequence of literal bytes? yara turns such strings into
 * literal strings, and only literal strings are restricted to a fixed `at` offset. */
static int pattern_is_literal(const ks_str *s, const char *src, size_t len)
{
    if (s->kind == S_TEXT) return !(s->mods & (M_BASE64 | M_BASE64WIDE));
    if (s->kind == S_HEX) {
        /* a hex string split into a chain at a long jump counts as literal when its first piece
         * is: the chain is anchored at that piece's offset */
        for (size_t i = 0; i < len; i++) {
            char ch = src[i];
            if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') continue;
            if (ch == '[') {
                const char *end = memchr(src + i, ']', len - i);
                if (!end) return 0;
                const char *dash = memchr(src + i, '-', (size_t)(end - (src + i)));
                if (!dash) return 0;                         /* [n]: a short fixed jump */
                const char *p = dash + 1;
                while (p < end && (*p == ' ' || *p == '\t')) p++;
                if (p == end) return 1;                      /* [n-] / [-]: chained */
                long hi = strtol(p, NULL, 10);
                return hi > RE_CHAIN_GAP;                    /* long jump: chain boundary */
            }
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
                return 0;
        }
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '\\') {
            if (i + 1 >= len) return 0;
            char e = src[++i];
            if (e == 'x') { i += 2; continue; }
            if (strchr("wWsSdDbB", e) || (e >= '0' && e <= '9')) return 0;
            continue;  /* an escaped metacharacter or control escape is one literal byte */
        }
        if (strchr(".[](){}|*+?^$", ch)) return 0;
    }
    return 1;
}

/* Would yara warn that this string's atoms are poor? Regex/hex: ask re.c about every piece.
 * Text: judge the literal's atoms the same way (each xor variant for xor strings). */
static int string_is_slow(ks_compiler *c, const ks_str *s, const char *val, size_t vlen)
{
    if (s->kind != S_TEXT) {
        for (uint32_t p = 0; p < s->re_count; p++)
            if (re_slow(rules_re(&c->t, s->re_first + p))) return 1;
        return 0;
    }
    if (s->mods & (M_BASE64 | M_BASE64WIDE)) return 0;
    if (vlen == 0) return 0;
    if ((s->mods & M_WIDE) && !(s->mods & M_ASCII)) {
        uint8_t w[8];
        size_t n = vlen < 4 ? vlen : 4, best_slow = 1;
        /* the wide form's atoms: any window of the interleaved bytes */
        uint8_t *wide = malloc(vlen * 2);
        if (!wide) return 0;
        for (size_t i = 0; i < vlen; i++) { wide[2 * i] = (uint8_t)val[i]; wide[2 * i + 1] = 0; }
        best_slow = (size_t)re_literal_slow(wide, vlen * 2);
        free(wide);
        (void)w;
        (void)n;
        return (int)best_slow;
    }
    return re_literal_slow((const uint8_t *)val, vlen);
}

static const char *modifier_name(uint32_t m)
{
    switch (m) {
    case M_NOCASE: return "nocase";
    case M_WIDE: return "wide";
    case M_ASCII: return "ascii";
    case M_FULLWORD: return "fullword";
    case M_PRIVATE: return "private";
    case M_XOR: return "xor";
    case M_BASE64: return "base64";
    case M_BASE64WIDE: return "base64wide";
    }
    return "?";
}

/* modifiers := (nocase | wide | ascii | fullword | private | xor ['(' range ')']
 *               | base64 ['(' text ')'] | base64wide ['(' text ')'])* */
static int parse_modifiers(ks_compiler *c, ks_str *s, int line)
{
    const char *b64alpha = NULL;
    size_t b64len = 0;
    int b64_custom[2] = {0, 0};    /* base64 / base64wide given an alphabet */
    int errs = 0;
    for (;;) {
        uint32_t m;
        switch (c->tok.kind) {
        case TK_NOCASE: m = M_NOCASE; break;
        case TK_WIDE: m = M_WIDE; break;
        case TK_ASCII: m = M_ASCII; break;
        case TK_FULLWORD: m = M_FULLWORD; break;
        case TK_PRIVATE: m = M_PRIVATE; break;
        case TK_XOR: m = M_XOR; break;
        case TK_BASE64: m = M_BASE64; break;
        case TK_BASE64WIDE: m = M_BASE64WIDE; break;
        default: m = 0;
        }
        if (!m) break;
        int mline = c->tok.line;
        cc_advance(c);
        if (s->mods & m) {
            cc_error(c, mline, "duplicated modifier");
            errs++;
        }
        s->mods |= m;
        if (m == M_XOR) {
            s->xor_min = 0;
            s->xor_max = 255;
            if (cc_accept(c, TK_LPAREN)) {
                if (c->tok.kind != TK_INT) { cc_syntax_error(c); return -1; }
                int64_t a = c->tok.i, b = a;
                cc_advance(c);
                if (cc_accept(c, TK_MINUS)) {
                    if (c->tok.kind != TK_INT) { cc_syntax_error(c); return -1; }
                    b = c->tok.i;
                    cc_advance(c);
                }
                if (!cc_expect(c, TK_RPAREN)) return -1;
                if (a < 0 || a > 255 || b < 0 || b > 255) {
                    cc_error(c, mline, "invalid xor range");
                    errs++;
                } else if (a > b) {
                    cc_error(c, mline, "xor lower bound exceeds upper bound");
                    errs++;
                } else {
                    s->xor_min = (uint32_t)a;
                    s->xor_max = (uint32_t)b;
                }
            }
        } else if (m == M_BASE64 || m == M_BASE64WIDE) {
            int custom = c->tok.kind == TK_LPAREN;
            if (m == M_BASE64) b64_custom[0] = custom; else b64_custom[1] = custom;
            if (cc_accept(c, TK_LPAREN)) {
                if (c->tok.kind != TK_TEXT) { cc_syntax_error(c); return -1; }
                if (c->tok.len != 64) {
                    cc_error(c, mline, "length of base64 alphabet must be 64");
                    errs++;
                } else if (b64alpha && (b64len != 64 || memcmp(b64alpha, c->tok.s, 64) != 0)) {
                    cc_error(c, mline, "can not specify multiple alphabets");
                    errs++;
                } else {
                    s->b64alpha = pool_add(&c->t, c->tok.s, 64);
                    b64alpha = pool_str(&c->t, s->b64alpha);
                    b64len = 64;
                }
                cc_advance(c);
                if (!cc_expect(c, TK_RPAREN)) return -1;
            }
        }
    }
    /* base64 and base64wide must use the same alphabet: both the default, or both the same */
    if ((s->mods & M_BASE64) && (s->mods & M_BASE64WIDE) && b64_custom[0] != b64_custom[1]) {
        cc_error(c, line, "can not specify multiple alphabets");
        errs++;
    }
    /* which modifiers apply to which string kinds, and which combine (yara's rules) */
    uint32_t allowed = s->kind == S_TEXT ? 0xFF
                     : s->kind == S_HEX ? M_PRIVATE
                     : (M_NOCASE | M_WIDE | M_ASCII | M_FULLWORD | M_PRIVATE);
    uint32_t bad = s->mods & ~allowed & 0xFF;
    if (bad) {
        for (uint32_t m = 1; m <= 0x80; m <<= 1)
            if (bad & m) {
                cc_error(c, line, "invalid modifier \"%s\" for this kind of string",
                         modifier_name(m));
                errs++;
                break;
            }
    }
    if (s->kind == S_TEXT) {
        uint32_t b64 = s->mods & (M_BASE64 | M_BASE64WIDE);
        if ((s->mods & M_XOR) && (s->mods & M_NOCASE)) {
            cc_error(c, line, "invalid modifier combination: xor nocase");
            errs++;
        }
        if (b64 && (s->mods & (M_NOCASE | M_XOR | M_FULLWORD))) {
            cc_error(c, line, "invalid modifier combination: base64 %s",
                     (s->mods & M_NOCASE) ? "nocase" : (s->mods & M_XOR) ? "xor" : "fullword");
            errs++;
        }
    }
    if (!(s->mods & (M_BASE64 | M_BASE64WIDE))) s->b64alpha = KS_NONE;
    else if (!b64alpha) s->b64alpha = KS_NONE;
    return errs ? -1 : 0;
}

/* string_decl := STRID '=' (TEXT | REGEX | HEX) modifiers */
static void parse_string(ks_compiler *c)
{
    int line = c->tok.line;
    char *id = c->tok.s;
    c->tok.s = NULL;
    int anon = strcmp(id, "$") == 0;
    if (c->tok.kind != TK_STRID) { free(id); cc_syntax_error(c); return; }
    lex_token_free(&c->tok);
    /* current token is the identifier; the value may be a hex string */
    lex_next(&c->lx, &c->tok);
    if (c->tok.kind != TK_ASSIGN) { free(id); cc_syntax_error(c); return; }
    advance_value(c);
    ks_str s;
    memset(&s, 0, sizeof s);
    s.rule = c->rule_index;
    s.line = (uint32_t)line;
    s.mods = M_FIXED | M_SINGLE;
    s.b64alpha = KS_NONE;
    s.re_first = KS_NONE;
    int kind = c->tok.kind;
    if (kind != TK_TEXT && kind != TK_REGEX && kind != TK_HEX) {
        free(id);
        cc_syntax_error(c);
        return;
    }
    s.kind = kind == TK_TEXT ? S_TEXT : kind == TK_HEX ? S_HEX : S_REGEX;
    if (kind == TK_REGEX) {
        if (c->tok.re_flags & 1) s.mods |= M_ICASE_RE;
        if (c->tok.re_flags & 2) s.mods |= M_DOTALL;
    }
    char *val = c->tok.s;
    size_t vlen = c->tok.len;
    c->tok.s = NULL;
    cc_advance(c);
    int bad = parse_modifiers(c, &s, line) < 0;
    if (c->syntax_error) { free(id); free(val); return; }
    if (c->nstr >= c->max_strings) {
        /* reported once per rule; the rest of the strings are parsed and dropped */
        if (!c->strings_overflow) {
            cc_error(c, line, "maximum number of strings per rule exceeded");
            c->strings_overflow = 1;
        }
        free(id);
        free(val);
        return;
    }
    for (uint32_t i = 0; !anon && i < c->nstr; i++) {
        if (strcmp(pool_str(&c->t, c->t.strs.v[c->str_first + i].id), id) == 0) {
            cc_error(c, line, "duplicated string identifier \"%s\"", id);
            bad = 1;
            break;
        }
    }
    if (s.kind == S_TEXT && vlen == 0) {
        cc_error(c, line, "empty string \"%s\"", id);
        bad = 1;
    }
    s.id = pool_add(&c->t, id, strlen(id));
    s.lit = pool_add(&c->t, val, vlen);
    s.lit_len = (uint32_t)vlen;
    if (!pattern_is_literal(&s, val, vlen)) s.mods &= ~M_FIXED;
    if (!bad && s.kind != S_TEXT && compile_pattern(c, &s, val, vlen, line) != 0) bad = 1;
    if (!bad && string_is_slow(c, &s, val, vlen))
        cc_warning(c, line, "string \"%s\" may slow down scanning", id);
    free(id);
    free(val);
    if (bad) return;
    if (vec_push(c->t.strs, s) != KS_OK) { cc_error(c, line, "out of memory"); return; }
    c->nstr++;
}

/* ------------------------------------------------------------------ rules */

/* meta_decl := IDENT '=' (TEXT | INT | '-' INT | true | false) */
static void parse_meta(ks_compiler *c, ks_rule *r)
{
    while (c->tok.kind == TK_IDENT) {
        ks_meta_rec m;
        memset(&m, 0, sizeof m);
        m.id = pool_add(&c->t, c->tok.s, c->tok.len);
        m.s = KS_NONE;
        cc_advance(c);
        if (!cc_expect(c, TK_ASSIGN)) return;
        switch (c->tok.kind) {
        case TK_TEXT:
            m.type = KS_META_STRING;
            m.s = pool_add(&c->t, c->tok.s, c->tok.len);
            m.slen = (uint32_t)c->tok.len;
            break;
        case TK_INT: m.type = KS_META_INT; m.i = c->tok.i; break;
        case TK_MINUS:
            cc_advance(c);
            if (c->tok.kind != TK_INT) { cc_syntax_error(c); return; }
            m.type = KS_META_INT;
            m.i = -c->tok.i;
            break;
        case TK_TRUE: m.type = KS_META_BOOL; m.i = 1; break;
        case TK_FALSE: m.type = KS_META_BOOL; m.i = 0; break;
        default: cc_syntax_error(c); return;
        }
        cc_advance(c);
        if (vec_push(c->t.metas, m) != KS_OK) { cc_error(c, c->tok.line, "out of memory"); return; }
        r->nmeta++;
    }
}

/* Skip to the next `rule`/`private`/`global`/`import`/`include` at the top level. */
static void recover(ks_compiler *c)
{
    while (c->tok.kind != TK_EOF) {
        if (c->tok.kind == TK_RULE || c->tok.kind == TK_PRIVATE || c->tok.kind == TK_GLOBAL ||
            c->tok.kind == TK_IMPORT || c->tok.kind == TK_INCLUDE) {
            /* `private`/`global` are also string modifiers; only stop where a rule could start */
            if (c->tok.kind == TK_RULE) return;
            lexer save = c->lx;
            lex_token nt;
            lex_next(&c->lx, &nt);
            int k = nt.kind;
            lex_token_free(&nt);
            c->lx = save;
            if (c->tok.kind == TK_IMPORT || c->tok.kind == TK_INCLUDE) {
                if (k == TK_TEXT) return;
            } else if (k == TK_RULE || k == TK_PRIVATE || k == TK_GLOBAL) return;
        }
        cc_advance(c);
    }
}

/* rule := ('private' | 'global')* 'rule' IDENT [':' IDENT+] '{' [meta] [strings] condition '}' */
static void parse_rule(ks_compiler *c)
{
    ks_rule r;
    memset(&r, 0, sizeof r);
    c->str_first = c->t.strs.n;
    c->nstr = 0;
    c->strings_overflow = 0;
    c->rule_index = c->t.rules.n;
    for (;;) {
        if (cc_accept(c, TK_PRIVATE)) r.flags |= KS_RULE_PRIVATE;
        else if (cc_accept(c, TK_GLOBAL)) r.flags |= KS_RULE_GLOBAL;
        else break;
    }
    r.line = (uint32_t)c->tok.line;
    if (!cc_expect(c, TK_RULE)) return;
    if (c->tok.kind != TK_IDENT) { cc_syntax_error(c); return; }
    char name[140];
    snprintf(name, sizeof name, "%s", c->tok.s);
    int name_line = c->tok.line;
    cc_advance(c);
    c->rule_index = c->t.rules.n;
    int dup = cc_find_rule(c, c->ns, name) != KS_NONE;
    if (dup) cc_error(c, name_line, "duplicated identifier \"%s\"", name);
    c->rule_name = name;
    for (uint32_t w = 0; w < c->wild_pool.n; w++) {
        const char *pre = pool_str(&c->t, c->wild_pool.v[w]);
        if (c->wild_ns.v[w] == c->ns && strncmp(name, pre, strlen(pre)) == 0) {
            cc_error(c, name_line, "rule \"%s\" matches a previously used wildcard rule set", name);
            break;
        }
    }
    r.id = pool_add(&c->t, name, strlen(name));
    r.ns = c->t.namespaces.v[c->ns];
    r.ns_index = c->ns;
    r.tags_first = c->t.u32s.n;
    if (cc_accept(c, TK_COLON)) {
        if (c->tok.kind != TK_IDENT) { cc_syntax_error(c); goto out; }
        while (c->tok.kind == TK_IDENT) {
            for (uint32_t i = 0; i < r.ntags; i++)
                if (strcmp(pool_str(&c->t, c->t.u32s.v[r.tags_first + i]), c->tok.s) == 0)
                    cc_error(c, c->tok.line, "duplicated tag identifier \"%s\"", c->tok.s);
            uint32_t off = pool_add(&c->t, c->tok.s, c->tok.len);
            if (vec_push(c->t.u32s, off) != KS_OK) goto out;
            r.ntags++;
            cc_advance(c);
        }
    }
    if (!cc_expect(c, TK_LBRACE)) goto out;
    r.meta_first = c->t.metas.n;
    if (cc_accept(c, TK_META)) {
        if (!cc_expect(c, TK_COLON)) goto out;
        parse_meta(c, &r);
        if (c->syntax_error) goto out;
    }
    c->str_first = c->t.strs.n;
    c->nstr = 0;
    r.str_first = c->str_first;
    if (c->tok.kind == TK_STRINGS) {
        lex_token_free(&c->tok);
        lex_next(&c->lx, &c->tok);
        if (c->tok.kind != TK_COLON) { cc_syntax_error(c); goto out; }
        /* each string starts with its identifier; read it with the normal lexer */
        lex_token_free(&c->tok);
        lex_next(&c->lx, &c->tok);
        if (c->tok.kind != TK_STRID) { cc_syntax_error(c); goto out; }
        while (c->tok.kind == TK_STRID) {
            parse_string(c);
            if (c->syntax_error) goto out;
        }
    }
    r.nstr = c->nstr;
    if (!cc_expect(c, TK_CONDITION)) goto out;
    if (!cc_expect(c, TK_COLON)) goto out;
    free(c->str_used);
    c->str_used = calloc(c->nstr + 1, 1);
    if (!c->str_used) { cc_error(c, c->tok.line, "out of memory"); goto out; }
    c->nvars = 0;
    c->nslots = 0;
    c->in_for_of = 0;
    c->depth = 0;
    r.cond = cc_parse_condition(c);
    if (c->syntax_error) goto out;
    int end_line = c->tok.line;      /* yara reports rule-level errors at the closing brace */
    if (!cc_expect(c, TK_RBRACE)) goto out;
    r.nvars = c->nslots;
    for (uint32_t i = 0; i < c->nstr; i++) {
        if (!c->str_used[i]) {
            const ks_str *s = &c->t.strs.v[c->str_first + i];
            cc_error(c, end_line, "unreferenced string \"%s\"", pool_str(&c->t, s->id));
            break;
        }
    }
    if (r.cond == KS_NONE) goto out;
    if (!dup) {
        if (vec_push(c->t.rules, r) != KS_OK || add_rule_sym(c, c->ns, name, c->t.rules.n - 1))
            cc_error(c, name_line, "out of memory");
    }
out:
    c->rule_name = NULL;
    free(c->str_used);
    c->str_used = NULL;
    /* strings of a rule that failed stay in the table but no rule refers to them; drop them */
    if (c->t.rules.n != c->rule_index + 1) c->t.strs.n = c->str_first;
}

static int compile_source(ks_compiler *c, const char *src, size_t len);

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

static int read_file(const char *path, char **out, size_t *len)
{
    struct stat st;
    /* rule files and includes must be regular files (not /dev/zero, FIFOs, directories) */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return KS_EIO;
    if ((uint64_t)st.st_size > MAX_RULE_FILE) return KS_ELIMIT;
    FILE *f = fopen(path, "rb");
    if (!f) return KS_EIO;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return KS_ENOMEM; }
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_RULE_FILE) { free(buf); fclose(f); return KS_ELIMIT; }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return KS_ENOMEM; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return KS_EIO; }
    *out = buf;
    *len = n;
    return KS_OK;
}

/* include "path": relative to the including file's directory. */
static void do_include(ks_compiler *c, const char *path, int line)
{
    if (c->include_depth >= MAX_INCLUDE_DEPTH) {
        cc_error(c, line, "include circular reference or too many nested includes");
        return;
    }
    char full[4096];
    if (path[0] == '/' || !c->dir) snprintf(full, sizeof full, "%s", path);
    else snprintf(full, sizeof full, "%s/%s", c->dir, path);
    char *src = NULL;
    size_t len = 0;
    int rc = read_file(full, &src, &len);
    if (rc != KS_OK) {
        cc_error(c, line, "can't open include file: %s", path);
        return;
    }
    /* save the including source's state */
    lexer saved_lx = c->lx;
    lex_token saved_tok = c->tok;
    const char *saved_file = c->file;
    char *saved_dir = c->dir;
    char *fname = xstrdup(full);
    memset(&c->tok, 0, sizeof c->tok);
    c->file = fname;
    c->dir = dir_of(full);
    c->include_depth++;
    compile_source(c, src, len);
    c->include_depth--;
    lex_token_free(&c->tok);
    free(c->dir);
    c->dir = saved_dir;
    c->file = saved_file;
    c->lx = saved_lx;
    c->tok = saved_tok;
    free(fname);
    free(src);
}

static int load_module(ks_compiler *c, const char *name, int line)
{
    if (cc_find_import(c, name) >= 0) return 0;
    const ks_module *m = ks_module_find(name);
    if (!m) {
        for (int i = 0; yara_modules[i]; i++)
            if (strcmp(yara_modules[i], name) == 0) {
                cc_error(c, line, "module \"%s\" not available in this build of kensa", name);
                return -1;
            }
        cc_error(c, line, "unknown module \"%s\"", name);
        return -1;
    }
    ks_object *root = obj_new_root(name);
    if (!root || m->declare(root) != 0) {
        obj_destroy(root);
        cc_error(c, line, "could not load module \"%s\"", name);
        return -1;
    }
    uint32_t off = pool_add(&c->t, name, strlen(name));
    if (off == KS_NONE || vec_push(c->t.imports, off) != KS_OK || vec_push(c->decls, root) != KS_OK) {
        obj_destroy(root);
        cc_error(c, line, "out of memory");
        return -1;
    }
    return 0;
}

/* source := (import TEXT | include TEXT | rule)* EOF */
static int compile_source(ks_compiler *c, const char *src, size_t len)
{
    int before = c->errors;
    lex_init(&c->lx, src, len);
    lex_next(&c->lx, &c->tok);
    while (c->tok.kind != TK_EOF) {
        c->syntax_error = 0;
        if (c->tok.kind == TK_IMPORT || c->tok.kind == TK_INCLUDE) {
            int inc = c->tok.kind == TK_INCLUDE, line = c->tok.line;
            cc_advance(c);
            if (c->tok.kind != TK_TEXT) { cc_syntax_error(c); recover(c); continue; }
            char *arg = c->tok.s;
            c->tok.s = NULL;
            if (inc) do_include(c, arg, line);
            else load_module(c, arg, line);
            free(arg);
            cc_advance(c);
            continue;
        }
        parse_rule(c);
        if (c->syntax_error) recover(c);
    }
    lex_token_free(&c->tok);
    return c->errors - before;
}

int ks_compiler_add_string(ks_compiler *c, const char *src, size_t len, const char *ns,
                           const char *file_name)
{
    if (!c || !src || c->finished) return KS_EARG;
    uint32_t nsi = ns_index(c, ns ? ns : "default");
    if (nsi == KS_NONE) return KS_ENOMEM;
    c->ns = nsi;
    c->file = file_name;
    free(c->dir);
    c->dir = file_name ? dir_of(file_name) : NULL;
    int n = compile_source(c, src, len);
    c->file = NULL;
    return n;
}

int ks_compiler_add_file(ks_compiler *c, const char *path, const char *ns)
{
    if (!c || !path || c->finished) return KS_EARG;
    char *src = NULL;
    size_t len = 0;
    int rc = read_file(path, &src, &len);
    if (rc != KS_OK) return rc;
    rc = ks_compiler_add_string(c, src, len, ns, path);
    free(src);
    return rc;
}

int ks_compiler_get_rules(ks_compiler *c, ks_rules **out)
{
    if (!c || !out) return KS_EARG;
    if (c->errors) return KS_ESYNTAX;
    if (c->finished) return KS_EARG;
    ks_rules *r = calloc(1, sizeof *r);
    if (!r) return KS_ENOMEM;
    r->t = c->t;
    memset(&c->t, 0, sizeof c->t);
    c->finished = 1;
    int rc = rules_finish(r, c->threads);
    if (rc != KS_OK) {
        ks_rules_destroy(r);
        return rc;
    }
    *out = r;
    return KS_OK;
}
