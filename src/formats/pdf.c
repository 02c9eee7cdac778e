/*
 * pdf.c - PDF extraction without trusting the xref: the file is scanned for "N G obj" headers and
 * "stream" keywords; each stream's data (up to its direct /Length when that lands on
 * "endstream", else up to the next "endstream") is run through its /Filter chain and emitted.
 *
 *   "obj 12"                 a decoded stream
 *   "obj 12/JavaScript"      a stream referenced by /JS 12 0 R
 *   "obj 12/EmbeddedFile"    a stream with /Type /EmbeddedFile
 *   "obj 7/JS"               a /JS (literal) or /JS <hex> string, unescaped
 *
 * Filters: FlateDecode (zlib, raw deflate fallback), ASCIIHexDecode, ASCII85Decode, LZWDecode
 * (EarlyChange 1), RunLengthDecode, and their abbreviations. Predictors (/DecodeParms) are not
 * undone. A stream with an unsupported filter (DCT, JBIG2, Crypt, ...) is emitted as decoded so
 * far. Every decoded byte is charged (fmt_buf_add: per-object, per-input, ratio limits); a
 * decoding error keeps what was decoded and is noted. Encrypted PDFs are not decrypted.
 * Bounds: MAX_STREAMS streams, MAX_JS strings, MAX_FILTERS filters per stream, MAX_JSREFS refs.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "formats/formats.h"

#define MAX_STREAMS 20000
#define MAX_JS 1000
#define MAX_FILTERS 8
#define MAX_JSREFS 256
#define MAX_DICT (64u << 10)   /* bytes between "obj" and "stream" looked at */

enum { F_NONE, F_FLATE, F_AHX, F_A85, F_LZW, F_RL, F_OTHER };

static int is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0; }
static int is_delim(uint8_t c)
{
    return is_ws(c) || c == '/' || c == '<' || c == '>' || c == '[' || c == ']' || c == '(' ||
           c == ')' || c == '{' || c == '}' || c == '%';
}
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static const uint8_t *find(const uint8_t *h, size_t hn, const char *needle)
{
    size_t nl = strlen(needle);
    if (hn < nl)
        return NULL;
    return memmem(h, hn, needle, nl);
}

/* ------------------------------------------------------------------ decoders */

typedef struct {
    fmt_sink *k;
    fmt_buf *out;
    uint64_t clen;
    uint8_t chunk[4096];
    size_t cn;
    int rc;
} writer;

static int w_put(writer *w, uint8_t b)
{
    if (w->rc != KS_OK)
        return w->rc;
    w->chunk[w->cn++] = b;
    if (w->cn == sizeof w->chunk) {
        w->rc = fmt_buf_add(w->k, w->out, w->chunk, w->cn, w->clen);
        w->cn = 0;
    }
    return w->rc;
}

static int w_end(writer *w)
{
    if (w->rc == KS_OK && w->cn)
        w->rc = fmt_buf_add(w->k, w->out, w->chunk, w->cn, w->clen);
    w->cn = 0;
    return w->rc;
}

/* Each decoder returns KS_OK, 1 (malformed data; what was decoded is kept) or a negative KS_E*. */
static int dec_ahx(writer *w, const uint8_t *d, size_t n)
{
    int hi = -1;
    for (size_t i = 0; i < n && d[i] != '>'; i++) {
        int v = fmt_hexval(d[i]);
        if (v < 0)
            continue;
        if (hi < 0)
            hi = v;
        else if (w_put(w, (uint8_t)(hi << 4 | v)) != KS_OK)
            return w->rc;
        else
            hi = -1;
    }
    if (hi >= 0)
        w_put(w, (uint8_t)(hi << 4));
    return w_end(w);
}

static int dec_a85(writer *w, const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(d[i]))
        i++;
    if (i + 1 < n && d[i] == '<' && d[i + 1] == '~')
        i += 2;
    uint32_t acc = 0;
    int cnt = 0, bad = 0;
    for (; i < n; i++) {
        uint8_t c = d[i];
        if (c == '~')
            break;
        if (is_ws(c))
            continue;
        if (c == 'z' && cnt == 0) {
            for (int q = 0; q < 4; q++)
                if (w_put(w, 0) != KS_OK)
                    return w->rc;
            continue;
        }
        if (c < '!' || c > 'u') {
            bad = 1;
            continue;
        }
        acc = acc * 85 + (uint32_t)(c - '!');   /* wraps on garbage: harmless */
        if (++cnt == 5) {
            for (int q = 3; q >= 0; q--)
                if (w_put(w, (uint8_t)(acc >> (8 * q))) != KS_OK)
                    return w->rc;
            acc = 0;
            cnt = 0;
        }
    }
    if (cnt > 1) {
        for (int q = cnt; q < 5; q++)
            acc = acc * 85 + 84;
        for (int q = 0; q < cnt - 1; q++)
            if (w_put(w, (uint8_t)(acc >> (8 * (3 - q)))) != KS_OK)
                return w->rc;
    }
    int rc = w_end(w);
    return rc != KS_OK ? rc : bad;
}

