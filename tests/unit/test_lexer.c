/* test_lexer.c - tokens of the rule language, including hostile input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/lexer.h"

static int fails = 0, count = 0;

static void expect_kinds(int line, const char *src, const int *kinds, int n)
{
    lexer lx;
    lex_token t;
    lex_init(&lx, src, strlen(src));
    count++;
    for (int i = 0; i < n; i++) {
        lex_next(&lx, &t);
        if (t.kind != kinds[i]) {
            fprintf(stderr, "line %d: token %d: want %s got %s (%s)\n", line, i,
                    lex_kind_name(kinds[i]), lex_kind_name(t.kind), t.kind == TK_ERROR ? t.err : "");
            fails++;
            lex_token_free(&t);
            return;
        }
        lex_token_free(&t);
    }
}
#define EXPECT(src, ...)                                                  \
    do {                                                                  \
        int k_[] = {__VA_ARGS__};                                         \
        expect_kinds(__LINE__, src, k_, (int)(sizeof k_ / sizeof k_[0])); \
    } while (0)

int main(void)
{
    EXPECT("rule a { condition: true }", TK_RULE, TK_IDENT, TK_LBRACE, TK_CONDITION, TK_COLON,
           TK_TRUE, TK_RBRACE, TK_EOF);
    EXPECT("$a #a @a !a $a* $", TK_STRID, TK_STRCOUNT, TK_STROFFSET, TK_STRLENGTH, TK_STRID_WILD,
           TK_STRID, TK_EOF);
    EXPECT("0x10 0o17 10KB 2MB 1.5", TK_INT, TK_INT, TK_INT, TK_INT, TK_FLOAT, TK_EOF);
    EXPECT("a \\ b % c << >> <= >= == != ..", TK_IDENT, TK_BACKSLASH, TK_IDENT, TK_PERCENT,
           TK_IDENT, TK_SHL, TK_SHR, TK_LE, TK_GE, TK_EQ, TK_NE, TK_DOTDOT, TK_EOF);
    EXPECT("/ab\\/c/is // comment\n /* block \n */ \"x\\x41\\n\"", TK_REGEX, TK_TEXT, TK_EOF);
    EXPECT("uint32be(0) int8(1)", TK_INTFN, TK_LPAREN, TK_INT, TK_RPAREN, TK_INTFN, TK_LPAREN,
           TK_INT, TK_RPAREN, TK_EOF);
    EXPECT("\"bad \\q escape\"", TK_ERROR);
    EXPECT("\"unterminated", TK_ERROR);
    EXPECT("/* unterminated", TK_ERROR);
    EXPECT("99999999999999999999", TK_ERROR);
    EXPECT("0x8000000000000000", TK_ERROR);

    /* values: text decoding, hex bodies */
    {
        lexer lx;
        lex_token t;
        const char *src = "\"a\\tb\\x00c\"";
        lex_init(&lx, src, strlen(src));
        lex_next_value(&lx, &t);
        count++;
        if (t.kind != TK_TEXT || t.len != 5 || memcmp(t.s, "a\tb\0c", 5) != 0) {
            fprintf(stderr, "text decoding\n");
            fails++;
        }
        lex_token_free(&t);
        src = "{ 4D 5A /* c */ ?? [2-4] }";
        lex_init(&lx, src, strlen(src));
        lex_next_value(&lx, &t);
        count++;
        if (t.kind != TK_HEX) { fprintf(stderr, "hex token\n"); fails++; }
        lex_token_free(&t);
    }
    /* every reserved word is its token (the lexer looks them up in a sorted table) */
    for (int k = TK_ALL; k <= TK_XOR; k++) {
        lexer lx;
        lex_token t;
        const char *w = lex_kind_name(k);
        lex_init(&lx, w, strlen(w));
        lex_next(&lx, &t);
        count++;
        if (t.kind != k) { fprintf(stderr, "keyword %s: got %s\n", w, lex_kind_name(t.kind)); fails++; }
        lex_token_free(&t);
    }
    {
        static const struct { const char *w; int64_t v; } fns[] = {
            {"int8", 0x11}, {"int16", 0x12}, {"int32", 0x14}, {"uint8", 1}, {"uint16", 2},
            {"uint32", 4}, {"int8be", 0x31}, {"int16be", 0x32}, {"int32be", 0x34},
            {"uint8be", 0x21}, {"uint16be", 0x22}, {"uint32be", 0x24},
        };
        for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
            lexer lx;
            lex_token t;
            lex_init(&lx, fns[i].w, strlen(fns[i].w));
            lex_next(&lx, &t);
            count++;
            if (t.kind != TK_INTFN || t.i != fns[i].v) { fprintf(stderr, "%s\n", fns[i].w); fails++; }
            lex_token_free(&t);
        }
    }
    EXPECT("a alll i int uint8x xo zzz _all ALL Rule x0r", TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT,
           TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT, TK_EOF);

    /* literals longer than one buffer, with escapes, comments and line counts */
    {
        static char src[4096];
        size_t n = 0;
        src[n++] = '"';
        for (int i = 0; i < 300; i++) src[n++] = (char)('a' + i % 26);
        static const char esc[] = "\\x41\\n";
        memcpy(src + n, esc, sizeof esc - 1);
        n += sizeof esc - 1;
        for (int i = 0; i < 300; i++) src[n++] = 'z';
        static const char tail[] = "\" {\n4D 5A // c }\n /* x\n } */ ?? \n 00 } x";
        memcpy(src + n, tail, sizeof tail - 1);
        n += sizeof tail - 1;
        lexer lx;
        lex_token t;
        lex_init(&lx, src, n);
        lex_next_value(&lx, &t);
        count++;
        if (t.kind != TK_TEXT || t.len != 602 || t.s[300] != 'A' || t.s[301] != '\n' ||
            t.s[302] != 'z' || t.s[601] != 'z') {
            fprintf(stderr, "long text: kind %d len %zu\n", t.kind, t.len);
            fails++;
        }
        lex_token_free(&t);
        lex_next_value(&lx, &t);
        count++;
        if (t.kind != TK_HEX || strcmp(t.s, "\n4D 5A \n   ?? \n 00 ") != 0 || t.line != 1) {
            fprintf(stderr, "hex body [%s]\n", t.s ? t.s : "");
            fails++;
        }
        lex_token_free(&t);
        lex_next(&lx, &t);
        count++;
        if (t.kind != TK_IDENT || t.line != 5) {
            fprintf(stderr, "line after hex: kind %d line %d\n", t.kind, t.line);
            fails++;
        }
        lex_token_free(&t);
    }
    /* the literal length limit: 2^20 - 1 bytes pass, one more is an error */
    for (int kind = 0; kind < 2; kind++) {
        for (size_t body = (1u << 20) - 1; body <= (1u << 20); body++) {
            char *src = malloc(body + 2);
            if (!src) { fails++; continue; }
            src[0] = kind ? '{' : '"';
            memset(src + 1, kind ? ' ' : 'a', body);
            src[body + 1] = kind ? '}' : '"';
            lexer lx;
            lex_token t;
            lex_init(&lx, src, body + 2);
            lex_next_value(&lx, &t);
            count++;
            int want = body < (1u << 20) ? (kind ? TK_HEX : TK_TEXT) : TK_ERROR;
            if (t.kind != want || (want != TK_ERROR && t.len != body)) {
                fprintf(stderr, "limit kind %d body %zu: %s\n", kind, body, lex_kind_name(t.kind));
                fails++;
            }
            lex_token_free(&t);
            free(src);
        }
    }

    /* binary junk never crashes and always ends */
    {
        unsigned char junk[4096];
        unsigned seed = 1;
        for (int round = 0; round < 200; round++) {
            for (size_t i = 0; i < sizeof junk; i++) {
                seed = seed * 1103515245 + 12345;
                junk[i] = (unsigned char)(seed >> 16);
            }
            lexer lx;
            lex_token t;
            lex_init(&lx, (const char *)junk, sizeof junk);
            int steps = 0;
            do {
                lex_next(&lx, &t);
                lex_token_free(&t);
            } while (t.kind != TK_EOF && ++steps < 100000);
            count++;
            if (steps >= 100000) { fprintf(stderr, "lexer did not terminate\n"); fails++; }
        }
    }
    printf("%d passed, %d failed\n", count - fails, fails);
    return fails != 0;
}
