/*
 * re_probe.c - test tool: compile one regex or hex string with kensa's src/match/re*.c and print
 * its matches over a file like `yara -s` does ("0xOFF:LEN"), or the compile error.
 * usage: re_probe regex|hex FLAGS PATTERNFILE DATAFILE    (FLAGS: any of i s w a, or -)
 * Prints "slow" when yara would warn about the string, "dotstar" for the .* warning.
 */
#include "match/re.h"
#include "unit/re_driver.h"
#include <stdio.h>

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL; size_t cap = 0; *n = 0;
    for (;;) {
        if (*n == cap) { cap = cap ? cap * 2 : 4096; b = realloc(b, cap); }
        size_t r = fread(b + *n, 1, cap - *n, f);
        if (r == 0) break;
        *n += r;
    }
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 5) { fprintf(stderr, "usage\n"); return 2; }
    size_t plen, dlen;
    unsigned char *pat = slurp(argv[3], &plen), *data = slurp(argv[4], &dlen);
    if (!pat || (!data && dlen)) { fprintf(stderr, "io\n"); return 2; }
    uint32_t fl = 0;
    for (const char *f = argv[2]; *f; f++) {
        if (*f == 'i') fl |= RE_NOCASE;
        if (*f == 's') fl |= RE_DOTALL;
        if (*f == 'w') fl |= RE_WIDE;
        if (*f == 'a') fl |= RE_ASCII;
    }
    re_error err;
    re_code *c = NULL;
    int rc;
    if (argv[1][0] == 'r') {
        rc = re_compile_regex((char *)pat, plen, fl, &c, &err);
    } else {
        re_code **cs; int32_t *gmin, *gmax; int np;
        rc = re_compile_hex((char *)pat, plen, fl, &cs, &gmin, &gmax, &np, &err);
        if (rc == 0) {
            int slow = 0;
            for (int i = 0; i < np; i++) slow |= re_slow(cs[i]);
            if (np > 1) { printf("pieces %d\n", np); if (slow) printf("slow\n"); return 0; }
            c = cs[0];
        }
    }
    if (rc) { printf("error: %s\n", err.msg); return 0; }
    if (re_slow(c)) printf("slow\n");
    if (c->has_dot_star) printf("dotstar\n");
    drv d;
    rc = drv_run(c, data, dlen, &d);
    if (rc) { printf("exec error %d\n", rc); return 0; }
    for (size_t i = 0; i < d.n; i++) printf("0x%zx:%zu\n", d.m[i].start, d.m[i].len);
    return 0;
}
