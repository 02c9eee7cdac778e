/*
 * cond.c - the condition parser: expressions to typed ks_node trees.
 *
 * Precedence, loosest first, as in YARA's grammar (note that comparisons bind LOOSER than the
 * bitwise operators, unlike C):
 *
 *   or  <  and  <  not, defined  <  == != contains icontains startswith istartswith endswith
 *   iendswith iequals matches  <  < <= > >=  <  |  <  ^  <  &  <  << >>  <  + -  <  * \ %
 *   <  unary - ~
 *
 * Every node gets a type (T_*); type errors are reported here so evaluation never meets a type
 * it cannot handle. Nesting is limited by MAX_EXPR_DEPTH.
 */
#include "rules/compiler_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/object.h"
#include "match/re.h"

#define T_QUANT 100     /* parse-time only: all/any/none waiting for `of` */

typedef struct expr {
    uint32_t n;         /* node, KS_NONE after an error */
    int type;
    ks_object *obj;     /* declaration, for module values */
} expr;

static const expr BAD = {KS_NONE, T_NONE, NULL};

static expr parse_or(ks_compiler *c);
static expr parse_bor(ks_compiler *c);

static expr mk(ks_compiler *c, int op, int type, uint32_t a, uint32_t b, uint32_t cc, int64_t i)
{
    expr e = {cc_node(c, op, type, a, b, cc, i), type, NULL};
    if (e.n == KS_NONE) return BAD;
    return e;
}

static int is_num(int t) { return t == T_INT || t == T_FLOAT; }
static int is_scalar(int t) { return t == T_BOOL || t == T_INT || t == T_FLOAT || t == T_STR; }

static int peek_kind(ks_compiler *c)
{
    lexer save = c->lx;
    lex_token t;
    lex_next(&c->lx, &t);
    int k = t.kind;
    lex_token_free(&t);
    c->lx = save;
    return k;
}

static int type_of_obj(const ks_object *o)
{
    switch (obj_type_of(o)) {
    case OBJ_INT: return T_INT;
    case OBJ_FLOAT: return T_FLOAT;
    case OBJ_STRING: return T_STR;
    case OBJ_STRUCT: return T_STRUCT;
    case OBJ_ARRAY: return T_ARRAY;
    case OBJ_DICT: return T_DICT;
    case OBJ_FUNC: return T_FUNC;
    }
    return T_NONE;
}

/* ------------------------------------------------------------------ strings */

/* Find string `id` ("$a") of the current rule; marks it used. Index into t.strs or KS_NONE. */
static uint32_t find_string(ks_compiler *c, const char *id)
{
    for (uint32_t i = 0; i < c->nstr; i++) {
        if (strcmp(pool_str(&c->t, c->t.strs.v[c->str_first + i].id), id) == 0) {
            c->str_used[i] = 1;
            return c->str_first + i;
        }
    }
    return KS_NONE;
}

/* Record how string `si` is used, for yara's two scan-time shortcuts: a string used only as
 * `$a at CONST` (one constant) is only matched at that offset, and a string used only as `$a`
 * may stop at its first match in fast mode (-f). `op` is the node kind; at_const is the
 * constant for N_STR_AT (or -1 when the offset is not constant). */
static void note_use(ks_compiler *c, uint32_t si, int op, int64_t at_const, int at_is_const)
{
    if (si == KS_NONE || si >= c->t.strs.n) return;
    ks_str *s = &c->t.strs.v[si];
    if (op == N_STR_AT && at_is_const) {
        if (!(s->mods & M_FIXED_SET)) {
            s->mods |= M_FIXED_SET;
            s->fixed_off = at_const;
        } else if (s->fixed_off != at_const) s->mods &= ~M_FIXED;
    } else s->mods &= ~M_FIXED;
    if (op != N_STR_FOUND && op != N_OF) s->mods &= ~M_SINGLE;   /* sets count as plain uses */
}

/* A reference to a string: `$a` (named) or `$` inside a for-of. Sets node fields a/flags/i. */
static int string_ref(ks_compiler *c, const char *id, int line, uint32_t *sidx, int *anon)
{
    *anon = 0;
    if (strcmp(id, "$") == 0) {
        if (!c->in_for_of) {
            cc_error(c, line, "undefined string identifier \"%s\"", id);
            return -1;
        }
        *anon = 1;
        *sidx = KS_NONE;
        return 0;
    }
    *sidx = find_string(c, id);
    if (*sidx == KS_NONE) {
        cc_error(c, line, "undefined string \"%s\"", id);
        return -1;
    }
    return 0;
}

static expr str_node(ks_compiler *c, int op, int type, uint32_t sidx, int anon, uint32_t b,
                     uint32_t cc)
{
    if (!anon) {
        int is_const = op == N_STR_AT && c->t.nodes.v[b].op == N_INT;
        note_use(c, sidx, op, is_const ? c->t.nodes.v[b].i : -1, is_const);
    }
    expr e = mk(c, op, type, sidx, b, cc, anon ? c->in_for_of - 1 : 0);
    if (e.n != KS_NONE && anon) c->t.nodes.v[e.n].flags = 1;
    return e;
}

