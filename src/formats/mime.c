/*
 * mime.c - RFC 5322 / MIME messages and mbox files, taken apart into their leaf parts.
 *
 * A message is an entity: header fields, an empty line, a body. A multipart body is split at
 * its boundary lines into entities, recursively (at most fmt_max_nesting() levels); every other
 * body is a leaf, decoded (base64, quoted-printable, uuencode) and emitted as a child object
 * labelled "[N] filename" (N counts the leaves of the message, 1-based; without a file name the
 * declared type is shown: "[1] text/plain"). Attached messages (message/rfc822) are leaves too:
 * the walker detects them as mail and comes back here one level deeper. uuencoded blocks inside
 * text leaves are further children ("[N] name").
 *
 * Written by hand rather than with GMime: GMime parses the whole message into a tree in memory
 * and GLib aborts on allocation failure, while kensa needs the opposite (one part at a time,
 * every size capped, a failed allocation is an error value). The parser is lenient as mail
 * clients are: header names are case-insensitive, LF or CRLF line ends, folded lines, RFC 2047
 * encoded words and RFC 2231 parameters (continuations, charsets), missing closing boundaries
 * (the last part runs to the end), a missing or wrong boundary parameter (guessed from the
 * body's first "--" line), truncated base64 (what decodes is kept, with a note).
 *
 * All reads go through explicit (pointer, length) pairs; every loop is bounded by its input.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#define MAX_HEADER_BYTES (256u << 10)   /* header block examined per entity */
#define MAX_FIELD 8192                  /* bytes kept of one unfolded field */
#define MAX_NAME 512                    /* bytes kept of a decoded file name */
#define HARVEST_IN (1u << 20)           /* bytes of a text part converted for the harvester */
#define HARVEST_OUT (1u << 20)          /* UTF-8 bytes produced from them, at most */

typedef struct mime {
    fmt_sink *k;
    size_t msg_len;          /* size of the whole message (ratio limit denominator) */
    int leaf;                /* leaves emitted so far */
    int noted_b64;
} mime;

typedef struct hdrs {
    char ctype[MAX_FIELD];   /* unfolded values ("" if absent) */
    char cte[256];
    char cdisp[MAX_FIELD];
    int have_ctype;
} hdrs;

/* ------------------------------------------------------------------ small helpers */

static int ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Convert `in` from `charset` to UTF-8 into out (cap bytes incl. NUL). Unknown charsets and
 * conversion errors keep the bytes as they are. */
static void to_utf8(const char *charset, const char *in, size_t inl, char *out, size_t cap)
{
    size_t w = 0;
    if (cap == 0)
        return;
    if (charset && *charset && !ieq_n(charset, "utf-8", 6) && !ieq_n(charset, "us-ascii", 9)) {
        iconv_t cd = iconv_open("UTF-8", charset);
        if (cd != (iconv_t)-1) {
            char *ip = (char *)in, *op = out;
            size_t il = inl, ol = cap - 1;
            size_t r = iconv(cd, &ip, &il, &op, &ol);
            iconv_close(cd);
            if (r != (size_t)-1 || il == 0) {
                *op = 0;
                return;
            }
        }
    }
    for (size_t i = 0; i < inl && w + 1 < cap; i++)
        out[w++] = in[i];
    out[w] = 0;
}

/* RFC 2047: decode every =?charset?B|Q?text?= in s (NUL-terminated) into out (UTF-8). White
 * space between two encoded words is dropped. */
