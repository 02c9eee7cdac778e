/*
 * freq.h - how rare a short byte sequence is in the files kensa scans: an estimate from byte and
 * byte-pair frequencies measured on a sample of real files (tools/gen_freq.py). The prefilter
 * uses it to choose which bytes of a string to search; it never changes results.
 */
#ifndef KENSA_FREQ_H
#define KENSA_FREQ_H

#include <stdint.h>

/* Estimated -log2 of the probability that v[0..n) occurs at a given offset, in quarter bits:
 * higher is rarer. mask[i] is 0xFF for an exact byte or 0xDF for a letter of either case (any
 * other mask is costed as the byte itself). n may be 0 (cost 0). */
int freq_cost(const uint8_t *v, const uint8_t *mask, uint32_t n);

#endif
