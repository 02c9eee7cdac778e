/*
 * util.h - small shared helpers: checked growable arrays, a byte pool, hashing.
 *
 * Growable arrays are plain structs {T *v; uint32_t n, cap;} grown by vec_grow(), which fails
 * (returns KS_ENOMEM) instead of aborting, and refuses to grow past a hard cap.
 */
#ifndef KENSA_UTIL_H
#define KENSA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"

#define VEC(T) struct { T *v; uint32_t n, cap; }
#define VEC_HARD_CAP (1u << 30)

/* Ensure room for `extra` more items of size `isz`. Returns KS_OK or KS_ENOMEM/KS_ELIMIT. */
static inline int vec_reserve_(void **v, uint32_t *n, uint32_t *cap, size_t isz, uint32_t extra)
{
    if ((uint64_t)*n + extra > VEC_HARD_CAP) return KS_ELIMIT;
    if (*n + extra <= *cap) return KS_OK;
    uint64_t nc = *cap ? *cap : 8;
    while (nc < (uint64_t)*n + extra) nc *= 2;
    if (nc > VEC_HARD_CAP) nc = VEC_HARD_CAP;
    void *p = realloc(*v, (size_t)nc * isz);
    if (!p) return KS_ENOMEM;
    *v = p;
    *cap = (uint32_t)nc;
    return KS_OK;
}
#define vec_reserve(vec, extra) \
    vec_reserve_((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v), (extra))
/* Append one item; evaluates to KS_OK or an error. */
#define vec_push(vec, item) \
    (vec_reserve(vec, 1) == KS_OK ? ((vec).v[(vec).n++] = (item), KS_OK) : KS_ENOMEM)
#define vec_free(vec) do { free((vec).v); (vec).v = NULL; (vec).n = (vec).cap = 0; } while (0)

/* FNV-1a */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ULL; }
    return h;
}

static inline char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

#endif
