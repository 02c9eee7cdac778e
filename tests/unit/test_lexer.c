/* test_lexer.c - tokens of the rule language, including hostile input. */
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
