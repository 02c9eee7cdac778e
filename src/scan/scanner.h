/*
 * scanner.h - the per-thread scan state (struct ks_scanner) shared by scanner.c and eval.c.
 */
#ifndef KENSA_SCANNER_INT_H
#define KENSA_SCANNER_INT_H

#include <stdint.h>
#include <time.h>

#include "kensa.h"
#include "rules/rules.h"
#include "match/strings.h"
#include "eval/object.h"

/* a run-time value of an expression */
enum { VU = 0, VI, VF, VS, VO, VR };
/* A condition's value: 16 bytes, so that the evaluator returns it in two registers. The union
 * member is the one t names (VI i, VF f, VS s with len bytes, VO o, VR re); VU has none. */
typedef struct value {
    uint64_t t : 8;
    uint64_t len : 56;
    union {
        int64_t i;
        double f;
        const uint8_t *s;
        ks_object *o;
        const struct re_code *re;
    };
} value;

typedef struct ext_val {
    uint32_t type;       /* X_* */
    int64_t i;
    double f;
    char *s;             /* owned copy (overrides) or NULL to use the pool */
    size_t slen;
} ext_val;

/* A rule's guards: the leading conjuncts of its condition (up to GUARD_MAX, in order) that are
 * comparisons of a data read at a constant offset (`uint16(0) == 0x5A4D`) or of filesize with an
 * integer constant. Evaluation goes left to right and stops at a false conjunct, and these have
 * no side effects, so a failing guard means the rule is false with nothing else evaluated;
 * checking the compact guards first spares the walk of the condition tree (and its cache
 * misses) for every file they rule out, and the scanner skips the rule's strings. */
#define GUARD_MAX 3
enum { G_NONE = 0, G_READ, G_FILESIZE };
typedef struct rule_guard {
    uint8_t kind;                /* G_* */
    uint8_t rd;                  /* G_READ: reader kind (N_INTREAD's i: size | 0x10 signed |
                                    0x20 big-endian) */
    uint16_t op;                 /* N_LT .. N_NE, with the read/filesize on the left */
    uint64_t off;                /* G_READ: offset */
    int64_t k;                   /* the constant */
} rule_guard;

/* GUARD_MAX guards per rule (rule ri's at ri * GUARD_MAX; G_NONE ends a rule's list); free()
 * the result. NULL on OOM. */
rule_guard *guards_build(const ks_tables *t);

/* The distinct guards of s->guard (thousands of rules share `uint16(0) == 0x5A4D` and a few
 * filesize bounds): s->uguard[0 .. nuguard), s->gid mapping each rule's guards to them
 * (UINT32_MAX: none), s->gfalse their per-scan results. KS_OK or KS_ENOMEM. */
int guards_index(ks_scanner *s);
/* Evaluate the distinct guards for the current data (start of every scan). */
void guards_eval(ks_scanner *s);
/* 1 for the guard `uint16(0) == 0x5A4D` ("MZ"): the rules it guards are the gated ones of the
 * prefilter (strings_build), and the scanner opens the gate when it holds (s->mz_guard). */
int guard_is_mz(const rule_guard *g);

/* A zero-argument module function's result within one scan (pe.imphash() is called hundreds of
 * times per file by signature-base); valid while `gen` equals the scanner's scan_gen. */
#define CALL_MEMO 16
typedef struct call_memo {
    ks_fn fn;
    const ks_object *self;
    uint64_t gen;
    value v;
} call_memo;

struct ks_scanner {
    const ks_rules *r;
    strings_state st;
    uint8_t *rule_res;           /* per rule: 1 matched */
    uint8_t *cand;               /* per rule: one of its needed strings matched (this scan) */
    value *vars;                 /* loop slots */
    uint32_t nvars;
    ks_object **mods;            /* per import: this scan's tree (NULL until loaded) */
    ks_object **decl;            /* per import: the declared tree, kept across scans and reset
                                    after each (obj_reset); mods[i] is decl[i] once loaded */
    int8_t *mod_failed;          /* per import: error of a failed load in this scan, else 0 */
    uint8_t **moddata;           /* per import: -x data */
    size_t *moddata_len;
    ext_val *ext;
    int flags;
    int timeout;
    struct timespec deadline;
    int timed_out;
    uint32_t eval_depth;
    uint64_t steps;

