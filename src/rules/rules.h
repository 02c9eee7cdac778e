/*
 * rules.h - the compiled form of a rule set, shared by compiler, evaluator, scanner and the
 * save/load code.
 *
 * Everything that makes up compiled rules lives in flat arrays that refer to each other by
 * index, and in one byte pool that holds names, literals and compiled regex blocks by offset.
 * Nothing in the persistent part is a pointer, so saving is writing the arrays and loading is
 * reading them back and validating every index (see rules.c). The run-time part (string
 * targets, the Vectorscan databases, rule needs) is saved too and mapped back on loading, or
 * rebuilt from the tables when it cannot be used (rules.c, file format).
 *
 * Conditions are kept as expression trees (ks_node), evaluated by eval.c. A node refers to its
 * children by index into nodes[]; lists of children (function arguments, string sets, integer
 * enumerations) are runs in lists[].
 */
#ifndef KENSA_RULES_H
#define KENSA_RULES_H

#include <stdint.h>
#include <stddef.h>

#include "kensa.h"
#include "core/util.h"

struct ks_object;
struct re_code;
struct strings_rt;
struct needs_rt;

#define KS_NONE UINT32_MAX

/* value types of expressions */
enum {
    T_NONE = 0,
    T_BOOL,
    T_INT,
    T_FLOAT,
    T_STR,
    T_REGEX,
    T_STRUCT,
    T_ARRAY,
    T_DICT,
    T_FUNC
};

/* node operators */
enum {
    N_TRUE = 1, N_FALSE, N_INT, N_FLOAT, N_STR, N_REGEX, /* literals; N_STR: i=pool off, b=len;
                                                           N_REGEX: i = re index */
    N_FILESIZE, N_ENTRYPOINT,
    N_STR_FOUND,       /* $a            a = string index (KS_NONE: loop's current string) */
    N_STR_AT,          /* $a at X       a = string, b = X */
    N_STR_IN,          /* $a in (X..Y)  a = string, b = X, c = Y */
    N_STR_COUNT,       /* #a            a = string */
    N_STR_COUNT_IN,    /* #a in (X..Y)  a, b, c */
    N_STR_OFFSET,      /* @a[X]         a, b = X */
    N_STR_LENGTH,      /* !a[X]         a, b = X */
    N_NOT, N_NEG, N_BITNOT, N_DEFINED,
    N_AND, N_OR,
    N_ADD, N_SUB, N_MUL, N_DIV, N_MOD, N_SHL, N_SHR, N_BAND, N_BOR, N_BXOR,
    N_LT, N_LE, N_GT, N_GE, N_EQ, N_NE,
    N_CONTAINS, N_ICONTAINS, N_STARTSWITH, N_ISTARTSWITH, N_ENDSWITH, N_IENDSWITH, N_IEQUALS,
    N_MATCHES,         /* a = string expr, b = N_REGEX node */
    N_INTREAD,         /* i = reader kind (size | signed | big-endian bits), a = offset expr */
    N_OF,              /* quantifier a (see Q_*), i = list of string indices (list index), b = count
                          of list, flags = OF_RULES if the set is rules; c = range/at node or none */
    N_FOR_OF,          /* a = quantifier, i = list of strings, b = count, c = body */
    N_FOR_IN,          /* a = quantifier, b = iterable node, c = body, i = first var slot,
                          flags = number of vars */
    N_RANGE,           /* a..b as iterable: a, b */
    N_ENUM,            /* (e1, e2, ...): i = list index, b = count */
    N_QUANT,           /* quantifier literal: i = Q_ALL/Q_ANY/Q_NONE */
    N_PERCENT,         /* a = expr (percentage quantifier) */
    N_RULE,            /* a = rule index */
    N_EXTERNAL,        /* a = external index */
    N_VAR,             /* a = loop variable slot */
    N_MODULE,          /* a = module index in imports[] */
    N_FIELD,           /* a = object expr, i = pool offset of field name */
    N_INDEX,           /* a = array/dict expr, b = index/key expr */
    N_CALL,            /* a = function object expr, i = args list, b = nargs, c = overload */
    N_OF_AT            /* helper node for `N of ... at X`: a = X */
};

enum { Q_ALL = 1, Q_ANY = 2, Q_NONE = 3 };
#define OF_RULES 1
#define OF_IN 2
#define OF_AT 4

typedef struct ks_node {
    uint16_t op;
    uint8_t type;        /* T_* of the value */
    uint8_t flags;
    uint32_t a, b, c;
    int64_t i;
    double f;
} ks_node;

