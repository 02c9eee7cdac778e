/*
 * msg.c - Outlook .msg files (MS-OXMSG): a compound file whose storages hold MAPI properties.
 * Uses the OLE2 reader of ole2.c (ole2.h); written from the specification.
 *
 *   root (or an embedded message's storage)
 *     __substg1.0_PPPPTTTT        property PPPP of type TTTT: 001F UTF-16LE, 001E 8-bit,
 *                                 0102 binary, 000D object (a storage)
 *     __properties_version1.0     fixed-size properties: header (32 bytes top level, 24 in an
 *                                 embedded message, 8 in an attachment), then 16-byte entries
 *                                 (u32 tag, u32 flags, 8-byte value)
 *     __attach_version1.0_#XXXXXXXX, __recip_version1.0_#XXXXXXXX, __nameid_version1.0
 *
 * Children, in this order (bodies first, so passwords are harvested before attachments):
 *   "headers"        Subject (0x0037) and the transport headers (0x007D), UTF-8
 *   "body.txt"       PR_BODY (0x1000), UTF-8
 *   "body.html"      PR_BODY_HTML (0x1013), as stored (binary) or UTF-8
 *   "body.rtf"       PR_RTF_COMPRESSED (0x1009) decompressed (lzfu.c); its text is harvested
 *   "[attach N] F"   each attachment's PR_ATTACH_DATA_BIN (0x3701 0102), F = long file name
 *                    (0x3707), else file name (0x3704), else display name (0x3001); an object
 *                    (0x3701 000D: embedded message, attach method 5, or OLE object, method 6)
 *                    is rebuilt as a compound file of its own (ole2_rebuild) and scanned as
 *                    one: an embedded message is detected as "msg" again, so nesting is bounded
 *                    by the walker's depth limit.
 * Attachments are taken in the order of their storage numbers, at most MAX_ATTACH per message.
 * Damage (broken chains, missing data) gives "parse-error: msg: ..." notes and the rest goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mapi.h"
#include "formats/ole2.h"

#define MAX_ATTACH 1024
#define MAX_NAME 256
#define HARVEST_CAP (1u << 20)   /* RTF bytes turned into text for the password harvester */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ shared helpers (mapi.h) */

static void put_utf8(uint32_t c, uint8_t *o, size_t *w)
{
    if (c < 0x80)
        o[(*w)++] = (uint8_t)c;
    else if (c < 0x800) {
        o[(*w)++] = (uint8_t)(0xC0 | c >> 6);
        o[(*w)++] = (uint8_t)(0x80 | (c & 63));
    } else if (c < 0x10000) {
        o[(*w)++] = (uint8_t)(0xE0 | c >> 12);
        o[(*w)++] = (uint8_t)(0x80 | ((c >> 6) & 63));
        o[(*w)++] = (uint8_t)(0x80 | (c & 63));
    } else {
        o[(*w)++] = (uint8_t)(0xF0 | c >> 18);
        o[(*w)++] = (uint8_t)(0x80 | ((c >> 12) & 63));
        o[(*w)++] = (uint8_t)(0x80 | ((c >> 6) & 63));
        o[(*w)++] = (uint8_t)(0x80 | (c & 63));
    }
}

/* Next code point of UTF-16LE text at p[*i], n bytes (even); advances *i. */
static uint32_t utf16_next(const uint8_t *p, size_t n, size_t *i)
{
    uint32_t c = (uint32_t)p[*i] | (uint32_t)p[*i + 1] << 8;
    *i += 2;
    if (c >= 0xD800 && c < 0xDC00) {
        if (*i + 2 <= n) {
            uint32_t lo = (uint32_t)p[*i] | (uint32_t)p[*i + 1] << 8;
            if (lo >= 0xDC00 && lo < 0xE000) {
                *i += 2;
                return 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            }
        }
        return 0xFFFD;
    }
    if (c >= 0xDC00 && c < 0xE000)
        return 0xFFFD;
    return c;
}

int fmt_utf16_to_utf8(fmt_sink *k, const uint8_t *p, size_t n, uint64_t container_len,
                      fmt_buf *out)
{
    n &= ~(size_t)1;
    while (n >= 2 && p[n - 2] == 0 && p[n - 1] == 0)
        n -= 2;
    uint8_t blk[1024];
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c = utf16_next(p, n, &i);
        put_utf8(c, blk, &w);
        if (w + 4 > sizeof blk || i >= n) {
            int rc = fmt_buf_add(k, out, blk, w, container_len);
            if (rc != KS_OK)
                return rc;
            w = 0;
        }
    }
    return KS_OK;
}

