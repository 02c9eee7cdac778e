/*
 * compiler_int.h - state shared by the rule parser (compiler.c) and the condition parser
 * (cond.c). Not part of the public API.
 */
#ifndef KENSA_COMPILER_INT_H
#define KENSA_COMPILER_INT_H

#include "rules/rules.h"
#include "rules/lexer.h"

struct ks_object;

#define MAX_INCLUDE_DEPTH 16
#define MAX_EXPR_DEPTH 256
#define MAX_LOOP_DEPTH 32
#define MAX_LOOP_VARS 64

typedef struct loop_var {
    char name[132];
    uint32_t slot;
    uint8_t type;                  /* T_* */
    struct ks_object *obj;         /* declaration of struct/array/dict items iterated */
} loop_var;

typedef struct rule_sym {
    uint32_t ns, rule;             /* ns index, rule index */
    uint64_t h;
    uint8_t used;
} rule_sym;

/* A successfully compiled regex/hex pattern, by key (kind, RE_* flags, source text). */
typedef struct pat_memo {
    uint64_t h;
    uint32_t src, len;             /* source: pool offset (an earlier string's literal), length */
    uint32_t flags;                /* RE_* flags it was compiled with */
    uint32_t re_first, re_count;   /* its pieces in t.res */
    uint8_t kind;                  /* S_HEX / S_REGEX */
    uint8_t used;
} pat_memo;

struct ks_compiler {
    ks_tables t;
    ks_diag_fn diag;
    void *diag_ud;
    int errors, warnings;
    uint32_t max_strings;
    int threads;                   /* ks_compiler_set_threads */
    int finished;

    /* rule name table: open addressing over t.rules, keyed by (ns, name) */
    rule_sym *rsyms;
    uint32_t rsym_cap;

    VEC(uint32_t) wild_pool;       /* pool offsets of rule wildcard prefixes */
    VEC(uint32_t) wild_ns;         /* their namespaces */

    /* module declarations, parallel to t.imports */
    VEC(struct ks_object *) decls;
    /* compiled patterns by key (compiler.c, compile_pattern): open addressing */
    pat_memo *pats;
    uint32_t pat_cap, pat_n;

    /* per-source state */
    const char *file;              /* current file name for diagnostics (may be NULL) */
    char *dir;                     /* directory of the current file for includes */
    uint32_t ns;                   /* current namespace index */
    int include_depth;
    lexer lx;
    lex_token tok;                 /* current token */
    int syntax_error;              /* set when the current rule hit a syntax error */

    /* per-rule state */
    const char *rule_name;
    uint32_t rule_index;
    uint32_t str_first, nstr;
    int strings_overflow;          /* max_strings reached (reported once) */
    uint8_t *str_used;             /* per string of the current rule */
    loop_var vars[MAX_LOOP_VARS];
    int nvars;
    uint32_t nslots;               /* loop slots used by the current rule */
    int in_for_of;                 /* inside `for ... of ... : (...)`: `$` names the string */
    int depth;
};

/* diagnostics */
void cc_error(ks_compiler *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cc_warning(ks_compiler *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* token stream */
void cc_advance(ks_compiler *c);
int cc_accept(ks_compiler *c, int kind);
int cc_expect(ks_compiler *c, int kind);     /* reports a syntax error when it fails */
void cc_syntax_error(ks_compiler *c);

/* nodes */
uint32_t cc_node(ks_compiler *c, int op, int type, uint32_t a, uint32_t b, uint32_t c_, int64_t i);

/* lookups */
/* Remember a rule wildcard (`prefix*`) used in the current namespace: a rule defined later whose
 * name starts with it is an error, as in yara. */
int cc_note_rule_wildcard(ks_compiler *c, const char *prefix);
uint32_t cc_find_rule(ks_compiler *c, uint32_t ns, const char *name);
int cc_find_import(ks_compiler *c, const char *name);

/* condition: parses `boolean_expression` and returns its node, or KS_NONE after an error. */
uint32_t cc_parse_condition(ks_compiler *c);

#endif
