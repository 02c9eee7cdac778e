/*
 * compile.c - `kensa compile`: yarac 4.2.3's command line on top of libkensa.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *c_atom_table;
static cli_strv c_defines;
static int c_fail_on_warnings;
static int c_help;
static long long c_max_strings = 10000;
static int c_no_warnings;
static int c_version;

static const cli_opt compile_opts[] = {
    {0, "atom-quality-table", OPT_STR, &c_atom_table, "FILE",
     "path to a file with the atom quality table (accepted, not used)"},
    {'d', "define", OPT_STRS, &c_defines, "VAR=VALUE", "define external variable"},
    {0, "fail-on-warnings", OPT_FLAG, &c_fail_on_warnings, NULL, "fail on warnings"},
    {'h', "help", OPT_FLAG, &c_help, NULL, "show this help and exit"},
    {0, "max-strings-per-rule", OPT_INT, &c_max_strings, "NUMBER",
     "set maximum number of strings per rule (default=10000)"},
    {'w', "no-warnings", OPT_FLAG, &c_no_warnings, NULL, "disable warnings"},
    {'v', "version", OPT_FLAG, &c_version, NULL, "show version information"},
    {0, NULL, 0, NULL, NULL, NULL}};

void cmd_compile_help(FILE *out, const char *prog)
{
    fprintf(out, "Usage: %s compile [OPTION]... [NAMESPACE:]SOURCE_FILE... OUTPUT_FILE\n\n", prog);
    cli_print_opts(compile_opts, out);
    fprintf(out, "\nThe output is kensa's compiled-rules format (load it with `%s scan -C`);\n"
                 "it is not compatible with yarac's.\n", prog);
}

int cmd_compile(int argc, char **argv, int first, const char *prog)
{
    cli_strv pos = {0};
    int ret = 1;
    ks_compiler *c = NULL;
    ks_rules *rules = NULL;
    if (cli_parse(compile_opts, argc, argv, first, &pos) != 0)
        goto out;
    if (c_version) {
        printf("%s\n", KENSA_VERSION);
        ret = 0;
        goto out;
    }
    if (c_help) {
        cmd_compile_help(stdout, prog);
        ret = 0;
        goto out;
    }
    if (pos.n < 2) {
        fprintf(stderr, "%s: wrong number of arguments\n", prog);
        fprintf(stderr, "Usage: %s compile [OPTION]... [NAMESPACE:]SOURCE_FILE... OUTPUT_FILE\n",
                prog);
        fprintf(stderr, "\nTry `--help` for more options\n");
        goto out;
    }
    if (ks_compiler_create(&c) != KS_OK) {
        fprintf(stderr, "error: not enough memory\n");
        goto out;
    }
    if (cli_define_externals(&c_defines, c, NULL) != 0)
        goto out;
    if (c_atom_table && access(c_atom_table, R_OK) != 0) {
        fprintf(stderr, "error loading atom quality table: could not open file\n");
        goto out;
    }
    cli_diag_state st = {c_no_warnings, 0, 0};
    ks_compiler_set_diag(c, cli_diag_cb, &st);
    if (c_max_strings > 0)
        ks_compiler_set_max_strings_per_rule(c, (uint32_t)c_max_strings);
    if (cli_add_rule_files(c, pos.v, pos.n - 1) != 0)
        goto out;
    if (st.errors > 0 || ks_compiler_error_count(c) > 0 ||
        (c_fail_on_warnings && st.warnings > 0))
        goto out;
    int rc = ks_compiler_get_rules(c, &rules);
    if (rc != KS_OK) {
        if (rc != KS_ESYNTAX)
            fprintf(stderr, "error: %s\n", cli_error_text(rc));
        goto out;
    }
    const char *output = pos.v[pos.n - 1];
    rc = ks_rules_save(rules, output);
    if (rc != KS_OK) {
        fprintf(stderr, "error: could not save file \"%s\": %s\n", output, ks_strerror(rc));
        goto out;
    }
    ret = 0;
out:
    if (rules)
        ks_rules_destroy(rules);
    if (c)
        ks_compiler_destroy(c);
    free(pos.v);
    free(c_defines.v);
    return ret;
}
