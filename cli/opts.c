/*
 * opts.c - command-line option parsing for kensa, compatible with yara's argument syntax.
 *
 * Accepted forms: `-s`, grouped flags `-sgm`, `-d VALUE`, `-dVALUE` (yara rejects this one),
 * `--long`, `--long=VALUE`, `--long VALUE` (yara rejects this one). Options and positional
 * arguments may be mixed in any order; `--` ends option parsing.
 * Errors are reported with yara's wording.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_strv_push(cli_strv *sv, const char *s)
{
    if (sv->n == sv->cap) {
        int cap = sv->cap ? sv->cap * 2 : 8;
        const char **v = realloc(sv->v, (size_t)cap * sizeof(*v));
        if (!v) {
            fprintf(stderr, "error: not enough memory\n");
            exit(1);
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
}

static int parse_int(const char *s, long long *out)
{
    char *end;
    if (*s == '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (*end != '\0' || errno)
        return -1;
    *out = v;
    return 0;
}

/* Store `val` for option `o`; `shown` is the spelling used in messages. */
static int store(const cli_opt *o, const char *val, const char *shown)
{
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->target = 1;
        return 0;
    case OPT_INT:
        if (!val || parse_int(val, (long long *)o->target) != 0) {
            fprintf(stderr, "option `%s` requires an integer argument\n", shown);
            return -1;
        }
        return 0;
    case OPT_STR:
        if (!val) {
            fprintf(stderr, "option `%s` requires a string argument\n", shown);
            return -1;
        }
        *(const char **)o->target = val;
        return 0;
    case OPT_STRS:
        if (!val) {
            fprintf(stderr, "option `%s` requires a string argument\n", shown);
            return -1;
        }
        cli_strv_push((cli_strv *)o->target, val);
        return 0;
    }
    return -1;
}

int cli_parse(const cli_opt *opts, int argc, char **argv, int first, cli_strv *pos)
{
    int only_pos = 0;
    for (int i = first; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            cli_strv_push(pos, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const cli_opt *o = NULL;
            for (const cli_opt *p = opts; p->long_name || p->short_name; p++)
                if (p->long_name && strlen(p->long_name) == nl && strncmp(p->long_name, name, nl) == 0) {
                    o = p;
                    break;
                }
            if (!o) {
                fprintf(stderr, "unknown option `%s`\n", a);
                return -1;
            }
            char shown[128];
            snprintf(shown, sizeof shown, "--%s", o->long_name);
            const char *val = eq ? eq + 1 : NULL;
            if (!val && o->kind != OPT_FLAG && i + 1 < argc)
                val = argv[++i];
            if (store(o, val, shown) != 0)
                return -1;
            continue;
        }
        /* short option group */
        for (char *c = a + 1; *c; c++) {
            const cli_opt *o = NULL;
            for (const cli_opt *p = opts; p->long_name || p->short_name; p++)
                if (p->short_name == *c) {
                    o = p;
                    break;
                }
            if (!o) {
                fprintf(stderr, "unknown option `%s`\n", a);
                return -1;
            }
            char shown[4] = {'-', *c, 0, 0};
            if (o->kind == OPT_FLAG) {
                store(o, NULL, shown);
                continue;
            }
            const char *val = NULL;
            if (c[1] != '\0')
                val = c + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            if (store(o, val, shown) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

void cli_print_opts(const cli_opt *opts, FILE *out)
{
    for (const cli_opt *p = opts; p->long_name || p->short_name; p++) {
        char buf[128];
        int n;
        if (p->short_name)
            n = snprintf(buf, sizeof buf, "  -%c,  --%s", p->short_name, p->long_name);
        else
            n = snprintf(buf, sizeof buf, "       --%s", p->long_name);
        if (p->arg_name && n > 0 && (size_t)n < sizeof buf)
            snprintf(buf + n, sizeof buf - (size_t)n, "=%s", p->arg_name);
        fprintf(out, "%-41s%s\n", buf, p->help);
    }
}