/* string modifiers */
#define M_NOCASE     0x0001
#define M_WIDE       0x0002
#define M_ASCII      0x0004
#define M_FULLWORD   0x0008
#define M_PRIVATE    0x0010
#define M_XOR        0x0020
#define M_BASE64     0x0040
#define M_BASE64WIDE 0x0080
#define M_DOTALL     0x0100   /* regex /s */
#define M_ICASE_RE   0x0200   /* regex /i */
#define M_FIXED      0x0400   /* only ever used as `$a at CONST`: matches elsewhere are ignored */
#define M_SINGLE     0x0800   /* only ever used as plain `$a`: -f may stop after one match */
#define M_FIXED_SET  0x1000   /* fixed_off holds the first constant seen */

enum { S_TEXT = 1, S_HEX, S_REGEX };

typedef struct ks_str {
    uint32_t id;         /* pool: "$a" */
    uint32_t rule;
    uint32_t kind;       /* S_* */
    uint32_t mods;       /* M_* */
    uint32_t xor_min, xor_max;
    uint32_t lit, lit_len;     /* pool: decoded literal (text) or source (regex/hex) */
    uint32_t b64alpha;         /* pool: 64-byte alphabet, or KS_NONE */
    uint32_t re_first, re_count;   /* in res[]: regex/hex pieces (chained when count > 1) */
    uint32_t line;
    int64_t fixed_off;             /* with M_FIXED: the only offset where it may match */
} ks_str;

/* a compiled regex / hex piece; the re_code block is in the pool (8-aligned) */
typedef struct ks_re {
    uint32_t off, size;
    int32_t gap_min, gap_max;  /* chain gap before this piece (pieces after the first) */
} ks_re;

typedef struct ks_meta_rec {
    uint32_t id;         /* pool */
    uint32_t type;       /* KS_META_* */
    int64_t i;
    uint32_t s, slen;    /* pool */
} ks_meta_rec;

typedef struct ks_rule {
    uint32_t id, ns;     /* pool offsets; ns is also an index into namespaces via ns_index */
    uint32_t ns_index;
    uint32_t flags;      /* KS_RULE_* */
    uint32_t tags_first, ntags;   /* in u32s[]: pool offsets */
    uint32_t meta_first, nmeta;   /* in metas[] */
    uint32_t str_first, nstr;     /* in strs[] */
    uint32_t cond;                /* node index */
    uint32_t nvars;               /* loop variable slots used by the condition */
    uint32_t line;
} ks_rule;

enum { X_INT = 1, X_FLOAT, X_BOOL, X_STR };
typedef struct ks_ext {
    uint32_t id;         /* pool */
    uint32_t type;       /* X_* */
    int64_t i;
    double f;
    uint32_t s, slen;    /* pool */
} ks_ext;

/* The persistent tables. */
typedef struct ks_tables {
    VEC(ks_node) nodes;
    VEC(uint32_t) lists;
    VEC(ks_str) strs;
    VEC(ks_re) res;
    VEC(ks_meta_rec) metas;
    VEC(uint32_t) u32s;
    VEC(ks_rule) rules;
    VEC(ks_ext) exts;
    VEC(uint32_t) imports;     /* pool offsets of module names */
    VEC(uint32_t) namespaces;  /* pool offsets */
    VEC(uint8_t) pool;
} ks_tables;

struct ks_rules {
    ks_tables t;
    /* run-time, derived from the tables (rules_finish) or read from a compiled file */
    struct strings_rt *srt;
    struct needs_rt *needs;    /* per rule: strings it cannot match without (eval/needs.c) */
    struct orset_rt *orsets;   /* `X == "a" or X == "b" ...` as set lookups (eval/orset.c) */
    struct ks_object **decls;  /* per import: declared tree (unused at run time) */
    ks_rule_info *infos;       /* public views */
    const char **tag_ptrs;
    ks_meta *meta_views;
    uint32_t max_vars;
    int rt_stored;             /* srt and needs were read from a compiled file, not rebuilt */
};

static inline const char *pool_str(const ks_tables *t, uint32_t off)
{
    return (const char *)t->pool.v + off;
}

/* Append bytes (NUL-terminated copy) to the pool; returns offset or KS_NONE on failure. */
uint32_t pool_add(ks_tables *t, const void *p, size_t n);
/* Append 8-aligned blob; offset or KS_NONE. */
uint32_t pool_add_blob(ks_tables *t, const void *p, size_t n);
static inline const struct re_code *rules_re(const ks_tables *t, uint32_t ri)
{
    return (const struct re_code *)(t->pool.v + t->res.v[ri].off);
}

/* Build run-time parts (strings and prefilter, needs, infos) from the tables. Used by the
 * compiler, and by the loader when the file's stored run-time part cannot be used. `threads`:
 * how many threads the prefilter compile may use (ks_compiler_set_threads). */
int rules_finish(ks_rules *r, int threads);
void tables_free(ks_tables *t);

#endif