static void decode_2047(const char *s, char *out, size_t cap)
{
    size_t w = 0;
    int last_encoded = 0;
    size_t pending_ws = 0;   /* start of white space after an encoded word */
    const char *p = s;
    if (cap == 0)
        return;
    while (*p && w + 1 < cap) {
        if (p[0] == '=' && p[1] == '?') {
            const char *cs = p + 2, *q1 = strchr(cs, '?');
            if (q1 && q1[1] && q1[2] == '?') {
                char enc = (char)toupper((unsigned char)q1[1]);
                const char *txt = q1 + 3, *end = strstr(txt, "?=");
                if (end && (enc == 'B' || enc == 'Q') && q1 - cs < 64) {
                    char charset[64];
                    memcpy(charset, cs, (size_t)(q1 - cs));
                    charset[q1 - cs] = 0;
                    char *star = strchr(charset, '*');   /* RFC 2231 language */
                    if (star)
                        *star = 0;
                    char raw[MAX_FIELD];
                    size_t rl = 0;
                    if (enc == 'B') {
                        unsigned acc = 0;
                        int bits = 0;
                        for (const char *t = txt; t < end && rl < sizeof raw; t++) {
                            const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                            const char *f = *t ? strchr(al, *t) : NULL;
                            if (!f)
                                continue;
                            acc = (acc << 6) | (unsigned)(f - al);
                            bits += 6;
                            if (bits >= 8) {
                                bits -= 8;
                                raw[rl++] = (char)((acc >> bits) & 0xFF);
                            }
                        }
                    } else {
                        for (const char *t = txt; t < end && rl < sizeof raw; t++) {
                            if (*t == '_')
                                raw[rl++] = ' ';
                            else if (*t == '=' && t + 2 < end + 1 && fmt_hexval(t[1]) >= 0 &&
                                     fmt_hexval(t[2]) >= 0) {
                                raw[rl++] = (char)(fmt_hexval(t[1]) * 16 + fmt_hexval(t[2]));
                                t += 2;
                            } else
                                raw[rl++] = *t;
                        }
                    }
                    if (last_encoded && pending_ws)
                        w -= pending_ws;   /* drop the white space between encoded words */
                    char conv[MAX_FIELD];
                    to_utf8(charset, raw, rl, conv, sizeof conv);
                    for (size_t i = 0; conv[i] && w + 1 < cap; i++)
                        out[w++] = conv[i];
                    p = end + 2;
                    last_encoded = 1;
                    pending_ws = 0;
                    continue;
                }
            }
        }
        if (*p == ' ' || *p == '\t')
            pending_ws++;
        else {
            pending_ws = 0;
            last_encoded = 0;
        }
        out[w++] = *p++;
    }
    out[w] = 0;
}

/* ------------------------------------------------------------------ headers */

/* Length of the header block (up to and including the empty line); *body gets the body start.
 * A line that is neither a field nor a continuation ends the header block (it starts the body). */
static void split_headers(const uint8_t *d, size_t n, size_t *hend, size_t *body)
{
    size_t i = 0, lim = n < MAX_HEADER_BYTES ? n : MAX_HEADER_BYTES;
    while (i < lim) {
        const uint8_t *nl = memchr(d + i, '\n', n - i);
        size_t le = nl ? (size_t)(nl - d) : n;   /* index of '\n' or end */
        size_t ll = le - i;
        if (ll > 0 && d[le - 1] == '\r')
            ll--;
        if (ll == 0) {   /* the empty line */
            *hend = i;
            *body = nl ? le + 1 : n;
            return;
        }
        if (d[i] != ' ' && d[i] != '\t') {
            size_t j = i;
            while (j < i + ll && d[j] != ':' && d[j] > 32 && d[j] < 127)
                j++;
            if (j == i || j >= i + ll || d[j] != ':') {   /* not a field: the body starts here */
                *hend = i;
                *body = i;
                return;
            }
        }
        i = nl ? le + 1 : n;
    }
    *hend = i;
    *body = i;
}

/* Copy the unfolded value of the field `name` (first occurrence) into out. Returns 1 if found. */
static int get_field(const uint8_t *d, size_t hl, const char *name, char *out, size_t cap)
{
    size_t nl_ = strlen(name), i = 0;
    while (i < hl) {
        const uint8_t *e = memchr(d + i, '\n', hl - i);
        size_t le = e ? (size_t)(e - d) : hl;
        if (le - i > nl_ && d[i + nl_] == ':' && ieq_n((const char *)d + i, name, nl_)) {
            size_t w = 0, j = i + nl_ + 1;
            for (;;) {
                for (; j < le && w + 1 < cap; j++)
                    if (d[j] != '\r')
                        out[w++] = (d[j] == '\t') ? ' ' : (char)d[j];
                j = le + 1;
                if (j < hl && (d[j] == ' ' || d[j] == '\t')) {   /* folded */
                    const uint8_t *e2 = memchr(d + j, '\n', hl - j);
                    le = e2 ? (size_t)(e2 - d) : hl;
                    continue;
                }
                break;
            }
            while (w > 0 && (out[w - 1] == ' ' || out[w - 1] == '\r'))
                w--;
            size_t s = 0;
            while (s < w && out[s] == ' ')
                s++;
            memmove(out, out + s, w - s);
            out[w - s] = 0;
            return 1;
        }
        i = le + 1;
    }
    if (cap)
        out[0] = 0;
    return 0;
}

