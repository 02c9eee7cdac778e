/*
 * detect.c - type detection from content (magic bytes first, then text heuristics), and the
 * password harvester used for encrypted archives.
 *
 * Names and declared MIME types are never consulted: a zip called invoice.pdf is a zip.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

static int at(const uint8_t *d, size_t n, size_t off, const void *m, size_t ml)
{
    return off <= n && ml <= n - off && memcmp(d + off, m, ml) == 0;
}

static int icase_prefix(const uint8_t *d, size_t n, const char *w)
{
    size_t l = strlen(w);
    if (n < l)
        return 0;
    for (size_t i = 0; i < l; i++)
        if (tolower(d[i]) != w[i])
            return 0;
    return 1;
}

/* Search needle (lowercase) case-insensitively in the first `lim` bytes. */
static int icase_find(const uint8_t *d, size_t n, size_t lim, const char *w)
{
    size_t l = strlen(w);
    if (n > lim)
        n = lim;
    for (size_t i = 0; i + l <= n; i++)
        if (tolower(d[i]) == w[0] && icase_prefix(d + i, n - i, w))
            return 1;
    return 0;
}

/* A header field name: 1*(printable except ':' and space) followed by ':'. Returns the length of
 * the name, 0 if the line is not a header. */
static size_t header_name(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && i < 76 && d[i] > 32 && d[i] < 127 && d[i] != ':')
        i++;
    return (i > 0 && i < n && d[i] == ':') ? i : 0;
}

/* Mail detection: the first lines are header fields (continuations allowed), at least two of
 * them, and one is a field every mail or MIME entity has. */
static int looks_like_mail(const uint8_t *d, size_t n)
{
    static const char *const known[] = {"from", "to", "subject", "received", "message-id",
                                        "mime-version", "content-type", "return-path", "date",
                                        "delivered-to", "reply-to", "x-mailer", NULL};
    size_t i = 0;
    int fields = 0, strong = 0;
    if (n > 65536)
        n = 65536;
    for (int lines = 0; i < n && lines < 64; lines++) {
        if (d[i] == '\n' || (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n'))
            break;   /* end of the header block */
        if (d[i] == ' ' || d[i] == '\t') {
            if (fields == 0)
                return 0;
        } else {
            size_t hl = header_name(d + i, n - i);
            if (!hl)
                return 0;
            fields++;
            for (int k = 0; known[k]; k++)
                if (strlen(known[k]) == hl && icase_prefix(d + i, hl, known[k]))
                    strong++;
        }
        const uint8_t *nl = memchr(d + i, '\n', n - i);
        if (!nl)
            break;
        i = (size_t)(nl - d) + 1;
    }
    return fields >= 2 && strong >= 1;
}

static int mostly_text(const uint8_t *d, size_t n)
{
    if (n > 4096)
        n = 4096;
    if (n == 0)
        return 0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] == 0 || (d[i] < 32 && d[i] != '\n' && d[i] != '\r' && d[i] != '\t' &&
                          d[i] != '\f' && d[i] != 27))
            bad++;
    return bad * 100 <= n;   /* UTF-8 and ISO-2022-JP bytes count as text */
}

