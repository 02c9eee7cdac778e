/*
 * freq.c - the byte-pair rarity model (see freq.h).
 *
 * cost(w) = -log2 P(w[0]) + sum over i of -log2 P(w[i+1] | w[i]): a first-order Markov model.
 * It captures what byte counts alone miss: `48 89 44 24` (a stack store in x86-64 code) is made
 * of common bytes that are even more common together, and occurs about four times as often as
 * `48 8B 05` in binaries although it is a byte longer. The tables are generated
 * (freq_table.h); pairs not listed cost their first byte's average for unlisted pairs.
 */
#include "match/freq.h"

#include "match/freq_table.h"
#include "match/prefilter.h"

#include <pthread.h>

/* The pair costs as one 64 KB table, built on first use (the generated tables keep only the
 * listed pairs) */
static uint8_t dense[65536];
static pthread_once_t dense_once = PTHREAD_ONCE_INIT;

static void dense_init(void)
{
    for (uint32_t k = 0; k < 65536; k++) dense[k] = freq_rest[k >> 8];
    for (uint32_t i = 0; i < FREQ_NPAIRS; i++) dense[freq_pair_key[i]] = freq_pair_cost[i];
}

/* a letter of either case: costed as its lower case (the commoner one in text), one bit cheaper
 * for matching twice the bytes */
int freq_byte(uint8_t v, uint8_t m)
{
    if (pf_folded(v, m)) return freq_uni[v | 0x20] - 4;
    return freq_uni[v];
}

/* freq_pair once the dense table is built */
static inline int pair_cost(uint8_t a, uint8_t ma, uint8_t b, uint8_t mb)
{
    int fb = pf_folded(b, mb);
    if (pf_folded(a, ma)) a |= 0x20;
    if (fb) b |= 0x20;
    return dense[(uint32_t)a << 8 | b] - (fb ? 4 : 0);
}

int freq_pair(uint8_t a, uint8_t ma, uint8_t b, uint8_t mb)
{
    pthread_once(&dense_once, dense_init);
    return pair_cost(a, ma, b, mb);
}

int freq_cost(const uint8_t *v, const uint8_t *mask, uint32_t n)
{
    if (n == 0) return 0;
    pthread_once(&dense_once, dense_init);
    int c = freq_byte(v[0], mask[0]);
    for (uint32_t i = 1; i < n; i++) c += pair_cost(v[i - 1], mask[i - 1], v[i], mask[i]);
    return c < 0 ? 0 : c;
}
