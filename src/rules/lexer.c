/*
 * lexer.c - hand-written tokenizer for YARA rule text.
 *
 * Reads the source through an index that is checked against the length on every step; never
 * reads past the end, whatever the bytes are (binary junk gives TK_ERROR tokens).
 */
#include "rules/lexer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDENT 128
#define MAX_LITERAL (1 << 20)

/* Reserved words with their lengths, sorted by their bytes (keyword_find relies on the order).
 * TK_INTFN (int8 .. uint32be) values: size in bytes | 0x10 signed | 0x20 big-endian. */
#define KW(w, k, v) {w, sizeof(w) - 1, k, v}
static const struct { const char *w; size_t n; int k; int64_t v; } keywords[] = {
    KW("all", TK_ALL, 0), KW("and", TK_AND, 0), KW("any", TK_ANY, 0), KW("ascii", TK_ASCII, 0),
    KW("at", TK_AT, 0), KW("base64", TK_BASE64, 0), KW("base64wide", TK_BASE64WIDE, 0),
    KW("condition", TK_CONDITION, 0), KW("contains", TK_CONTAINS, 0),
    KW("defined", TK_DEFINED, 0), KW("endswith", TK_ENDSWITH, 0),
    KW("entrypoint", TK_ENTRYPOINT, 0), KW("false", TK_FALSE, 0),
    KW("filesize", TK_FILESIZE, 0), KW("for", TK_FOR, 0), KW("fullword", TK_FULLWORD, 0),
    KW("global", TK_GLOBAL, 0), KW("icontains", TK_ICONTAINS, 0),
    KW("iendswith", TK_IENDSWITH, 0), KW("iequals", TK_IEQUALS, 0), KW("import", TK_IMPORT, 0),
    KW("in", TK_IN, 0), KW("include", TK_INCLUDE, 0), KW("int16", TK_INTFN, 2 | 0x10),
    KW("int16be", TK_INTFN, 2 | 0x30), KW("int32", TK_INTFN, 4 | 0x10),
    KW("int32be", TK_INTFN, 4 | 0x30), KW("int8", TK_INTFN, 1 | 0x10),
    KW("int8be", TK_INTFN, 1 | 0x30), KW("istartswith", TK_ISTARTSWITH, 0),
    KW("matches", TK_MATCHES, 0), KW("meta", TK_META, 0), KW("nocase", TK_NOCASE, 0),
    KW("none", TK_NONE, 0), KW("not", TK_NOT, 0), KW("of", TK_OF, 0), KW("or", TK_OR, 0),
    KW("private", TK_PRIVATE, 0), KW("rule", TK_RULE, 0), KW("startswith", TK_STARTSWITH, 0),
    KW("strings", TK_STRINGS, 0), KW("them", TK_THEM, 0), KW("true", TK_TRUE, 0),
    KW("uint16", TK_INTFN, 2), KW("uint16be", TK_INTFN, 2 | 0x20), KW("uint32", TK_INTFN, 4),
    KW("uint32be", TK_INTFN, 4 | 0x20), KW("uint8", TK_INTFN, 1),
    KW("uint8be", TK_INTFN, 1 | 0x20), KW("wide", TK_WIDE, 0), KW("xor", TK_XOR, 0),
};
#undef KW
#define NKEYWORDS (sizeof keywords / sizeof keywords[0])

/* Index of the keyword s[0..n), or -1. Binary search for the first keyword starting with s[0],
 * then a scan of those (at most a dozen). */
static int keyword_find(const char *s, size_t n)
{
    unsigned char c0 = (unsigned char)s[0];
    size_t lo = 0, hi = NKEYWORDS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((unsigned char)keywords[mid].w[0] < c0) lo = mid + 1;
        else hi = mid;
    }
    for (; lo < NKEYWORDS && (unsigned char)keywords[lo].w[0] == c0; lo++)
        if (keywords[lo].n == n && memcmp(keywords[lo].w, s, n) == 0) return (int)lo;
    return -1;
}

