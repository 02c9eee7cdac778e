/*
 * dde.c - DDE and remote-content fields of Word and Excel documents, and the OOXML spreadsheet
 * parts that carry Excel 4.0 macros. Each field instruction that runs a program or loads remote
 * content becomes a text child "DDE/<n>" of the object it was found in, with a note
 * "dde: <instruction>":
 *
 *   word/<part>.xml (OOXML)      complex fields: the <w:instrText> runs between
 *                                <w:fldChar w:fldCharType="begin"> and "separate"/"end", joined
 *                                (nested fields: a QUOTE field's result is inserted into the
 *                                outer instruction), and <w:fldSimple w:instr="...">
 *   WordDocument (OLE2 stream)   pragmatic: the stream is scanned for 0x13 field-begin marks;
 *                                the text up to the next 0x13/0x14/0x15 (8-bit, or UTF-16LE when
 *                                0x13 is followed by 0x00) is the instruction. The piece table
 *                                is not read, so text split over pieces may be missed.
 *   RTF                          {\field{\*\fldinst ...}}: the text of the \fldinst group
 *                                (nested groups included, {\* } skipped, \'hh and \uN decoded)
 *   xl/externalLinks/<x>.xml     <ddeLink ddeService="S" ddeTopic="T"> + <ddeItem name="I">
 *                                -> S|'T'!I
 *   xl/worksheets/<x>.xml, .csv  formulas of the form server|'topic'!item (=cmd|'/c calc'!A0)
 *   .xls (xlm.c)                 SUPBOOK DDE links, through fmt_dde_emit()
 *
 * An instruction is XML-entity-decoded, "QUOTE n n ..." (character codes) and QUOTE "text" are
 * expanded, and it is emitted when its keyword is DDE or DDEAUTO, or INCLUDETEXT,
 * INCLUDEPICTURE, LINK or IMPORT with a URL ("://") or a UNC path argument.
 * Spreadsheet parts also give notes: "xlm: macro sheet xl/macrosheets/sheet1.xml" (and a text
 * child "XLM/<part>" with its cells' formulas, entity-decoded: "A1 =EXEC("calc")"),
 * "xlm: sheet "Macro1" (very hidden)" and "xlm: Auto_Open -> Macro1!$A$1" from xl/workbook.xml.
 *
 * Hostile input: every scan is linear and bounded by the input; an instruction is cut at 8 KB,
 * 256 children per object, 16 nested fields; a field left open at the end of the part is a
 * "parse-error: dde: unterminated field" note and its partial instruction is still checked.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/formats.h"

#define MAX_INSTR 8192
#define MAX_FIELDS 256        /* DDE children per object */
#define MAX_NEST 16
#define MAX_LINES (1u << 16)  /* formula lines of one macro sheet part */

/* ------------------------------------------------------------------ bounded strings */

typedef fmt_str ds;

static int ds_add(ds *s, const char *d, size_t n) { return fmt_str_add(s, d, n, MAX_INSTR); }
static void ds_free(ds *s) { fmt_str_free(s); }

static int ds_cp(ds *s, uint32_t c)
{
    char o[4];
    size_t l;
    if (c < 0x80) {
        o[0] = (char)c;
        l = 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 63));
        l = 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | ((c >> 6) & 63));
        o[2] = (char)(0x80 | (c & 63));
        l = 3;
    } else if (c < 0x110000) {
        o[0] = (char)(0xF0 | c >> 18);
        o[1] = (char)(0x80 | ((c >> 12) & 63));
        o[2] = (char)(0x80 | ((c >> 6) & 63));
        o[3] = (char)(0x80 | (c & 63));
        l = 4;
    } else
        return KS_OK;
    return ds_add(s, o, l);
}