/* ------------------------------------------------------------------ parameters (RFC 2045/2231) */

/* Find parameter `attr` in a Content-Type / Content-Disposition value; RFC 2231 extended and
 * continued forms win over the plain one. The result is UTF-8 (RFC 2047 words inside a plain
 * value are decoded too, as mail clients do). Returns 1 if found. */
static int get_param(const char *v, const char *attr, char *out, size_t cap)
{
    char plain[MAX_FIELD] = "";
    int have_plain = 0;
    char seg_raw[MAX_FIELD];
    size_t sl = 0;
    char charset[64] = "";
    int have_ext = 0, next_seg = 0;
    size_t al = strlen(attr);

    /* up to 64 passes: continuation segments may come in any order */
    for (int pass = 0; pass < 64; pass++) {
        int found_this_pass = 0;
        const char *p = strchr(v, ';');
        while (p) {
            p++;
            while (*p == ' ' || *p == '\t' || *p == ';')
                p++;
            const char *nm = p;
            while (*p && *p != '=' && *p != ';')
                p++;
            if (*p != '=') {
                if (!*p) break;
                continue;
            }
            const char *ne = p;
            while (ne > nm && ne[-1] == ' ')
                ne--;
            p++;
            while (*p == ' ')
                p++;
            char val[MAX_FIELD];
            size_t vl = 0;
            if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    if (vl + 1 < sizeof val)
                        val[vl++] = *p;
                    p++;
                }
                if (*p == '"')
                    p++;
            } else {
                while (*p && *p != ';') {
                    if (vl + 1 < sizeof val)
                        val[vl++] = *p;
                    p++;
                }
                while (vl > 0 && val[vl - 1] == ' ')
                    vl--;
            }
            val[vl] = 0;
            size_t nl_ = (size_t)(ne - nm);
            if (nl_ < al || !ieq_n(nm, attr, al)) {
                p = strchr(p, ';');
                continue;
            }
            const char *rest = nm + al;
            size_t rl = nl_ - al;
            int idx = -1, ext = 0;
            if (rl == 0) {
                if (pass == 0 && !have_plain) {
                    snprintf(plain, sizeof plain, "%s", val);
                    have_plain = 1;
                }
            } else if (rest[0] == '*') {
                if (rl == 1) {
                    idx = 0;
                    ext = 1;
                } else {
                    idx = 0;
                    size_t q = 1;
                    int dig = 0;
                    while (q < rl && isdigit((unsigned char)rest[q]) && dig < 4) {
                        idx = idx * 10 + (rest[q] - '0');
                        q++;
                        dig++;
                    }
                    if (!dig)
                        idx = -1;
                    if (q < rl && rest[q] == '*')
                        ext = 1, q++;
                    if (q != rl)
                        idx = -1;
                }
            }
            if (idx == next_seg) {
                const char *vv = val;
                if (ext && idx == 0) {   /* charset'language'value */
                    const char *a1 = strchr(val, '\'');
                    const char *a2 = a1 ? strchr(a1 + 1, '\'') : NULL;
                    if (a1 && a2) {
                        size_t cl = (size_t)(a1 - val);
                        if (cl >= sizeof charset)
                            cl = sizeof charset - 1;
                        memcpy(charset, val, cl);
                        charset[cl] = 0;
                        vv = a2 + 1;
                    }
                }
                for (const char *t = vv; *t && sl + 1 < sizeof seg_raw; t++) {
                    if (ext && *t == '%' && fmt_hexval(t[1]) >= 0 && fmt_hexval(t[2]) >= 0) {
                        seg_raw[sl++] = (char)(fmt_hexval(t[1]) * 16 + fmt_hexval(t[2]));
                        t += 2;
                    } else
                        seg_raw[sl++] = *t;
                }
                have_ext = 1;
                next_seg++;
                found_this_pass = 1;
                if (rl == 1)          /* "attr*" alone: no continuations */
                    next_seg = 10000;
            }
            p = strchr(p, ';');
        }
        if (!found_this_pass)
            break;
    }
    if (have_ext) {
        to_utf8(charset, seg_raw, sl, out, cap);
        return 1;
    }
    if (have_plain) {
        decode_2047(plain, out, cap);
        return 1;
    }
    if (cap)
        out[0] = 0;
    return 0;
}