static int dec_rl(writer *w, const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t l = d[i++];
        if (l == 128)
            break;
        if (l < 128) {
            size_t m = (size_t)l + 1;
            if (m > n - i)
                m = n - i;
            for (size_t q = 0; q < m; q++)
                if (w_put(w, d[i + q]) != KS_OK)
                    return w->rc;
            i += m;
        } else {
            if (i >= n)
                break;
            for (int q = 0; q < 257 - l; q++)
                if (w_put(w, d[i]) != KS_OK)
                    return w->rc;
            i++;
        }
    }
    return w_end(w);
}

static int dec_lzw(writer *w, const uint8_t *d, size_t n)
{
    uint16_t pre[4096];
    uint8_t suf[4096], first[4096];
    uint8_t stack[4096];
    int next = 258, bits = 9, old = -1, bad = 0;
    uint32_t buf = 0;
    int nb = 0;
    for (size_t i = 0; i < n || nb >= bits;) {
        while (nb < bits && i < n) {
            buf = (buf << 8) | d[i++];
            nb += 8;
        }
        if (nb < bits)
            break;
        int code = (int)((buf >> (nb - bits)) & ((1u << bits) - 1));
        nb -= bits;
        if (code == 256) {
            next = 258;
            bits = 9;
            old = -1;
            continue;
        }
        if (code == 257)
            break;
        int sp = 0, c = code;
        uint8_t fc;
        if (old < 0) {
            if (code > 255) {
                bad = 1;
                break;
            }
            if (w_put(w, (uint8_t)code) != KS_OK)
                return w->rc;
            old = code;
            continue;
        }
        if (code < next && code != 256 && code != 257) {
            /* known code */
        } else if (code == next) {
            /* KwKwK: old string + its first byte */
            c = old;
        } else {
            bad = 1;
            break;
        }
        int cc = c;
        while (cc > 257 && sp < 4096) {
            stack[sp++] = suf[cc];
            cc = pre[cc];
        }
        if (cc >= 256) {
            bad = 1;
            break;
        }
        fc = (uint8_t)cc;
        if (sp < 4096)
            stack[sp++] = fc;
        while (sp > 0)
            if (w_put(w, stack[--sp]) != KS_OK)
                return w->rc;
        if (code == next) {
            uint8_t f0 = old > 257 ? first[old] : (uint8_t)old;
            if (w_put(w, f0) != KS_OK)
                return w->rc;
        }
        if (next < 4096) {
            pre[next] = (uint16_t)old;
            suf[next] = code == next ? (old > 257 ? first[old] : (uint8_t)old) : fc;
            first[next] = old > 257 ? first[old] : (uint8_t)old;
            next++;
        }
        if (next + 1 >= (1 << bits) && bits < 12)   /* EarlyChange 1 */
            bits++;
        old = code;
    }
    int rc = w_end(w);
    return rc != KS_OK ? rc : bad;
}

static int dec_flate(writer *w, const uint8_t *d, size_t n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if ((attempt == 0 ? inflateInit(&z) : inflateInit2(&z, -15)) != Z_OK)
            return KS_ENOMEM;
        z.next_in = (Bytef *)d;
        z.avail_in = n > 0x7fffffffu ? 0x7fffffffu : (uInt)n;
        uint8_t out[16384];
        uint64_t produced = 0;
        int zr = Z_OK;
        while (zr == Z_OK) {
            z.next_out = out;
            z.avail_out = sizeof out;
            zr = inflate(&z, Z_NO_FLUSH);
            size_t got = sizeof out - z.avail_out;
            if (got) {
                produced += got;
                int rc = fmt_buf_add(w->k, w->out, out, got, w->clen);
                if (rc != KS_OK) {
                    inflateEnd(&z);
                    w->rc = rc;
                    return rc;
                }
            }
            if (zr == Z_BUF_ERROR && z.avail_in == 0)
                break;
            if (zr == Z_OK && got == 0 && z.avail_in == 0)
                break;
        }
        inflateEnd(&z);
        if (zr == Z_STREAM_END)
            return KS_OK;
        if (produced > 0 || attempt == 1)
            return zr == Z_BUF_ERROR && z.avail_in == 0 ? KS_OK : 1;
    }
    return 1;
}

