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

/* Its parts: the cost of a first byte, and of byte b (mask mb) after byte a (mask ma), so that
 * freq_cost(v, m, n) = freq_byte(v[0], m[0]) + the sum of freq_pair over consecutive bytes
 * (clamped at 0). For sliding a window along a long string. */
int freq_byte(uint8_t v, uint8_t m);
int freq_pair(uint8_t a, uint8_t ma, uint8_t b, uint8_t mb);

#endif
