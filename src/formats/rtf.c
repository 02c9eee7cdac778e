/*
 * rtf.c - RTF \object extraction: every \objdata destination is decoded from hex to bytes and, when
 * it is an OLE 1.0 embedded object (MS-OLEDS 2.2.4 ObjectHeader + native data), its native data
 * is emitted (for class "Package", the packaged file inside it), else the decoded bytes.
 *
 *   ... {\object\objemb {\*\objclass Word.Document.8}{\*\objdata 01050000 02000000 ...}} ...
 *        -> "object 1/Word.Document.8"            (the OLE2 document; ole2.c opens it)
 *        -> "object 1/Package/<file name>"         (an OLE1 Package's payload)
 *        -> "object 1"                              (anything else: the decoded bytes)
 *
 * Hostile input: \objdata is looked for as a control word anywhere (not only inside \object);
 * the hex decoder skips whitespace, control words (\'xx included), ignorable groups {\* ...},
 * and non-hex bytes, copies the raw bytes of \bin N (N bounded by the input), and ends at the
 * brace closing the \objdata group. Decoded bytes are charged (fmt_buf_add); an odd trailing
 * nibble is dropped. At most MAX_OBJECTS \objdata groups per document.
 */
#include <stdio.h>
#include <string.h>

#include "formats/formats.h"

#define MAX_OBJECTS 1000
#define MAX_SKIP_DEPTH 10000   /* nesting of an ignorable group we skip over */

