/*
 * cli.h - shared declarations of the kensa command-line tool (a client of include/kensa.h only).
 */
#ifndef KENSA_CLI_H
#define KENSA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kensa.h"

/* ------------------------------------------------------------------ option parsing (opts.c) */

enum { OPT_FLAG, OPT_INT, OPT_STR, OPT_STRS };

typedef struct cli_opt {
    char short_name;        /* 0 = long only */
    const char *long_name;
    int kind;               /* OPT_* */
    void *target;           /* int* for FLAG, long long* for INT, const char** for STR, cli_strv* */
    const char *arg_name;   /* shown in --help */
    const char *help;
} cli_opt;

typedef struct cli_strv {
    const char **v;
    int n, cap;
} cli_strv;

/* Parse argv[first..argc) against `opts` (terminated by a {0} entry). Positional arguments are
 * collected, in order, into *pos (caller frees pos->v). Returns 0 or prints a yara-style message
 * to stderr and returns -1. */
int cli_parse(const cli_opt *opts, int argc, char **argv, int first, cli_strv *pos);
void cli_print_opts(const cli_opt *opts, FILE *out);
void cli_strv_push(cli_strv *sv, const char *s);

/* ------------------------------------------------------------------ shared helpers (common.c) */


/* Apply every `-d NAME=VALUE` to a compiler (c != NULL) or a scanner. Values are typed as yara
 * does: float (digits with one dot), integer (digits, atoi semantics), true/false, else string.
 * Prints a message and returns -1 on error. */
int cli_define_externals(const cli_strv *defs, ks_compiler *c, ks_scanner *s);

/* Compiler diagnostics printed in yara's format; counts warnings (unless ignored). */
typedef struct cli_diag_state {
    int ignore_warnings;
    int warnings;
    int errors;
} cli_diag_state;
void cli_diag_cb(const ks_diag *d, void *ud);

/* Add every `[NAMESPACE:]FILE` rule argument to the compiler. Returns -1 (after printing a yara
 * style message) if a file cannot be opened, else 0. */
int cli_add_rule_files(ks_compiler *c, const char *const *files, int n);

/* The program's allocator (alloc.c): options set first thing in main; print names it
 * (--version). cli_alloc_compile(fn, arg) runs the rule compile (or load) `fn(arg)` and returns
 * its result, then gives the memory the compile freed back to the system before the scan. The
 * caller waits either way (with mimalloc the compile runs in a thread of its own: see alloc.c). */
void cli_alloc_init(void);
int cli_alloc_compile(int (*fn)(void *), void *arg);
void cli_alloc_print(FILE *out);

/* Parse and store a whole file. Returns 0 or -1 (errno set). */
int cli_read_file(const char *path, uint8_t **data, size_t *len);
/* A file's bytes for scanning: a non-empty regular file is mapped read-only (no copy), anything
 * else is read into memory. Release with cli_unmap_file(data, len, mapped). 0 or -1 (errno). */
int cli_map_file(const char *path, uint8_t **data, size_t *len, int *mapped);
void cli_unmap_file(uint8_t *data, size_t len, int mapped);

/* yara's print_error() texts for a KS_E* code. */
const char *cli_error_text(int rc);



/* ------------------------------------------------------------------ extraction (tree.c) */

typedef struct cli_tree cli_tree;
typedef struct cli_tree_opts {
    ks_extract_opts x;       /* limits */
    int json;                /* --format json */
    int strings;             /* -s: strings in JSON matches */
    const ks_rules *rules;
    FILE *notes;             /* text mode: where notes go (NULL = dropped) */
} cli_tree_opts;
/* Scan `path` with extraction. Text mode: scan events go to cb(ud) with *cur_path pointing at
 * the object's path. JSON mode: one document written to out; while it runs *cur_tree is set so
 * that the callback can add rules with cli_tree_rule(). Returns the KS_* code of the walk. */
int cli_scan_tree(ks_scanner *s, const char *path, const cli_tree_opts *o, FILE *out,
                  ks_scan_fn cb, void *ud, const char **cur_path, cli_tree **cur_tree);
void cli_tree_rule(cli_tree *t, ks_scanner *s, const ks_rule_info *r);

/* ------------------------------------------------------------------ commands */

int cmd_scan(int argc, char **argv, int first, const char *prog);
int cmd_compile(int argc, char **argv, int first, const char *prog);
void cmd_scan_help(FILE *out, const char *prog);
void cmd_compile_help(FILE *out, const char *prog);

#endif