/* XML text with entities decoded (&lt; &gt; &amp; &quot; &apos; &#N; &#xH;). */
static int ent_decode(ds *s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && s->n < MAX_INSTR) {
        const uint8_t *amp = memchr(p + i, '&', n - i);
        size_t stop = amp ? (size_t)(amp - p) : n;
        int rc = ds_add(s, (const char *)p + i, stop - i);
        if (rc != KS_OK)
            return rc;
        i = stop;
        if (i >= n)
            break;
        const uint8_t *semi = memchr(p + i, ';', n - i < 12 ? n - i : 12);
        if (!semi) {
            rc = ds_add(s, "&", 1);
            i++;
            if (rc != KS_OK)
                return rc;
            continue;
        }
        const char *e = (const char *)p + i + 1;
        size_t el = (size_t)(semi - p) - i - 1;
        uint32_t c = 0;
        int ok = 1;
        if (el == 2 && !memcmp(e, "lt", 2)) c = '<';
        else if (el == 2 && !memcmp(e, "gt", 2)) c = '>';
        else if (el == 3 && !memcmp(e, "amp", 3)) c = '&';
        else if (el == 4 && !memcmp(e, "quot", 4)) c = '"';
        else if (el == 4 && !memcmp(e, "apos", 4)) c = '\'';
        else if (el >= 2 && e[0] == '#') {
            int hex = e[1] == 'x' || e[1] == 'X';
            for (size_t q = hex ? 2 : 1; q < el && ok; q++) {
                int v = hex ? fmt_hexval((unsigned char)e[q]) : (isdigit((unsigned char)e[q]) ? e[q] - '0' : -1);
                if (v < 0 || c > 0x10FFFF)
                    ok = 0;
                else
                    c = c * (hex ? 16 : 10) + (uint32_t)v;
            }
        } else
            ok = 0;
        if (!ok) {
            rc = ds_add(s, "&", 1);
            i++;
        } else {
            rc = ds_cp(s, c);
            i = (size_t)(semi - p) + 1;
        }
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* ------------------------------------------------------------------ field instructions */

static int word_is(const char *s, size_t l, const char *w)
{
    return strlen(w) == l && strncasecmp(s, w, l) == 0;
}

/* The field's keyword: skips leading spaces and quotes; returns the index after the keyword and
 * sets *w to where it starts. */
static size_t first_word(const char *s, size_t n, size_t *w)
{
    size_t i = 0;
    while (i < n && (isspace((unsigned char)s[i]) || s[i] == '"'))
        i++;
    *w = i;
    while (i < n && isalpha((unsigned char)s[i]))
        i++;
    return i;
}

/* Expand QUOTE n n n / QUOTE "text" in s into out. */
static int expand_quote(const char *s, size_t n, ds *out)
{
    size_t i = 0;
    int rc = KS_OK;
    while (i < n && rc == KS_OK) {
        int at_word = i == 0 || !isalnum((unsigned char)s[i - 1]);
        if (at_word && n - i >= 5 && strncasecmp(s + i, "QUOTE", 5) == 0 &&
            (i + 5 == n || isspace((unsigned char)s[i + 5]))) {
            size_t j = i + 5;
            while (j < n && isspace((unsigned char)s[j]))
                j++;
            if (j < n && s[j] == '"') {   /* QUOTE "text" */
                size_t e = j + 1;
                while (e < n && s[e] != '"')
                    e++;
                rc = ds_add(out, s + j + 1, e - j - 1);
                i = e < n ? e + 1 : n;
                continue;
            }
            int any = 0;
            while (j < n && isdigit((unsigned char)s[j]) && rc == KS_OK) {
                uint32_t v = 0;
                while (j < n && isdigit((unsigned char)s[j])) {
                    if (v < 0x110000)
                        v = v * 10 + (uint32_t)(s[j] - '0');
                    j++;
                }
                if (v > 0 && v < 0x110000)
                    rc = ds_cp(out, v);
                any = 1;
                size_t k = j;
                while (k < n && isspace((unsigned char)s[k]))
                    k++;
                if (k < n && isdigit((unsigned char)s[k]))
                    j = k;
            }
            if (any) {
                i = j;
                continue;
            }
        }
        rc = ds_add(out, s + i, 1);
        i++;
    }
    return rc;
}

/* 1 when the (expanded, trimmed) instruction is one we report. */
static int wanted(const char *s, size_t n)
{
    size_t w, i = first_word(s, n, &w);
    const char *kw = s + w;
    size_t kl = i - w;
    if (word_is(kw, kl, "DDE") || word_is(kw, kl, "DDEAUTO"))
        return 1;
    if (!(word_is(kw, kl, "INCLUDETEXT") || word_is(kw, kl, "INCLUDEPICTURE") ||
          word_is(kw, kl, "LINK") || word_is(kw, kl, "IMPORT")))
        return 0;
    for (size_t q = i; q + 3 <= n; q++)
        if (memcmp(s + q, "://", 3) == 0)
            return 1;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i < n && s[i] == '"')
        i++;
    return i + 1 < n && s[i] == '\\' && s[i + 1] == '\\';
}