    const uint8_t *data;
    size_t size;
    int ep_state;                /* 0 unknown, 1 defined, 2 undefined */
    int64_t ep;

    ks_scratch *scratch;         /* strings returned by module functions */
    ks_match *mbuf;              /* ks_scanner_matches output */
    uint8_t *fbuf;               /* ks_scanner_scan_file: small files are read into this */
    size_t fbuf_cap;
    uint32_t mbuf_cap;
    uint32_t cur_rule;

    /* the `kensa` module's view of the object being scanned (ks_scanner_set_object); one-shot:
     * cleared at the end of every scan */
    ks_object_info obj;
    int have_obj;
    const char *target;          /* ks_scanner_scan_file()'s path during that scan, else NULL */

    rule_guard *guard;           /* GUARD_MAX per rule (guards_build) */
    rule_guard *uguard;          /* the distinct ones (guards_index) */
    uint32_t nuguard;
    uint32_t *gid;               /* GUARD_MAX per rule: index in uguard, UINT32_MAX for none */
    uint8_t *gfalse;             /* per distinct guard: 1 when false for this scan's data */
    uint32_t mz_guard;           /* the distinct guard for which guard_is_mz, or UINT32_MAX */
    uint32_t *fhint;             /* per condition node: the member position its field access
                                    found last (obj_field_hint) */
    uint32_t *sgset;             /* per string: its rule's guard set (1..ngsets), 0 for none */
    uint32_t *gsets;             /* GUARD_MAX per guard set (index 0 unused): its guards' uguard
                                    indices, UINT32_MAX after the last */
    uint32_t ngsets;
    uint8_t *gsdead;             /* per guard set: one of its guards failed this scan */
    uint32_t *always;            /* rules evaluated on every scan (needs: NEEDS_ALWAYS), in order */
    uint32_t nalways;
    uint32_t *globals;           /* global rules, in order */
    uint32_t nglobals;
    uint32_t *clist;             /* this scan's candidate rules (needs: some string hit) */
    uint32_t *grfirst, *grules;  /* per key group (needs): its rules are grules[grfirst[g] ..
                                    grfirst[g+1]) */
    uint8_t *lzc;                /* per rule, this scan: 1 when its lazy strings must be
                                    verified, 2 when not, 0 not asked yet (lazy_need); NULL
                                    when the rules have no lazy string */
    uint32_t *lzlist;            /* rules with lzc set this scan */
    uint32_t nlz;
    uint32_t *matched;           /* this scan's matched rules, in order */
    uint8_t *rflags;             /* per rule: RF_GLOBAL | RF_PRIVATE (compact copy) */
    call_memo memo[CALL_MEMO];   /* zero-argument calls of this scan */
    uint64_t scan_gen;           /* incremented per scan */
};

enum { RF_GLOBAL = 1, RF_PRIVATE = 2 };

/* Evaluate the condition of rule `ri`; returns 1 matched, 0 not, or a negative KS_E* error. */
int eval_rule(ks_scanner *s, uint32_t ri);
/* Evaluate condition node ni on its own (a key expression: eval/needs.c) into *out; returns
 * KS_OK or a negative KS_E* error (*out is then undefined). */
int eval_expr(ks_scanner *s, uint32_t ni, value *out);
/* 1 when rule ri's guard proves it false for the current data (nothing else evaluated). */
int eval_guard_false(const ks_scanner *s, uint32_t ri);
/* The tree of import `i` for the current scan, declared and loaded on first use. Returns KS_OK
 * (*out set), KS_ENOMEM, KS_EMODDATA (its -x data is invalid) or KS_ENOMODULE. */
int scanner_module(ks_scanner *s, uint32_t i, ks_object **out);
/* Deadline check used in loops; returns 1 when the scan must stop. */
int scan_expired(ks_scanner *s);

#endif