/* Identifier characters [A-Za-z0-9_] (what isalnum() || '_' accepts in the C locale). */
static const uint8_t ident_char[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* End of the run of identifier characters starting at `pos`. */
static size_t ident_end(const lexer *lx, size_t pos)
{
    while (pos < lx->len && ident_char[(unsigned char)lx->src[pos]]) pos++;
    return pos;
}

void lex_init(lexer *lx, const char *src, size_t len)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
}

void lex_token_free(lex_token *tok)
{
    if (tok->s) free(tok->s);     /* most tokens own no text: skip the call */
    tok->s = NULL;
    tok->len = 0;
}

static int peekc(const lexer *lx, size_t k)
{
    return lx->pos + k < lx->len ? (unsigned char)lx->src[lx->pos + k] : -1;
}

static void set_error(lex_token *tok, const char *msg)
{
    tok->kind = TK_ERROR;
    snprintf(tok->err, sizeof tok->err, "%s", msg);
}

/* Skip blanks and comments. Returns 0, or -1 for an unterminated comment. */
static int skip_space(lexer *lx)
{
    const char *src = lx->src;
    size_t len = lx->len, pos = lx->pos;
    int line = lx->line, rc = 0;
    while (pos < len) {
        char c = src[pos];
        if (c == '\n') { line++; pos++; }
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') pos++;
        else if (c == '/' && pos + 1 < len && src[pos + 1] == '/') {
            while (pos < len && src[pos] != '\n') pos++;
        } else if (c == '/' && pos + 1 < len && src[pos + 1] == '*') {
            pos += 2;
            for (;;) {
                if (pos + 1 >= len) { pos = len; rc = -1; break; }
                if (src[pos] == '*' && src[pos + 1] == '/') { pos += 2; break; }
                if (src[pos] == '\n') line++;
                pos++;
            }
            if (rc) break;
        } else break;
    }
    lx->pos = pos;
    lx->line = line;
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends src[0..k) to the literal buffer *buf (n used, *cap allocated, *cap a power-of-two
 * multiple of 64) in one step, when appending the k bytes one at a time would not hit the
 * MAX_LITERAL limit: that is when n + k < MAX_LITERAL. Returns 1 when appended, 0 when the caller
 * must append byte by byte (the limit is near), -1 when out of memory (*buf unchanged).
 * The capacity grows by doubling as byte-wise appends do, so the limit is hit at the same byte. */
static int append_run(char **buf, size_t *n, size_t *cap, const char *src, size_t k)
{
    if (*n + k >= MAX_LITERAL) return 0;
    size_t nc = *cap;
    while (*n + k + 1 > nc) nc *= 2;
    if (nc != *cap) {
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *n, src, k);
    *n += k;
    return 1;
}

/* Bytes that end a run of plain text in a "..." literal. */
static const uint8_t text_stop[256] = {['"'] = 1, ['\\'] = 1, ['\n'] = 1};

/* "..." with yara's escapes: \" \\ \t \n \r \xNN. */
static void lex_text(lexer *lx, lex_token *tok)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    if (!buf) { set_error(tok, "out of memory"); return; }
    lx->pos++; /* opening quote */
    int bulk = 1;  /* runs are appended at once until the length limit is near */
    for (;;) {
        /* a run of plain bytes at once; the byte-wise code below does the rest */
        if (bulk) {
            size_t r = lx->pos;
            while (r < lx->len && !text_stop[(unsigned char)lx->src[r]]) r++;
            if (r > lx->pos) {
                int ar = append_run(&buf, &n, &cap, lx->src + lx->pos, r - lx->pos);
                if (ar < 0) { free(buf); set_error(tok, "out of memory"); return; }
                if (ar > 0) lx->pos = r;
                else bulk = 0;
            }
        }
        int c = peekc(lx, 0);
        if (c < 0 || c == '\n') {
            free(buf);
            set_error(tok, "unterminated string");
            return;
        }
        lx->pos++;
        if (c == '"') break;
        if (c == '\\') {
            int e = peekc(lx, 0);
            lx->pos++;
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case 't': c = '\t'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 'x': {
                int h1 = hexval(peekc(lx, 0)), h2 = hexval(peekc(lx, 1));
                if (h1 < 0 || h2 < 0) {
                    free(buf);
                    set_error(tok, "illegal escape sequence");
                    return;
                }
                lx->pos += 2;
                c = h1 * 16 + h2;
                break;
            }
            default:
                free(buf);
                set_error(tok, "illegal escape sequence");
                return;
            }
        }
        if (n + 1 >= cap) {
            if (cap >= MAX_LITERAL) { free(buf); set_error(tok, "string too long"); return; }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); set_error(tok, "out of memory"); return; }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    tok->kind = TK_TEXT;
    tok->s = buf;
    tok->len = n;
}