int fmt_dde_emit(fmt_sink *k, int *no, const char *text, size_t n)
{
    if (*no >= MAX_FIELDS)
        return KS_OK;
    if (n > MAX_INSTR)
        n = MAX_INSTR;
    char *c = malloc(n + 1);
    if (!c)
        return KS_ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {   /* control characters -> space, runs squeezed */
        char ch = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
        if (ch == ' ' && (w == 0 || c[w - 1] == ' '))
            continue;
        c[w++] = ch;
    }
    while (w > 0 && c[w - 1] == ' ')
        w--;
    c[w] = 0;
    if (w == 0) {
        free(c);
        return KS_OK;
    }
    (*no)++;
    fmt_note(k, "dde: %.300s", c);
    char label[32];
    snprintf(label, sizeof label, "DDE/%d", *no);
    int rc = fmt_emit(k, label, "", (const uint8_t *)c, w);
    free(c);
    return rc;
}

/* An instruction: expand, check, emit. */
static int field(fmt_sink *k, int *no, const char *s, size_t n)
{
    ds e = {0};
    int rc = expand_quote(s, n, &e);
    if (rc == KS_OK && e.n && wanted(e.p, e.n))
        rc = fmt_dde_emit(k, no, e.p, e.n);
    ds_free(&e);
    return rc;
}

/* ------------------------------------------------------------------ XML scanning */

typedef struct tag {
    size_t s, e;             /* '<' .. after '>' */
    size_t an;               /* start of the attributes */
    const char *ln;          /* local name */
    size_t ll;
    int close, selfclose;
} tag;

static const uint8_t *find(const uint8_t *d, size_t n, size_t from, const char *w)
{
    size_t l = strlen(w);
    if (from > n || n - from < l)
        return NULL;
    return memmem(d + from, n - from, w, l);
}

/* Next element tag at or after *pos (comments, PIs, declarations and CDATA skipped). Returns 0
 * at the end (or at an unterminated tag). */
static int next_tag(const uint8_t *d, size_t n, size_t *pos, tag *t)
{
    while (*pos < n) {
        const uint8_t *lt = memchr(d + *pos, '<', n - *pos);
        if (!lt)
            return 0;
        size_t i = (size_t)(lt - d);
        if (n - i >= 4 && memcmp(d + i, "<!--", 4) == 0) {
            const uint8_t *e = find(d, n, i + 4, "-->");
            *pos = e ? (size_t)(e - d) + 3 : n;
            continue;
        }
        if (n - i >= 9 && memcmp(d + i, "<![CDATA[", 9) == 0) {
            const uint8_t *e = find(d, n, i + 9, "]]>");
            *pos = e ? (size_t)(e - d) + 3 : n;
            continue;
        }
        if (i + 1 < n && (d[i + 1] == '?' || d[i + 1] == '!')) {
            const uint8_t *e = memchr(d + i, '>', n - i);
            *pos = e ? (size_t)(e - d) + 1 : n;
            continue;
        }
        t->s = i;
        t->close = i + 1 < n && d[i + 1] == '/';
        size_t j = i + 1 + (size_t)t->close, ns = j;
        while (j < n && !isspace(d[j]) && d[j] != '>' && d[j] != '/')
            j++;
        t->ln = (const char *)d + ns;
        t->ll = j - ns;
        const char *colon = memchr(t->ln, ':', t->ll);
        if (colon) {
            t->ll -= (size_t)(colon + 1 - t->ln);
            t->ln = colon + 1;
        }
        t->an = j;
        int q = 0;
        for (; j < n; j++) {
            uint8_t c = d[j];
            if (q) {
                if (c == q)
                    q = 0;
            } else if (c == '"' || c == '\'')
                q = c;
            else if (c == '>')
                break;
        }
        if (j >= n) {
            *pos = n;
            return 0;
        }
        t->selfclose = d[j - 1] == '/';
        t->e = j + 1;
        *pos = j + 1;
        return 1;
    }
    return 0;
}

static int is(const tag *t, const char *ln) { return word_is(t->ln, t->ll, ln) && strlen(ln) == t->ll; }