void fmt_mapi_name(const uint8_t *p, size_t n, int unicode, char *out, size_t cap)
{
    size_t w = 0;
    uint8_t tmp[4];
    if (unicode) {
        n &= ~(size_t)1;
        for (size_t i = 0; i < n;) {
            uint32_t c = utf16_next(p, n, &i);
            if (c == 0)
                break;
            if (c < 0x20 || c == 0x7F)
                continue;
            size_t l = 0;
            put_utf8(c, tmp, &l);
            if (w + l + 1 > cap)
                break;
            memcpy(out + w, tmp, l);
            w += l;
        }
    } else {
        for (size_t i = 0; i < n && w + 1 < cap; i++) {
            if (p[i] == 0)
                break;
            if (p[i] >= 0x20 && p[i] != 0x7F)
                out[w++] = (char)p[i];
        }
    }
    if (cap)
        out[w < cap ? w : cap - 1] = 0;
}

/* RTF to plain text for the password harvester: control words dropped (\par, \line -> newline,
 * \tab -> tab, \'xx -> byte, \uN -> UTF-8), groups starting with \* or a destination that holds
 * no body text skipped whole. Output <= input bytes, <= HARVEST_CAP. */
static size_t rtf_text(const uint8_t *d, size_t n, uint8_t *o, size_t cap)
{
    static const char *const skip[] = {"fonttbl", "colortbl", "stylesheet", "info", "pict",
                                       "object", "listtable", "listoverridetable", NULL};
    size_t w = 0, i = 0;
    while (i < n && w + 4 < cap) {
        uint8_t c = d[i];
        if (c == '{') {
            int skipgrp = 0;
            if (i + 2 < n && d[i + 1] == '\\' && d[i + 2] == '*')
                skipgrp = 1;
            for (int s = 0; !skipgrp && skip[s]; s++) {
                size_t l = strlen(skip[s]);
                if (i + 2 + l <= n && d[i + 1] == '\\' && memcmp(d + i + 2, skip[s], l) == 0)
                    skipgrp = 1;
            }
            i++;
            if (skipgrp) {
                size_t depth = 1;
                while (i < n && depth) {
                    if (d[i] == '\\')
                        i++;
                    else if (d[i] == '{')
                        depth++;
                    else if (d[i] == '}')
                        depth--;
                    i++;
                }
            }
            continue;
        }
        if (c == '}' || c == '\r' || c == '\n') {
            i++;
            continue;
        }
        if (c != '\\') {
            o[w++] = c;
            i++;
            continue;
        }
        i++;
        if (i >= n)
            break;
        if (d[i] == '\'') {
            if (i + 2 < n && fmt_hexval(d[i + 1]) >= 0 && fmt_hexval(d[i + 2]) >= 0)
                o[w++] = (uint8_t)(fmt_hexval(d[i + 1]) << 4 | fmt_hexval(d[i + 2]));
            i += 3;
            continue;
        }
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z'))) {
            o[w++] = d[i++];   /* \\ \{ \} and other symbols */
            continue;
        }
        size_t ws = i;
        while (i < n && i - ws < 32 && ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z')))
            i++;
        size_t wl = i - ws;
        long param = 0;
        int neg = 0, has = 0;
        if (i < n && d[i] == '-') {
            neg = 1;
            i++;
        }
        while (i < n && d[i] >= '0' && d[i] <= '9' && has < 10) {
            param = param * 10 + (d[i] - '0');
            has++;
            i++;
        }
        if (i < n && d[i] == ' ')
            i++;
        if ((wl == 3 && memcmp(d + ws, "par", 3) == 0) || (wl == 4 && memcmp(d + ws, "line", 4) == 0))
            o[w++] = '\n';
        else if (wl == 3 && memcmp(d + ws, "tab", 3) == 0)
            o[w++] = '\t';
        else if (wl == 1 && d[ws] == 'u' && has) {
            long u = neg ? 65536 - param : param;
            if (u > 0 && u < 0x110000 && !(u >= 0xD800 && u < 0xE000))
                put_utf8((uint32_t)u, o, &w);
            /* the fallback character */
            if (i + 3 < n && d[i] == '\\' && d[i + 1] == '\'')
                i += 4;
            else if (i < n && d[i] != '\\' && d[i] != '{' && d[i] != '}')
                i++;
        }
    }
    return w;
}

