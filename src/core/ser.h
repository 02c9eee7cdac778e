/*
 * ser.h - the byte stream of a compiled-rules file: a writer and a reader over a FILE, each with a
 * running digest (CRC-32 of the bytes since the last digest) and a latched error, so callers
 * write straight-line code and look at `err` once.
 *
 * Writer: ser_put* append; the first failure latches KS_EIO and later calls do nothing. A writer
 * without a FILE (f = NULL) writes nothing and only counts bytes (`pos`): used to size a section
 * before writing it.
 *
 * Reader: every read is bounded by `left`, the bytes the reader may still consume (the file's
 * remaining size, or a section's: see ser_r_limit). A read past it, a short read or an array
 * whose item size differs from the caller's type latches KS_EFORMAT; a failed allocation
 * KS_ENOMEM. After an error every read fails and returns zeros / NULL. An array's size is checked
 * against `left` before it is allocated, so a crafted count cannot make a huge allocation.
 *
 * Arrays are stored as u32 item size, u32 count, count * item size bytes (in this machine's
 * layout: the file header records the byte order; a changed struct layout needs a new format
 * version). Strings: u32 length, bytes (no NUL).
 *
 * The digest detects accidental damage (truncation, flipped bits, a file overwritten in place);
 * it is not a defence against a crafted file, which can carry a matching digest: what a file
 * holds is validated separately (rules.c).
 */
#ifndef KENSA_SER_H
#define KENSA_SER_H

#include <stdint.h>
#include <stdio.h>

typedef struct ser_w {
    FILE *f;             /* NULL: count only */
    uint64_t pos;        /* bytes written */
    uint32_t sum;        /* digest of the bytes since the last ser_put_sum */
    int err;             /* KS_OK or KS_EIO */
} ser_w;

void ser_w_init(ser_w *w, FILE *f);
void ser_put(ser_w *w, const void *p, size_t n);
void ser_put_u32(ser_w *w, uint32_t v);
void ser_put_u64(ser_w *w, uint64_t v);
void ser_put_str(ser_w *w, const char *s);
/* n items of item_size bytes at v (v may be NULL when n is 0) */
void ser_put_array(ser_w *w, const void *v, size_t item_size, uint32_t n);
/* Write the digest of the bytes since the previous digest (or the start), then start anew. */
void ser_put_sum(ser_w *w);

#define SER_PUT_VEC(w, vec) ser_put_array((w), (vec).v, sizeof *(vec).v, (vec).n)

typedef struct ser_r {
    FILE *f;
    uint64_t left;       /* bytes that may still be read */
    uint32_t sum;        /* digest of the bytes read since the last ser_get_sum */
    int err;             /* KS_OK, KS_EFORMAT, KS_ENOMEM or KS_EIO */
} ser_r;

/* `size`: bytes from the current position to the end of the file (UINT64_MAX if unknown). */
void ser_r_init(ser_r *r, FILE *f, uint64_t size);
/* Read n bytes into p. 1 on success, 0 on error (latched; p is then zero-filled). */
int ser_get(ser_r *r, void *p, size_t n);
uint32_t ser_get_u32(ser_r *r);
uint64_t ser_get_u64(ser_r *r);
/* Read a string and compare it with s: 1 if equal. A mismatch is not an error. */
int ser_get_str_eq(ser_r *r, const char *s);
/* Read an array of items of item_size bytes (the stored item size must be the same) with at
 * most max_n items. Returns a malloc'd block of (*n + extra) items, the extra ones zeroed; NULL
 * when that is 0 items or on error (then *n = 0). */
void *ser_get_array(ser_r *r, size_t item_size, uint32_t *n, uint32_t max_n, uint32_t extra);
/* Read a stored digest: 1 if it equals the digest of the bytes read since the previous one (or
 * the start), 0 if not or on error. Starts a new digest either way. */
int ser_get_sum(ser_r *r);
/* Read and discard n bytes (they count in the digest). */
void ser_skip(ser_r *r, uint64_t n);
/* Make the next n bytes a section: reads past them fail. Returns the bytes left after the
 * section, to restore with `r->left = outer` once the section is consumed (KS_EFORMAT is
 * latched if fewer than n bytes are left). */
uint64_t ser_r_limit(ser_r *r, uint64_t n);

#define SER_GET_VEC(r, vec, max_n) \
    ((vec).v = ser_get_array((r), sizeof *(vec).v, &(vec).n, (max_n), 0), (vec).cap = (vec).n)

#endif
