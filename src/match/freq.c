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

static int pair_cost(uint8_t a, uint8_t b)
{
    uint32_t key = (uint32_t)a << 8 | b, lo = 0, hi = FREQ_NPAIRS;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (freq_pair_key[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    if (lo < FREQ_NPAIRS && freq_pair_key[lo] == key) return freq_pair_cost[lo];
    return freq_rest[a];
}

static int is_fold(uint8_t v, uint8_t m)
{
    uint8_t u = v & 0xDF;
    return m == 0xDF && u >= 'A' && u <= 'Z';
}

int freq_cost(const uint8_t *v, const uint8_t *mask, uint32_t n)
{
    if (n == 0) return 0;
    /* a letter of either case: costed as its lower case (the commoner one in text), one bit
     * cheaper for matching twice the bytes */
    uint8_t prev = is_fold(v[0], mask[0]) ? (uint8_t)(v[0] | 0x20) : v[0];
    int c = freq_uni[prev] - (is_fold(v[0], mask[0]) ? 4 : 0);
    for (uint32_t i = 1; i < n; i++) {
        int f = is_fold(v[i], mask[i]);
        uint8_t b = f ? (uint8_t)(v[i] | 0x20) : v[i];
        c += pair_cost(prev, b) - (f ? 4 : 0);
        prev = b;
    }
    return c < 0 ? 0 : c;
}