/* /regex/flags - the body is kept as written except that "\/" becomes "/". */
static void lex_regex(lexer *lx, lex_token *tok)
{
    size_t start = ++lx->pos, n = 0;
    char *buf = NULL;
    int in_class = 0;
    size_t end;
    for (;;) {
        int c = peekc(lx, 0);
        if (c < 0 || c == '\n') { set_error(tok, "unterminated regular expression"); return; }
        if (c == '\\') {
            if (peekc(lx, 1) < 0 || peekc(lx, 1) == '\n') {
                set_error(tok, "unterminated regular expression");
                return;
            }
            lx->pos += 2;
            continue;
        }
        if (c == '[' ) in_class = 1;
        else if (c == ']') in_class = 0;
        (void)in_class;
        if (c == '/') break;
        lx->pos++;
    }
    end = lx->pos;
    lx->pos++;
    buf = malloc(end - start + 1);
    if (!buf) { set_error(tok, "out of memory"); return; }
    for (size_t i = start; i < end; i++) {
        if (lx->src[i] == '\\' && i + 1 < end && lx->src[i + 1] == '/') { buf[n++] = '/'; i++; }
        else if (lx->src[i] == '\\' && i + 1 < end) { buf[n++] = '\\'; buf[n++] = lx->src[++i]; }
        else buf[n++] = lx->src[i];
    }
    buf[n] = 0;
    tok->re_flags = 0;
    for (;;) {
        int c = peekc(lx, 0);
        if (c == 'i') tok->re_flags |= 1;
        else if (c == 's') tok->re_flags |= 2;
        else break;
        lx->pos++;
    }
    if (n == 0) { free(buf); set_error(tok, "empty regular expression"); return; }
    tok->kind = TK_REGEX;
    tok->s = buf;
    tok->len = n;
}

/* Hex body bytes: 1 ends a run ('}' and '/'), 2 is a newline. */
static const uint8_t hex_stop[256] = {['}'] = 1, ['/'] = 1, ['\n'] = 2};

/* { hex } - body kept with comments removed; validated by the hex compiler. */
static void lex_hex(lexer *lx, lex_token *tok)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    if (!buf) { set_error(tok, "out of memory"); return; }
    lx->pos++;
    int bulk = 1;  /* runs are appended at once until the length limit is near */
    for (;;) {
        /* a run of bytes that are neither '}' nor '/' at once (counting its lines); the
         * byte-wise code below does the rest */
        if (bulk) {
            size_t r = lx->pos;
            int lines = 0;
            for (; r < lx->len; r++) {
                uint8_t k = hex_stop[(unsigned char)lx->src[r]];
                if (k == 1) break;
                lines += k >> 1;
            }
            if (r > lx->pos) {
                int ar = append_run(&buf, &n, &cap, lx->src + lx->pos, r - lx->pos);
                if (ar < 0) { free(buf); set_error(tok, "out of memory"); return; }
                if (ar > 0) { lx->pos = r; lx->line += lines; }
                else bulk = 0;
            }
        }
        int c = peekc(lx, 0);
        if (c < 0) { free(buf); set_error(tok, "unterminated hex string"); return; }
        if (c == '}') { lx->pos++; break; }
        if (c == '/' && peekc(lx, 1) == '/') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n') lx->pos++;
            continue;
        }
        if (c == '/' && peekc(lx, 1) == '*') {
            lx->pos += 2;
            while (lx->pos + 1 < lx->len &&
                   !(lx->src[lx->pos] == '*' && lx->src[lx->pos + 1] == '/')) {
                if (lx->src[lx->pos] == '\n') lx->line++;
                lx->pos++;
            }
            if (lx->pos + 1 >= lx->len) { free(buf); set_error(tok, "unterminated hex string"); return; }
            lx->pos += 2;
            c = ' ';
        } else {
            if (c == '\n') lx->line++;
            lx->pos++;
        }
        if (n + 1 >= cap) {
            if (cap >= MAX_LITERAL) { free(buf); set_error(tok, "hex string too long"); return; }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); set_error(tok, "out of memory"); return; }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    tok->kind = TK_HEX;
    tok->s = buf;
    tok->len = n;
}