/* ------------------------------------------------------------------ decoders */

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;   /* '-' '_': base64url, seen in the wild */
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Base64, skipping anything outside the alphabet, in pieces: the state carries a partial
 * quantum from one piece to the next. */
typedef struct b64_state {
    unsigned acc;
    int q, pad;
} b64_state;

/* Decode in[0..n) after what *st holds; writes at most n + 3 bytes to out. */
static size_t b64_step(b64_state *st, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '=') {
            st->pad = 1;
            continue;
        }
        int v = b64val(in[i]);
        if (v < 0)
            continue;
        if (st->pad) {      /* data after padding: a new run (concatenated encodings) */
            st->pad = 0;
            st->q = 0;
        }
        st->acc = (st->acc << 6) | (unsigned)v;
        if (++st->q == 4) {
            out[w++] = (uint8_t)(st->acc >> 16);
            out[w++] = (uint8_t)(st->acc >> 8);
            out[w++] = (uint8_t)st->acc;
            st->q = 0;
            st->acc = 0;
        }
    }
    return w;
}

/* The end of the data: the bytes of an unpadded last quantum (at most 2). *truncated = 1 if the
 * data ended mid-quantum without padding. */
static size_t b64_end(const b64_state *st, uint8_t *out, int *truncated)
{
    size_t w = 0;
    if (st->q == 2)
        out[w++] = (uint8_t)(st->acc >> 4);
    else if (st->q == 3) {
        out[w++] = (uint8_t)(st->acc >> 10);
        out[w++] = (uint8_t)(st->acc >> 2);
    }
    *truncated = st->q != 0 && !st->pad;
    return w;
}

static size_t qp_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '=') {
            out[w++] = in[i];
            continue;
        }
        if (i + 2 < n + 0 && fmt_hexval(in[i + 1]) >= 0 && fmt_hexval(in[i + 2]) >= 0) {
            out[w++] = (uint8_t)(fmt_hexval(in[i + 1]) * 16 + fmt_hexval(in[i + 2]));
            i += 2;
            continue;
        }
        /* soft line break: '=' then optional white space then (CR)LF */
        size_t j = i + 1;
        while (j < n && (in[j] == ' ' || in[j] == '\t'))
            j++;
        if (j < n && in[j] == '\r')
            j++;
        if (j < n && in[j] == '\n') {
            i = j;
            continue;
        }
        if (j >= n)
            break;
        out[w++] = '=';
    }
    return w;
}

/* uuencoded lines up to an "end" line (*ended = 1 when one was seen); returns bytes written
 * (at most n). */
static size_t uu_decode(const uint8_t *in, size_t n, uint8_t *out, int *ended)
{
    size_t i = 0, w = 0;
    while (i < n) {
        const uint8_t *nl = memchr(in + i, '\n', n - i);
        size_t le = nl ? (size_t)(nl - in) : n;
        size_t ll = le - i;
        if (ll > 0 && in[le - 1] == '\r')
            ll--;
        if (ll >= 3 && memcmp(in + i, "end", 3) == 0) {
            *ended = 1;
            break;
        }
        if (ll > 0) {
            int cnt = (in[i] - 32) & 63;
            size_t j = i + 1;
            for (int got = 0; got < cnt && j + 1 < i + ll + 1; j += 4) {
                uint8_t c[4];
                for (int q = 0; q < 4; q++)
                    c[q] = (uint8_t)((j + (size_t)q < i + ll ? in[j + (size_t)q] - 32 : 0) & 63);
                uint8_t b[3] = {(uint8_t)(c[0] << 2 | c[1] >> 4), (uint8_t)(c[1] << 4 | c[2] >> 2),
                                (uint8_t)(c[2] << 6 | c[3])};
                for (int q = 0; q < 3 && got < cnt; q++, got++)
                    out[w++] = b[q];
            }
        }
        i = nl ? le + 1 : n;
    }
    return w;
}

/* ------------------------------------------------------------------ passwords in other charsets */

static int is_utf8_or_ascii(const char *cs)
{
    static const char *const same[] = {"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", NULL};
    for (int i = 0; same[i]; i++)
        if (strlen(cs) == strlen(same[i]) && ieq_n(cs, same[i], strlen(cs)))
            return 1;
    return 0;
}

