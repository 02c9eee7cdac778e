/*
 * orset.h - `X == "a" or X == "b" or ...` evaluated as one set lookup.
 *
 * Rule sets compare one value with many constants: signature-base has rules with dozens of
 * `pe.imphash() == "..."` joined by `or`, evaluated for every PE file. orset_build finds each
 * maximal `or` tree whose leaves are all `X == "literal"` (either side) with the same pure
 * expression X (module fields, calls, indexes, integers, externals, loop variables; never the
 * console module), with at least ORSET_MIN leaves, and keeps the literals sorted. The evaluator
 * (eval.c, N_OR) then evaluates X once and looks its value up.
 *
 * Exactness: yara's `or` is true when a leaf is true; a leaf `X == "s"` is true exactly when X
 * is a string equal to s byte for byte (cmp_str), undefined when X is; an undefined leaf counts
 * as false. So when X evaluates to a string the tree is true iff the string is in the set, and
 * when X is undefined the tree is false. For any other value the evaluator falls back to the
 * tree itself. X is pure, so evaluating it once gives what each leaf would.
 *
 * Derived from the tables on build and on load (nothing is stored in compiled files); every
 * index read is bounds-checked, so tables from a crafted file only lose the speed-up.
 */
#ifndef KENSA_EVAL_ORSET_H
#define KENSA_EVAL_ORSET_H

#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"

#define ORSET_MIN 4

typedef struct orset_item {
    uint64_t hash;
    const uint8_t *p;       /* the literal (in the tables' pool) */
    size_t len;
} orset_item;

typedef struct orset {
    uint32_t x;             /* node of X (one leaf's copy) */
    uint32_t first, n;      /* items[first .. first+n), sorted by (hash, len, bytes) */
} orset;

typedef struct orset_rt {
    uint32_t *at;           /* per node: set index + 1, 0 = none (NULL when no set) */
    orset *sets;
    uint32_t nsets;
    orset_item *items;
    uint32_t nitems;
} orset_rt;

/* Build from the tables (which must outlive rt: items point into the pool). Returns KS_OK or
 * KS_ENOMEM (rt then empty). */
int orset_build(const ks_tables *t, orset_rt *rt);
void orset_free(orset_rt *rt);

/* The set of `or` node `node`, or NULL. */
static inline const orset *orset_of(const orset_rt *rt, uint32_t node)
{
    return rt && rt->at && rt->at[node] ? &rt->sets[rt->at[node] - 1] : NULL;
}

/* 1 when the bytes s[0..len) are one of the set's literals. */
int orset_has(const orset_rt *rt, const orset *set, const uint8_t *s, size_t len);

#endif