int fmt_mapi_emit_rtf(fmt_sink *k, const char *who, const char *label, const uint8_t *v, size_t vn,
                      uint64_t container_len)
{
    fmt_buf rtf = {0};
    const char *problem = NULL;
    int rc = fmt_lzfu_decompress(k, v, vn, container_len, &rtf, &problem);
    if (rc == KS_ENOMEM || (rc == KS_ELIMIT && rtf.n == 0)) {
        fmt_buf_free(&rtf);
        return rc == KS_ENOMEM ? rc : KS_OK;
    }
    if (problem)
        fmt_note(k, "parse-error: %s: %s: compressed RTF: %s", who, label, problem);
    rc = KS_OK;
    if (rtf.n) {
        size_t cap = rtf.n < HARVEST_CAP ? rtf.n : HARVEST_CAP;
        uint8_t *txt = malloc(cap + 8);
        if (txt) {
            size_t tn = rtf_text(rtf.p, rtf.n, txt, cap + 8);
            fmt_harvest(k, txt, tn);
            free(txt);
        }
        rc = fmt_emit(k, label, label, rtf.p, rtf.n);
    }
    fmt_buf_free(&rtf);
    return rc;
}

/* ------------------------------------------------------------------ .msg */

typedef struct msgctx {
    fmt_sink *k;
    ole2_file *o;
    uint64_t n;              /* container size (charges) */
} msgctx;

/* "__substg1.0_PPPPTTTT" -> 1 and *tag = PPPPTTTT. */
static int substg_tag(const char *name, uint32_t *tag)
{
    if (strncmp(name, "__substg1.0_", 12) != 0 || strlen(name) < 20)
        return 0;
    uint32_t t = 0;
    for (int i = 12; i < 20; i++) {
        int h = fmt_hexval((unsigned char)name[i]);
        if (h < 0)
            return 0;
        t = t << 4 | (uint32_t)h;
    }
    *tag = t;
    return 1;
}

/* The child of storage s holding property `id` with one of the types in `types` (0-ended, in
 * order of preference); *type set. OLE2_NONE if none. */
static uint32_t find_prop(const msgctx *c, uint32_t s, uint16_t id, const uint16_t *types,
                          uint16_t *type)
{
    uint32_t best = OLE2_NONE;
    int bestrank = 1 << 30;
    uint32_t steps = 0, cnt = ole2_count(c->o);
    for (uint32_t e = ole2_first(c->o, s); e != OLE2_NONE && steps < cnt;
         e = ole2_next(c->o, e), steps++) {
        ole2_entry en;
        uint32_t tag;
        if (!ole2_entry_get(c->o, e, &en) || !substg_tag(en.name, &tag) || tag >> 16 != id)
            continue;
        for (int r = 0; types[r] && r < bestrank; r++)
            if ((uint16_t)tag == types[r] && (en.type == (types[r] == 0x000D ? 1 : 2))) {
                best = e;
                bestrank = r;
                *type = types[r];
            }
    }
    return best;
}

/* Read a property stream; a damaged one is noted and what was read kept. Returns KS_OK (b may
 * be empty), KS_ELIMIT (skip it) or KS_ENOMEM. */
static int read_prop(msgctx *c, uint32_t e, const char *what, fmt_buf *b)
{
    int r = ole2_read(c->o, e, b);
    if (r == KS_EFORMAT) {
        fmt_note(c->k, "parse-error: msg: %s: stream truncated", what);
        r = KS_OK;
    }
    return r;
}

/* Text property (001F converted to UTF-8, or 001E) appended to out. 1 found, 0 not, <0 error. */
static int text_prop(msgctx *c, uint32_t s, uint16_t id, const char *what, fmt_buf *out)
{
    static const uint16_t types[] = {0x001F, 0x001E, 0};
    uint16_t type = 0;
    uint32_t e = find_prop(c, s, id, types, &type);
    if (e == OLE2_NONE)
        return 0;
    fmt_buf raw = {0};
    int r = read_prop(c, e, what, &raw);
    if (r == KS_OK) {
        if (type == 0x001F)
            r = fmt_utf16_to_utf8(c->k, raw.p, raw.n, c->n, out);
        else {
            size_t l = raw.n;
            while (l && raw.p[l - 1] == 0)
                l--;
            r = fmt_buf_add(c->k, out, raw.p, l, c->n);
        }
    }
    fmt_buf_free(&raw);
    return r == KS_OK ? 1 : r == KS_ELIMIT ? 0 : r;
}