/* Convert in[0..n) from `charset` to UTF-8 into out (cap bytes): invalid sequences are skipped
 * a byte at a time, conversion stops when out is full or the input ends mid-character.
 * Returns the bytes written, or 0 when iconv does not know the charset. */
static size_t iconv_lenient(const char *charset, const uint8_t *in, size_t n, uint8_t *out,
                            size_t cap)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1)
        return 0;
    char *ip = (char *)in, *op = (char *)out;
    size_t il = n, ol = cap;
    while (il > 0 && ol > 0) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno != EILSEQ)
            break;               /* E2BIG: out is full; EINVAL: truncated last character */
        ip++;                    /* skip the offending byte */
        il--;
    }
    iconv(cd, NULL, NULL, &op, &ol);   /* back to the initial shift state (ISO-2022-JP) */
    iconv_close(cd);
    return cap - ol;
}

/* A text part whose Content-Type declares a charset other than UTF-8/ASCII (ISO-2022-JP,
 * Shift_JIS, EUC-JP, UTF-16, ...): its head, converted to UTF-8, is given to the password
 * harvester (fmt_harvest). The part itself is emitted with its original bytes: rules match what
 * was sent. The walker harvests the raw bytes of text objects on its own. */
static void harvest_text(mime *m, const hdrs *h, const char *ctype_lc, const uint8_t *d, size_t n)
{
    char cs[64];
    if (!d || n == 0 || strncmp(ctype_lc, "text/", 5) != 0 ||
        !get_param(h->ctype, "charset", cs, sizeof cs) || !cs[0] || is_utf8_or_ascii(cs))
        return;
    size_t in = n < HARVEST_IN ? n : HARVEST_IN;
    size_t cap = in < HARVEST_OUT / 4 ? in * 4 + 16 : HARVEST_OUT;   /* UTF-8 <= 4x any input */
    uint8_t *u = malloc(cap);
    if (!u)
        return;                  /* the harvest is best effort */
    size_t un = iconv_lenient(cs, d, in, u, cap);
    if (un)
        fmt_harvest(m->k, u, un);
    free(u);
}

/* An RFC 2047 encoded Subject (=?ISO-2022-JP?B?...?=): harvest its decoded UTF-8 text too. */
static void harvest_subject(mime *m, const uint8_t *d, size_t hl)
{
    char *raw = malloc(MAX_FIELD), *dec = malloc(MAX_FIELD);
    if (raw && dec && get_field(d, hl, "subject", raw, MAX_FIELD) && strstr(raw, "=?")) {
        decode_2047(raw, dec, MAX_FIELD);
        fmt_harvest(m->k, (const uint8_t *)dec, strlen(dec));
    }
    free(raw);
    free(dec);
}

/* ------------------------------------------------------------------ decoding a body */

enum { DEC_B64, DEC_QP, DEC_UU };
#define DEC_CHUNK (64u << 10)   /* encoded bytes decoded per step */

/* Decode a body (base64, quoted-printable or uuencoded lines) into `out` a piece at a time, each
 * piece charged and appended with fmt_buf_add(): no block as large as the part is allocated, and
 * a large part moves to a temporary file (see fmt_buf). Quoted-printable and uuencode pieces end
 * at a line end (their escapes never cross one), so the result equals a decode in one go.
 * Returns KS_OK, KS_ELIMIT (noted), KS_ENOMEM or another fmt_buf_add() error; *truncated = 1
 * when base64 ended mid-quantum. */
static int decode_body(mime *m, int kind, const uint8_t *in, size_t n, fmt_buf *out,
                       int *truncated)
{
    uint8_t *stage = NULL;
    size_t scap = 0, i = 0;
    b64_state st = {0, 0, 0};
    int rc = KS_OK, ended = 0;
    *truncated = 0;
    while (i < n && !ended && rc == KS_OK) {
        size_t e = n - i > DEC_CHUNK ? i + DEC_CHUNK : n;
        if (kind != DEC_B64 && e < n) {
            const uint8_t *nl = memchr(in + e - 1, '\n', n - (e - 1));
            e = nl ? (size_t)(nl - in) + 1 : n;
        }
        if (e - i + 8 > scap) {
            uint8_t *ns = realloc(stage, e - i + 8);
            if (!ns) {
                rc = KS_ENOMEM;
                break;
            }
            stage = ns;
            scap = e - i + 8;
        }
        size_t w;
        if (kind == DEC_B64)
            w = b64_step(&st, in + i, e - i, stage);
        else if (kind == DEC_QP)
            w = qp_decode(in + i, e - i, stage);
        else
            w = uu_decode(in + i, e - i, stage, &ended);
        rc = fmt_buf_add(m->k, out, stage, w, 0);
        i = e;
    }
    if (rc == KS_OK && kind == DEC_B64) {
        uint8_t tail[4];
        size_t w = b64_end(&st, tail, truncated);
        rc = fmt_buf_add(m->k, out, tail, w, 0);
    }
    free(stage);
    return rc;
}