static int is_alpha(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* At d[i] == '\\': parse a control word; sets *word, *wl (letters), *param (-1 if none, capped) and
 * returns the index after it (and after its space delimiter). Control symbols (\x) have wl 0. */
static size_t ctl_word(const uint8_t *d, size_t n, size_t i, const uint8_t **word, size_t *wl,
                       long *param)
{
    size_t j = i + 1;
    *word = d + j;
    *wl = 0;
    *param = -1;
    if (j >= n)
        return n;
    if (!is_alpha(d[j])) {
        if (d[j] == '\'')   /* \'xx */
            return j + 3 <= n ? j + 3 : n;
        return j + 1;
    }
    while (j < n && is_alpha(d[j]) && *wl < 64)
        j++, (*wl)++;
    while (j < n && is_alpha(d[j]))   /* absurdly long word: skip the rest */
        j++;
    int neg = 0;
    if (j < n && d[j] == '-')
        neg = 1, j++;
    if (j < n && is_digit(d[j])) {
        long v = 0;
        while (j < n && is_digit(d[j])) {
            if (v < 1000000000L)
                v = v * 10 + (d[j] - '0');
            j++;
        }
        *param = neg ? 0 : v;
    }
    if (j < n && d[j] == ' ')
        j++;
    return j;
}

/* Skip a group starting at d[i] == '{'; returns the index after its closing brace (or n). */
static size_t skip_group(const uint8_t *d, size_t n, size_t i)
{
    size_t depth = 0;
    for (; i < n; i++) {
        if (d[i] == '\\') {
            const uint8_t *w;
            size_t wl;
            long p;
            size_t j = ctl_word(d, n, i, &w, &wl, &p);
            if (wl == 3 && memcmp(w, "bin", 3) == 0 && p > 0)
                j = (size_t)p > n - j ? n : j + (size_t)p;
            i = j - 1;
        } else if (d[i] == '{') {
            if (++depth > MAX_SKIP_DEPTH)
                return n;
        } else if (d[i] == '}') {
            if (depth <= 1)
                return i + 1;
            depth--;
        }
    }
    return n;
}

/* Decode the hex data of the \objdata group starting at d[i]; returns the index where the group
 * ends. Appends to out; *rc gets the fmt_buf_add error if any. */
static size_t decode_objdata(fmt_sink *k, const uint8_t *d, size_t n, size_t i, fmt_buf *out,
                             int *rc)
{
    uint8_t chunk[4096];
    size_t cn = 0;
    int hi = -1;
    size_t depth = 0;
    *rc = KS_OK;
#define PUT(b)                                                        \
    do {                                                              \
        chunk[cn++] = (uint8_t)(b);                                   \
        if (cn == sizeof chunk) {                                     \
            if ((*rc = fmt_buf_add(k, out, chunk, cn, n)) != KS_OK)   \
                return i;                                             \
            cn = 0;                                                   \
        }                                                             \
    } while (0)
    while (i < n) {
        uint8_t c = d[i];
        if (c == '}') {
            if (depth == 0)
                break;
            depth--;
            i++;
        } else if (c == '{') {
            if (i + 2 < n && d[i + 1] == '\\' && d[i + 2] == '*') {
                i = skip_group(d, n, i);
            } else {
                if (depth < MAX_SKIP_DEPTH)
                    depth++;
                i++;
            }
        } else if (c == '\\') {
            const uint8_t *w;
            size_t wl;
            long p;
            size_t j = ctl_word(d, n, i, &w, &wl, &p);
            if (wl == 3 && memcmp(w, "bin", 3) == 0 && p > 0) {
                size_t m = (size_t)p > n - j ? n - j : (size_t)p;
                for (size_t q = 0; q < m; q++)
                    PUT(d[j + q]);
                j += m;
                hi = -1;
            }
            i = j;
        } else {
            int v = fmt_hexval(c);
            if (v >= 0) {
                if (hi < 0) {
                    hi = v;
                } else {
                    PUT(hi << 4 | v);
                    hi = -1;
                }
            }
            i++;
        }
    }
    if (cn)
        *rc = fmt_buf_add(k, out, chunk, cn, n);
#undef PUT
    return i;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* LengthPrefixedAnsiString at d[*i]: copies up to cap-1 bytes into s; returns 0 if malformed. */
static int lpstr(const uint8_t *d, size_t n, size_t *i, char *s, size_t cap)
{
    if (*i + 4 > n)
        return 0;
    uint32_t l = rd32(d + *i);
    *i += 4;
    if (l > n - *i)
        return 0;
    size_t c = l < cap - 1 ? l : cap - 1;
    memcpy(s, d + *i, c);
    s[c] = 0;
    s[strnlen(s, c)] = 0;
    *i += l;
    return 1;
}

/* OLE1 Package native data: u16, label\0, source path\0, u32, u32, temp path\0, u32 n, data. */
static int emit_package(fmt_sink *k, int no, const uint8_t *d, size_t n)
{
    size_t i = 2;
    const char *strs[3] = {0};
    for (int s = 0; s < 3; s++) {
        if (s == 2)
            i += 8;
        if (i >= n)
            return -1;
        const uint8_t *z = memchr(d + i, 0, n - i);
        if (!z)
            return -1;
        strs[s] = (const char *)d + i;
        i = (size_t)(z - d) + 1;
    }
    if (i + 4 > n)
        return -1;
    uint32_t len = rd32(d + i);
    i += 4;
    if (len > n - i) {
        fmt_note(k, "parse-error: rtf: object %d: package payload truncated", no);
        len = (uint32_t)(n - i);
    }
    const char *fname = *strs[1] ? strs[1] : strs[0];
    const char *b = strrchr(fname, '\\');
    if (b)
        fname = b + 1;
    char label[300];
    snprintf(label, sizeof label, "object %d/Package/%.250s", no, fname);
    return fmt_emit(k, label, fname, d + i, len);
}

/* Emit one decoded \objdata: OLE1 embedded object's native data, else the bytes. */
static int emit_object(fmt_sink *k, int no, const uint8_t *d, size_t n)
{
    char cls[128], topic[8], item[8], label[200];
    size_t i = 8;
    if (n >= 12 && rd32(d + 4) == 2 && lpstr(d, n, &i, cls, sizeof cls) &&
        lpstr(d, n, &i, topic, sizeof topic) && lpstr(d, n, &i, item, sizeof item) &&
        i + 4 <= n) {
        uint32_t len = rd32(d + i);
        i += 4;
        if (len > n - i) {
            fmt_note(k, "parse-error: rtf: object %d: native data truncated", no);
            len = (uint32_t)(n - i);
        }
        if (strcmp(cls, "Package") == 0) {
            int rc = emit_package(k, no, d + i, len);
            if (rc != -1)
                return rc;
        }
        for (char *c = cls; *c; c++)
            if (*c == '/' || *c == '>')
                *c = '_';
        snprintf(label, sizeof label, "object %d/%s", no, *cls ? cls : "native");
        return fmt_emit(k, label, "", d + i, len);
    }
    snprintf(label, sizeof label, "object %d", no);
    return fmt_emit(k, label, "", d, n);
}

int fmt_rtf_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    int no = 0;
    size_t i = 0;
    int frc = fmt_dde_rtf(k, d, n);   /* {\field{\*\fldinst DDEAUTO ...}} (dde.c) */
    if (frc != KS_OK)
        return frc;
    while (i < n && no < MAX_OBJECTS) {
        if (fmt_stopped(k))
            return FMT_STOP;
        const uint8_t *p = memchr(d + i, '\\', n - i);
        if (!p)
            break;
        i = (size_t)(p - d);
        const uint8_t *w;
        size_t wl;
        long prm;
        size_t j = ctl_word(d, n, i, &w, &wl, &prm);
        if (!(wl == 7 && memcmp(w, "objdata", 7) == 0)) {
            i = j > i + 1 ? j : i + 1;
            continue;
        }
        fmt_buf b = {0};
        int rc = KS_OK;
        i = decode_objdata(k, d, n, j, &b, &rc);
        no++;
        if (rc == KS_ENOMEM) {
            fmt_buf_free(&b);
            return rc;
        }
        if (b.n > 0)
            rc = emit_object(k, no, b.p, b.n);
        else
            rc = KS_OK;
        fmt_buf_free(&b);
        if (rc != KS_OK)
            return rc;
    }
    if (no >= MAX_OBJECTS)
        fmt_note(k, "limit: rtf objects");
    return KS_OK;
}
