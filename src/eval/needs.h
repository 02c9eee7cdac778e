/*
 * needs.h - per rule, the strings it cannot match without (see needs.c for the rules of the
 * analysis and why skipping is exact).
 */
#ifndef KENSA_NEEDS_H
#define KENSA_NEEDS_H

#include <stdint.h>

#include "core/ser.h"
#include "rules/rules.h"

#define NEEDS_ALWAYS UINT32_MAX

typedef VEC(uint32_t) needs_vec;

typedef struct needs_rt {
    uint32_t *first, *n;        /* per rule: its set is list[first .. first+n); n = NEEDS_ALWAYS
                                   when the rule must always be evaluated (n = 0: never true) */
    needs_vec list;             /* string indices, sorted per rule */
    uint32_t *by_str_first;     /* per string s: rules needing s are by_str[by_str_first[s] ..
                                   by_str_first[s+1]) */
    uint32_t *by_str;
    uint32_t pruned;            /* rules with a set */
    /* Lazy strings (needs.c, "Lazy strings"): per rule, a second set W found with the hex and
     * regex strings left out (rule true => some string of W matched; lfirst/ln like first/n,
     * ln = NEEDS_ALWAYS when no such set is known), and per string, lazy = 1 for a hex or
     * regex string whose rule has such a set: its hits may be verified after the search, and
     * only when a string of W matched. No string of any W is lazy. */
    uint32_t *lfirst, *ln;
    needs_vec llist;
    uint8_t *lazy;
    uint32_t nlazy;             /* strings with lazy = 1 */
    /* Keys (needs.c, "Keys"): the items ns + k of list and by_str (ns = strings) are keys, not
     * strings. Key k is true in a scan when the value of node gexpr[g] (g its group: gkfirst[g]
     * <= k < gkfirst[g+1]) equals the constant node kconst[k] (N_INT or N_STR). A group's keys
     * are sorted (needs_key_find) and distinct. by_str_first has ns + nkeys + 1 items. */
    uint32_t nkeys, ngroups;
    uint32_t *gexpr;            /* per group: the expression (module value, call or external) */
    uint32_t *gkfirst;          /* ngroups + 1 */
    uint32_t *kconst;           /* per key */
} needs_rt;

/* The key of group g equal to the value VI i (is_str 0) or VS s[0..len) (is_str 1), or
 * UINT32_MAX when none is. */
uint32_t needs_key_find(const needs_rt *n, const ks_tables *t, uint32_t g, int is_str, int64_t i,
                        const uint8_t *s, size_t len);

/* Analyse every rule of t. eager (per string, may be NULL): 1 for a string never to be made
 * lazy (one with a target verified at every offset: its matches are found after the search,
 * and a string's hits are held all or none). Returns KS_OK or KS_ENOMEM (out is then empty). */
int needs_build(const ks_tables *t, const uint8_t *eager, needs_rt *out);
void needs_free(needs_rt *n);

/* Saving and loading (rules.c's compiled-rules file): first, n (one per rule), list,
 * by_str_first (strings + keys + 1), by_str, pruned, lfirst, ln (one per rule), llist, lazy (one
 * per string), nlazy, then the keys: nkeys, ngroups, gexpr, gkfirst, kconst. needs_read checks the array sizes against t and
 * latches errors in r; on error *out is left for needs_free. needs_check: 1 when every index is
 * in range (each rule's set inside list, list items strings or keys, by_str_first ascending
 * from 0 to by_str's size, by_str items rules of t, every group's expression a key expression
 * and its keys distinct constants in sorted order, the same for lfirst/ln/llist with strings
 * only, lazy flags 0 or 1, no string of llist lazy, and none lazy that `eager` (as for
 * needs_build) marks), 0 otherwise. */
int needs_write(ser_w *w, const needs_rt *n, const ks_tables *t);
int needs_read(ser_r *r, const ks_tables *t, needs_rt *out);
int needs_check(const ks_tables *t, const uint8_t *eager, const needs_rt *n);

#endif