/* ------------------------------------------------------------------ leaves */

static int emit_leaf(mime *m, const char *name, const char *ctype, const uint8_t *d, size_t n)
{
    char label[MAX_NAME + 64];
    m->leaf++;
    if (name && *name)
        snprintf(label, sizeof label, "[%d] %s", m->leaf, name);
    else
        snprintf(label, sizeof label, "[%d] %s", m->leaf, ctype && *ctype ? ctype : "text/plain");
    return fmt_emit(m->k, label, name ? name : "", d, n);
}

/* uuencoded files inside a text leaf: "begin 644 name" ... "end". */
static int find_uuencoded(mime *m, const uint8_t *d, size_t n)
{
    size_t i = 0;
    int found = 0;
    while (i + 10 < n && found < 64) {
        const uint8_t *b = NULL;
        /* next line starting with "begin " */
        if (i == 0 && memcmp(d, "begin ", 6) == 0)
            b = d;
        else {
            const uint8_t *p = memmem(d + i, n - i, "\nbegin ", 7);
            if (!p)
                break;
            b = p + 1;
        }
        size_t s = (size_t)(b - d);
        size_t j = s + 6, dig = 0;
        while (j < n && d[j] >= '0' && d[j] <= '7' && dig < 5)
            j++, dig++;
        if (dig < 3 || j >= n || d[j] != ' ') {
            i = s + 6;
            continue;
        }
        j++;
        size_t ns = j;
        while (j < n && d[j] != '\n' && d[j] != '\r' && j - ns < MAX_NAME - 1)
            j++;
        char name[MAX_NAME];
        memcpy(name, d + ns, j - ns);
        name[j - ns] = 0;
        const uint8_t *nl = memchr(d + j, '\n', n - j);
        if (!nl)
            break;
        size_t body = (size_t)(nl - d) + 1;
        const uint8_t *e = memmem(d + body, n - body, "\nend", 4);
        size_t bend = e ? (size_t)(e - d) + 1 : n;
        fmt_buf out = {0};
        int trunc;
        int rc = decode_body(m, DEC_UU, d + body, n - body, &out, &trunc);
        if (rc == KS_OK)
            rc = emit_leaf(m, name, "", out.p, out.n);
        fmt_buf_free(&out);
        if (rc != KS_OK && rc != KS_ELIMIT)
            return rc;
        found++;
        i = bend;
    }
    return KS_OK;
}