/* ------------------------------------------------------------------ dictionary scraping */

/* Value after key `/Name` (followed by a delimiter) in dict; returns pointer or NULL. */
static const uint8_t *dict_key(const uint8_t *d, size_t n, const char *key)
{
    size_t kl = strlen(key);
    size_t off = 0;
    while (off < n) {
        const uint8_t *p = find(d + off, n - off, key);
        if (!p)
            return NULL;
        size_t e = (size_t)(p - d) + kl;
        if (e >= n || is_delim(d[e]))
            return d + e;
        off = (size_t)(p - d) + 1;
    }
    return NULL;
}

static int filter_id(const uint8_t *s, size_t l)
{
#define IS(x) (l == sizeof(x) - 1 && memcmp(s, x, l) == 0)
    if (IS("FlateDecode") || IS("Fl"))
        return F_FLATE;
    if (IS("ASCIIHexDecode") || IS("AHx"))
        return F_AHX;
    if (IS("ASCII85Decode") || IS("A85"))
        return F_A85;
    if (IS("LZWDecode") || IS("LZW"))
        return F_LZW;
    if (IS("RunLengthDecode") || IS("RL"))
        return F_RL;
#undef IS
    return F_OTHER;
}

/* Parse /Filter /X or /Filter [/X /Y]; returns the count. */
static int parse_filters(const uint8_t *dict, size_t dn, int *f)
{
    const uint8_t *v = dict_key(dict, dn, "/Filter");
    if (!v)
        return 0;
    const uint8_t *end = dict + dn;
    while (v < end && is_ws(*v))
        v++;
    int arr = v < end && *v == '[';
    if (arr)
        v++;
    int nf = 0;
    while (v < end && nf < MAX_FILTERS) {
        while (v < end && is_ws(*v))
            v++;
        if (v >= end || *v != '/')
            break;
        const uint8_t *s = ++v;
        while (v < end && !is_delim(*v))
            v++;
        f[nf++] = filter_id(s, (size_t)(v - s));
        if (!arr)
            break;
    }
    return nf;
}

static int has_name(const uint8_t *dict, size_t dn, const char *key, const char *val)
{
    const uint8_t *v = dict_key(dict, dn, key);
    if (!v)
        return 0;
    const uint8_t *end = dict + dn;
    while (v < end && is_ws(*v))
        v++;
    size_t vl = strlen(val);
    return (size_t)(end - v) >= vl && memcmp(v, val, vl) == 0 &&
           ((size_t)(end - v) == vl || is_delim(v[vl]));
}

/* Reads a non-negative integer at p (after whitespace); -1 if none. */
static long read_int(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    while (p < end && is_ws(*p))
        p++;
    if (p >= end || !is_digit(*p))
        return -1;
    long v = 0;
    while (p < end && is_digit(*p)) {
        if (v < 1000000000L)
            v = v * 10 + (*p - '0');
        p++;
    }
    *pp = p;
    return v;
}

/* ------------------------------------------------------------------ the walk */

typedef struct {
    fmt_sink *k;
    const uint8_t *d;
    size_t n;
    long jsref[MAX_JSREFS];
    int njsref;
    int njs;
} pdf;

/* /JS N G R anywhere in the file */
static void collect_jsrefs(pdf *p)
{
    size_t off = 0;
    while (off < p->n && p->njsref < MAX_JSREFS) {
        const uint8_t *q = find(p->d + off, p->n - off, "/JS");
        if (!q)
            break;
        off = (size_t)(q - p->d) + 3;
        const uint8_t *v = q + 3, *end = p->d + p->n;
        long num = read_int(&v, end);
        if (num < 0 || read_int(&v, end) < 0)
            continue;
        while (v < end && is_ws(*v))
            v++;
        if (v < end && *v == 'R')
            p->jsref[p->njsref++] = num;
    }
}

static int is_jsref(const pdf *p, long num)
{
    for (int i = 0; i < p->njsref; i++)
        if (p->jsref[i] == num)
            return 1;
    return 0;
}

