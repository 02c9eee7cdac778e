/*
 * re_internal.h - private types shared by the regex/hex parser (re_parse.c), the compiler and
 * atom extractor (re.c) and the executors (re_exec.c).
 *
 * Pipeline: source text -> AST (re_ast, nodes in one growable array, addressed by index) ->
 * forward program + backward program (flat byte code, YARA-like layout so that an atom's
 * forward/backward entry points behave like YARA's) + atoms -> one re_code block.
 */
#ifndef KENSA_RE_INTERNAL_H
#define KENSA_RE_INTERNAL_H

#include "match/re.h"

#include <stdbool.h>

/* AST node types (mirroring the node kinds of YARA's regex AST). */
enum {
    N_LIT, N_MASKED, N_ANY, N_CLASS,
    N_WORD, N_NWORD, N_SPACE, N_NSPACE, N_DIGIT, N_NDIGIT,
    N_BOL, N_EOL, N_WB, N_NWB,
    N_CONCAT, N_ALT, N_STAR, N_PLUS, N_RANGE, N_RANGE_ANY, N_EMPTY
};

#define RE_MAX_RANGE 32767      /* INT16_MAX: largest {n,m} bound; {n,} means {n,32767} */
#define RE_MAX_DEPTH 256        /* nesting limit for groups/alternatives (stack safety) */
#define RE_MAX_NODES 200000

typedef struct re_node {
    uint8_t type;
    uint8_t greedy;             /* quantifiers */
    uint8_t value, mask;        /* N_LIT (mask 0xFF), N_MASKED */
    int32_t start, end;         /* N_RANGE / N_RANGE_ANY bounds */
    int32_t cls;                /* N_CLASS: index into re_ast.classes (32-byte bitmap) */
    int32_t first, last;        /* children (CONCAT: many; ALT: 2; STAR/PLUS/RANGE: 1) */
    int32_t next, prev;         /* siblings */
    uint32_t fref, bref;        /* code offsets of this node in forward/backward programs */
    uint8_t fref_set;
} re_node;

typedef struct re_ast {
    re_node *nodes;
    int32_t n, cap;
    uint8_t (*classes)[32];
    int32_t ncls, capcls;
    int32_t root;
    bool ungreedy;              /* some lazy quantifier used */
    bool greedy;                /* some greedy quantifier used (YARA's RE_FLAGS_GREEDY) */
    bool fast;                  /* hex string without alternatives (YARA's fast-regexp) */
    bool dot_star;              /* .* .+ .{n,} present */
    bool never_chain;           /* hex: YARA 4.2.3 splits it into a piece made of jumps alone
                                   that never matches (re_parse.c, flush_jumps) */
    int depth;
} re_ast;

/* Opcodes of the byte code. Jump offsets are int32 relative to the opcode's address. */
enum {
    OP_MATCH = 1,
    OP_LIT,        /* b */
    OP_MASKED,     /* value mask */
    OP_ANY,
    OP_CLASS,      /* 32-byte bitmap */
    OP_WORD, OP_NWORD, OP_SPACE, OP_NSPACE, OP_DIGIT, OP_NDIGIT,
    OP_BOL, OP_EOL, OP_WB, OP_NWB,
    OP_SPLIT_A,    /* i32: try next instruction first, then target */
    OP_SPLIT_B,    /* i32: try target first, then next instruction */
    OP_JMP,        /* i32 */
    OP_REPANY      /* u16 min, u16 max (only in fast hex code): lazy jump over any bytes */
};

int re_ast_init(re_ast *a);
void re_ast_free(re_ast *a);
int re_parse_regex(const char *src, size_t len, re_ast *a, re_error *err);
int re_parse_hex(const char *src, size_t len, re_ast *a, re_error *err);
int re_node_new(re_ast *a, int type);
void re_node_append(re_ast *a, int parent, int child);

/* Executors (re_exec.c). code = whole code area; pc = entry offset. Flags: RE_* plus: */
#define RE_X_BACKWARDS  0x100
#define RE_X_EXHAUSTIVE 0x200
#define RE_X_WIDE       0x400   /* run this execution in wide mode */
/* Not with RE_X_EXHAUSTIVE: a bounded check whether the program can match at all. Returns -1
 * when every thread died without reaching MATCH (then an exhaustive run reports nothing), 1
 * otherwise: a MATCH was reached, or the budget ran out (re_exec_pike: RE_PROBE_STEPS steps;
 * re_exec_fast: 8 * RE_PROBE_STEPS position steps or a full list). */
#define RE_X_PROBE      0x800
#define RE_PROBE_STEPS  16

typedef int (*re_len_fn)(int len, void *ud);

/* Pike-VM execution from data[pos] forwards (or backwards). Non-exhaustive: returns the length
 * of the match YARA would choose, or -1. Exhaustive: calls cb for each match length, returns 0.
 * Returns < -1 on error (RE_ENOMEM - 1 etc. are never returned: errors are -1000 - code). */
int re_exec_pike(const uint8_t *code, uint32_t code_len, uint32_t pc, const uint8_t *data,
                 size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud);
/* YARA's "fast" executor for hex strings made only of bytes, masks and jumps. */
int re_exec_fast(const uint8_t *code, uint32_t code_len, uint32_t pc, const uint8_t *data,
                 size_t size, size_t pos, uint32_t flags, re_len_fn cb, void *ud);

#define RE_EXEC_ERR (-1000)

#endif
