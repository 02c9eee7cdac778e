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
typedef struct value {
    uint8_t t;
    int64_t i;
    double f;
    const uint8_t *s;
    size_t len;
    ks_object *o;
    const struct re_code *re;
} value;

typedef struct ext_val {
    uint32_t type;       /* X_* */
    int64_t i;
    double f;
    char *s;             /* owned copy (overrides) or NULL to use the pool */
    size_t slen;
} ext_val;

struct ks_scanner {
    const ks_rules *r;
    strings_state st;
    uint8_t *rule_res;           /* per rule: 1 matched */
    uint8_t *cand;               /* per rule: one of its needed strings matched (this scan) */
    value *vars;                 /* loop slots */
    uint32_t nvars;
    ks_object **mods;            /* per import: this scan's tree (NULL until loaded) */
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
    uint32_t mbuf_cap;
    uint32_t cur_rule;

    /* the `kensa` module's view of the object being scanned (ks_scanner_set_object); one-shot:
     * cleared at the end of every scan */
    ks_object_info obj;
    int have_obj;
    const char *target;          /* ks_scanner_scan_file()'s path during that scan, else NULL */
};

/* Evaluate the condition of rule `ri`; returns 1 matched, 0 not, or a negative KS_E* error. */
int eval_rule(ks_scanner *s, uint32_t ri);
/* The tree of import `i` for the current scan, declared and loaded on first use. Returns KS_OK
 * (*out set), KS_ENOMEM, KS_EMODDATA (its -x data is invalid) or KS_ENOMODULE. */
int scanner_module(ks_scanner *s, uint32_t i, ks_object **out);
/* Deadline check used in loops; returns 1 when the scan must stop. */
int scan_expired(ks_scanner *s);

#endif