/* Value of the attribute with local name `an` (entity-decoded) into out; 1 if found. */
static int attr(const uint8_t *d, const tag *t, const char *an, ds *out, int *rc)
{
    size_t i = t->an, end = t->e - 1;
    *rc = KS_OK;
    while (i < end) {
        while (i < end && (isspace(d[i]) || d[i] == '/'))
            i++;
        size_t ns = i;
        while (i < end && d[i] != '=' && !isspace(d[i]))
            i++;
        const char *nm = (const char *)d + ns;
        size_t nl = i - ns;
        const char *colon = memchr(nm, ':', nl);
        if (colon) {
            nl -= (size_t)(colon + 1 - nm);
            nm = colon + 1;
        }
        while (i < end && isspace(d[i]))
            i++;
        if (i >= end || d[i] != '=') {
            if (i == ns)
                i++;
            continue;
        }
        i++;
        while (i < end && isspace(d[i]))
            i++;
        if (i >= end || (d[i] != '"' && d[i] != '\''))
            continue;
        uint8_t q = d[i++];
        size_t vs = i;
        while (i < end && d[i] != q)
            i++;
        if (nl == strlen(an) && memcmp(nm, an, nl) == 0) {
            *rc = ent_decode(out, d + vs, i - vs);
            return 1;
        }
        i++;
    }
    return 0;
}

/* Element text after tag t up to the next '<', entity-decoded, appended to out. */
static int text_after(const uint8_t *d, size_t n, const tag *t, ds *out)
{
    const uint8_t *lt = memchr(d + t->e, '<', n - t->e);
    size_t stop = lt ? (size_t)(lt - d) : n;
    return ent_decode(out, d + t->e, stop - t->e);
}

/* ------------------------------------------------------------------ Word XML fields */

static int word_fields(fmt_sink *k, const uint8_t *d, size_t n)
{
    ds st[MAX_NEST];
    int sep[MAX_NEST];
    memset(st, 0, sizeof st);
    int depth = 0, over = 0, no = 0, rc = KS_OK;
    size_t pos = 0;
    tag t;
    ds v = {0};
    while (rc == KS_OK && next_tag(d, n, &pos, &t)) {
        if (t.close)
            continue;
        v.n = 0;
        if (is(&t, "fldSimple")) {
            int arc;
            if (attr(d, &t, "instr", &v, &arc) && arc == KS_OK)
                rc = field(k, &no, v.p ? v.p : "", v.n);
            else
                rc = arc;
        } else if (is(&t, "fldChar")) {
            int arc;
            if (!attr(d, &t, "fldCharType", &v, &arc) || arc != KS_OK) {
                rc = arc;
                continue;
            }
            if (v.n == 5 && !memcmp(v.p, "begin", 5)) {
                if (depth < MAX_NEST) {
                    st[depth].n = 0;
                    if (st[depth].p)
                        st[depth].p[0] = 0;
                    sep[depth++] = 0;
                } else
                    over++;
            } else if (v.n == 8 && !memcmp(v.p, "separate", 8)) {
                if (!over && depth)
                    sep[depth - 1] = 1;
            } else if (v.n == 3 && !memcmp(v.p, "end", 3)) {
                if (over) {
                    over--;
                } else if (depth) {
                    depth--;
                    ds *f = &st[depth];
                    rc = field(k, &no, f->p ? f->p : "", f->n);
                    if (rc == KS_OK && depth && !sep[depth - 1]) {
                        /* a nested field: a QUOTE's result goes into the outer instruction */
                        size_t q = 0;
                        while (q < f->n && isspace((unsigned char)f->p[q]))
                            q++;
                        if (f->n - q >= 5 && strncasecmp(f->p + q, "QUOTE", 5) == 0) {
                            ds e = {0};
                            rc = expand_quote(f->p + q, f->n - q, &e);
                            if (rc == KS_OK)
                                rc = ds_add(&st[depth - 1], e.p ? e.p : "", e.n);
                            ds_free(&e);
                        }
                    }
                }
            }
        } else if (is(&t, "instrText") && !t.selfclose) {
            if (depth && !over && !sep[depth - 1])
                rc = text_after(d, n, &t, &st[depth - 1]);
            else if (!depth) {   /* instruction text outside a begin/end pair */
                rc = text_after(d, n, &t, &v);
                if (rc == KS_OK)
                    rc = field(k, &no, v.p ? v.p : "", v.n);
            }
        }
    }
    if (rc == KS_OK && depth) {
        fmt_note(k, "parse-error: dde: unterminated field");
        while (depth && rc == KS_OK) {
            depth--;
            rc = field(k, &no, st[depth].p ? st[depth].p : "", st[depth].n);
        }
    }
    for (int i = 0; i < MAX_NEST; i++)
        ds_free(&st[i]);
    ds_free(&v);
    return rc;
}

/* ------------------------------------------------------------------ spreadsheet parts */