static void lex_number(lexer *lx, lex_token *tok)
{
    size_t p = lx->pos;
    uint64_t v = 0;
    int overflow = 0;
    if (lx->src[p] == '0' && p + 1 < lx->len && (lx->src[p + 1] == 'x' || lx->src[p + 1] == 'X')) {
        p += 2;
        size_t s = p;
        while (p < lx->len && hexval((unsigned char)lx->src[p]) >= 0) {
            if (v >> 60) overflow = 1;
            v = v * 16 + (uint64_t)hexval((unsigned char)lx->src[p]);
            p++;
        }
        if (p == s) { lx->pos = p; set_error(tok, "syntax error, invalid hex number"); return; }
    } else if (lx->src[p] == '0' && p + 1 < lx->len && lx->src[p + 1] == 'o') {
        p += 2;
        size_t s = p;
        while (p < lx->len && lx->src[p] >= '0' && lx->src[p] <= '7') {
            if (v >> 61) overflow = 1;
            v = v * 8 + (uint64_t)(lx->src[p] - '0');
            p++;
        }
        if (p == s) { lx->pos = p; set_error(tok, "syntax error, invalid octal number"); return; }
    } else {
        size_t s = p;
        while (p < lx->len && isdigit((unsigned char)lx->src[p])) p++;
        if (p + 1 < lx->len && lx->src[p] == '.' && isdigit((unsigned char)lx->src[p + 1])) {
            p++;
            while (p < lx->len && isdigit((unsigned char)lx->src[p])) p++;
            char tmp[64];
            size_t n = p - s < sizeof tmp - 1 ? p - s : sizeof tmp - 1;
            memcpy(tmp, lx->src + s, n);
            tmp[n] = 0;
            tok->kind = TK_FLOAT;
            tok->f = strtod(tmp, NULL);
            lx->pos = p;
            return;
        }
        for (size_t i = s; i < p; i++) {
            uint64_t d = (uint64_t)(lx->src[i] - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = 1;
            v = v * 10 + d;
        }
    }
    if (p + 1 < lx->len && lx->src[p] == 'K' && lx->src[p + 1] == 'B') {
        if (v > ((uint64_t)INT64_MAX >> 10)) overflow = 1;
        v <<= 10;
        p += 2;
    } else if (p + 1 < lx->len && lx->src[p] == 'M' && lx->src[p + 1] == 'B') {
        if (v > ((uint64_t)INT64_MAX >> 20)) overflow = 1;
        v <<= 20;
        p += 2;
    }
    lx->pos = p;
    if (overflow || v > (uint64_t)INT64_MAX) {
        set_error(tok, "integer overflow");
        return;
    }
    tok->kind = TK_INT;
    tok->i = (int64_t)v;
}

static void lex_any(lexer *lx, lex_token *tok, int value_mode)
{
    /* every field but the error text (only read for TK_ERROR, which sets it) */
    tok->kind = TK_EOF;
    tok->line = 0;
    tok->i = 0;
    tok->f = 0;
    tok->s = NULL;
    tok->len = 0;
    tok->re_flags = 0;
    tok->err[0] = 0;
    if (skip_space(lx) < 0) {
        tok->line = lx->line;
        set_error(tok, "unterminated comment");
        return;
    }
    tok->line = lx->line;
    int c = peekc(lx, 0);
    if (c < 0) { tok->kind = TK_EOF; return; }
    if (c == '"') { lex_text(lx, tok); return; }
    if (c == '/') { lex_regex(lx, tok); return; }
    if (c == '{' && value_mode) { lex_hex(lx, tok); return; }
    if (isdigit(c)) { lex_number(lx, tok); return; }
    if (isalpha(c) || c == '_') {
        size_t s = lx->pos;
        lx->pos = ident_end(lx, lx->pos);
        size_t n = lx->pos - s;
        int k = keyword_find(lx->src + s, n);
        if (k >= 0) {
            tok->kind = keywords[k].k;
            tok->i = keywords[k].v;
            return;
        }
        if (n > MAX_IDENT) { set_error(tok, "identifier too long"); return; }
        tok->kind = TK_IDENT;
        tok->s = malloc(n + 1);
        if (!tok->s) { set_error(tok, "out of memory"); return; }
        memcpy(tok->s, lx->src + s, n);
        tok->s[n] = 0;
        tok->len = n;
        return;
    }
    if (c == '$' || c == '#' || c == '@' || c == '!') {
        if (c == '!' && peekc(lx, 1) == '=') { lx->pos += 2; tok->kind = TK_NE; return; }
        size_t s = lx->pos++;
        lx->pos = ident_end(lx, lx->pos);
        int wild = 0;
        if (c == '$' && peekc(lx, 0) == '*') { wild = 1; lx->pos++; }
        size_t n = lx->pos - s;
        if (n > MAX_IDENT) { set_error(tok, "identifier too long"); return; }
        tok->s = malloc(n + 1);
        if (!tok->s) { set_error(tok, "out of memory"); return; }
        memcpy(tok->s, lx->src + s, n);
        tok->s[n] = 0;
        if (wild) tok->s[n - 1] = 0;      /* "$a*" -> prefix "$a" */
        tok->s[0] = '$';                  /* #a/@a/!a all name the string "$a" */
        tok->len = wild ? n - 1 : n;
        tok->kind = c == '$' ? (wild ? TK_STRID_WILD : TK_STRID)
                  : c == '#' ? TK_STRCOUNT : c == '@' ? TK_STROFFSET : TK_STRLENGTH;
        return;
    }
    lx->pos++;
    switch (c) {
    case '{': tok->kind = TK_LBRACE; return;
    case '}': tok->kind = TK_RBRACE; return;
    case '(': tok->kind = TK_LPAREN; return;
    case ')': tok->kind = TK_RPAREN; return;
    case '[': tok->kind = TK_LBRACK; return;
    case ']': tok->kind = TK_RBRACK; return;
    case ':': tok->kind = TK_COLON; return;
    case ',': tok->kind = TK_COMMA; return;
    case '+': tok->kind = TK_PLUS; return;
    case '-': tok->kind = TK_MINUS; return;
    case '*': tok->kind = TK_STAR; return;
    case '\\': tok->kind = TK_BACKSLASH; return;
    case '%': tok->kind = TK_PERCENT; return;
    case '&': tok->kind = TK_AMP; return;
    case '|': tok->kind = TK_PIPE; return;
    case '^': tok->kind = TK_CARET; return;
    case '~': tok->kind = TK_TILDE; return;
    case '.':
        if (peekc(lx, 0) == '.') { lx->pos++; tok->kind = TK_DOTDOT; }
        else tok->kind = TK_DOT;
        return;
    case '=':
        if (peekc(lx, 0) == '=') { lx->pos++; tok->kind = TK_EQ; }
        else tok->kind = TK_ASSIGN;
        return;
    case '<':
        if (peekc(lx, 0) == '=') { lx->pos++; tok->kind = TK_LE; }
        else if (peekc(lx, 0) == '<') { lx->pos++; tok->kind = TK_SHL; }
        else tok->kind = TK_LT;
        return;
    case '>':
        if (peekc(lx, 0) == '=') { lx->pos++; tok->kind = TK_GE; }
        else if (peekc(lx, 0) == '>') { lx->pos++; tok->kind = TK_SHR; }
        else tok->kind = TK_GT;
        return;
    default: {
        char msg[64];
        if (c >= 0x20 && c < 0x7f) snprintf(msg, sizeof msg, "syntax error, unexpected '%c'", c);
        else snprintf(msg, sizeof msg, "syntax error, unexpected byte 0x%02x", c);
        set_error(tok, msg);
        return;
    }
    }
}

void lex_next(lexer *lx, lex_token *tok) { lex_any(lx, tok, 0); }
void lex_next_value(lexer *lx, lex_token *tok) { lex_any(lx, tok, 1); }

const char *lex_kind_name(int kind)
{
    static const char *names[TK__COUNT] = {
        [TK_EOF] = "end of file", [TK_ERROR] = "error", [TK_IDENT] = "identifier",
        [TK_STRID] = "string identifier", [TK_STRID_WILD] = "string identifier with wildcard",
        [TK_STRCOUNT] = "string count", [TK_STROFFSET] = "string offset",
        [TK_STRLENGTH] = "string length", [TK_INT] = "integer number",
        [TK_FLOAT] = "floating point number", [TK_TEXT] = "text string",
        [TK_REGEX] = "regular expression", [TK_HEX] = "hex string",
        [TK_LBRACE] = "'{'", [TK_RBRACE] = "'}'", [TK_LPAREN] = "'('", [TK_RPAREN] = "')'",
        [TK_LBRACK] = "'['", [TK_RBRACK] = "']'", [TK_COLON] = "':'", [TK_COMMA] = "','",
        [TK_ASSIGN] = "'='", [TK_DOT] = "'.'", [TK_DOTDOT] = "'..'", [TK_PLUS] = "'+'",
        [TK_MINUS] = "'-'", [TK_STAR] = "'*'", [TK_BACKSLASH] = "'\\'", [TK_PERCENT] = "'%'",
        [TK_SHL] = "'<<'", [TK_SHR] = "'>>'", [TK_AMP] = "'&'", [TK_PIPE] = "'|'",
        [TK_CARET] = "'^'", [TK_TILDE] = "'~'", [TK_LT] = "'<'", [TK_LE] = "'<='",
        [TK_GT] = "'>'", [TK_GE] = "'>='", [TK_EQ] = "'=='", [TK_NE] = "'!='",
        [TK_ALL] = "all", [TK_AND] = "and", [TK_ANY] = "any", [TK_ASCII] = "ascii",
        [TK_AT] = "at", [TK_BASE64] = "base64", [TK_BASE64WIDE] = "base64wide",
        [TK_CONDITION] = "condition", [TK_CONTAINS] = "contains", [TK_DEFINED] = "defined",
        [TK_ENDSWITH] = "endswith", [TK_ENTRYPOINT] = "entrypoint", [TK_FALSE] = "false",
        [TK_FILESIZE] = "filesize", [TK_FOR] = "for", [TK_FULLWORD] = "fullword",
        [TK_GLOBAL] = "global", [TK_ICONTAINS] = "icontains", [TK_IENDSWITH] = "iendswith",
        [TK_IEQUALS] = "iequals", [TK_IMPORT] = "import", [TK_IN] = "in",
        [TK_INCLUDE] = "include", [TK_ISTARTSWITH] = "istartswith", [TK_MATCHES] = "matches",
        [TK_META] = "meta", [TK_NOCASE] = "nocase", [TK_NONE] = "none", [TK_NOT] = "not",
        [TK_OF] = "of", [TK_OR] = "or", [TK_PRIVATE] = "private", [TK_RULE] = "rule",
        [TK_STARTSWITH] = "startswith", [TK_STRINGS] = "strings", [TK_THEM] = "them",
        [TK_TRUE] = "true", [TK_WIDE] = "wide", [TK_XOR] = "xor",
        [TK_INTFN] = "integer function",
    };
    if (kind < 0 || kind >= TK__COUNT || !names[kind]) return "token";
    return names[kind];
}
