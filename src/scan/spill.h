/*
 * spill.h - fmt_buf contents moved to unlinked temporary files (src/scan/spill.c), used by
 * fmt_buf_add()/fmt_buf_free() in extract.c. Internal to the library.
 *
 * Contract (see also fmt_buf in formats/formats.h):
 *   - spill_begin() moves a buffer's bytes [0, n) to a new temporary file in `dir` (mkostemp,
 *     O_CLOEXEC, mode 0600, unlinked at once) and replaces b->p by a MAP_SHARED mapping of that
 *     file, PROT_READ|PROT_WRITE, reserved larger than the file (b->cap = reserved bytes). Only
 *     [0, b->n) may be touched: it is backed by the file, the rest of the reservation is not.
 *   - spill_append() writes more bytes at offset b->n with pwrite(); the page cache keeps the
 *     mapping coherent, so b->p[0..n) always reads the whole content. The reservation grows
 *     with mremap(MREMAP_MAYMOVE): like realloc, b->p may move on an append.
 *   - spill_release() unmaps, closes (the file disappears) and leaves b empty.
 *   - spill_drop_pages() drops the resident pages of every live spilled buffer of a list
 *     (madvise MADV_DONTNEED: the next read faults them in again from the file), so that only
 *     the object being scanned counts in the process's memory, not its ancestors.
 * Errors are values: KS_EIO with a short reason in err (the caller notes it), KS_ENOMEM.
 */
#ifndef KENSA_SPILL_H
#define KENSA_SPILL_H

#include <stddef.h>

#include "formats/formats.h"

/* The live spilled buffers of one walk (owned by the sink; a buffer unlinks itself when freed). */
typedef struct spill_list {
    struct fmt_spill *head;
} spill_list;

/* `dir` NULL or "" = $TMPDIR, else /tmp. On failure b is unchanged (still in memory). */
int spill_begin(fmt_buf *b, spill_list *l, const char *dir, char *err, size_t errcap);
int spill_append(fmt_buf *b, const void *d, size_t n, char *err, size_t errcap);
void spill_release(fmt_buf *b);
void spill_drop_pages(spill_list *l);
/* End of a walk: detach buffers still listed (an extractor leak) so that they never point at
 * the freed list. */
void spill_list_detach(spill_list *l);

#endif
