/*
 * archive.c - archives and compressed streams through libarchive: zip (and OOXML/ODF packages),
 * 7z, rar, cab, iso, lzh, tar, gzip, bzip2, xz.
 *
 * Guarding the library:
 *   - only the reader for the detected type is enabled (never support_format_all/filter_all:
 *     some filters run external programs and mtree accepts plain text);
 *   - libarchive reads from memory; every decompressed byte is charged to the sink
 *     (fmt_buf_add), which stops an entry at the object, input or ratio limit, so a bomb costs at
 *     most the bytes up to the limit;
 *   - zips are read from their central directory (the seekable reader), and the central
 *     directory is first checked against the local headers here: a missing or different local
 *     header is a parse-error note, overlapping entries (a "non-recursive" zip bomb) stop the
 *     zip's extraction;
 *   - encrypted entries are retried with each password harvested from the input's text; a note
 *     says which one opened them, or that none did.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#define CHUNK (64u << 10)
#define MAX_ENTRIES 200000     /* headers walked per archive (directories included) */
#define MAX_CD_CHECK 65536     /* central-directory entries checked for overlaps */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct range {
    uint64_t s, e;
} range;

static int cmp_range(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Check the central directory against the local headers. Returns 1 when the zip must not be
 * extracted (overlapping entries), 0 otherwise (notes on problems). */
static int zip_check(fmt_sink *k, const uint8_t *d, size_t n)
{
    if (n < 22)
        return 0;
    size_t lo = n > 65557 ? n - 65557 : 0;
    size_t eocd = (size_t)-1;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (d[i] == 'P' && rd32(d + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == (size_t)-1) {
        fmt_note(k, "parse-error: zip: no central directory");
        return 0;
    }
    uint32_t count = rd16(d + eocd + 10);
    uint32_t cdsize = rd32(d + eocd + 12), cdoff = rd32(d + eocd + 16);
    if (cdoff == 0xFFFFFFFFu || count == 0xFFFF)
        return 0;   /* zip64: left to libarchive */
    if ((uint64_t)cdoff + cdsize > n) {
        fmt_note(k, "parse-error: zip: central directory out of bounds");
        return 0;
    }
    range *r = calloc(count < MAX_CD_CHECK ? count + 1 : MAX_CD_CHECK, sizeof *r);
    if (!r)
        return 0;
    size_t nr = 0, p = cdoff;
    int bad_local = 0;
    for (uint32_t i = 0; i < count && nr < MAX_CD_CHECK; i++) {
        if (p + 46 > n || rd32(d + p) != 0x02014b50) {
            fmt_note(k, "parse-error: zip: central directory truncated at entry %u", i);
            break;
        }
        uint32_t csize = rd32(d + p + 20);
        uint16_t nl = rd16(d + p + 28), xl = rd16(d + p + 30), cl = rd16(d + p + 32);
        uint32_t loff = rd32(d + p + 42);
        const uint8_t *name = d + p + 46;
        if (p + 46 + nl > n)
            break;
        if (loff != 0xFFFFFFFFu && csize != 0xFFFFFFFFu) {
            if ((uint64_t)loff + 30 > n || rd32(d + loff) != 0x04034b50) {
                bad_local++;
            } else {
                uint16_t lnl = rd16(d + loff + 26), lxl = rd16(d + loff + 28);
                if (lnl != nl || (uint64_t)loff + 30 + lnl > n ||
                    memcmp(d + loff + 30, name, nl) != 0)
                    bad_local++;
                r[nr].s = loff;
                r[nr].e = (uint64_t)loff + 30 + lnl + lxl + csize;
                nr++;
            }
        }
        p += 46u + nl + xl + cl;
    }
    if (bad_local)
        fmt_note(k, "parse-error: zip: %d local header(s) missing or not matching the central "
                    "directory", bad_local);
    qsort(r, nr, sizeof *r, cmp_range);
    int overlap = 0;
    for (size_t i = 1; i < nr; i++)
        if (r[i].s < r[i - 1].e)
            overlap = 1;
    free(r);
    if (overlap) {
        fmt_note(k, "parse-error: zip: overlapping entries (zip bomb), not extracted");
        return 1;
    }
    return 0;
}

static struct archive *open_archive(const char *type, const uint8_t *d, size_t n, const char *pw)
{
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    int r = ARCHIVE_OK;
    if (!strcmp(type, "zip") || !strcmp(type, "ooxml") || !strcmp(type, "odf"))
        r = archive_read_support_format_zip_seekable(a);
    else if (!strcmp(type, "7z"))
        r = archive_read_support_format_7zip(a);
    else if (!strcmp(type, "rar")) {
        r = archive_read_support_format_rar(a);
        if (r == ARCHIVE_OK)
            r = archive_read_support_format_rar5(a);
    } else if (!strcmp(type, "cab"))
        r = archive_read_support_format_cab(a);
    else if (!strcmp(type, "iso"))
        r = archive_read_support_format_iso9660(a);
    else if (!strcmp(type, "lzh"))
        r = archive_read_support_format_lha(a);
    else if (!strcmp(type, "tar"))
        r = archive_read_support_format_tar(a);
    else if (!strcmp(type, "gzip") || !strcmp(type, "bzip2") || !strcmp(type, "xz")) {
        r = !strcmp(type, "gzip")    ? archive_read_support_filter_gzip(a)
            : !strcmp(type, "bzip2") ? archive_read_support_filter_bzip2(a)
                                     : archive_read_support_filter_xz(a);
        if (r == ARCHIVE_OK)
            r = archive_read_support_format_raw(a);
    } else
        r = ARCHIVE_FATAL;
    if (r == ARCHIVE_OK && pw)
        r = archive_read_add_passphrase(a, pw);
    if (r != ARCHIVE_OK || archive_read_open_memory(a, d, n) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Name of the single member of a compressed stream: the parent's name without its suffix. */
static void raw_name(const char *type, const char *parent, char *out, size_t cap)
{
    const char *sl = strrchr(parent, '/');
    const char *base = sl ? sl + 1 : parent;
    snprintf(out, cap, "%s", base);
    char *dot = strrchr(out, '.');
    static const char *const sfx[] = {".gz", ".tgz", ".bz2", ".tbz", ".xz", ".txz", ".z", NULL};
    if (dot)
        for (int i = 0; sfx[i]; i++)
            if (strcasecmp(dot, sfx[i]) == 0) {
                int tar = dot[1] == 't' || dot[1] == 'T';
                *dot = 0;
                if (tar && strlen(out) + 5 < cap)
                    strcat(out, ".tar");
                return;
            }
    if (!*out || !dot)
        snprintf(out, cap, "%s", !strcmp(type, "gzip") ? "data" : "data");
}

/* Read the current entry into b. Returns KS_OK, KS_ELIMIT (limit noted), KS_EFORMAT (read
 * error; *err set), FMT_STOP or KS_ENOMEM. */
static int read_entry(fmt_sink *k, struct archive *a, size_t n, fmt_buf *b, const char **err)
{
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk)
        return KS_ENOMEM;
    int rc = KS_OK;
    for (;;) {
        if (fmt_stopped(k)) {
            rc = FMT_STOP;
            break;
        }
        la_ssize_t r = archive_read_data(a, chunk, CHUNK);
        if (r == 0)
            break;
        if (r < 0) {
            if (r == ARCHIVE_WARN)
                continue;
            *err = archive_error_string(a);
            rc = KS_EFORMAT;
            break;
        }
        rc = fmt_buf_add(k, b, chunk, (size_t)r, n);
        if (rc != KS_OK)
            break;
    }
    free(chunk);
    return rc;
}

/* One pass over the archive. pass 0: emit clear entries, count encrypted ones (*nenc).
 * pass 1 (pw set): emit encrypted entries only; *opened = 1 when one read fully. */
static int walk(fmt_sink *k, const char *type, const char *pname, const uint8_t *d, size_t n,
                const char *pw, int *nenc, int *opened)
{
    struct archive *a = open_archive(type, d, n, pw);
    if (!a) {
        if (!pw)
            fmt_note(k, "parse-error: %s: not readable", type);
        return KS_OK;
    }
    int raw = !strcmp(type, "gzip") || !strcmp(type, "bzip2") || !strcmp(type, "xz");
    int rc = KS_OK, retries = 0;
    for (int i = 0; i < MAX_ENTRIES; i++) {
        if (fmt_stopped(k)) {
            rc = FMT_STOP;
            break;
        }
        struct archive_entry *e = NULL;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_RETRY && retries++ < 10)
            continue;
        if (r < ARCHIVE_WARN || !e) {
            if (!pw)
                fmt_note(k, "parse-error: %s: %s", type,
                         archive_error_string(a) ? archive_error_string(a) : "bad header");
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG && !raw)
            continue;
        int enc = archive_entry_is_data_encrypted(e) || archive_entry_is_encrypted(e);
        if (!pw && enc) {
            (*nenc)++;
            continue;
        }
        if (pw && !enc)
            continue;
        char name[1024];
        const char *pn = archive_entry_pathname_utf8(e);
        if (!pn)
            pn = archive_entry_pathname(e);
        if (raw)
            raw_name(type, pname, name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", pn && *pn ? pn : "(unnamed)");
        fmt_buf b = {0};
        const char *err = NULL;
        rc = read_entry(k, a, n, &b, &err);
        if (rc == KS_EFORMAT) {
            if (pw) {   /* wrong password (or broken data): try the next one */
                fmt_buf_free(&b);
                rc = KS_OK;
                break;
            }
            fmt_note(k, "parse-error: %s: %s: %s", type, name, err ? err : "read error");
            rc = KS_OK;   /* scan what was recovered */
        } else if (rc == KS_ELIMIT) {
            fmt_buf_free(&b);
            rc = KS_OK;
            continue;     /* skipped: a bomb or too big; siblings go on */
        } else if (rc != KS_OK) {
            fmt_buf_free(&b);
            break;
        }
        if (pw)
            *opened = 1;
        /* the label is the entry's path; the file name is its base name */
        const char *sl = strrchr(name, '/');
        rc = fmt_emit(k, name, sl && sl[1] ? sl + 1 : name, b.p, b.n);
        fmt_buf_free(&b);
        if (rc != KS_OK)
            break;
    }
    archive_read_free(a);
    return rc;
}

int fmt_archive_extract(fmt_sink *k, const char *type, const char *name, const uint8_t *d,
                        size_t n)
{
    if ((!strcmp(type, "zip") || !strcmp(type, "ooxml") || !strcmp(type, "odf")) &&
        zip_check(k, d, n))
        return KS_OK;
    int nenc = 0, opened = 0;
    int rc = walk(k, type, name, d, n, NULL, &nenc, &opened);
    if (rc != KS_OK || nenc == 0)
        return rc;
    const char *const *pw = NULL;
    int npw = fmt_passwords(k, &pw);
    for (int i = 0; i < npw && !opened; i++) {
        rc = walk(k, type, name, d, n, pw[i], &nenc, &opened);
        if (rc != KS_OK)
            return rc;
        if (opened)
            fmt_note(k, "password: \"%s\" opened %d encrypted entr%s", pw[i], nenc,
                     nenc == 1 ? "y" : "ies");
    }
    if (!opened)
        fmt_note(k, "password: %d encrypted entr%s not opened (%d candidate%s tried)", nenc,
                 nenc == 1 ? "y" : "ies", npw, npw == 1 ? "" : "s");
    return KS_OK;
}
