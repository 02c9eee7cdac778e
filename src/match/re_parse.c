/*
 * re_parse.c - parsers for YARA's regex dialect and hex strings, producing an re_ast.
 *
 * Both are hand-written recursive-descent parsers whose recursion depth is bounded by
 * RE_MAX_DEPTH (hostile nesting gives an error, never a stack overflow). Accepted syntax and
 * error messages follow YARA 4.2.3 (checked against the yara binary):
 *   regex: literals, escapes (\xHH \n \t \r \f \a, any other escaped char is literal), '.',
 *   classes, \w \W \s \S \d \D \b \B, ^ $, groups, '|', * + ? {n} {n,} {,m} {n,m} and lazy forms.
 *   hex:   XX ?? X? ?X, jumps [n] [n-m] [n-] [-], alternatives ( a | b ), comments.
 */
#include "match/re_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int re_ast_init(re_ast *a)
{
    memset(a, 0, sizeof *a);
    a->root = -1;
    return RE_OK;
}

void re_ast_free(re_ast *a)
{
    free(a->nodes);
    free(a->classes);
    memset(a, 0, sizeof *a);
}

/* Returns the index of a new zeroed node, or -1 when out of memory / too many nodes. */
int re_node_new(re_ast *a, int type)
{
    if (a->n >= RE_MAX_NODES)
        return -1;
    if (a->n == a->cap) {
        int32_t nc = a->cap ? a->cap * 2 : 64;
        re_node *p = realloc(a->nodes, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        a->nodes = p;
        a->cap = nc;
    }
    re_node *n = &a->nodes[a->n];
    memset(n, 0, sizeof *n);
    n->type = (uint8_t)type;
    n->mask = 0xFF;
    n->cls = n->first = n->last = n->next = n->prev = -1;
    n->greedy = 1;
    return a->n++;
}

/* Makes room for `extra` more nodes (never beyond RE_MAX_NODES) so that parsing does not grow
 * the array step by step. Only a hint: on failure the array grows on demand as before. */
static void reserve_nodes(re_ast *a, size_t extra)
{
    size_t want = (size_t)a->n + extra;
    if (want > RE_MAX_NODES)
        want = RE_MAX_NODES;
    if (want <= (size_t)a->cap)
        return;
    re_node *p = realloc(a->nodes, want * sizeof *p);
    if (!p)
        return;
    a->nodes = p;
    a->cap = (int32_t)want;
}

void re_node_append(re_ast *a, int parent, int child)
{
    re_node *p = &a->nodes[parent];
    a->nodes[child].prev = p->last;
    a->nodes[child].next = -1;
    if (p->last >= 0)
        a->nodes[p->last].next = child;
    else
        p->first = child;
    p->last = child;
}

static int new_class(re_ast *a)
{
    if (a->ncls == a->capcls) {
        int32_t nc = a->capcls ? a->capcls * 2 : 8;
        uint8_t (*p)[32] = realloc(a->classes, (size_t)nc * 32);
        if (!p)
            return -1;
        a->classes = p;
        a->capcls = nc;
    }
    memset(a->classes[a->ncls], 0, 32);
    return a->ncls++;
}

/* ------------------------------------------------------------------------------------------ */
/* Regex parser                                                                                 */

typedef struct rp {
    const unsigned char *s;
    size_t len, i;
    re_ast *a;
    re_error *err;
    int rc;                     /* first error code */
} rp;

static int rfail(rp *p, int rc, const char *msg)
{
    if (p->rc == RE_OK) {
        p->rc = rc;
        snprintf(p->err->msg, sizeof p->err->msg, "%s", msg);
    }
    return -1;
}

/* Hex digit values plus one (0: not a hex digit). */
static const uint8_t hexdig1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
    ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Value of hex digit c (any int), or -1. */
static inline int hexval(int c)
{
    return c >= 0 && c < 256 ? hexdig1[c] - 1 : -1;
}

static int mknode(rp *p, int type)
{
    int n = re_node_new(p->a, type);
    if (n < 0)
        return rfail(p, RE_ELIMIT, "regular expression is too complex");
    return n;
}

static void cls_set(uint8_t *b, int c) { b[c >> 3] |= (uint8_t)(1u << (c & 7)); }
static int is_word(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Try to read a range quantifier {..} at p->i. Returns 1 and sets lo/hi if present (i advanced),
 * 0 if '{' does not start a range (then '{' is a literal), -1 on error. */
static int read_range(rp *p, int *lo, int *hi)
{
    size_t i = p->i;
    if (i >= p->len || p->s[i] != '{')
        return 0;
    i++;
    long a = -1, b = -1;
    int comma = 0;
    size_t da = 0, db = 0;
    while (i < p->len && is_digit(p->s[i])) {
        if (a < 0) a = 0;
        if (a < 1000000) a = a * 10 + (p->s[i] - '0');
        i++; da++;
    }
    if (i < p->len && p->s[i] == ',') {
        comma = 1;
        i++;
        while (i < p->len && is_digit(p->s[i])) {
            if (b < 0) b = 0;
            if (b < 1000000) b = b * 10 + (p->s[i] - '0');
            i++; db++;
        }
    }
    if (i >= p->len || p->s[i] != '}')
        return 0;
    if (!comma && da == 0)
        return 0;               /* "{}" is literal */
    i++;
    if (!comma) {
        b = a;
    } else {
        if (a < 0) a = 0;
        if (b < 0) b = RE_MAX_RANGE;
    }
    p->i = i;
    if (a > RE_MAX_RANGE || b > RE_MAX_RANGE)
        return rfail(p, RE_ESYNTAX, "repeat interval too large");
    if (a > b || b == 0)
        return rfail(p, RE_ESYNTAX, "bad repeat interval");
    *lo = (int)a;
    *hi = (int)b;
    return 1;
}

/* Escape after '\' at p->i (p->i points past the backslash). For classes, sets bits in *cls
 * and returns 1 for a set escape; returns 0 with *ch for a single char; -1 on error. */
static int read_escape(rp *p, int *ch, int *set_kind)
{
    if (p->i >= p->len)
        return rfail(p, RE_ESYNTAX, "illegal escape sequence");
    int c = p->s[p->i++];
    *set_kind = 0;
    switch (c) {
    case 'x': {
        if (p->i + 2 > p->len)
            return rfail(p, RE_ESYNTAX, "illegal escape sequence");
        int h = hexval(p->s[p->i]), l = hexval(p->s[p->i + 1]);
        if (h < 0 || l < 0)
            return rfail(p, RE_ESYNTAX, "illegal escape sequence");
        p->i += 2;
        *ch = h * 16 + l;
        return 0;
    }
    case 'n': *ch = '\n'; return 0;
    case 't': *ch = '\t'; return 0;
    case 'r': *ch = '\r'; return 0;
    case 'f': *ch = '\f'; return 0;
    case 'a': *ch = '\a'; return 0;
    case 'w': case 'W': case 's': case 'S': case 'd': case 'D': case 'b': case 'B':
        *set_kind = c;
        return 0;
    default:
        *ch = c;
        return 0;
    }
}

static void cls_add_kind(uint8_t *b, int kind)
{
    for (int c = 0; c < 256; c++) {
        int in = 0;
        switch (kind) {
        case 'w': in = is_word(c); break;
        case 'W': in = !is_word(c); break;
        case 's': in = is_space(c); break;
        case 'S': in = !is_space(c); break;
        case 'd': in = is_digit(c); break;
        case 'D': in = !is_digit(c); break;
        }
        if (in)
            cls_set(b, c);
    }
}

static int parse_class(rp *p)
{
    /* p->i points past '[' */
    int ci = new_class(p->a);
    if (ci < 0)
        return rfail(p, RE_ENOMEM, "out of memory");
    uint8_t bm[32];
    memset(bm, 0, sizeof bm);
    int neg = 0;
    if (p->i < p->len && p->s[p->i] == '^') { neg = 1; p->i++; }
    int first = 1;
    for (;;) {
        if (p->i >= p->len)
            return rfail(p, RE_ESYNTAX, "missing terminating ] for character class");
        int c = p->s[p->i];
        if (c == ']' && !first) { p->i++; break; }
        first = 0;
        int lo, kind = 0;
        p->i++;
        if (c == '\\') {
            if (read_escape(p, &lo, &kind) < 0)
                return -1;
            if (kind == 'b') { kind = 0; lo = '\b'; }
            if (kind == 'B') { kind = 0; lo = 'B'; }
            if (kind) { cls_add_kind(bm, kind); continue; }
        } else {
            lo = c;
        }
        /* range? */
        if (p->i + 1 < p->len && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
            p->i++;
            int hi, k2 = 0, c2 = p->s[p->i++];
            if (c2 == '\\') {
                if (read_escape(p, &hi, &k2) < 0)
                    return -1;
                if (k2 == 'b') { k2 = 0; hi = '\b'; }
                if (k2 == 'B') { k2 = 0; hi = 'B'; }
                if (k2)
                    return rfail(p, RE_ESYNTAX, "bad character range");
            } else {
                hi = c2;
            }
            if (lo > hi)
                return rfail(p, RE_ESYNTAX, "bad character range");
            for (int x = lo; x <= hi; x++)
                cls_set(bm, x);
        } else {
            cls_set(bm, lo);
        }
    }
    memcpy(p->a->classes[ci], bm, 32);
    int n = mknode(p, N_CLASS);
    if (n < 0)
        return -1;
    p->a->nodes[n].cls = ci;
    p->a->nodes[n].value = (uint8_t)neg;   /* negation is applied after case folding */
    return n;
}

static int parse_alt(rp *p, int depth);

/* One "repeat" (an atom plus optional quantifier) or an assertion. Returns node or -1. */
static int parse_repeat(rp *p, int depth)
{
    int c = p->s[p->i];
    int n = -1, can_quantify = 1;
    switch (c) {
    case '^': p->i++; n = mknode(p, N_BOL); can_quantify = 0; break;
    case '$': p->i++; n = mknode(p, N_EOL); can_quantify = 0; break;
    case '(':
        p->i++;
        if (depth >= RE_MAX_DEPTH)
            return rfail(p, RE_ELIMIT, "regular expression is too complex (nesting too deep)");
        n = parse_alt(p, depth + 1);
        if (n < 0)
            return -1;
        if (p->i >= p->len || p->s[p->i] != ')')
            return rfail(p, RE_ESYNTAX, "syntax error");
        p->i++;
        break;
    case '.': p->i++; n = mknode(p, N_ANY); break;
    case '[': p->i++; n = parse_class(p); break;
    case '*': case '+': case '?': case ')': case '|':
        return rfail(p, RE_ESYNTAX, "syntax error");
    case '\\': {
        p->i++;
        int ch, kind;
        if (read_escape(p, &ch, &kind) < 0)
            return -1;
        switch (kind) {
        case 'w': n = mknode(p, N_WORD); break;
        case 'W': n = mknode(p, N_NWORD); break;
        case 's': n = mknode(p, N_SPACE); break;
        case 'S': n = mknode(p, N_NSPACE); break;
        case 'd': n = mknode(p, N_DIGIT); break;
        case 'D': n = mknode(p, N_NDIGIT); break;
        case 'b': n = mknode(p, N_WB); can_quantify = 0; break;
        case 'B': n = mknode(p, N_NWB); can_quantify = 0; break;
        default:
            n = mknode(p, N_LIT);
            if (n >= 0)
                p->a->nodes[n].value = (uint8_t)ch;
        }
        break;
    }
    case '{': {
        int lo, hi;
        int r = read_range(p, &lo, &hi);
        if (r < 0)
            return -1;
        if (r > 0)
            return rfail(p, RE_ESYNTAX, "syntax error");
        p->i++;
        n = mknode(p, N_LIT);
        if (n >= 0)
            p->a->nodes[n].value = '{';
        break;
    }
    default:
        p->i++;
        n = mknode(p, N_LIT);
        if (n >= 0)
            p->a->nodes[n].value = (uint8_t)c;
    }
    if (n < 0)
        return -1;
    /* quantifier */
    if (p->i >= p->len)
        return n;
    c = p->s[p->i];
    int q = -1, lo = 0, hi = 0;
    if (c == '*' || c == '+' || c == '?') {
        q = c;
        p->i++;
    } else if (c == '{') {
        int r = read_range(p, &lo, &hi);
        if (r < 0)
            return -1;
        if (r > 0)
            q = '{';
    }
    if (q < 0)
        return n;
    if (!can_quantify)
        return rfail(p, RE_ESYNTAX, "syntax error");
    int greedy = 1;
    if (p->i < p->len && p->s[p->i] == '?') { greedy = 0; p->i++; }
    if (greedy)
        p->a->greedy = true;
    else
        p->a->ungreedy = true;
    int is_any = p->a->nodes[n].type == N_ANY;
    int r;
    if (q == '*' || q == '+') {
        r = mknode(p, q == '*' ? N_STAR : N_PLUS);
        if (r < 0)
            return -1;
        re_node_append(p->a, r, n);
        if (is_any)
            p->a->dot_star = true;
    } else {
        if (q == '?') { lo = 0; hi = 1; }
        if (is_any) {
            r = mknode(p, N_RANGE_ANY);
            if (r < 0)
                return -1;
            if (hi == RE_MAX_RANGE)
                p->a->dot_star = true;
        } else {
            r = mknode(p, N_RANGE);
            if (r < 0)
                return -1;
            re_node_append(p->a, r, n);
        }
        p->a->nodes[r].start = lo;
        p->a->nodes[r].end = hi;
    }
    p->a->nodes[r].greedy = (uint8_t)greedy;
    /* a second quantifier is an error */
    if (p->i < p->len) {
        c = p->s[p->i];
        if (c == '*' || c == '+' || c == '?')
            return rfail(p, RE_ESYNTAX, "syntax error");
        if (c == '{') {
            int l2, h2;
            size_t save = p->i;
            int rr = read_range(p, &l2, &h2);
            if (rr < 0)
                return -1;
            if (rr > 0)
                return rfail(p, RE_ESYNTAX, "syntax error");
            p->i = save;
        }
    }
    return r;
}

static int parse_concat(rp *p, int depth)
{
    int cat = mknode(p, N_CONCAT);
    if (cat < 0)
        return -1;
    while (p->i < p->len && p->s[p->i] != '|' && p->s[p->i] != ')') {
        int r = parse_repeat(p, depth);
        if (r < 0)
            return -1;
        re_node_append(p->a, cat, r);
    }
    if (p->a->nodes[cat].first < 0)
        return rfail(p, RE_ESYNTAX, "syntax error");
    return cat;
}

static int parse_alt(rp *p, int depth)
{
    int left = parse_concat(p, depth);
    if (left < 0)
        return -1;
    while (p->i < p->len && p->s[p->i] == '|') {
        p->i++;
        int right;
        if (p->i >= p->len || p->s[p->i] == '|' || p->s[p->i] == ')')
            right = mknode(p, N_EMPTY);
        else
            right = parse_concat(p, depth);
        if (right < 0)
            return -1;
        int alt = mknode(p, N_ALT);
        if (alt < 0)
            return -1;
        re_node_append(p->a, alt, left);
        re_node_append(p->a, alt, right);
        left = alt;
    }
    return left;
}

int re_parse_regex(const char *src, size_t len, re_ast *a, re_error *err)
{
    rp p = { (const unsigned char *)src, len, 0, a, err, RE_OK };
    err->msg[0] = 0;
    if (len == 0)
        return rfail(&p, RE_ESYNTAX, "syntax error"), p.rc;
    int root = parse_alt(&p, 0);
    if (root >= 0 && p.i < p.len)
        rfail(&p, RE_ESYNTAX, "syntax error");
    if (p.rc != RE_OK)
        return p.rc;
    if (a->greedy && a->ungreedy) {
        rfail(&p, RE_ESYNTAX, "greedy and ungreedy quantifiers can't be mixed in a regular expression");
        return p.rc;
    }
    a->root = root;
    return RE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Hex string parser                                                                            */

static void hskip(rp *p)
{
    while (p->i < p->len) {
        int c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
            p->i++;
        } else if (c == '/' && p->i + 1 < p->len && p->s[p->i + 1] == '/') {
            while (p->i < p->len && p->s[p->i] != '\n')
                p->i++;
        } else if (c == '/' && p->i + 1 < p->len && p->s[p->i + 1] == '*') {
            p->i += 2;
            while (p->i + 1 < p->len && !(p->s[p->i] == '*' && p->s[p->i + 1] == '/'))
                p->i++;
            p->i = p->i + 2 <= p->len ? p->i + 2 : p->len;
        } else {
            break;
        }
    }
}

static int hfail(rp *p, const char *msg) { return rfail(p, RE_ESYNTAX, msg); }

/* Node for the hex byte token c c2 (each a hex digit or '?'): ANY, MASKED or LIT. */
static int hex_byte(rp *p, int c, int c2)
{
    int n;
    if (c == '?' && c2 == '?') {
        n = mknode(p, N_ANY);
    } else if (c == '?' || c2 == '?') {
        n = mknode(p, N_MASKED);
        if (n >= 0) {
            re_node *x = &p->a->nodes[n];
            if (c == '?') { x->mask = 0x0F; x->value = (uint8_t)hexval(c2); }
            else { x->mask = 0xF0; x->value = (uint8_t)(hexval(c) << 4); }
        }
    } else {
        n = mknode(p, N_LIT);
        if (n >= 0)
            p->a->nodes[n].value = (uint8_t)(hexval(c) * 16 + hexval(c2));
    }
    return n;
}

static inline int is_hex_nibble(int c) { return c == '?' || hexval(c) >= 0; }

static int hex_tokens(rp *p, int depth, int in_alt);

/* A byte or an alternative group. Returns node, or -2 if the next thing is not a token. */
static int hex_token(rp *p, int depth, int in_alt)
{
    hskip(p);
    if (p->i >= p->len)
        return -2;
    int c = p->s[p->i];
    if (c == '(') {
        if (depth >= RE_MAX_DEPTH)
            return rfail(p, RE_ELIMIT, "hex string is too complex (nesting too deep)");
        p->i++;
        p->a->fast = false;
        int left = hex_tokens(p, depth + 1, 1);
        if (left < 0)
            return -1;
        for (;;) {
            hskip(p);
            if (p->i < p->len && p->s[p->i] == '|') {
                p->i++;
                int right = hex_tokens(p, depth + 1, 1);
                if (right < 0)
                    return -1;
                int alt = mknode(p, N_ALT);
                if (alt < 0)
                    return -1;
                re_node_append(p->a, alt, left);
                re_node_append(p->a, alt, right);
                left = alt;
            } else if (p->i < p->len && p->s[p->i] == ')') {
                p->i++;
                return left;
            } else {
                return hfail(p, "syntax error");
            }
        }
    }
    if (c == '?' || hexval(c) >= 0) {
        if (p->i + 1 >= p->len)
            return hfail(p, "uneven number of digits in hex string");
        int c2 = p->s[p->i + 1];
        if (!(c2 == '?' || hexval(c2) >= 0))
            return hfail(p, c2 == '~' ? "syntax error" :
                         (c2 == ' ' || c2 == '\t' || c2 == '\n' || c2 == '\r' || c2 == '}' ||
                          c2 == ')' || c2 == '|' || c2 == '[' || c2 == '(')
                         ? "uneven number of digits in hex string" : "syntax error");
        p->i += 2;
        return hex_byte(p, c, c2);
    }
    (void)in_alt;
    return -2;
}

/* A jump [..] at p->i; returns RANGE_ANY node, -2 if not a jump, -1 on error. */
static int hex_jump(rp *p, int in_alt)
{
    hskip(p);
    if (p->i >= p->len || p->s[p->i] != '[')
        return -2;
    p->i++;
    long long lo = -1, hi = -1;
    int dash = 0;
    hskip(p);
    while (p->i < p->len && is_digit(p->s[p->i])) {
        if (lo < 0) lo = 0;
        if (lo < 10000000000L) lo = lo * 10 + (p->s[p->i] - '0');
        p->i++;
    }
    hskip(p);
    if (p->i < p->len && p->s[p->i] == '-') {
        dash = 1;
        p->i++;
        hskip(p);
        while (p->i < p->len && is_digit(p->s[p->i])) {
            if (hi < 0) hi = 0;
            if (hi < 10000000000L) hi = hi * 10 + (p->s[p->i] - '0');
            p->i++;
        }
        hskip(p);
    }
    if (p->i >= p->len || p->s[p->i] != ']')
        return hfail(p, "syntax error");
    p->i++;
    if (!dash && lo < 0)
        return hfail(p, "syntax error");
    if (lo > 2147483647L || hi > 2147483647L)
        return hfail(p, "invalid negative jump length");
    int unbounded = 0;
    if (!dash) {
        if (lo == 0)
            return hfail(p, "invalid jump length");
        hi = lo;
    } else {
        if (lo < 0) lo = 0;
        if (hi < 0) { unbounded = 1; hi = RE_MAX_RANGE; }
    }
    if (in_alt && unbounded)
        return hfail(p, "unbounded jumps not allowed inside alternation (|)");
    if (!unbounded && lo > hi)
        return hfail(p, "invalid jump range");
    if (in_alt && (lo > RE_CHAIN_GAP || hi > RE_CHAIN_GAP))
        return hfail(p, "jumps over 200 not allowed inside alternation (|)");
    int n = mknode(p, N_RANGE_ANY);
    if (n < 0)
        return -1;
    re_node *x = &p->a->nodes[n];
    x->start = (int32_t)(lo > INT32_MAX / 2 ? INT32_MAX / 2 : lo);
    x->end = unbounded ? INT32_MAX / 2 : (int32_t)(hi > INT32_MAX / 2 ? INT32_MAX / 2 : hi);
    x->greedy = 0;
    x->mask = dash ? 0xFF : 1;          /* 1: written as [n] */
    return n;
}

/* Append one jump node j to concatenation cat as a hex string has it: `[n]` up to RE_CHAIN_GAP
 * as n "??" bytes (yara 4.2.3 does so, visible in its atom choice), other jumps as one
 * N_RANGE_ANY, merged with a jump node just before it. */
static int append_jump(rp *p, int cat, int j)
{
    if (p->a->nodes[j].mask == 1 && p->a->nodes[j].start <= RE_CHAIN_GAP) {
        int cnt = p->a->nodes[j].start;
        for (int q = 0; q < cnt; q++) {
            int an = mknode(p, N_ANY);
            if (an < 0)
                return -1;
            p->a->nodes[an].mask = 0;
            re_node_append(p->a, cat, an);
        }
        return 0;
    }
    int prev = p->a->nodes[cat].last;
    if (prev >= 0 && p->a->nodes[prev].type == N_RANGE_ANY) {
        /* adjacent jumps merge */
        re_node *a = &p->a->nodes[prev], *b = &p->a->nodes[j];
        a->start += b->start;
        a->end = (a->end >= INT32_MAX / 2 || b->end >= INT32_MAX / 2) ? INT32_MAX / 2
                                                                     : a->end + b->end;
        if (a->start > INT32_MAX / 2) a->start = INT32_MAX / 2;
    } else {
        re_node_append(p->a, cat, j);
    }
    return 0;
}

#define HEX_RUN_MAX 64      /* jumps in a row handled as a run; more are merged as they come */

/* A run of jumps between two tokens. YARA 4.2.3 splits a top-level hex string into chained
 * pieces one jump at a time, and a jump that starts what is left of the string is never a
 * split point; so in a run of several long jumps (over RE_CHAIN_GAP, or unbounded) the jumps
 * between two split points make a piece of their own, with no bytes. Measured with yara 4.2.3:
 * such a piece that is one jump starting at 1 ([1], [1-3], [1-]) matches one byte, so the run
 * is the sum of its jumps with 1 for that piece; any other ([2], [0-300], [-], [1-] [5]) never
 * matches, and neither does the string (a->never_chain). One split point or none: the jumps
 * simply add up, as append_jump merges them. */
static int flush_jumps(rp *p, int cat, const int *run, int n, int in_alt)
{
    if (!in_alt && n >= 2) {
        int nonempty = 1, nsplit = 0, mid_n = 0, never = 0, unb = 0;
        int64_t lo = 0, hi = 0, mid_lo = 0, mid_hi = 0;
        int32_t mid_start = 0;
        int mid_unb = 0;
        for (int i = 0; i < n; i++) {
            const re_node *x = &p->a->nodes[run[i]];
            int xunb = x->end >= INT32_MAX / 2;
            if ((x->start > RE_CHAIN_GAP || x->end > RE_CHAIN_GAP) && nonempty) {
                if (nsplit > 0) {
                    if (!(mid_n == 1 && mid_start == 1))
                        never = 1;
                    lo += 1;
                    hi += 1;
                } else {
                    lo += mid_lo;      /* jumps before the first split point */
                    hi += mid_hi;
                    unb |= mid_unb;
                }
                nsplit++;
                lo += x->start;
                hi += x->end;
                unb |= xunb;
                nonempty = 0;
                mid_n = 0;
                mid_lo = mid_hi = 0;
                mid_unb = 0;
            } else {
                if (mid_n++ == 0)
                    mid_start = x->start;
                mid_lo += x->start;
                mid_hi += x->end;
                mid_unb |= xunb;
                nonempty = 1;
            }
        }
        if (nsplit >= 2) {
            lo += mid_lo;              /* jumps after the last split point */
            hi += mid_hi;
            unb |= mid_unb;
            re_node *x = &p->a->nodes[run[0]];
            x->start = (int32_t)(lo > INT32_MAX / 2 ? INT32_MAX / 2 : lo);
            x->end = unb || hi >= INT32_MAX / 2 ? INT32_MAX / 2 : (int32_t)hi;
            x->mask = 0xFF;            /* not a written [n] */
            if (never)
                p->a->never_chain = true;
            return append_jump(p, cat, run[0]);
        }
    }
    for (int i = 0; i < n; i++)
        if (append_jump(p, cat, run[i]) < 0)
            return -1;
    return 0;
}

/* tokens: token (token | jump)* token-ending; must start and end with a token. */
static int hex_tokens(rp *p, int depth, int in_alt)
{
    int cat = mknode(p, N_CONCAT);
    if (cat < 0)
        return -1;
    int t = hex_token(p, depth, in_alt);
    if (t == -1)
        return -1;
    if (t == -2)
        return hfail(p, "syntax error");
    re_node_append(p->a, cat, t);
    int run[HEX_RUN_MAX], nrun = 0;     /* jumps since the last token */
    for (;;) {
        /* fast path for the common case, a byte token: what hex_jump + hex_token would do */
        hskip(p);
        if (p->i + 1 < p->len && is_hex_nibble(p->s[p->i]) && is_hex_nibble(p->s[p->i + 1])) {
            int c = p->s[p->i], c2 = p->s[p->i + 1];
            p->i += 2;
            t = hex_byte(p, c, c2);
            if (t < 0)
                return -1;
            if (nrun && flush_jumps(p, cat, run, nrun, in_alt) < 0)
                return -1;
            nrun = 0;
            re_node_append(p->a, cat, t);
            continue;
        }
        int j = hex_jump(p, in_alt);
        if (j == -1)
            return -1;
        if (j >= 0) {
            if (nrun == HEX_RUN_MAX) {
                if (flush_jumps(p, cat, run, nrun, in_alt) < 0)
                    return -1;
                nrun = 0;
            }
            run[nrun++] = j;
            continue;
        }
        t = hex_token(p, depth, in_alt);
        if (t == -1)
            return -1;
        if (t == -2)
            break;
        if (nrun && flush_jumps(p, cat, run, nrun, in_alt) < 0)
            return -1;
        nrun = 0;
        re_node_append(p->a, cat, t);
    }
    if (nrun)
        return hfail(p, "syntax error");
    return cat;
}

int re_parse_hex(const char *src, size_t len, re_ast *a, re_error *err)
{
    rp p = { (const unsigned char *)src, len, 0, a, err, RE_OK };
    err->msg[0] = 0;
    a->fast = true;
    reserve_nodes(a, len / 2 + 8);     /* about one node per byte token */
    int root = hex_tokens(&p, 0, 0);
    if (root >= 0) {
        hskip(&p);
        if (p.i < p.len) {
            int c = p.s[p.i];
            if (c == '?' || hexval(c) >= 0)
                hfail(&p, "uneven number of digits in hex string");
            else
                hfail(&p, "syntax error");
        }
    }
    if (p.rc != RE_OK)
        return p.rc;
    a->root = root;
    return RE_OK;
}