static int leaf(mime *m, const hdrs *h, const char *ctype_lc, const uint8_t *body, size_t bl)
{
    char name[MAX_NAME] = "";
    if (!get_param(h->cdisp, "filename", name, sizeof name))
        get_param(h->ctype, "name", name, sizeof name);
    /* keep the base name only, as a mail client saves it */
    char *sl = strrchr(name, '/');
    char *bs = strrchr(name, '\\');
    if (bs && (!sl || bs > sl))
        sl = bs;
    if (sl)
        memmove(name, sl + 1, strlen(sl + 1) + 1);

    const char *cte = h->cte;
    int rc;
    if (ieq_n(cte, "base64", 7) || ieq_n(cte, "quoted-printable", 17) ||
        ieq_n(cte, "x-uuencode", 11) || ieq_n(cte, "x-uue", 6) || ieq_n(cte, "uuencode", 9)) {
        fmt_buf out = {0};
        int trunc = 0;
        if (cte[0] == 'b' || cte[0] == 'B') {
            rc = decode_body(m, DEC_B64, body, bl, &out, &trunc);
            if (rc == KS_OK && trunc && !m->noted_b64) {
                fmt_note(m->k, "parse-error: mime: truncated base64 in part %d", m->leaf + 1);
                m->noted_b64 = 1;
            }
        } else if (cte[0] == 'q' || cte[0] == 'Q') {
            rc = decode_body(m, DEC_QP, body, bl, &out, &trunc);
        } else {
            rc = KS_OK;
            const uint8_t *b = memmem(body, bl, "begin ", 6);
            if (b) {
                const uint8_t *nl = memchr(b, '\n', bl - (size_t)(b - body));
                size_t off = nl ? (size_t)(nl - body) + 1 : bl;
                rc = decode_body(m, DEC_UU, body + off, bl - off, &out, &trunc);
            }
        }
        if (rc != KS_OK) {
            fmt_buf_free(&out);
            return rc == KS_ELIMIT ? KS_OK : rc;   /* a limit is noted; siblings go on */
        }
        harvest_text(m, h, ctype_lc, out.p, out.n);
        rc = emit_leaf(m, name, ctype_lc, out.p ? out.p : (const uint8_t *)"", out.n);
        if (rc == KS_OK && strncmp(ctype_lc, "text/", 5) == 0 && out.n > 10)
            rc = find_uuencoded(m, out.p, out.n);
        fmt_buf_free(&out);
        return rc;
    }
    harvest_text(m, h, ctype_lc, body, bl);
    rc = emit_leaf(m, name, ctype_lc, body, bl);
    if (rc == KS_OK && (ctype_lc[0] == 0 || strncmp(ctype_lc, "text/", 5) == 0))
        rc = find_uuencoded(m, body, bl);
    return rc;
}

/* ------------------------------------------------------------------ multipart */

/* Does line at d[i..] start with "--" boundary? Returns 1 delimiter, 2 close delimiter. */
static int is_delim(const uint8_t *d, size_t n, size_t i, const char *b, size_t bl)
{
    if (i + 2 + bl > n || d[i] != '-' || d[i + 1] != '-' || memcmp(d + i + 2, b, bl) != 0)
        return 0;
    size_t j = i + 2 + bl;
    if (j + 1 < n && d[j] == '-' && d[j + 1] == '-')
        return 2;
    return 1;
}

/* Guess a boundary from the first "--X" line followed by a header-looking line. */
static int guess_boundary(const uint8_t *d, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    for (int tries = 0; i + 3 < n && tries < 1000; tries++) {
        if (d[i] == '-' && d[i + 1] == '-' && d[i + 2] > 32) {
            size_t j = i + 2;
            while (j < n && d[j] > 32 && j - i < 72)
                j++;
            size_t l = j - i - 2;
            if (l >= 1 && l < cap) {
                const uint8_t *nl = memchr(d + j, '\n', n - j);
                if (nl && (size_t)(nl - d) + 1 < n) {
                    size_t k = (size_t)(nl - d) + 1;
                    size_t hl = 0;
                    while (k + hl < n && d[k + hl] != ':' && d[k + hl] > 32 && hl < 76)
                        hl++;
                    if (hl && k + hl < n && d[k + hl] == ':') {
                        memcpy(out, d + i + 2, l);
                        out[l] = 0;
                        return 1;
                    }
                }
            }
        }
        const uint8_t *nl = memchr(d + i, '\n', n - i);
        if (!nl)
            break;
        i = (size_t)(nl - d) + 1;
    }
    return 0;
}

static int entity(mime *m, const uint8_t *d, size_t n, uint32_t nest);

static int multipart(mime *m, const char *boundary, const uint8_t *d, size_t n, uint32_t nest)
{
    size_t bl = strlen(boundary);
    size_t i = 0, part_start = 0;
    int in_part = 0, parts = 0;
    while (i < n) {
        if (fmt_stopped(m->k))
            return FMT_STOP;
        int dl = is_delim(d, n, i, boundary, bl);
        const uint8_t *nl = memchr(d + i, '\n', n - i);
        size_t next = nl ? (size_t)(nl - d) + 1 : n;
        if (dl) {
            if (in_part) {
                size_t e = i;   /* the CRLF before the delimiter belongs to it */
                if (e > part_start && d[e - 1] == '\n')
                    e--;
                if (e > part_start && d[e - 1] == '\r')
                    e--;
                int rc = entity(m, d + part_start, e - part_start, nest + 1);
                if (rc != KS_OK)
                    return rc;
                parts++;
            }
            if (dl == 2)
                return KS_OK;   /* the epilogue is ignored */
            in_part = 1;
            part_start = next;
        }
        i = next;
    }
    if (in_part) {
        fmt_note(m->k, "parse-error: mime: missing closing boundary");
        if (part_start < n)
            return entity(m, d + part_start, n - part_start, nest + 1);
    }
    return parts || in_part ? KS_OK : 1;   /* 1: the boundary never occurred */
}