const char *fmt_detect(const uint8_t *d, size_t n)
{
    if (!d || n == 0)
        return "empty";
    if (at(d, n, 0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
        return fmt_ole2_is_msg(d, n) ? "msg" : "ole2";
    if (at(d, n, 0, "\x78\x9F\x3E\x22", 4))   /* TNEF (winmail.dat) */
        return "tnef";
    if (at(d, n, 0, "PK\x03\x04", 4) || at(d, n, 0, "PK\x05\x06", 4) ||
        at(d, n, 0, "PK\x07\x08PK\x03\x04", 8)) {
        if (at(d, n, 30, "mimetypeapplication/vnd.oasis", 29))
            return "odf";
        /* OOXML: [Content_Types].xml among the first entries' names */
        if (icase_find(d, n, 1 << 16, "[content_types].xml"))
            return "ooxml";
        return "zip";
    }
    if (at(d, n, 0, "7z\xBC\xAF\x27\x1C", 6))
        return "7z";
    if (at(d, n, 0, "Rar!\x1A\x07", 6))
        return "rar";
    if (at(d, n, 0, "MSCF\0\0\0\0", 8))
        return "cab";
    if (at(d, n, 0x8001, "CD001", 5))
        return "iso";
    if (n > 21 && d[2] == '-' && d[3] == 'l' && (d[4] == 'h' || d[4] == 'z') && d[6] == '-')
        return "lzh";
    if (at(d, n, 257, "ustar", 5))
        return "tar";
    if (at(d, n, 0, "\x1F\x8B\x08", 3))
        return "gzip";
    if (at(d, n, 0, "BZh", 3) && n > 10 && d[3] >= '1' && d[3] <= '9' &&
        at(d, n, 4, "\x31\x41\x59\x26\x53\x59", 6))
        return "bzip2";
    if (at(d, n, 0, "\xFD" "7zXZ\0", 6))
        return "xz";
    if (at(d, n, 0, "{\\rt", 4))
        return "rtf";
    if (at(d, n, 0, "MZ", 2))
        return "pe";
    if (at(d, n, 0, "\x7F" "ELF", 4))
        return "elf";
    {
        /* %PDF- anywhere in the first KB, as readers accept */
        size_t lim = n < 1024 ? n : 1024;
        for (size_t i = 0; i + 5 <= lim; i++)
            if (d[i] == '%' && memcmp(d + i, "%PDF-", 5) == 0)
                return "pdf";
    }
    if (at(d, n, 0, "From ", 5)) {
        const uint8_t *nl = memchr(d, '\n', n < 1024 ? n : 1024);
        if (nl && looks_like_mail(nl + 1, n - (size_t)(nl + 1 - d)))
            return "mbox";
    }
    if (looks_like_mail(d, n))
        return "email";
    if (mostly_text(d, n)) {
        size_t i = 0;
        while (i < n && i < 256 && isspace(d[i]))
            i++;
        if (at(d, n, i, "Attribute VB_", 13))   /* a VBA module's source (MS-OVBA) */
            return "vba";
        if (icase_find(d + i, n - i, 1024, "<html") || icase_find(d + i, n - i, 1024, "<!doctype html") ||
            icase_find(d + i, n - i, 1024, "<body") || icase_find(d + i, n - i, 1024, "<head"))
            return "html";
        return "text";
    }
    return "data";
}

/* ------------------------------------------------------------------ passwords */

/* Phrases that announce a password, lowercase ASCII or UTF-8. */
static const char *const pw_phrases[] = {
    "password", "passwort", "passcode", "pass word", "pwd", "kennwort", "mot de passe",
    "contraseña", "senha", "wachtwoord", "\xE3\x83\x91\xE3\x82\xB9\xE3\x83\xAF\xE3\x83\xBC\xE3\x83\x89",
    /* パスワード */
    "\xE6\x9A\x97\xE8\xA8\xBC\xE7\x95\xAA\xE5\x8F\xB7", /* 暗証番号 */
    "\xE5\xAF\x86\xE7\xA0\x81",                         /* 密码 */
    "\xEB\xB9\x84\xEB\xB0\x80\xEB\xB2\x88\xED\x98\xB8", /* 비밀번호 */
    NULL};

static int is_sep_space(const uint8_t *d, size_t n, size_t *i)
{
    if (*i < n && (d[*i] == ' ' || d[*i] == '\t' || d[*i] == '\r' || d[*i] == '\n')) {
        (*i)++;
        return 1;
    }
    if (*i + 3 <= n && d[*i] == 0xE3 && d[*i + 1] == 0x80 && d[*i + 2] == 0x80) { /* ideographic space */
        *i += 3;
        return 1;
    }
    return 0;
}

/* After a phrase: optional words like "is", "for the zip", then ':' / '：' / '=' / "is", then the
 * word (quoted or up to white space / tag / closing punctuation). */
static void take_after(const uint8_t *d, size_t n, size_t i, void (*add)(void *, const char *, size_t),
                       void *ud)
{
    size_t lim = i + 64 < n ? i + 64 : n;   /* the separator must come soon */
    int seen_sep = 0;
    while (i < lim) {
        if (is_sep_space(d, lim, &i))
            continue;
        if (d[i] == ':' || d[i] == '=' || d[i] == '-') {
            i++;
            seen_sep = 1;
            continue;
        }
        if (i + 3 <= lim && d[i] == 0xEF && d[i + 1] == 0xBC && d[i + 2] == 0x9A) { /* ： */
            i += 3;
            seen_sep = 1;
            continue;
        }
        if (i + 3 <= lim && d[i] == 0xE3 && d[i + 1] == 0x81 && d[i + 2] == 0xAF) { /* は */
            i += 3;
            seen_sep = 1;
            continue;
        }
        if (!seen_sep && i + 2 < lim && tolower(d[i]) == 'i' && tolower(d[i + 1]) == 's' &&
            (d[i + 2] == ' ' || d[i + 2] == ':')) {
            i += 2;
            seen_sep = 1;
            continue;
        }
        if (d[i] == '<') {   /* skip an HTML tag */
            while (i < lim && d[i] != '>')
                i++;
            if (i < lim)
                i++;
            continue;
        }
        break;
    }
    if (!seen_sep || i >= n)
        return;
    /* quoted word: "x", 'x', «x», 「x」, “x” */
    static const char *const open_q[] = {"\"", "'", "\xE3\x80\x8C", "\xE2\x80\x9C", "\xC2\xAB", NULL};
    static const char *const close_q[] = {"\"", "'", "\xE3\x80\x8D", "\xE2\x80\x9D", "\xC2\xBB", NULL};
    for (int q = 0; open_q[q]; q++) {
        size_t ol = strlen(open_q[q]), cl = strlen(close_q[q]);
        if (i + ol <= n && memcmp(d + i, open_q[q], ol) == 0) {
            size_t s = i + ol;
            for (size_t j = s; j < n && j < s + 65; j++) {
                if (d[j] == '\n')
                    break;
                if (j + cl <= n && memcmp(d + j, close_q[q], cl) == 0) {
                    add(ud, (const char *)d + s, j - s);
                    break;
                }
            }
            return;
        }
    }
    size_t s = i;
    while (i < n && i - s < 65 && d[i] > 32 && d[i] != '<' && d[i] != 0x7f)
        i++;
    size_t e = i;
    /* trailing punctuation of the sentence is not part of it */
    while (e > s && (d[e - 1] == '.' || d[e - 1] == ',' || d[e - 1] == ')' || d[e - 1] == ';'))
        e--;
    /* a full-width full stop 。 */
    if (e >= s + 3 && d[e - 3] == 0xE3 && d[e - 2] == 0x80 && d[e - 1] == 0x82)
        e -= 3;
    if (e > s)
        add(ud, (const char *)d + s, e - s);
}

/* ASCII lower case (the phrases are lower case ASCII or UTF-8, whose bytes >= 0x80 never fold) */
static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c; }

void fmt_find_passwords(const uint8_t *d, size_t n, void (*add)(void *, const char *, size_t),
                        void *ud)
{
    /* which phrases start with each byte, and their lengths: one table lookup per input byte */
    uint32_t first[256];
    size_t plen[32];
    memset(first, 0, sizeof first);
    for (int p = 0; pw_phrases[p] && p < 32; p++) {
        plen[p] = strlen(pw_phrases[p]);
        first[(uint8_t)pw_phrases[p][0]] |= 1u << p;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t cand = first[lc(d[i])];
        if (!cand)
            continue;
        for (int p = 0; cand; p++, cand >>= 1) {
            if (!(cand & 1))
                continue;
            const char *ph = pw_phrases[p];
            size_t pl = plen[p];
            if (i + pl > n)
                continue;
            size_t k = 0;
            while (k < pl && lc(d[i + k]) == (unsigned char)ph[k])
                k++;
            if (k < pl)
                continue;
            /* skip the rest of the word ("passwords", "password(s)") */
            size_t j = i + pl;
            while (j < n && j < i + pl + 4 && isalpha(d[j]))
                j++;
            take_after(d, n, j, add, ud);
            /* quoted words in the same sentence: "use 'x' as password" */
            size_t b = i > 80 ? i - 80 : 0;
            for (size_t q = b; q < i; q++) {
                if (d[q] != '"' && d[q] != '\'')
                    continue;
                size_t e = q + 1;
                while (e < i && d[e] != d[q] && d[e] > 32)
                    e++;
                if (e < i && d[e] == d[q] && e > q + 1) {
                    add(ud, (const char *)d + q + 1, e - q - 1);
                    q = e;
                }
            }
            i += pl - 1;
            break;
        }
    }
}

/* ------------------------------------------------------------------ bounded text */

int fmt_str_add(fmt_str *s, const char *d, size_t n, size_t max)
{
    if (s->n >= max)
        return KS_OK;
    if (n > max - s->n)
        n = max - s->n;
    if (s->n + n + 1 > s->cap) {
        size_t c = s->cap ? s->cap : 64;
        while (c < s->n + n + 1)
            c *= 2;
        char *p = realloc(s->p, c);
        if (!p)
            return KS_ENOMEM;
        s->p = p;
        s->cap = c;
    }
    if (n)
        memcpy(s->p + s->n, d, n);
    s->n += n;
    s->p[s->n] = 0;
    return KS_OK;
}

void fmt_str_free(fmt_str *s)
{
    free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
}
