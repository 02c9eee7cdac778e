/*
 * lexer.h - tokens of the YARA rule language.
 *
 * The lexer is pulled by the parser one token at a time. Text strings ("..."), regular
 * expressions (/.../flags) and hex strings ({ ... }) are separate token kinds; hex strings are
 * only lexed when the parser asks for a string value (lex_next_value), because `{` otherwise
 * opens a rule body. In YARA `\` is integer division and `/` always starts a regex.
 */
#ifndef KENSA_LEXER_H
#define KENSA_LEXER_H

#include <stddef.h>
#include <stdint.h>

enum {
    TK_EOF = 0, TK_ERROR,
    TK_IDENT, TK_STRID, TK_STRID_WILD, TK_STRCOUNT, TK_STROFFSET, TK_STRLENGTH,
    TK_INT, TK_FLOAT, TK_TEXT, TK_REGEX, TK_HEX,
    /* punctuation / operators */
    TK_LBRACE, TK_RBRACE, TK_LPAREN, TK_RPAREN, TK_LBRACK, TK_RBRACK, TK_COLON, TK_COMMA,
    TK_ASSIGN, TK_DOT, TK_DOTDOT, TK_PLUS, TK_MINUS, TK_STAR, TK_BACKSLASH, TK_PERCENT,
    TK_SHL, TK_SHR, TK_AMP, TK_PIPE, TK_CARET, TK_TILDE,
    TK_LT, TK_LE, TK_GT, TK_GE, TK_EQ, TK_NE,
    /* keywords */
    TK_ALL, TK_AND, TK_ANY, TK_ASCII, TK_AT, TK_BASE64, TK_BASE64WIDE, TK_CONDITION,
    TK_CONTAINS, TK_DEFINED, TK_ENDSWITH, TK_ENTRYPOINT, TK_FALSE, TK_FILESIZE, TK_FOR,
    TK_FULLWORD, TK_GLOBAL, TK_ICONTAINS, TK_IENDSWITH, TK_IEQUALS, TK_IMPORT, TK_IN,
    TK_INCLUDE, TK_ISTARTSWITH, TK_MATCHES, TK_META, TK_NOCASE, TK_NONE, TK_NOT, TK_OF,
    TK_OR, TK_PRIVATE, TK_RULE, TK_STARTSWITH, TK_STRINGS, TK_THEM, TK_TRUE, TK_WIDE, TK_XOR,
    TK_INTFN,          /* int8 .. uint32be; value in tok.i */
    TK__COUNT
};

typedef struct lex_token {
    int kind;
    int line;
    int64_t i;                 /* TK_INT, TK_INTFN */
    double f;                  /* TK_FLOAT */
    char *s;                   /* decoded text / identifier / regex body / hex body (owned) */
    size_t len;
    uint32_t re_flags;         /* TK_REGEX: 'i' -> 1, 's' -> 2 */
    char err[160];             /* TK_ERROR: message */
} lex_token;

typedef struct lexer {
    const char *src;
    size_t len, pos;
    int line;
} lexer;

void lex_init(lexer *lx, const char *src, size_t len);
/* Next token; the caller frees tok->s (lex_token_free). */
void lex_next(lexer *lx, lex_token *tok);
/* Like lex_next but `{` starts a hex string (for the value of a string definition). */
void lex_next_value(lexer *lx, lex_token *tok);
void lex_token_free(lex_token *tok);
const char *lex_kind_name(int kind);

#endif