static int dde_links(fmt_sink *k, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    tag t;
    ds svc = {0}, top = {0}, item = {0};
    int in_link = 0, items = 0, no = 0, rc = KS_OK;
    char buf[MAX_INSTR + 16];
    while (rc == KS_OK && next_tag(d, n, &pos, &t)) {
        int arc = KS_OK;
        if (is(&t, "ddeLink")) {
            if (t.close || t.selfclose) {
                if (in_link && items == 0) {
                    int l = snprintf(buf, sizeof buf, "%s|'%s'", svc.p ? svc.p : "", top.p ? top.p : "");
                    rc = fmt_dde_emit(k, &no, buf, l < 0 ? 0 : (size_t)l >= sizeof buf ? sizeof buf - 1 : (size_t)l);
                }
                in_link = 0;
                if (t.close)
                    continue;
            }
            svc.n = top.n = 0;
            attr(d, &t, "ddeService", &svc, &arc);
            if (arc == KS_OK)
                attr(d, &t, "ddeTopic", &top, &arc);
            rc = arc;
            in_link = !t.selfclose;
            items = 0;
            if (t.selfclose && rc == KS_OK) {
                int l = snprintf(buf, sizeof buf, "%s|'%s'", svc.p ? svc.p : "", top.p ? top.p : "");
                rc = fmt_dde_emit(k, &no, buf, l < 0 ? 0 : (size_t)l >= sizeof buf ? sizeof buf - 1 : (size_t)l);
            }
        } else if (in_link && !t.close && is(&t, "ddeItem")) {
            item.n = 0;
            attr(d, &t, "name", &item, &arc);
            rc = arc;
            items++;
            if (rc == KS_OK) {
                int l = snprintf(buf, sizeof buf, "%s|'%s'!%s", svc.p ? svc.p : "",
                                 top.p ? top.p : "", item.p ? item.p : "");
                rc = fmt_dde_emit(k, &no, buf, l < 0 ? 0 : (size_t)l >= sizeof buf ? sizeof buf - 1 : (size_t)l);
            }
        }
    }
    ds_free(&svc);
    ds_free(&top);
    ds_free(&item);
    return rc;
}

static int ident(uint8_t c) { return isalnum(c) || c == '_' || c == '.'; }

/* server|'topic'!item (or server|topic!item) formulas anywhere in text. */
static int pipe_formulas(fmt_sink *k, const uint8_t *d, size_t n)
{
    int no = 0, rc = KS_OK;
    size_t i = 0;
    ds f = {0}, prev = {0};
    for (uint32_t cand = 0; rc == KS_OK && i < n && cand < (1u << 16); cand++) {
        const uint8_t *bar = memchr(d + i, '|', n - i);
        if (!bar)
            break;
        size_t b = (size_t)(bar - d);
        i = b + 1;
        size_t s = b;
        while (s > 0 && b - s < 64 && ident(d[s - 1]))
            s--;
        if (s == b || (s > 0 && ident(d[s - 1])))
            continue;
        uint8_t pc = s > 0 ? d[s - 1] : '\n';
        if (!strchr("=+-@(,;>\"\n\r\t ", pc) || pc == 0)
            continue;
        size_t j = b + 1;
        f.n = 0;
        int rc2 = ds_add(&f, (const char *)d + s, b - s);
        if (rc2 == KS_OK)
            rc2 = ds_add(&f, "|'", 2);
        if (j < n && d[j] == '\'') {
            j++;
            while (j < n && j - b < 256 && rc2 == KS_OK) {
                if (d[j] == '\'') {
                    if (j + 1 < n && d[j + 1] == '\'') {
                        rc2 = ds_add(&f, "'", 1);
                        j += 2;
                        continue;
                    }
                    break;
                }
                if (d[j] == '\n')
                    break;
                rc2 = ds_add(&f, (const char *)d + j, 1);
                j++;
            }
            if (j >= n || d[j] != '\'')
                continue;
            j++;
        } else {
            size_t ts = j;
            while (j < n && j - ts < 256 && d[j] != '!' && !isspace(d[j]) && d[j] != '<')
                j++;
            if (j == ts)
                continue;
            rc2 = ds_add(&f, (const char *)d + ts, j - ts);
        }
        if (rc2 != KS_OK) {
            rc = rc2;
            break;
        }
        if (j >= n || d[j] != '!')
            continue;
        j++;
        size_t is_ = j;
        while (j < n && j - is_ < 64 && (ident(d[j]) || d[j] == '$'))
            j++;
        rc = ds_add(&f, "'!", 2);
        if (rc == KS_OK)
            rc = ds_add(&f, (const char *)d + is_, j - is_);
        if (rc != KS_OK)
            break;
        if (prev.n == f.n && memcmp(prev.p, f.p, f.n) == 0)
            continue;   /* the same link in the next cell */
        prev.n = 0;
        rc = ds_add(&prev, f.p, f.n);
        if (rc == KS_OK)
            rc = fmt_dde_emit(k, &no, f.p, f.n);
        i = j;
    }
    ds_free(&f);
    ds_free(&prev);
    return rc;
}

