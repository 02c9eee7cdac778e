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

typedef struct hexmap hexmap;

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
int cli_add_rule_files(ks_compiler *c, const char *const *files, int n, hexmap *hm);

/* Parse and store a whole file. Returns 0 or -1 (errno set). */
int cli_read_file(const char *path, uint8_t **data, size_t *len);

/* yara's print_error() texts for a KS_E* code. */
const char *cli_error_text(int rc);

/* ------------------------------------------------------------------ hex string map (hexmap.c) */

/* kensa.h does not say whether a string is a hex string; yara prints hex-string matches as hex
 * bytes. The CLI recovers that bit from the rule sources (following includes). */
hexmap *hexmap_create(void);
void hexmap_destroy(hexmap *m);
void hexmap_add_file(hexmap *m, const char *path, const char *ns);
void hexmap_add_buffer(hexmap *m, const char *src, size_t len, const char *path, const char *ns);
void hexmap_finish(hexmap *m);   /* call once after the last add, before lookups */
/* 1 if string number `si` (declaration order) of rule `rule` in namespace `ns` is a hex string,
 * 0 if not, -1 if unknown. `id` is used to cross-check. */
int hexmap_is_hex(const hexmap *m, const char *ns, const char *rule, int si, const char *id);

/* ------------------------------------------------------------------ commands */

int cmd_scan(int argc, char **argv, int first, const char *prog);
int cmd_compile(int argc, char **argv, int first, const char *prog);
void cmd_scan_help(FILE *out, const char *prog);
void cmd_compile_help(FILE *out, const char *prog);

#endif
