/*
 * hexmap.c - which strings of which rules are hex strings, recovered from the rule sources.
 *
 * yara -s prints the matched bytes of hex strings as `61 62 ...` and every other string as
 * escaped text. kensa.h does not expose the string kind, so the CLI runs a small tokenizer over
 * the rule files it compiles (following `include` directives) and records, per rule, the kind of
 * each string in declaration order. With compiled rules (-C) nothing is known and all matches
 * print as text.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct hm_rule {
    char *key;              /* "ns\x01rule" */
    char **ids;
    unsigned char *hex;
    int n, cap;
} hm_rule;

struct hexmap {
    hm_rule *rules;
    int n, cap;
};

hexmap *hexmap_create(void)
{
    return calloc(1, sizeof(hexmap));
}

void hexmap_destroy(hexmap *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        for (int j = 0; j < m->rules[i].n; j++)
            free(m->rules[i].ids[j]);
        free(m->rules[i].ids);
        free(m->rules[i].hex);
        free(m->rules[i].key);
    }
    free(m->rules);
    free(m);
}

static char *make_key(const char *ns, const char *rule, size_t rlen)
{
    size_t nl = strlen(ns);
    char *k = malloc(nl + 1 + rlen + 1);
    if (!k)
        return NULL;
    memcpy(k, ns, nl);
    k[nl] = '\x01';
    memcpy(k + nl + 1, rule, rlen);
    k[nl + 1 + rlen] = '\0';
    return k;
}

static hm_rule *new_rule(hexmap *m, const char *ns, const char *name, size_t len)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 64;
        hm_rule *r = realloc(m->rules, (size_t)cap * sizeof(*r));
        if (!r)
            return NULL;
        m->rules = r;
        m->cap = cap;
    }
    hm_rule *r = &m->rules[m->n];
    memset(r, 0, sizeof(*r));
    r->key = make_key(ns, name, len);
    if (!r->key)
        return NULL;
    m->n++;
    return r;
}

static void add_string(hm_rule *r, const char *id, size_t len, int hex)
{
    if (!r)
        return;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        char **ids = realloc(r->ids, (size_t)cap * sizeof(*ids));
        if (!ids)
            return;
        r->ids = ids;
        unsigned char *h = realloc(r->hex, (size_t)cap);
        if (!h)
            return;
        r->hex = h;
        r->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s)
        return;
    memcpy(s, id, len);
    s[len] = '\0';
    r->ids[r->n] = s;
    r->hex[r->n] = (unsigned char)hex;
    r->n++;
}

static int is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skip whitespace and comments. */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
            i++;
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i = i + 2 < n ? i + 2 : n;
        } else {
            return i;
        }
    }
}

static void scan_source(hexmap *m, const char *src, size_t n, const char *path, const char *ns,
                        int depth);

static void scan_include(hexmap *m, const char *inc, size_t len, const char *path, const char *ns,
                         int depth)
{
    if (depth > 16)
        return;
    char *full;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (len > 0 && inc[0] != '/' && slash) {
        size_t dl = (size_t)(slash - path) + 1;
        full = malloc(dl + len + 1);
        if (!full)
            return;
        memcpy(full, path, dl);
        memcpy(full + dl, inc, len);
        full[dl + len] = '\0';
    } else {
        full = malloc(len + 1);
        if (!full)
            return;
        memcpy(full, inc, len);
        full[len] = '\0';
    }
    struct stat st;
    uint8_t *data;
    size_t dlen;
    if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && cli_read_file(full, &data, &dlen) == 0) {
        scan_source(m, (const char *)data, dlen, full, ns, depth + 1);
        free(data);
    }
    free(full);
}