/* xl/workbook.xml: hidden sheets and auto-run defined names. */
static int workbook_notes(fmt_sink *k, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    tag t;
    ds a = {0}, b = {0};
    int rc = KS_OK;
    for (uint32_t notes = 0; rc == KS_OK && notes < 256 && next_tag(d, n, &pos, &t);) {
        if (t.close)
            continue;
        int arc = KS_OK;
        a.n = b.n = 0;
        if (is(&t, "sheet")) {
            if (attr(d, &t, "state", &a, &arc) && arc == KS_OK && a.n &&
                strcmp(a.p, "visible") != 0) {
                attr(d, &t, "name", &b, &arc);
                fmt_note(k, "xlm: sheet \"%.120s\" (%s)", b.p ? b.p : "",
                         strcmp(a.p, "veryHidden") == 0 ? "very hidden" : a.p);
                notes++;
            }
        } else if (is(&t, "definedName") && !t.selfclose) {
            if (attr(d, &t, "name", &a, &arc) && arc == KS_OK && a.n) {
                const char *nm = a.p;
                if (strncasecmp(nm, "_xlnm.", 6) == 0)
                    nm += 6;
                if (strncasecmp(nm, "auto_open", 9) == 0 || strncasecmp(nm, "auto_close", 10) == 0 ||
                    strncasecmp(nm, "auto_activate", 13) == 0) {
                    arc = text_after(d, n, &t, &b);
                    fmt_note(k, "xlm: %.60s -> %.200s", nm, b.p ? b.p : "");
                    notes++;
                }
            }
        }
        rc = arc;
    }
    ds_free(&a);
    ds_free(&b);
    return rc;
}

/* xl/macrosheets/<part>.xml: a note, and the cells' formulas as "XLM/<part>" text. */
static int macro_part(fmt_sink *k, const char *label, const uint8_t *d, size_t n)
{
    fmt_note(k, "xlm: macro sheet %.200s", label);
    size_t pos = 0;
    tag t;
    ds ref = {0}, line = {0};
    fmt_buf o = {0};
    int rc = KS_OK;
    for (uint32_t lines = 0; rc == KS_OK && lines < MAX_LINES && next_tag(d, n, &pos, &t);) {
        int arc = KS_OK;
        if (t.close || !(is(&t, "c") || is(&t, "f")))
            continue;
        if (is(&t, "c")) {
            ref.n = 0;
            attr(d, &t, "r", &ref, &arc);
            rc = arc;
            continue;
        }
        if (t.selfclose)
            continue;
        line.n = 0;
        rc = ds_add(&line, ref.p ? ref.p : "?", ref.n ? ref.n : 1);
        if (rc == KS_OK)
            rc = ds_add(&line, " =", 2);
        if (rc == KS_OK)
            rc = text_after(d, n, &t, &line);
        if (rc == KS_OK)
            rc = ds_add(&line, "\n", 1);
        if (rc == KS_OK) {
            rc = fmt_buf_add(k, &o, line.p, line.n, n);
            lines++;
        }
    }
    if ((rc == KS_OK || rc == KS_ELIMIT) && o.n) {
        const char *base = strrchr(label, '/');
        base = base ? base + 1 : label;
        char lab[200];
        snprintf(lab, sizeof lab, "XLM/%s", base);
        rc = fmt_emit(k, lab, base, o.p, o.n);
    }
    if (rc == KS_ELIMIT)
        rc = KS_OK;
    fmt_buf_free(&o);
    ds_free(&ref);
    ds_free(&line);
    return rc;
}

/* ------------------------------------------------------------------ dispatch */

enum { P_NONE, P_WORD, P_EXTLINK, P_SHEET, P_MACRO, P_WORKBOOK, P_CSV };

static int prefix_ci(const char *s, const char *p) { return strncasecmp(s, p, strlen(p)) == 0; }
static int suffix_ci(const char *s, const char *x)
{
    size_t l = strlen(s), xl = strlen(x);
    return l >= xl && strcasecmp(s + l - xl, x) == 0;
}

