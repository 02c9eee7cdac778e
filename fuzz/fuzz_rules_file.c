/*
 * fuzz_rules_file.c - libFuzzer harness for the compiled-rules loader (ks_rules_load_opts, the
 * format of src/rules/rules.c, read through src/core/ser.c).
 *
 * Contract: an input is one of two things.
 *
 *  1. Raw mode, the input starts with "KENS": it is a compiled-rules file (the seeds are files
 *     written by `kensa compile`). It is loaded with KS_LOAD_REBUILD and with flags 0.
 *
 *  2. Structured mode, anything else (including inputs shorter than 4 bytes):
 *       byte 0       control (below)
 *       bytes 1..    rule source, up to the first NUL byte (or the end of the input)
 *       after NUL    mutations, 4 bytes each (at most 64): 24-bit little-endian position,
 *                    then a byte XORed into the file at that position (0 XORs 0xFF)
 *     The source is compiled (ks_compiler_add_string, externals of rh_compile in
 *     rules_harness.h) and saved with ks_rules_save; the saved bytes are
 *     mutated and loaded with flags 0 and with KS_LOAD_REBUILD. A position is taken modulo
 *     the size of the region the control byte selects (bits 0-1):
 *       0  the run-time section's fields: every u32 scalar and the items of every array in it
 *          except the two Vectorscan databases (never the array headers or the version
 *          strings, so the section keeps its layout)
 *       1  the items of the tables (not their headers)
 *       2  the whole file
 *       3  regions 0 and 1 together
 *     bit 2 recomputes the tables' CRC-32 after mutating, bit 3 the run-time section's (so that
 *     validate(), strings_check, needs_check and pf_read see the mutated values instead of the
 *     digest mismatch). With no mutation the saved file must load (not KS_EFORMAT) and, with
 *     flags 0, use its stored run-time section: otherwise the harness aborts.
 *
 * Whatever loads is scanned once (a short fixed buffer: "MZ", text, wide text) with every
 * match read back, then destroyed.
 *
 * Vectorscan is not the target: its bytecode cannot be validated (rules.c, include/kensa.h),
 * so a file whose run-time section has an intact CRC but whose Vectorscan database bytes
 * differ from genuine ones is never loaded with flags 0 (hs_deserialize_database would get
 * crafted bytes). Genuine bytes are those kensa wrote: in structured mode the saved file before
 * mutation; in raw mode the input's rules loaded with KS_LOAD_REBUILD and saved again (saving
 * rebuilt rules writes the same bytes: tests/unit/test_rules_file.c). A damaged CRC is the
 * common case (libFuzzer can repair a CRC stored in the input through its comparison tracing,
 * hence the check) and makes the loader rebuild the section from the tables.
 *
 * The file lives in a memfd (/proc/self/fd/N; an unlinked tmpfile() when memfd_create fails),
 * one per process, rewritten for each input. Any crash, sanitizer report, leak or abort is a
 * bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kensa.h"
#include "rules_harness.h"

static const uint8_t scan_data[] =
    "MZ\x90\x00\x03\x00 This program cannot be run in DOS mode.\r\n"
    "abc hello world HELLO h\x00""e\x00l\x00l\x00o\x00 c2VjcmV0 \x01\x02\xff 1234";

#define NTABLES 11          /* TABLES() in rules.c */
#define MAX_OPS 64

/* ------------------------------------------------------------------ files */

typedef struct {
    int fd;
    FILE *tmp;              /* the tmpfile() fallback, kept open for the process's life */
    char path[64];
} mfile;

static mfile f_in, f_out;   /* the file loaded; what ks_rules_save writes */

static int mfile_open(mfile *m, const char *name)
{
    if (m->path[0])
        return 0;
    m->fd = memfd_create(name, 0);
    if (m->fd < 0) {
        m->tmp = tmpfile();
        if (!m->tmp)
            return -1;
        m->fd = fileno(m->tmp);
    }
    snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
    return 0;
}