/* range := '(' expr '..' expr ')'  -- returns both bound nodes */
static int parse_range(ks_compiler *c, uint32_t *lo, uint32_t *hi)
{
    if (!cc_expect(c, TK_LPAREN)) return -1;
    int line = c->tok.line;
    expr a = parse_bor(c);
    if (a.n == KS_NONE || !cc_expect(c, TK_DOTDOT)) return -1;
    expr b = parse_bor(c);
    if (b.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return -1;
    if (a.type != T_INT || b.type != T_INT) {
        cc_error(c, line, "wrong type for range");
        return -1;
    }
    *lo = a.n;
    *hi = b.n;
    return 0;
}

/* string_set := 'them' | '(' string_item (',' string_item)* ')'
 * string_item := STRID | STRID_WILD
 * rule_set    := '(' IDENT ['*'] (',' IDENT ['*'])* ')'
 * Appends indices to t.lists; *is_rules tells which kind of set it was. */
static int parse_set(ks_compiler *c, uint32_t *first, uint32_t *count, int *is_rules)
{
    *first = c->t.lists.n;
    *count = 0;
    *is_rules = 0;
    int line = c->tok.line;
    if (cc_accept(c, TK_THEM)) {
        if (c->nstr == 0) {
            cc_error(c, line, "undefined string identifier \"$*\"");
            return -1;
        }
        for (uint32_t i = 0; i < c->nstr; i++) {
            c->str_used[i] = 1;
            note_use(c, c->str_first + i, N_OF, 0, 0);
            if (vec_push(c->t.lists, c->str_first + i) != KS_OK) return -1;
        }
        *count = c->nstr;
        return 0;
    }
    if (!cc_expect(c, TK_LPAREN)) return -1;
    if (c->tok.kind == TK_IDENT) *is_rules = 1;
    for (;;) {
        line = c->tok.line;
        if (!*is_rules && (c->tok.kind == TK_STRID || c->tok.kind == TK_STRID_WILD)) {
            int wild = c->tok.kind == TK_STRID_WILD;
            const char *id = c->tok.s;
            int found = 0;
            for (uint32_t i = 0; i < c->nstr; i++) {
                const char *sid = pool_str(&c->t, c->t.strs.v[c->str_first + i].id);
                if (wild ? strncmp(sid, id, strlen(id)) == 0 : strcmp(sid, id) == 0) {
                    c->str_used[i] = 1;
                    found = 1;
                    note_use(c, c->str_first + i, N_OF, 0, 0);
                    if (vec_push(c->t.lists, c->str_first + i) != KS_OK) return -1;
                    (*count)++;
                }
            }
            if (!found) {
                if (wild) cc_error(c, line, "undefined string identifier \"%s*\"", id);
                else cc_error(c, line, "undefined string \"%s\"", id);
                cc_advance(c);
                return -1;
            }
            cc_advance(c);
        } else if (*is_rules && c->tok.kind == TK_IDENT) {
            char name[140];
            snprintf(name, sizeof name, "%s", c->tok.s);
            cc_advance(c);
            int wild = cc_accept(c, TK_STAR);
            int found = 0;
            if (wild) {
                for (uint32_t r = 0; r < c->t.rules.n; r++) {
                    const ks_rule *rr = &c->t.rules.v[r];
                    if (rr->ns_index == c->ns &&
                        strncmp(pool_str(&c->t, rr->id), name, strlen(name)) == 0) {
                        found = 1;
                        if (vec_push(c->t.lists, r) != KS_OK) return -1;
                        (*count)++;
                    }
                }
            } else {
                uint32_t r = cc_find_rule(c, c->ns, name);
                if (r != KS_NONE) {
                    found = 1;
                    if (vec_push(c->t.lists, r) != KS_OK) return -1;
                    (*count)++;
                }
            }
            if (wild && c->rule_name && strncmp(c->rule_name, name, strlen(name)) == 0) {
                /* the rule being defined is part of its own wildcard set (always false there) */
                found = 1;
                if (vec_push(c->t.lists, c->rule_index) != KS_OK) return -1;
                (*count)++;
            }
            if (wild && cc_note_rule_wildcard(c, name) < 0) return -1;
            if (!found) {
                cc_error(c, line, "undefined identifier \"%s%s\"", name, wild ? "*" : "");
                return -1;
            }
        } else {
            cc_syntax_error(c);
            return -1;
        }
        if (cc_accept(c, TK_COMMA)) continue;
        if (!cc_expect(c, TK_RPAREN)) return -1;
        return 0;
    }
}

/* quantifier for `of`/`for`: all | any | none | expr | expr '%' */
static uint32_t quant_node(ks_compiler *c, expr q, int percent, int line)
{
    if (q.type == T_QUANT) return q.n;
    if (q.type != T_INT) {
        cc_error(c, line, "wrong type for quantifier");
        return KS_NONE;
    }
    if (percent) {
        if (c->t.nodes.v[q.n].op == N_INT) {
            int64_t v = c->t.nodes.v[q.n].i;
            if (v < 1 || v > 100) {
                cc_error(c, line, "percentage must be between 1 and 100 (inclusive)");
                return KS_NONE;
            }
        }
        return cc_node(c, N_PERCENT, T_INT, q.n, 0, 0, 0);
    }
    return q.n;
}

/* of_expr := quantifier 'of' (string_set | rule_set) ['in' range] */
static expr parse_of(ks_compiler *c, expr q, int percent, int line)
{
    uint32_t qn = quant_node(c, q, percent, line);
    if (!cc_expect(c, TK_OF) || qn == KS_NONE) return BAD;
    uint32_t first, count;
    int rules;
    if (parse_set(c, &first, &count, &rules) < 0) return BAD;
    expr e = mk(c, N_OF, T_BOOL, qn, count, KS_NONE, first);
    if (e.n == KS_NONE) return BAD;
    if (rules) c->t.nodes.v[e.n].flags |= OF_RULES;
    if (c->tok.kind == TK_IN) {
        if (rules) { cc_syntax_error(c); return BAD; }
        cc_advance(c);
        uint32_t lo, hi;
        if (parse_range(c, &lo, &hi) < 0) return BAD;
        uint32_t rn = cc_node(c, N_RANGE, T_NONE, lo, hi, 0, 0);
        c->t.nodes.v[e.n].c = rn;
        c->t.nodes.v[e.n].flags |= OF_IN;
    }
    return e;
}

/* for_expr := 'for' quantifier 'of' string_set ':' '(' expr ')'
 *           | 'for' quantifier IDENT (',' IDENT)* 'in' iterable ':' '(' expr ')'
 * iterable  := range | '(' expr (',' expr)* ')' | identifier (array or dict) */
static expr parse_for(ks_compiler *c)
{
    int line = c->tok.line;
    cc_advance(c); /* for */
    expr q;
    int percent = 0;
    if (c->tok.kind == TK_ALL || c->tok.kind == TK_ANY || c->tok.kind == TK_NONE) {
        int k = c->tok.kind;
        cc_advance(c);
        q = mk(c, N_QUANT, T_QUANT, 0, 0, 0, k == TK_ALL ? Q_ALL : k == TK_ANY ? Q_ANY : Q_NONE);
        q.type = T_QUANT;
    } else {
        q = parse_bor(c);
        if (q.n == KS_NONE) return BAD;
        if (c->tok.kind == TK_PERCENT) { cc_advance(c); percent = 1; }
    }
    uint32_t qn = quant_node(c, q, percent, line);
    if (qn == KS_NONE) return BAD;
    if (cc_accept(c, TK_OF)) {
        uint32_t first, count;
        int rules;
        if (parse_set(c, &first, &count, &rules) < 0) return BAD;
        if (rules) { cc_syntax_error(c); return BAD; }
        if (!cc_expect(c, TK_COLON) || !cc_expect(c, TK_LPAREN)) return BAD;
        if (c->nslots >= 65535) { cc_error(c, line, "too many loop variables"); return BAD; }
        uint32_t slot = c->nslots++;
        int saved = c->in_for_of;
        c->in_for_of = (int)slot + 1;
        expr body = parse_or(c);
        c->in_for_of = saved;
        if (body.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return BAD;
        if (!is_scalar(body.type)) { cc_error(c, line, "wrong type for loop body"); return BAD; }
        expr e = mk(c, N_FOR_OF, T_BOOL, qn, count, body.n, first);
        if (e.n != KS_NONE) c->t.nodes.v[e.n].f = slot;
        return e;
    }
    /* variables */
    char names[2][132];
    int nv = 0;
    for (;;) {
        if (c->tok.kind != TK_IDENT) { cc_syntax_error(c); return BAD; }
        if (nv >= 2) { cc_error(c, c->tok.line, "too many loop variables"); return BAD; }
        snprintf(names[nv++], sizeof names[0], "%s", c->tok.s);
        cc_advance(c);
        if (!cc_accept(c, TK_COMMA)) break;
    }
    if (!cc_expect(c, TK_IN)) return BAD;
    uint32_t it;
    int vt[2] = {T_INT, T_NONE};
    ks_object *vobj[2] = {NULL, NULL};
    int need_vars = 1;
    if (c->tok.kind == TK_LPAREN) {
        cc_advance(c);
        int eline = c->tok.line;
        expr a = parse_bor(c);
        if (a.n == KS_NONE) return BAD;
        if (cc_accept(c, TK_DOTDOT)) {
            expr b = parse_bor(c);
            if (b.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return BAD;
            if (a.type != T_INT || b.type != T_INT) {
                cc_error(c, eline, "wrong type for range");
                return BAD;
            }
            it = cc_node(c, N_RANGE, T_INT, a.n, b.n, 0, 0);
        } else {
            uint32_t items[1024];
            uint32_t n = 0;
            if (a.type != T_INT) { cc_error(c, eline, "wrong type for enumeration item"); return BAD; }
            items[n++] = a.n;
            while (cc_accept(c, TK_COMMA)) {
                expr b = parse_bor(c);
                if (b.n == KS_NONE) return BAD;
                if (b.type != T_INT) { cc_error(c, eline, "wrong type for enumeration item"); return BAD; }
                if (n >= 1024) { cc_error(c, eline, "enumeration too long"); return BAD; }
                items[n++] = b.n;
            }
            if (!cc_expect(c, TK_RPAREN)) return BAD;
            uint32_t first = c->t.lists.n;
            for (uint32_t k = 0; k < n; k++)
                if (vec_push(c->t.lists, items[k]) != KS_OK) return BAD;
            it = cc_node(c, N_ENUM, T_INT, 0, n, 0, first);
        }
    } else {
        int eline = c->tok.line;
        expr a = parse_bor(c);
        if (a.n == KS_NONE) return BAD;
        if (a.type == T_ARRAY) {
            ks_object *p = obj_item_proto(a.obj);
            vt[0] = type_of_obj(p);
            vobj[0] = p;
        } else if (a.type == T_DICT) {
            ks_object *p = obj_item_proto(a.obj);
            vt[0] = T_STR;
            vt[1] = type_of_obj(p);
            vobj[1] = p;
            need_vars = 2;
        } else {
            cc_error(c, eline, "identifier is not iterable");
            return BAD;
        }
        it = a.n;
    }
    if (nv != need_vars) {
        cc_error(c, line, "wrong number of loop variables");
        return BAD;
    }
    if (!cc_expect(c, TK_COLON) || !cc_expect(c, TK_LPAREN)) return BAD;
    if (c->nvars + nv > MAX_LOOP_VARS) { cc_error(c, line, "too many nested loops"); return BAD; }
    uint32_t first_slot = c->nslots;
    for (int k = 0; k < nv; k++) {
        for (int j = 0; j < c->nvars; j++)
            if (strcmp(c->vars[j].name, names[k]) == 0) {
                cc_error(c, line, "duplicated loop variable \"%s\"", names[k]);
                return BAD;
            }
        loop_var *v = &c->vars[c->nvars++];
        snprintf(v->name, sizeof v->name, "%s", names[k]);
        v->slot = c->nslots++;
        v->type = (uint8_t)vt[k];
        v->obj = vobj[k];
    }
    expr body = parse_or(c);
    c->nvars -= nv;
    if (body.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return BAD;
    if (!is_scalar(body.type)) { cc_error(c, line, "wrong type for loop body"); return BAD; }
    expr e = mk(c, N_FOR_IN, T_BOOL, qn, it, body.n, first_slot);
    if (e.n != KS_NONE) c->t.nodes.v[e.n].flags = (uint8_t)nv;
    return e;
}

/* identifier chain: IDENT ('.' IDENT | '[' expr ']' | '(' args ')')* */
static expr parse_identifier(ks_compiler *c)
{
    int line = c->tok.line;
    char name[140];
    snprintf(name, sizeof name, "%s", c->tok.s);
    cc_advance(c);
    expr e = BAD;
    /* loop variables first */
    for (int k = c->nvars - 1; k >= 0; k--) {
        if (strcmp(c->vars[k].name, name) == 0) {
            e = mk(c, N_VAR, c->vars[k].type, c->vars[k].slot, 0, 0, 0);
            e.obj = c->vars[k].obj;
            goto chain;
        }
    }
    {
        int mi = cc_find_import(c, name);
        if (mi >= 0) {
            e = mk(c, N_MODULE, T_STRUCT, (uint32_t)mi, 0, 0, 0);
            e.obj = c->decls.v[mi];
            goto chain;
        }
        uint32_t r = cc_find_rule(c, c->ns, name);
        if (r != KS_NONE) return mk(c, N_RULE, T_BOOL, r, 0, 0, 0);
        for (uint32_t x = 0; x < c->t.exts.n; x++) {
            if (strcmp(pool_str(&c->t, c->t.exts.v[x].id), name) == 0) {
                int t = c->t.exts.v[x].type;
                /* a boolean external is an integer (0 or 1) to yara: `ext == 1`, `ext + 1` */
                int ty = t == X_INT || t == X_BOOL ? T_INT : t == X_FLOAT ? T_FLOAT : T_STR;
                return mk(c, N_EXTERNAL, ty, x, 0, 0, 0);
            }
        }
        cc_error(c, line, "undefined identifier \"%s\"", name);
        return BAD;
    }
chain:
    for (;;) {
        if (e.n == KS_NONE) return BAD;
        if (c->tok.kind == TK_DOT) {
            cc_advance(c);
            if (c->tok.kind != TK_IDENT) { cc_syntax_error(c); return BAD; }
            if (e.type != T_STRUCT) {
                cc_error(c, line, "\"%s\" is not a structure", name);
                return BAD;
            }
            ks_object *f = obj_field(e.obj, c->tok.s);
            if (!f) {
                cc_error(c, line, "invalid field name \"%s\"", c->tok.s);
                return BAD;
            }
            snprintf(name, sizeof name, "%s", c->tok.s);
            uint32_t off = pool_add(&c->t, c->tok.s, c->tok.len);
            cc_advance(c);
            uint32_t base = e.n;
            e = mk(c, N_FIELD, type_of_obj(f), base, 0, 0, off);
            e.obj = f;
        } else if (c->tok.kind == TK_LBRACK) {
            cc_advance(c);
            if (e.type != T_ARRAY && e.type != T_DICT) {
                cc_error(c, line, "\"%s\" is not an array or dictionary", name);
                return BAD;
            }
            expr k = parse_or(c);
            if (k.n == KS_NONE || !cc_expect(c, TK_RBRACK)) return BAD;
            if ((e.type == T_ARRAY && k.type != T_INT) || (e.type == T_DICT && k.type != T_STR)) {
                cc_error(c, line, "wrong type for index of \"%s\"", name);
                return BAD;
            }
            ks_object *p = obj_item_proto(e.obj);
            uint32_t base = e.n;
            e = mk(c, N_INDEX, type_of_obj(p), base, k.n, 0, 0);
            e.obj = p;
        } else if (c->tok.kind == TK_LPAREN) {
            if (e.type != T_FUNC) {
                cc_error(c, line, "\"%s\" is not a function", name);
                return BAD;
            }
            cc_advance(c);
            uint32_t args[32];
            char sig[33];
            int na = 0;
            if (c->tok.kind != TK_RPAREN) {
                for (;;) {
                    expr a = parse_or(c);
                    if (a.n == KS_NONE) return BAD;
                    if (na >= 32) { cc_error(c, line, "too many arguments"); return BAD; }
                    args[na] = a.n;
                    sig[na++] = a.type == T_INT ? 'i' : a.type == T_FLOAT ? 'f' : a.type == T_STR ? 's'
                              : a.type == T_REGEX ? 'r' : a.type == T_BOOL ? 'b' : '?';
                    if (!cc_accept(c, TK_COMMA)) break;
                }
            }
            sig[na] = 0;
            if (!cc_expect(c, TK_RPAREN)) return BAD;
            int ov = -1;
            for (int k = 0; k < obj_func_count(e.obj); k++) {
                const char *fa = obj_func_args(e.obj, k);
                if (strlen(fa) != (size_t)na) continue;
                int ok = 1;
                for (int j = 0; j < na && ok; j++)
                    if (fa[j] != sig[j] && !(fa[j] == 'i' && sig[j] == 'b')) ok = 0;
                if (ok) { ov = k; break; }
            }
            if (ov < 0) {
                cc_error(c, line, "wrong arguments for function \"%s\"", name);
                return BAD;
            }
            uint32_t first = c->t.lists.n;
            for (int j = 0; j < na; j++)
                if (vec_push(c->t.lists, args[j]) != KS_OK) return BAD;
            char rt = obj_func_ret(e.obj, ov);
            int ty = rt == 'i' ? T_INT : rt == 'f' ? T_FLOAT : rt == 's' ? T_STR : T_BOOL;
            uint32_t base = e.n;
            e = mk(c, N_CALL, ty, base, (uint32_t)na, (uint32_t)ov, first);
        } else break;
    }
    return e;
}

static expr parse_primary(ks_compiler *c)
{
    int line = c->tok.line;
    lex_token *t = &c->tok;
    switch (t->kind) {
    case TK_LPAREN: {
        cc_advance(c);
        expr e = parse_or(c);
        if (e.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return BAD;
        return e;
    }
    case TK_TRUE: cc_advance(c); return mk(c, N_TRUE, T_BOOL, 0, 0, 0, 1);
    case TK_FALSE: cc_advance(c); return mk(c, N_FALSE, T_BOOL, 0, 0, 0, 0);
    case TK_INT: { int64_t v = t->i; cc_advance(c); return mk(c, N_INT, T_INT, 0, 0, 0, v); }
    case TK_FLOAT: {
        double f = t->f;
        cc_advance(c);
        expr e = mk(c, N_FLOAT, T_FLOAT, 0, 0, 0, 0);
        if (e.n != KS_NONE) c->t.nodes.v[e.n].f = f;
        return e;
    }
    case TK_TEXT: {
        uint32_t off = pool_add(&c->t, t->s, t->len);
        uint32_t len = (uint32_t)t->len;
        cc_advance(c);
        if (off == KS_NONE) return BAD;
        return mk(c, N_STR, T_STR, 0, len, 0, off);
    }
    case TK_REGEX: {
        re_code *code = NULL;
        re_error err;
        memset(&err, 0, sizeof err);
        uint32_t fl = RE_ASCII;
        if (t->re_flags & 1) fl |= RE_NOCASE;
        if (t->re_flags & 2) fl |= RE_DOTALL;
        if (re_compile_regex(t->s, t->len, fl, &code, &err) != RE_OK) {
            cc_error(c, line, "invalid regular expression: %s", err.msg[0] ? err.msg : "syntax error");
            cc_advance(c);
            return BAD;
        }
        cc_advance(c);
        ks_re r;
        r.off = pool_add_blob(&c->t, code, code->size);
        r.size = code->size;
        r.gap_min = r.gap_max = 0;
        free(code);
        if (r.off == KS_NONE || vec_push(c->t.res, r) != KS_OK) return BAD;
        return mk(c, N_REGEX, T_REGEX, 0, 0, 0, c->t.res.n - 1);
    }
    case TK_FILESIZE: cc_advance(c); return mk(c, N_FILESIZE, T_INT, 0, 0, 0, 0);
    case TK_ENTRYPOINT: cc_advance(c); return mk(c, N_ENTRYPOINT, T_INT, 0, 0, 0, 0);
    case TK_INTFN: {
        int64_t kind = t->i;
        cc_advance(c);
        if (!cc_expect(c, TK_LPAREN)) return BAD;
        expr a = parse_or(c);
        if (a.n == KS_NONE || !cc_expect(c, TK_RPAREN)) return BAD;
        if (a.type != T_INT) { cc_error(c, line, "wrong type for integer function argument"); return BAD; }
        return mk(c, N_INTREAD, T_INT, a.n, 0, 0, kind);
    }
    case TK_STRID: {
        char id[140];
        snprintf(id, sizeof id, "%s", t->s);
        cc_advance(c);
        uint32_t s;
        int anon;
        if (string_ref(c, id, line, &s, &anon) < 0) return BAD;
        if (cc_accept(c, TK_AT)) {
            expr x = parse_bor(c);
            if (x.n == KS_NONE) return BAD;
            if (x.type != T_INT) { cc_error(c, line, "wrong type for \"at\""); return BAD; }
            return str_node(c, N_STR_AT, T_BOOL, s, anon, x.n, 0);
        }
        if (cc_accept(c, TK_IN)) {
            uint32_t lo, hi;
            if (parse_range(c, &lo, &hi) < 0) return BAD;
            return str_node(c, N_STR_IN, T_BOOL, s, anon, lo, hi);
        }
        return str_node(c, N_STR_FOUND, T_BOOL, s, anon, 0, 0);
    }
    case TK_STRCOUNT: {
        char id[140];
        snprintf(id, sizeof id, "%s", t->s);
        cc_advance(c);
        uint32_t s;
        int anon;
        if (string_ref(c, id, line, &s, &anon) < 0) return BAD;
        if (cc_accept(c, TK_IN)) {
            uint32_t lo, hi;
            if (parse_range(c, &lo, &hi) < 0) return BAD;
            return str_node(c, N_STR_COUNT_IN, T_INT, s, anon, lo, hi);
        }
        return str_node(c, N_STR_COUNT, T_INT, s, anon, 0, 0);
    }
    case TK_STROFFSET:
    case TK_STRLENGTH: {
        int op = t->kind == TK_STROFFSET ? N_STR_OFFSET : N_STR_LENGTH;
        char id[140];
        snprintf(id, sizeof id, "%s", t->s);
        cc_advance(c);
        uint32_t s;
        int anon;
        if (string_ref(c, id, line, &s, &anon) < 0) return BAD;
        uint32_t idx;
        if (cc_accept(c, TK_LBRACK)) {
            expr x = parse_or(c);
            if (x.n == KS_NONE || !cc_expect(c, TK_RBRACK)) return BAD;
            if (x.type != T_INT) { cc_error(c, line, "wrong type for string index"); return BAD; }
            idx = x.n;
        } else {
            idx = cc_node(c, N_INT, T_INT, 0, 0, 0, 1);
        }
        return str_node(c, op, T_INT, s, anon, idx, 0);
    }
    case TK_FOR: return parse_for(c);
    case TK_ALL:
    case TK_ANY:
    case TK_NONE: {
        int k = t->kind;
        cc_advance(c);
        expr q = mk(c, N_QUANT, T_INT, 0, 0, 0, k == TK_ALL ? Q_ALL : k == TK_ANY ? Q_ANY : Q_NONE);
        q.type = T_QUANT;
        if (c->tok.kind != TK_OF) { cc_syntax_error(c); return BAD; }
        return q;
    }
    case TK_IDENT: return parse_identifier(c);
    default:
        cc_syntax_error(c);
        return BAD;
    }
}

static expr parse_unary(ks_compiler *c)
{
    int line = c->tok.line;
    if (c->tok.kind == TK_MINUS || c->tok.kind == TK_TILDE) {
        int k = c->tok.kind;
        cc_advance(c);
        if (++c->depth > MAX_EXPR_DEPTH) { cc_error(c, line, "expression too deeply nested"); return BAD; }
        expr a = parse_unary(c);
        c->depth--;
        if (a.n == KS_NONE) return BAD;
        if (k == TK_MINUS) {
            if (!is_num(a.type)) { cc_error(c, line, "wrong type for operator \"-\""); return BAD; }
            /* fold negative literals so "-1" stays a constant */
            ks_node *n = &c->t.nodes.v[a.n];
            if (n->op == N_INT) { n->i = (int64_t)(0 - (uint64_t)n->i); return a; }
            if (n->op == N_FLOAT) { n->f = -n->f; return a; }
            return mk(c, N_NEG, a.type, a.n, 0, 0, 0);
        }
        if (a.type != T_INT) { cc_error(c, line, "wrong type for operator \"~\""); return BAD; }
        if (c->t.nodes.v[a.n].op == N_INT) { c->t.nodes.v[a.n].i = ~c->t.nodes.v[a.n].i; return a; }
        return mk(c, N_BITNOT, T_INT, a.n, 0, 0, 0);
    }
    return parse_primary(c);
}

static expr binary(ks_compiler *c, int op, expr a, expr b, int line, const char *opname)
{
    if (a.n == KS_NONE || b.n == KS_NONE) return BAD;
    int t;
    switch (op) {
    case N_ADD: case N_SUB: case N_MUL: case N_DIV:
        if (!is_num(a.type) || !is_num(b.type)) goto mismatch;
        t = (a.type == T_FLOAT || b.type == T_FLOAT) ? T_FLOAT : T_INT;
        if (op == N_DIV && b.type == T_INT && c->t.nodes.v[b.n].op == N_INT && c->t.nodes.v[b.n].i == 0 &&
            t == T_INT) {
            cc_error(c, line, "division by zero");
            return BAD;
        }
        break;
    case N_MOD:
        if (a.type != T_INT || b.type != T_INT) goto mismatch;
        if (c->t.nodes.v[b.n].op == N_INT && c->t.nodes.v[b.n].i == 0) {
            cc_error(c, line, "division by zero");
            return BAD;
        }
        t = T_INT;
        break;
    case N_SHL: case N_SHR: case N_BAND: case N_BOR: case N_BXOR:
        if (a.type != T_INT || b.type != T_INT) goto mismatch;
        t = T_INT;
        break;
    case N_LT: case N_LE: case N_GT: case N_GE: case N_EQ: case N_NE:
        if (is_num(a.type) && is_num(b.type)) t = T_BOOL;
        else if (a.type == T_STR && b.type == T_STR) t = T_BOOL;
        /* a boolean (true, $a, a rule, a comparison) is no operand of a comparison in yara:
         * `true == true` is an error there */
        else goto mismatch;
        break;
    case N_CONTAINS: case N_ICONTAINS: case N_STARTSWITH: case N_ISTARTSWITH:
    case N_ENDSWITH: case N_IENDSWITH: case N_IEQUALS:
        if (a.type != T_STR || b.type != T_STR) goto mismatch;
        t = T_BOOL;
        break;
    case N_MATCHES:
        if (a.type != T_STR || b.type != T_REGEX) goto mismatch;
        t = T_BOOL;
        break;
    case N_AND: case N_OR:
        if (!is_scalar(a.type) || !is_scalar(b.type)) goto mismatch;
        t = T_BOOL;
        break;
    default:
        t = T_NONE;
    }
    if (t == T_INT && c->t.nodes.v[a.n].op == N_INT && c->t.nodes.v[b.n].op == N_INT) {
        /* fold integer constants; overflow is a compile error, as in yara */
        int64_t x = c->t.nodes.v[a.n].i, y = c->t.nodes.v[b.n].i, v = 0;
        int bad = 0;
        switch (op) {
        case N_ADD: bad = __builtin_add_overflow(x, y, &v); break;
        case N_SUB: bad = __builtin_sub_overflow(x, y, &v); break;
        case N_MUL: {
            __int128 r = (__int128)x * y;
            bad = r > INT64_MAX || r < -INT64_MAX;
            v = (int64_t)r;
            break;
        }
        case N_DIV: bad = (x == INT64_MIN && y == -1); if (!bad) v = x / y; break;
        case N_MOD: bad = (x == INT64_MIN && y == -1); if (!bad) v = x % y; break;
        case N_SHL:
        case N_SHR:
            if (y < 0) {
                cc_error(c, line, "negative shift value");
                return BAD;
            }
            v = y >= 64 ? 0 : op == N_SHL ? (int64_t)((uint64_t)x << y) : x >> y;
            break;
        case N_BAND: v = x & y; break;
        case N_BOR: v = x | y; break;
        case N_BXOR: v = x ^ y; break;
        }
        if (bad) {
            cc_error(c, line, "integer overflow");
            return BAD;
        }
        c->t.nodes.v[a.n].i = v;
        return a;
    }
    return mk(c, op, t, a.n, b.n, 0, 0);
mismatch:
    (void)opname;
    cc_error(c, line, "type mismatch");
    return BAD;
}

#define LEVEL(fn, next, ...)                                                         \
    static expr fn(ks_compiler *c)                                                  \
    {                                                                               \
        static const struct { int tk, op; const char *name; } ops[] = {__VA_ARGS__}; \
        expr a = next(c);                                                           \
        for (;;) {                                                                  \
            if (a.n == KS_NONE) return BAD;                                         \
            size_t k;                                                               \
            for (k = 0; k < sizeof ops / sizeof ops[0]; k++)                        \
                if (c->tok.kind == ops[k].tk) break;                                \
            if (k == sizeof ops / sizeof ops[0]) return a;                          \
            if (ops[k].tk == TK_PERCENT && peek_kind(c) == TK_OF) return a;         \
            int line = c->tok.line;                                                 \
            cc_advance(c);                                                          \
            expr b = next(c);                                                       \
            a = binary(c, ops[k].op, a, b, line, ops[k].name);                      \
        }                                                                           \
    }

LEVEL(parse_mul, parse_unary, {TK_STAR, N_MUL, "*"}, {TK_BACKSLASH, N_DIV, "\\"},
      {TK_PERCENT, N_MOD, "%"})
LEVEL(parse_add, parse_mul, {TK_PLUS, N_ADD, "+"}, {TK_MINUS, N_SUB, "-"})
LEVEL(parse_shift, parse_add, {TK_SHL, N_SHL, "<<"}, {TK_SHR, N_SHR, ">>"})
LEVEL(parse_band, parse_shift, {TK_AMP, N_BAND, "&"})
LEVEL(parse_bxor, parse_band, {TK_CARET, N_BXOR, "^"})
LEVEL(parse_bor_, parse_bxor, {TK_PIPE, N_BOR, "|"})

static expr parse_bor(ks_compiler *c)
{
    if (++c->depth > MAX_EXPR_DEPTH) {
        cc_error(c, c->tok.line, "expression too deeply nested");
        c->syntax_error = 1;
        return BAD;
    }
    expr e = parse_bor_(c);
    c->depth--;
    return e;
}

/* relational level, plus `quantifier of set` which takes an arithmetic quantifier */
static expr parse_rel_operand(ks_compiler *c)
{
    int line = c->tok.line;
    expr a = parse_bor(c);
    if (a.n == KS_NONE) return BAD;
    if (c->tok.kind == TK_PERCENT && peek_kind(c) == TK_OF) {
        cc_advance(c);
        return parse_of(c, a, 1, line);
    }
    if (c->tok.kind == TK_OF) return parse_of(c, a, 0, line);
    if (a.type == T_QUANT) { cc_syntax_error(c); return BAD; }
    return a;
}

LEVEL(parse_rel, parse_rel_operand, {TK_LT, N_LT, "<"}, {TK_LE, N_LE, "<="}, {TK_GT, N_GT, ">"},
      {TK_GE, N_GE, ">="})
LEVEL(parse_eq, parse_rel, {TK_EQ, N_EQ, "=="}, {TK_NE, N_NE, "!="},
      {TK_CONTAINS, N_CONTAINS, "contains"}, {TK_ICONTAINS, N_ICONTAINS, "icontains"},
      {TK_STARTSWITH, N_STARTSWITH, "startswith"}, {TK_ISTARTSWITH, N_ISTARTSWITH, "istartswith"},
      {TK_ENDSWITH, N_ENDSWITH, "endswith"}, {TK_IENDSWITH, N_IENDSWITH, "iendswith"},
      {TK_IEQUALS, N_IEQUALS, "iequals"}, {TK_MATCHES, N_MATCHES, "matches"})

static expr parse_not(ks_compiler *c)
{
    int line = c->tok.line;
    if (c->tok.kind == TK_NOT || c->tok.kind == TK_DEFINED) {
        int k = c->tok.kind;
        cc_advance(c);
        if (++c->depth > MAX_EXPR_DEPTH) {
            cc_error(c, line, "expression too deeply nested");
            c->syntax_error = 1;
            return BAD;
        }
        expr a = parse_not(c);
        c->depth--;
        if (a.n == KS_NONE) return BAD;
        if (!is_scalar(a.type)) {
            cc_error(c, line, "wrong type for operator \"%s\"", k == TK_NOT ? "not" : "defined");
            return BAD;
        }
        return mk(c, k == TK_NOT ? N_NOT : N_DEFINED, T_BOOL, a.n, 0, 0, 0);
    }
    return parse_eq(c);
}

LEVEL(parse_and, parse_not, {TK_AND, N_AND, "and"})
LEVEL(parse_or_, parse_and, {TK_OR, N_OR, "or"})

static expr parse_or(ks_compiler *c)
{
    if (++c->depth > MAX_EXPR_DEPTH) {
        cc_error(c, c->tok.line, "expression too deeply nested");
        c->syntax_error = 1;
        return BAD;
    }
    expr e = parse_or_(c);
    c->depth--;
    return e;
}

uint32_t cc_parse_condition(ks_compiler *c)
{
    int line = c->tok.line;
    expr e = parse_or(c);
    if (e.n == KS_NONE) return KS_NONE;
    if (!is_scalar(e.type)) {
        cc_error(c, line, "wrong type for condition");
        return KS_NONE;
    }
    return e.n;
}