static int part_kind(const ks_object_info *o)
{
    if (!o->type || (strcmp(o->type, "text") != 0 && strcmp(o->type, "html") != 0))
        return P_NONE;
    if (o->parent_type && strcmp(o->parent_type, "ooxml") == 0 && o->label &&
        suffix_ci(o->label, ".xml")) {
        const char *l = o->label;
        if (prefix_ci(l, "word/"))
            return P_WORD;
        if (prefix_ci(l, "xl/externalLinks/"))
            return P_EXTLINK;
        if (prefix_ci(l, "xl/worksheets/"))
            return P_SHEET;
        if (prefix_ci(l, "xl/macrosheets/") || prefix_ci(l, "xl/intlMacrosheets/"))
            return P_MACRO;
        if (strcasecmp(l, "xl/workbook.xml") == 0)
            return P_WORKBOOK;
    }
    if (o->name && suffix_ci(o->name, ".csv"))
        return P_CSV;
    return P_NONE;
}

int fmt_dde_part(const ks_object_info *o) { return part_kind(o) != P_NONE; }

int fmt_dde_extract(fmt_sink *k, const ks_object_info *o, const uint8_t *d, size_t n)
{
    if (!d || n == 0)
        return KS_OK;
    switch (part_kind(o)) {
    case P_WORD:
        return word_fields(k, d, n);
    case P_EXTLINK:
        return dde_links(k, d, n);
    case P_MACRO:
        return macro_part(k, o->label, d, n);
    case P_WORKBOOK:
        return workbook_notes(k, d, n);
    case P_SHEET: {   /* formulas are element text: decode entities first */
        size_t pos = 0;
        tag t;
        int rc = KS_OK;
        ds f = {0};
        while (rc == KS_OK && next_tag(d, n, &pos, &t)) {
            if (t.close || t.selfclose || !is(&t, "f"))
                continue;
            f.n = 0;
            rc = text_after(d, n, &t, &f);
            if (rc == KS_OK && f.n && memchr(f.p, '|', f.n)) {
                ds g = {0};
                rc = ds_add(&g, "=", 1);
                if (rc == KS_OK)
                    rc = ds_add(&g, f.p, f.n);
                if (rc == KS_OK)
                    rc = pipe_formulas(k, (const uint8_t *)g.p, g.n);
                ds_free(&g);
            }
        }
        ds_free(&f);
        return rc;
    }
    case P_CSV:
        return pipe_formulas(k, d, n);
    default:
        return KS_OK;
    }
}

/* ------------------------------------------------------------------ .doc WordDocument */

static int kw_start(const char *s, size_t n)
{
    static const char *const kws[] = {"DDE", "DDEAUTO", "INCLUDETEXT", "INCLUDEPICTURE", "LINK",
                                      "IMPORT", NULL};
    size_t w, i = first_word(s, n, &w);
    for (int q = 0; kws[q]; q++)
        if (word_is(s + w, i - w, kws[q]))
            return 1;
    return 0;
}

int fmt_dde_worddoc(fmt_sink *k, const uint8_t *d, size_t n)
{
    int no = 0, rc = KS_OK, unterminated = 0;
    size_t i = 0, work = 0, max_work = 4 * (size_t)n + (1u << 24);
    ds s = {0};
    while (rc == KS_OK && i < n && no < MAX_FIELDS && work < max_work) {
        const uint8_t *m = memchr(d + i, 0x13, n - i);
        if (!m)
            break;
        size_t b = (size_t)(m - d);
        int wide = b + 1 < n && d[b + 1] == 0;
        size_t j = b + (wide ? 2 : 1);
        s.n = 0;
        int closed = 0;
        while (j + (wide ? 1 : 0) < n && s.n < MAX_INSTR && rc == KS_OK) {
            uint32_t c = wide ? (uint32_t)(d[j] | d[j + 1] << 8) : d[j];
            if (c == 0x13 || c == 0x14 || c == 0x15) {
                closed = 1;
                break;
            }
            rc = ds_cp(&s, c ? c : ' ');
            j += wide ? 2 : 1;
        }
        work += j - b;
        if (rc != KS_OK)
            break;
        if (s.n && kw_start(s.p, s.n)) {
            if (!closed)
                unterminated = 1;
            rc = field(k, &no, s.p, s.n);
            i = j;
        } else
            i = b + 1;
    }
    if (unterminated)
        fmt_note(k, "parse-error: dde: unterminated field");
    ds_free(&s);
    return rc;
}

/* ------------------------------------------------------------------ RTF \fldinst */