/* entity -> header-fields CRLF body */
static int entity(mime *m, const uint8_t *d, size_t n, uint32_t nest)
{
    hdrs *h = calloc(1, sizeof *h);
    if (!h)
        return KS_ENOMEM;
    int rc = KS_OK;
    size_t hend = 0, body = 0;
    split_headers(d, n, &hend, &body);
    h->have_ctype = get_field(d, hend, "content-type", h->ctype, sizeof h->ctype);
    get_field(d, hend, "content-transfer-encoding", h->cte, sizeof h->cte);
    get_field(d, hend, "content-disposition", h->cdisp, sizeof h->cdisp);
    if (nest == 0)
        harvest_subject(m, d, hend);

    char ct[128];
    size_t cl = 0;
    for (const char *p = h->ctype; *p && *p != ';' && *p != ' ' && cl + 1 < sizeof ct; p++)
        ct[cl++] = (char)tolower((unsigned char)*p);
    ct[cl] = 0;
    /* strip white space and quotes from the encoding ("Base64 ", "\"base64\"") */
    {
        char t[256];
        size_t w = 0;
        for (const char *p = h->cte; *p && w + 1 < sizeof t; p++)
            if (*p != ' ' && *p != '"' && *p != '\t')
                t[w++] = (char)tolower((unsigned char)*p);
        t[w] = 0;
        memcpy(h->cte, t, w + 1);
    }

    if (strncmp(ct, "multipart/", 10) == 0) {
        if (nest >= fmt_max_nesting(m->k)) {
            fmt_note(m->k, "limit: mime-nesting");
            rc = leaf(m, h, ct, d + body, n - body);
            goto out;
        }
        char b[256];
        int have_b = get_param(h->ctype, "boundary", b, sizeof b) && b[0];
        if (have_b) {
            rc = multipart(m, b, d + body, n - body, nest);
            if (rc != 1)
                goto out;
        }
        char g[256];
        if (guess_boundary(d + body, n - body, g, sizeof g)) {
            fmt_note(m->k, "parse-error: mime: boundary %s, recovered from the body",
                     have_b ? "not found" : "missing");
            rc = multipart(m, g, d + body, n - body, nest);
            if (rc != 1)
                goto out;
        }
        fmt_note(m->k, "parse-error: mime: multipart without parts");
        rc = leaf(m, h, "text/plain", d + body, n - body);
        goto out;
    }
    rc = leaf(m, h, ct, d + body, n - body);
out:
    free(h);
    return rc;
}

/* ------------------------------------------------------------------ API */

int fmt_mime_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    mime m = {k, n, 0, 0};
    int rc = entity(&m, d, n, 0);
    return rc == 1 ? KS_OK : rc;
}

/* mbox: messages start with a "From " line at the start of the file or after an empty line
 * (or after any line when no blank-line separation is used). Each message (without its From_
 * line) is a child "[N] message". */
int fmt_mbox_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    size_t i = 0;
    int no = 0;
    while (i < n) {
        if (fmt_stopped(k))
            return FMT_STOP;
        /* i is at a "From " line */
        const uint8_t *nl = memchr(d + i, '\n', n - i);
        size_t s = nl ? (size_t)(nl - d) + 1 : n;
        size_t e = s, next = n;
        while (e < n) {
            const uint8_t *p = memmem(d + e, n - e, "\nFrom ", 6);
            if (!p) {
                e = n;
                break;
            }
            next = (size_t)(p - d) + 1;
            e = next;
            break;
        }
        if (e >= n)
            next = n;
        size_t me = e;
        while (me > s && (d[me - 1] == '\n' || d[me - 1] == '\r'))
            me--;
        char label[32];
        snprintf(label, sizeof label, "[%d] message", ++no);
        int rc = fmt_emit(k, label, "", d + s, me - s);
        if (rc != KS_OK)
            return rc;
        i = next;
    }
    return KS_OK;
}