/* Object number of the last "N G obj" in d[lo..hi); -1 if none. Sets *dict to after "obj". */
static long last_obj(const uint8_t *d, size_t lo, size_t hi, size_t *dict)
{
    for (size_t i = hi; i >= lo + 3 && i > 0; i--) {
        size_t s = i - 3;
        if (memcmp(d + s, "obj", 3) != 0 || (i < hi && !is_delim(d[i])))
            continue;
        if (s > 0 && d[s - 1] == 'd')   /* endobj */
            return -1;
        size_t j = s;
        while (j > lo && is_ws(d[j - 1]))
            j--;
        size_t g = j;
        while (j > lo && is_digit(d[j - 1]))
            j--;
        if (j == g)
            return -1;
        while (j > lo && is_ws(d[j - 1]))
            j--;
        size_t e = j;
        while (j > lo && is_digit(d[j - 1]) && e - j < 10)
            j--;
        if (j == e)
            return -1;
        long num = 0;
        for (size_t q = j; q < e; q++)
            num = num * 10 + (d[q] - '0');
        *dict = i;
        return num;
    }
    return -1;
}

static int emit_decoded(pdf *p, long num, const char *kind, const uint8_t *dict, size_t dn,
                        const uint8_t *s, size_t sl)
{
    int f[MAX_FILTERS];
    int nf = parse_filters(dict, dn, f);
    fmt_buf cur = {0};
    const uint8_t *in = s;
    size_t inl = sl;
    int rc = KS_OK;
    for (int i = 0; i < nf; i++) {
        if (f[i] == F_OTHER)
            break;
        fmt_buf out = {0};
        writer w = {.k = p->k, .out = &out, .clen = p->n, .cn = 0, .rc = KS_OK};
        int r;
        switch (f[i]) {
        case F_FLATE: r = dec_flate(&w, in, inl); break;
        case F_AHX: r = dec_ahx(&w, in, inl); break;
        case F_A85: r = dec_a85(&w, in, inl); break;
        case F_LZW: r = dec_lzw(&w, in, inl); break;
        default: r = dec_rl(&w, in, inl); break;
        }
        fmt_buf_free(&cur);
        cur = out;
        in = cur.p;
        inl = cur.n;
        if (r == KS_ENOMEM) {
            rc = r;
            goto out;
        }
        if (r == 1)
            fmt_note(p->k, "parse-error: pdf: obj %ld: bad filter data", num);
        if (r != KS_OK)
            break;   /* corrupt or a limit: emit what we have */
    }
    char label[64];
    snprintf(label, sizeof label, kind ? "obj %ld/%s" : "obj %ld", num, kind);
    rc = fmt_emit(p->k, label, "", in ? in : (const uint8_t *)"", in ? inl : 0);
out:
    fmt_buf_free(&cur);
    return rc;
}

/* Unescape the literal string starting after '(' at d[i]; emits it. Returns index after it. */
static size_t js_literal(pdf *p, size_t i, long num, int *rc)
{
    fmt_buf b = {0};
    writer w = {.k = p->k, .out = &b, .clen = p->n, .cn = 0, .rc = KS_OK};
    const uint8_t *d = p->d;
    size_t n = p->n;
    int depth = 0;
    while (i < n && w.rc == KS_OK) {
        uint8_t c = d[i++];
        if (c == '\\') {
            if (i >= n)
                break;
            uint8_t e = d[i++];
            switch (e) {
            case 'n': w_put(&w, '\n'); break;
            case 'r': w_put(&w, '\r'); break;
            case 't': w_put(&w, '\t'); break;
            case 'b': w_put(&w, '\b'); break;
            case 'f': w_put(&w, '\f'); break;
            case '\r':
                if (i < n && d[i] == '\n')
                    i++;
                break;
            case '\n': break;
            default:
                if (e >= '0' && e <= '7') {
                    int v = e - '0';
                    for (int q = 0; q < 2 && i < n && d[i] >= '0' && d[i] <= '7'; q++)
                        v = v * 8 + (d[i++] - '0');
                    w_put(&w, (uint8_t)v);
                } else {
                    w_put(&w, e);
                }
            }
        } else if (c == '(') {
            depth++;
            w_put(&w, c);
        } else if (c == ')') {
            if (depth == 0)
                break;
            depth--;
            w_put(&w, c);
        } else {
            w_put(&w, c);
        }
    }
    w_end(&w);
    char label[64];
    snprintf(label, sizeof label, "obj %ld/JS", num);
    *rc = w.rc == KS_ENOMEM ? KS_ENOMEM : fmt_emit(p->k, label, "", b.p ? b.p : (const uint8_t *)"", b.n);
    fmt_buf_free(&b);
    return i;
}