/* A short text property as a name (empty if absent). */
static int name_prop(msgctx *c, uint32_t s, uint16_t id, char *out, size_t cap)
{
    static const uint16_t types[] = {0x001F, 0x001E, 0};
    uint16_t type = 0;
    out[0] = 0;
    uint32_t e = find_prop(c, s, id, types, &type);
    ole2_entry en;
    if (e == OLE2_NONE || !ole2_entry_get(c->o, e, &en) || en.size > 4096)
        return KS_OK;
    fmt_buf raw = {0};
    int r = ole2_read(c->o, e, &raw);
    if (r == KS_OK || r == KS_EFORMAT)
        fmt_mapi_name(raw.p ? raw.p : (const uint8_t *)"", raw.n, type == 0x001F, out, cap);
    fmt_buf_free(&raw);
    return r == KS_ENOMEM ? r : KS_OK;
}

/* Fixed-size property `tag` from the __properties_version1.0 stream of storage s (header of
 * `hdr` bytes). 1 found (*val), 0 not, KS_ENOMEM. */
static int fixed_prop(msgctx *c, uint32_t s, size_t hdr, uint32_t tag, uint64_t *val)
{
    uint32_t steps = 0, cnt = ole2_count(c->o), e = ole2_first(c->o, s);
    ole2_entry en;
    for (; e != OLE2_NONE && steps < cnt; e = ole2_next(c->o, e), steps++)
        if (ole2_entry_get(c->o, e, &en) && en.type == 2 &&
            strcmp(en.name, "__properties_version1.0") == 0)
            break;
    if (e == OLE2_NONE || steps >= cnt)
        return 0;
    fmt_buf b = {0};
    int r = ole2_read(c->o, e, &b);
    int found = 0;
    if (r == KS_ENOMEM) {
        fmt_buf_free(&b);
        return r;
    }
    for (size_t i = hdr; i + 16 <= b.n; i += 16)
        if (rd32(b.p + i) == tag) {
            *val = (uint64_t)rd32(b.p + i + 8) | (uint64_t)rd32(b.p + i + 12) << 32;
            found = 1;
            break;
        }
    fmt_buf_free(&b);
    return found;
}

static int emit_buf(msgctx *c, const char *label, fmt_buf *b)
{
    int rc = b->n ? fmt_emit(c->k, label, label, b->p, b->n) : KS_OK;
    fmt_buf_free(b);
    return rc;
}

static int msg_bodies(msgctx *c, uint32_t s)
{
    fmt_buf b = {0};
    int r;
    /* headers: subject, then the transport headers */
    {
        fmt_buf subj = {0};
        r = text_prop(c, s, 0x0037, "subject", &subj);
        if (r < 0) {
            fmt_buf_free(&subj);
            return r;
        }
        if (subj.n) {
            for (size_t i = 0; i < subj.n; i++)   /* one header line */
                if (subj.p[i] == '\r' || subj.p[i] == '\n')
                    subj.p[i] = ' ';
            if ((r = fmt_buf_add(c->k, &b, "Subject: ", 9, c->n)) == KS_OK &&
                (r = fmt_buf_add(c->k, &b, subj.p, subj.n, c->n)) == KS_OK)
                r = fmt_buf_add(c->k, &b, "\r\n", 2, c->n);
        }
        fmt_buf_free(&subj);
        if (r == KS_ENOMEM) {
            fmt_buf_free(&b);
            return r;
        }
        r = text_prop(c, s, 0x007D, "transport headers", &b);
        if (r < 0) {
            fmt_buf_free(&b);
            return r;
        }
        if ((r = emit_buf(c, "headers", &b)) != KS_OK)
            return r;
    }
    r = text_prop(c, s, 0x1000, "body", &b);
    if (r < 0 || (r = emit_buf(c, "body.txt", &b)) != KS_OK) {
        fmt_buf_free(&b);
        return r;
    }
    {
        static const uint16_t types[] = {0x0102, 0x001F, 0x001E, 0};
        uint16_t type = 0;
        uint32_t e = find_prop(c, s, 0x1013, types, &type);
        if (e != OLE2_NONE) {
            if (type == 0x0102)
                r = read_prop(c, e, "HTML body", &b);
            else
            {
                int t = text_prop(c, s, 0x1013, "HTML body", &b);
                r = t < 0 ? t : KS_OK;
            }
            if (r == KS_ENOMEM) {
                fmt_buf_free(&b);
                return r;
            }
            if (r == KS_ELIMIT)
                fmt_buf_free(&b);
            if ((r = emit_buf(c, "body.html", &b)) != KS_OK)
                return r;
        }
    }
    {
        static const uint16_t types[] = {0x0102, 0};
        uint16_t type = 0;
        uint32_t e = find_prop(c, s, 0x1009, types, &type);
        if (e != OLE2_NONE) {
            r = read_prop(c, e, "RTF body", &b);
            if (r == KS_ENOMEM) {
                fmt_buf_free(&b);
                return r;
            }
            if (r == KS_OK && b.n)
                r = fmt_mapi_emit_rtf(c->k, "msg", "body.rtf", b.p, b.n, c->n);
            else
                r = KS_OK;
            fmt_buf_free(&b);
            if (r != KS_OK)
                return r;
        }
    }
    return KS_OK;
}