static int mfile_write(mfile *m, const uint8_t *b, size_t n)
{
    if (ftruncate(m->fd, 0) != 0)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(m->fd, b + done, n - done, (off_t)done);
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

/* The whole file (malloc'd), or NULL. */
static uint8_t *mfile_read(mfile *m, size_t *n)
{
    struct stat st;
    if (fstat(m->fd, &st) != 0 || st.st_size <= 0)
        return NULL;
    *n = (size_t)st.st_size;
    uint8_t *b = malloc(*n);
    size_t done = 0;
    while (b && done < *n) {
        ssize_t k = pread(m->fd, b + done, *n - done, (off_t)done);
        if (k <= 0) {
            free(b);
            return NULL;
        }
        done += (size_t)k;
    }
    return b;
}

/* ------------------------------------------------------------------ layout */

typedef struct {
    size_t off, len;
} span;

/* Where things are in a compiled-rules file (the format comment at the top of rules.c). */
typedef struct {
    span tab[NTABLES];      /* items of each table */
    size_t sum1;            /* the tables' CRC (of bytes [0, sum1)) */
    size_t rt, rt_end;      /* run-time section; its CRC at rt_end */
    span fld[48];           /* run-time fields: u32 scalars and non-Vectorscan array items */
    int nfld;
    span vs[4];             /* the Vectorscan databases (regex, literal, gated regex, ungated
                               literal) */
    int tables_ok, rt_ok;   /* walked to the tables' CRC / the section's end */
} layout;

static int get_u32(const uint8_t *b, size_t n, size_t *pos, uint32_t *v)
{
    if (n - *pos < 4)
        return 0;
    memcpy(v, b + *pos, 4);
    *pos += 4;
    return 1;
}

/* An array: u32 item size, u32 count, items. */
static int get_array(const uint8_t *b, size_t n, size_t *pos, span *items)
{
    uint32_t isz, cnt;
    if (!get_u32(b, n, pos, &isz) || !get_u32(b, n, pos, &cnt))
        return 0;
    uint64_t len = (uint64_t)isz * cnt;
    if (len > n - *pos)
        return 0;
    items->off = *pos;
    items->len = (size_t)len;
    *pos += (size_t)len;
    return 1;
}

/* The run-time section as strings_write, pf_write and needs_write lay it out:
 *   u = u32 field, s = string (u32 length, bytes), a = array, V = Vectorscan database */
static const char rt_tokens[] = "uss" "aaaaa" "u" "aaa" "aa" "uuuuu" "a" "VVVV" "aaaaa" "u"
                                "aaaa" "u";

/* A structural walk only (no item size or value checks): wherever the loader's own parse
 * succeeds, this one does too and finds the same positions. */
static void walk(const uint8_t *b, size_t n, layout *L)
{
    memset(L, 0, sizeof *L);
    size_t pos = 16;                    /* magic, version, byte order */
    if (n < pos)
        return;
    for (int i = 0; i < NTABLES; i++)
        if (!get_array(b, n, &pos, &L->tab[i]))
            return;
    uint64_t rt_len;
    if (n - pos < 12)
        return;
    memcpy(&rt_len, b + pos, 8);
    L->sum1 = pos + 8;
    L->rt = pos + 12;
    L->tables_ok = 1;
    if (rt_len > n - L->rt || n - L->rt - rt_len < 4)
        return;
    L->rt_end = L->rt + (size_t)rt_len;
    size_t end = L->rt_end, p = L->rt;
    int nvs = 0;
    for (const char *t = rt_tokens; *t; t++) {
        uint32_t v;
        span s;
        switch (*t) {
        case 'u':
            if (!get_u32(b, end, &p, &v))
                return;
            L->fld[L->nfld++] = (span){p - 4, 4};
            break;
        case 's':
            if (!get_u32(b, end, &p, &v) || v > end - p)
                return;
            p += v;
            break;
        case 'a':
            if (!get_array(b, end, &p, &s))
                return;
            L->fld[L->nfld++] = s;
            break;
        case 'V':
            if (!get_array(b, end, &p, &L->vs[nvs++]))
                return;
            break;
        }
    }
    L->rt_ok = 1;
}

static uint32_t crc(const uint8_t *b, size_t n)
{
    return (uint32_t)crc32(0, b, (uInt)n);
}

static int same_span(const uint8_t *a, span sa, const uint8_t *b, span sb)
{
    return sa.len == sb.len && memcmp(a + sa.off, b + sb.off, sa.len) == 0;
}

/* May file b go to the loader with flags 0? Not if its run-time section would reach
 * hs_deserialize_database (walkable, intact CRC) with Vectorscan bytes other than genuine ones
 * (ref, a file kensa wrote; NULL: none known). */
static int vs_safe(const uint8_t *b, size_t n, const uint8_t *ref, size_t ref_n)
{
    layout L, R;
    walk(b, n, &L);
    if (!L.rt_ok)
        return 1;               /* the loader's parse fails as well: never opened */
    uint32_t stored;
    memcpy(&stored, b + L.rt_end, 4);
    if (crc(b + L.rt, L.rt_end - L.rt) != stored)
        return 1;               /* damaged: dropped and rebuilt */
    if (!ref)
        return 0;
    walk(ref, ref_n, &R);
    return R.rt_ok && same_span(b, L.vs[0], ref, R.vs[0]) && same_span(b, L.vs[1], ref, R.vs[1]) &&
           same_span(b, L.vs[2], ref, R.vs[2]) && same_span(b, L.vs[3], ref, R.vs[3]);
}

/* ------------------------------------------------------------------ load and scan */

/* Load f_in with flags; scan what loads. Returns the load's result; *stored: the stored
 * run-time section was used. */
static int load(unsigned flags, int *stored)
{
    ks_rules *r = NULL;
    int rc = ks_rules_load_opts(f_in.path, flags, &r);
    if (rc == KS_OK) {
        ks_stats st;
        ks_rules_stats(r, &st);
        if (stored)
            *stored = st.loaded_prefilter != 0;
        rh_exercise(r, scan_data, sizeof scan_data - 1, 0);
        ks_rules_destroy(r);
    }
    return rc;
}

/* ------------------------------------------------------------------ modes */

static void raw_mode(const uint8_t *data, size_t size)
{
    if (mfile_write(&f_in, data, size) != 0)
        return;
    /* KS_LOAD_REBUILD first: its rules, saved again, give the genuine Vectorscan bytes */
    uint8_t *ref = NULL;
    size_t ref_n = 0;
    ks_rules *r = NULL;
    if (ks_rules_load_opts(f_in.path, KS_LOAD_REBUILD, &r) == KS_OK) {
        rh_exercise(r, scan_data, sizeof scan_data - 1, 0);
        if (ks_rules_save(r, f_out.path) == KS_OK)
            ref = mfile_read(&f_out, &ref_n);
        ks_rules_destroy(r);
    }
    if (vs_safe(data, size, ref, ref_n))
        load(0, NULL);
    free(ref);
}

static void add_spans(span *out, int *n, const span *s, int k)
{
    for (int i = 0; i < k; i++)
        if (s[i].len)
            out[(*n)++] = s[i];
}

static void structured_mode(const uint8_t *data, size_t size)
{
    unsigned ctl = size ? data[0] : 0;
    const uint8_t *src = size ? data + 1 : data;
    size_t rest = size ? size - 1 : 0;
    const uint8_t *nul = memchr(src, 0, rest);
    size_t src_len = nul ? (size_t)(nul - src) : rest;
    const uint8_t *ops = nul ? nul + 1 : src + rest;
    size_t nops = (size_t)(src + rest - ops) / 4;
    if (nops > MAX_OPS)
        nops = MAX_OPS;

    ks_rules *r = rh_compile(src, src_len);
    if (!r)
        return;
    int rc = ks_rules_save(r, f_out.path);
    ks_rules_destroy(r);
    if (rc != KS_OK)
        return;
    size_t n = 0;
    uint8_t *orig = mfile_read(&f_out, &n);
    if (!orig)
        return;
    layout L;
    walk(orig, n, &L);
    if (!L.rt_ok || L.rt_end + 4 != n) {
        fprintf(stderr, "fuzz_rules_file: a file ks_rules_save wrote does not walk\n");
        abort();
    }

    uint8_t *b = malloc(n);
    if (!b) {
        free(orig);
        return;
    }
    memcpy(b, orig, n);
    span reg[NTABLES + 48 + 1];
    int nreg = 0;
    switch (ctl & 3) {
    case 0: add_spans(reg, &nreg, L.fld, L.nfld); break;
    case 1: add_spans(reg, &nreg, L.tab, NTABLES); break;
    case 2: reg[nreg++] = (span){0, n}; break;
    default:
        add_spans(reg, &nreg, L.fld, L.nfld);
        add_spans(reg, &nreg, L.tab, NTABLES);
        break;
    }
    size_t total = 0;
    for (int i = 0; i < nreg; i++)
        total += reg[i].len;
    for (size_t k = 0; k < nops && total; k++) {
        const uint8_t *o = ops + 4 * k;
        size_t pos = ((size_t)o[0] | (size_t)o[1] << 8 | (size_t)o[2] << 16) % total;
        int i = 0;
        while (pos >= reg[i].len)
            pos -= reg[i++].len;
        b[reg[i].off + pos] ^= o[3] ? o[3] : 0xFF;
    }
    if (ctl & 4) {
        uint32_t s = crc(b, L.sum1);
        memcpy(b + L.sum1, &s, 4);
    }
    if (ctl & 8) {
        uint32_t s = crc(b + L.rt, L.rt_end - L.rt);
        memcpy(b + L.rt_end, &s, 4);
    }

    if (mfile_write(&f_in, b, n) == 0) {
        int pristine = memcmp(b, orig, n) == 0, stored = 0;
        if (vs_safe(b, n, orig, n)) {
            rc = load(0, &stored);
            if (pristine && (rc == KS_EFORMAT || (rc == KS_OK && !stored))) {
                fprintf(stderr, "fuzz_rules_file: a saved file: load rc %d, stored section %d\n",
                        rc, stored);
                abort();
            }
        }
        rc = load(KS_LOAD_REBUILD, NULL);
        if (pristine && rc == KS_EFORMAT) {
            fprintf(stderr, "fuzz_rules_file: a saved file refused with KS_LOAD_REBUILD\n");
            abort();
        }
    }
    free(b);
    free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mfile_open(&f_in, "ks-rules-in") != 0 || mfile_open(&f_out, "ks-rules-out") != 0)
        return 0;
    if (size >= 4 && memcmp(data, "KENS", 4) == 0)
        raw_mode(data, size);
    else
        structured_mode(data, size);
    return 0;
}