/* /JS (...) and /JS <hex> strings */
static int scan_js_strings(pdf *p)
{
    size_t off = 0;
    while (off < p->n) {
        if (fmt_stopped(p->k))
            return FMT_STOP;
        const uint8_t *q = find(p->d + off, p->n - off, "/JS");
        if (!q)
            break;
        size_t i = (size_t)(q - p->d) + 3;
        off = i;
        while (i < p->n && is_ws(p->d[i]))
            i++;
        if (i >= p->n || (p->d[i] != '(' && p->d[i] != '<') ||
            (p->d[i] == '<' && i + 1 < p->n && p->d[i + 1] == '<'))
            continue;
        if (p->njs >= MAX_JS) {
            fmt_note(p->k, "limit: pdf js strings");
            return KS_OK;
        }
        p->njs++;
        size_t dictpos = 0;
        size_t lo = (size_t)(q - p->d) > MAX_DICT ? (size_t)(q - p->d) - MAX_DICT : 0;
        long num = last_obj(p->d, lo, (size_t)(q - p->d), &dictpos);
        int rc = KS_OK;
        if (p->d[i] == '(') {
            off = js_literal(p, i + 1, num, &rc);
        } else {
            const uint8_t *e = memchr(p->d + i, '>', p->n - i);
            size_t el = e ? (size_t)(e - p->d) : p->n;
            fmt_buf b = {0};
            writer w = {.k = p->k, .out = &b, .clen = p->n, .cn = 0, .rc = KS_OK};
            dec_ahx(&w, p->d + i + 1, el - i - 1);
            char label[64];
            snprintf(label, sizeof label, "obj %ld/JS", num);
            rc = w.rc == KS_ENOMEM ? KS_ENOMEM
                                   : fmt_emit(p->k, label, "", b.p ? b.p : (const uint8_t *)"", b.n);
            fmt_buf_free(&b);
            off = el;
        }
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

int fmt_pdf_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    pdf p;
    memset(&p, 0, sizeof p);
    p.k = k;
    p.d = d;
    p.n = n;
    collect_jsrefs(&p);
    size_t off = 0, prev_end = 0;
    int nstreams = 0;
    while (off < n) {
        if (fmt_stopped(k))
            return FMT_STOP;
        const uint8_t *q = find(d + off, n - off, "stream");
        if (!q)
            break;
        size_t s = (size_t)(q - d);
        off = s + 6;
        if (s > 0 && !is_delim(d[s - 1]))   /* "endstream" or a word */
            continue;
        size_t i = s + 6;
        if (i < n && d[i] == '\r')
            i++;
        if (i < n && d[i] == '\n')
            i++;
        if (i == s + 6)   /* the keyword must end its line */
            continue;
        if (nstreams >= MAX_STREAMS) {
            fmt_note(k, "limit: pdf streams");
            break;
        }
        nstreams++;
        size_t lo = s - prev_end > MAX_DICT ? s - MAX_DICT : prev_end;
        size_t dpos = lo;
        long num = last_obj(d, lo, s, &dpos);
        const uint8_t *dict = d + dpos;
        size_t dn = s - dpos;
        /* data end: direct /Length if it lands on endstream, else the next endstream */
        size_t end = n;
        const uint8_t *lv = dict_key(dict, dn, "/Length");
        if (lv) {
            long len = read_int(&lv, dict + dn);
            const uint8_t *after = lv;
            long g = read_int(&after, dict + dn);
            while (after < dict + dn && is_ws(*after))
                after++;
            int indirect = g >= 0 && after < dict + dn && *after == 'R';
            if (len >= 0 && !indirect && (size_t)len <= n - i) {
                size_t e = i + (size_t)len;
                while (e < n && is_ws(d[e]) && e - (i + (size_t)len) < 4)
                    e++;
                if (n - e >= 9 && memcmp(d + e, "endstream", 9) == 0)
                    end = i + (size_t)len;
            }
        }
        if (end == n) {
            const uint8_t *es = find(d + i, n - i, "endstream");
            if (es) {
                end = (size_t)(es - d);
                if (end > i && d[end - 1] == '\n')
                    end--;
                if (end > i && d[end - 1] == '\r')
                    end--;
            } else {
                fmt_note(k, "parse-error: pdf: obj %ld: stream without endstream", num);
            }
        }
        const char *kind = NULL;
        if (num >= 0 && is_jsref(&p, num))
            kind = "JavaScript";
        else if (has_name(dict, dn, "/Type", "/EmbeddedFile"))
            kind = "EmbeddedFile";
        int rc = emit_decoded(&p, num, kind, dict, dn, d + i, end - i);
        if (rc != KS_OK)
            return rc == KS_ELIMIT ? KS_OK : rc;
        off = end > off ? end : off;
        prev_end = off;
    }
    int rc = scan_js_strings(&p);
    return rc == KS_ELIMIT ? KS_OK : rc;
}
