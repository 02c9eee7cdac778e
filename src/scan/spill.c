/*
 * spill.c - large fmt_buf contents kept in unlinked temporary files instead of anonymous memory
 * (contract in spill.h and formats.h).
 *
 * A buffer that grows past the walk's spill threshold is moved to a file: its bytes are written
 * out, the heap block is freed, and b->p becomes a shared mapping of the file. Appends are
 * pwrite()s at the end of the file; the mapping is a reservation larger than the file, grown by
 * mremap when an append would pass it, so readers keep seeing one flat buffer [0, n). Since the
 * pages belong to a file, the kernel can write them back and drop them instead of keeping them
 * resident, and spill_drop_pages() unmaps the resident pages of ancestors while a child is
 * scanned.
 */
#include "scan/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_RESERVE ((size_t)64 << 20)   /* first reservation of address space (not memory) */

struct fmt_spill {
    int fd;
    uint8_t *map;            /* reservation start (= the fmt_buf's p) */
    size_t map_len;          /* reserved bytes */
    size_t len;              /* bytes in the file */
    spill_list *list;        /* NULL once detached */
    struct fmt_spill *prev, *next;
};

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

/* Reservation for `need` bytes: at least MIN_RESERVE, doubled past need, page-aligned; 0 on
 * overflow. */
static size_t reserve_for(size_t need)
{
    size_t r = MIN_RESERVE;
    while (r < need) {
        if (r > SIZE_MAX / 2)
            return 0;
        r *= 2;
    }
    size_t ps = page_size();
    return (r + ps - 1) / ps * ps;
}

static int write_all(int fd, const uint8_t *d, size_t n, size_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, d, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        d += w;
        n -= (size_t)w;
        off += (size_t)w;
    }
    return 0;
}

static void link_in(spill_list *l, struct fmt_spill *s)
{
    s->list = l;
    s->prev = NULL;
    s->next = l->head;
    if (l->head)
        l->head->prev = s;
    l->head = s;
}

static void unlink_out(struct fmt_spill *s)
{
    if (!s->list)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->list->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->list = NULL;
    s->prev = s->next = NULL;
}

int spill_begin(fmt_buf *b, spill_list *l, const char *dir, char *err, size_t errcap)
{
    if (b->spill)
        return KS_OK;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char tmpl[4096];
    int tl = snprintf(tmpl, sizeof tmpl, "%s/kensa-spill-XXXXXX", dir);
    if (tl < 0 || (size_t)tl >= sizeof tmpl) {
        snprintf(err, errcap, "temporary directory name too long");
        return KS_EIO;
    }
    int fd = mkostemp(tmpl, O_CLOEXEC);   /* mode 0600 */
    if (fd < 0) {
        snprintf(err, errcap, "cannot create a file in %s: %s", dir, strerror(errno));
        return KS_EIO;
    }
    unlink(tmpl);
    struct fmt_spill *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return KS_ENOMEM;
    }
    s->fd = fd;
    s->map_len = reserve_for(b->n + 1);
    if (s->map_len == 0 || write_all(fd, b->p, b->n, 0) != 0) {
        snprintf(err, errcap, "cannot write to %s: %s", dir, strerror(errno));
        close(fd);
        free(s);
        return KS_EIO;
    }
    void *m = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errcap, "cannot map the file: %s", strerror(errno));
        close(fd);
        free(s);
        return KS_EIO;
    }
    s->map = m;
    s->len = b->n;
    free(b->p);
    b->p = m;
    b->cap = s->map_len;
    b->spill = s;
    link_in(l, s);
    return KS_OK;
}

int spill_append(fmt_buf *b, const void *d, size_t n, char *err, size_t errcap)
{
    struct fmt_spill *s = b->spill;
    if (!s)
        return KS_EINTERNAL;
    if (n > SIZE_MAX - s->len) {
        snprintf(err, errcap, "size overflow");
        return KS_EIO;
    }
    if (s->len + n > s->map_len) {
        size_t nl = reserve_for(s->len + n);
        void *m = nl ? mremap(s->map, s->map_len, nl, MREMAP_MAYMOVE) : MAP_FAILED;
        if (m == MAP_FAILED) {
            snprintf(err, errcap, "cannot grow the mapping: %s", nl ? strerror(errno) : "size");
            return KS_EIO;
        }
        s->map = m;
        s->map_len = nl;
        b->p = m;
        b->cap = nl;
    }
    if (write_all(s->fd, d, n, s->len) != 0) {
        /* bytes written before the failure are in the file but not counted: the file may be
         * longer than n, never shorter */
        snprintf(err, errcap, "cannot write: %s", strerror(errno));
        return KS_EIO;
    }
    s->len += n;
    b->n = s->len;
    return KS_OK;
}

void spill_release(fmt_buf *b)
{
    struct fmt_spill *s = b->spill;
    if (!s)
        return;
    unlink_out(s);
    munmap(s->map, s->map_len);
    close(s->fd);
    free(s);
    b->spill = NULL;
    b->p = NULL;
    b->n = b->cap = 0;
}

void spill_drop_pages(spill_list *l)
{
    size_t ps = page_size();
    for (struct fmt_spill *s = l ? l->head : NULL; s; s = s->next) {
        size_t span = (s->len + ps - 1) / ps * ps;
        if (span > s->map_len)
            span = s->map_len;
        if (span)
            madvise(s->map, span, MADV_DONTNEED);   /* shared file pages: contents kept */
    }
}

void spill_list_detach(spill_list *l)
{
    while (l && l->head)
        unlink_out(l->head);
}