static void scan_source(hexmap *m, const char *s, size_t n, const char *path, const char *ns,
                        int depth)
{
    hm_rule *cur = NULL;
    int in_rule = 0, in_strings = 0;
    size_t i = 0;
    while ((i = skip_ws(s, i, n)) < n) {
        char c = s[i];
        if (c == '"') {                       /* text literal */
            for (i++; i < n && s[i] != '"' && s[i] != '\n'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '/') {                /* regex literal */
            for (i++; i < n && s[i] != '/' && s[i] != '\n'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '$' && in_rule && in_strings) {
            size_t b = i++;
            while (i < n && is_ident(s[i]))
                i++;
            size_t e = i;
            size_t j = skip_ws(s, i, n);
            if (j < n && s[j] == '=' && !(j + 1 < n && s[j + 1] == '=')) {
                j = skip_ws(s, j + 1, n);
                int hex = j < n && s[j] == '{';
                add_string(cur, s + b, e - b, hex);
                if (hex) {
                    while (j < n && s[j] != '}')
                        j++;
                    j++;
                }
                i = j;
            }
        } else if (c == '{') {
            if (cur)
                in_rule = 1;
            i++;
        } else if (c == '}') {
            in_rule = in_strings = 0;
            cur = NULL;
            i++;
        } else if (is_ident(c)) {
            size_t b = i;
            while (i < n && is_ident(s[i]))
                i++;
            size_t len = i - b;
            size_t j = skip_ws(s, i, n);
            if (!in_rule && len == 4 && memcmp(s + b, "rule", 4) == 0) {
                size_t nb = j, ne = j;
                while (ne < n && is_ident(s[ne]))
                    ne++;
                if (ne > nb) {
                    cur = new_rule(m, ns, s + nb, ne - nb);
                    i = ne;
                }
            } else if (!in_rule && len == 7 && memcmp(s + b, "include", 7) == 0 && j < n &&
                       s[j] == '"') {
                size_t qb = j + 1, qe = qb;
                while (qe < n && s[qe] != '"' && s[qe] != '\n')
                    qe++;
                scan_include(m, s + qb, qe - qb, path, ns, depth);
                i = qe + 1;
            } else if (in_rule && j < n && s[j] == ':' && !(j + 1 < n && s[j + 1] == ':')) {
                if (len == 7 && memcmp(s + b, "strings", 7) == 0)
                    in_strings = 1;
                else if ((len == 9 && memcmp(s + b, "condition", 9) == 0) ||
                         (len == 4 && memcmp(s + b, "meta", 4) == 0))
                    in_strings = 0;
            }
        } else {
            i++;
        }
    }
}

void hexmap_add_file(hexmap *m, const char *path, const char *ns)
{
    if (!m)
        return;
    struct stat st;
    uint8_t *data;
    size_t len;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    if (cli_read_file(path, &data, &len) != 0)
        return;
    scan_source(m, (const char *)data, len, path, ns ? ns : "default", 0);
    free(data);
}

void hexmap_add_buffer(hexmap *m, const char *src, size_t len, const char *path, const char *ns)
{
    if (m)
        scan_source(m, src, len, path, ns ? ns : "default", 0);
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp(((const hm_rule *)a)->key, ((const hm_rule *)b)->key);
}

void hexmap_finish(hexmap *m)
{
    if (m && m->n > 1)
        qsort(m->rules, (size_t)m->n, sizeof(hm_rule), cmp_rule);
}

int hexmap_is_hex(const hexmap *m, const char *ns, const char *rule, int si, const char *id)
{
    if (!m || !rule || m->n == 0)
        return -1;
    hm_rule k;
    k.key = make_key(ns ? ns : "default", rule, strlen(rule));
    if (!k.key)
        return -1;
    int res = -1;
    const hm_rule *r = bsearch(&k, m->rules, (size_t)m->n, sizeof(hm_rule), cmp_rule);
    free(k.key);
    if (r) {
        if (si >= 0 && si < r->n && (!id || strcmp(r->ids[si], id) == 0))
            return r->hex[si];
        for (int j = 0; id && j < r->n; j++)
            if (strcmp(r->ids[j], id) == 0) {
                res = r->hex[j];
                break;
            }
    }
    return res;
}