/* Skip a group at d[i] == '{'; returns the index after its closing brace (n if none). */
static size_t rtf_skip_group(const uint8_t *d, size_t n, size_t i)
{
    size_t depth = 0;
    for (; i < n; i++) {
        if (d[i] == '\\') {
            i++;
        } else if (d[i] == '{') {
            depth++;
        } else if (d[i] == '}') {
            if (depth <= 1)
                return i + 1;
            depth--;
        }
    }
    return n;
}

/* Collect the text of the group holding \fldinst from j; *end gets where it stopped, *closed 1
 * when its closing brace was found. */
static int rtf_instr(const uint8_t *d, size_t n, size_t j, ds *out, size_t *end, int *closed)
{
    size_t depth = 0;
    int rc = KS_OK, skip_one = 0;
    *closed = 0;
    while (j < n && rc == KS_OK && out->n < MAX_INSTR) {
        uint8_t c = d[j];
        if (c == '{') {
            if (j + 2 < n && d[j + 1] == '\\' && d[j + 2] == '*') {
                j = rtf_skip_group(d, n, j);
                continue;
            }
            depth++;
            j++;
        } else if (c == '}') {
            if (depth == 0) {
                *closed = 1;
                j++;
                break;
            }
            depth--;
            j++;
        } else if (c == '\\') {
            if (j + 1 >= n) {
                j = n;
                break;
            }
            uint8_t e = d[j + 1];
            if (e == '\\' || e == '{' || e == '}') {
                rc = ds_add(out, (const char *)d + j + 1, 1);
                j += 2;
            } else if (e == '\'') {
                int hi = j + 2 < n ? fmt_hexval(d[j + 2]) : -1;
                int lo = j + 3 < n ? fmt_hexval(d[j + 3]) : -1;
                if (hi >= 0 && lo >= 0)
                    rc = skip_one ? KS_OK : ds_cp(out, (uint32_t)(hi << 4 | lo));
                skip_one = 0;
                j += 4;
            } else if (isalpha(e)) {
                size_t w = j + 1;
                while (w < n && isalpha(d[w]) && w - j < 40)
                    w++;
                size_t wl = w - j - 1;
                const char *word = (const char *)d + j + 1;
                int neg = w < n && d[w] == '-';
                if (neg)
                    w++;
                long v = -1;
                if (w < n && isdigit(d[w])) {
                    v = 0;
                    while (w < n && isdigit(d[w])) {
                        if (v < 1000000)
                            v = v * 10 + (d[w] - '0');
                        w++;
                    }
                    if (neg)
                        v = 65536 - v;
                }
                if (w < n && d[w] == ' ')
                    w++;
                if (wl == 1 && word[0] == 'u' && v >= 0) {
                    rc = ds_cp(out, (uint32_t)v & 0xFFFF);
                    skip_one = 1;   /* the ANSI replacement that follows */
                } else if ((wl == 3 && !memcmp(word, "tab", 3)) || (wl == 3 && !memcmp(word, "par", 3)) ||
                           (wl == 4 && !memcmp(word, "line", 4)))
                    rc = ds_add(out, " ", 1);
                j = w;
            } else {
                if (e == '~')
                    rc = ds_add(out, " ", 1);
                j += 2;
            }
        } else if (c == '\r' || c == '\n') {
            j++;
        } else {
            if (skip_one)
                skip_one = 0;
            else
                rc = ds_cp(out, c);
            j++;
        }
    }
    *end = j;
    return rc;
}

int fmt_dde_rtf(fmt_sink *k, const uint8_t *d, size_t n)
{
    int no = 0, rc = KS_OK, unterminated = 0;
    size_t i = 0;
    ds s = {0};
    for (uint32_t fields = 0; rc == KS_OK && i < n && fields < 100000; fields++) {
        if (fmt_stopped(k)) {
            rc = FMT_STOP;
            break;
        }
        const uint8_t *m = find(d, n, i, "\\fldinst");
        if (!m)
            break;
        size_t j = (size_t)(m - d) + 8;
        if (j < n && isalpha(d[j])) {
            i = j;
            continue;
        }
        if (j < n && d[j] == ' ')
            j++;
        s.n = 0;
        size_t end;
        int closed;
        rc = rtf_instr(d, n, j, &s, &end, &closed);
        if (rc != KS_OK)
            break;
        if (!closed && s.n && kw_start(s.p, s.n))
            unterminated = 1;
        rc = field(k, &no, s.p ? s.p : "", s.n);
        i = end > j ? end : j + 1;
    }
    if (unterminated)
        fmt_note(k, "parse-error: dde: unterminated field");
    ds_free(&s);
    return rc;
}