typedef struct att_ref {
    uint32_t num, entry;
} att_ref;

static int cmp_att(const void *a, const void *b)
{
    const att_ref *x = a, *y = b;
    return x->num < y->num ? -1 : x->num > y->num ? 1 : (x->entry > y->entry) - (x->entry < y->entry);
}

static int msg_attachment(msgctx *c, uint32_t a, unsigned idx)
{
    char name[MAX_NAME], label[MAX_NAME + 32], what[48];
    int r;
    snprintf(what, sizeof what, "attachment %u", idx);
    if ((r = name_prop(c, a, 0x3707, name, sizeof name)) != KS_OK)
        return r;
    if (!name[0] && (r = name_prop(c, a, 0x3704, name, sizeof name)) != KS_OK)
        return r;
    if (!name[0] && (r = name_prop(c, a, 0x3001, name, sizeof name)) != KS_OK)
        return r;
    uint64_t method = 0;
    int hm = fixed_prop(c, a, 8, 0x37050003u, &method);
    if (hm < 0)
        return hm;
    if (name[0])
        snprintf(label, sizeof label, "[attach %u] %s", idx, name);
    else
        snprintf(label, sizeof label, "[attach %u]", idx);

    static const uint16_t types[] = {0x0102, 0x000D, 0};
    uint16_t type = 0;
    uint32_t e = find_prop(c, a, 0x3701, types, &type);
    if (e == OLE2_NONE) {
        if (!hm || (method != 2 && method != 3 && method != 4 && method != 7))   /* by reference */
            fmt_note(c->k, "parse-error: msg: %s has no data", what);
        return KS_OK;
    }
    fmt_buf b = {0};
    if (type == 0x0102)
        r = read_prop(c, e, what, &b);
    else {
        r = ole2_rebuild(c->o, e, &b);
        if (r == KS_EFORMAT) {
            fmt_note(c->k, "parse-error: msg: %s: embedded storage damaged", what);
            r = KS_OK;
        }
    }
    if (r == KS_OK && b.n)
        r = fmt_emit(c->k, label, name, b.p, b.n);
    else if (r == KS_ELIMIT)
        r = KS_OK;
    fmt_buf_free(&b);
    return r;
}

static int msg_attachments(msgctx *c, uint32_t s)
{
    att_ref *atts = malloc(MAX_ATTACH * sizeof *atts);
    if (!atts)
        return KS_ENOMEM;
    unsigned na = 0, extra = 0;
    uint32_t steps = 0, cnt = ole2_count(c->o);
    for (uint32_t e = ole2_first(c->o, s); e != OLE2_NONE && steps < cnt;
         e = ole2_next(c->o, e), steps++) {
        ole2_entry en;
        if (!ole2_entry_get(c->o, e, &en) || en.type != 1 ||
            strncmp(en.name, "__attach_version1.0_#", 21) != 0)
            continue;
        if (na >= MAX_ATTACH) {
            extra++;
            continue;
        }
        atts[na].num = (uint32_t)strtoul(en.name + 21, NULL, 16);
        atts[na++].entry = e;
    }
    if (extra)
        fmt_note(c->k, "limit: msg: %u attachments past the first %d not extracted", extra,
                 MAX_ATTACH);
    qsort(atts, na, sizeof *atts, cmp_att);
    int rc = KS_OK;
    for (unsigned i = 0; i < na && rc == KS_OK; i++) {
        if (fmt_stopped(c->k)) {
            rc = FMT_STOP;
            break;
        }
        rc = msg_attachment(c, atts[i].entry, i + 1);
    }
    free(atts);
    return rc;
}

int fmt_msg_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    ole2_file *o = NULL;
    int rc = ole2_open(k, d, n, &o);
    if (rc != KS_OK)
        return rc == KS_ENOMEM ? rc : KS_OK;
    msgctx c = {k, o, n};
    rc = msg_bodies(&c, 0);
    if (rc == KS_OK)
        rc = msg_attachments(&c, 0);
    ole2_close(o);
    return rc == KS_ELIMIT ? KS_OK : rc;
}
