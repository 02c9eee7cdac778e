/*
 * kensa.c - the `kensa` command: `kensa scan` (yara 4.2.3's CLI), `kensa compile` (yarac's).
 */
#include <string.h>

#include "cli.h"

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "kensa %s - YARA 4.2.3 compatible rule compiler and scanner\n\n"
            "Usage: %s scan [OPTION]... [NAMESPACE:]RULES_FILE... FILE | DIR | PID\n"
            "       %s compile [OPTION]... [NAMESPACE:]SOURCE_FILE... OUTPUT_FILE\n"
            "       %s --help | --version\n\n"
            "Commands:\n"
            "  scan      scan files or directories with rules (yara's options and output)\n"
            "  compile   compile rules into a file for `scan -C` (yarac's options)\n\n"
            "Run `%s scan --help` or `%s compile --help` for the options of each command.\n",
            KENSA_VERSION, prog, prog, prog, prog, prog);
}

int main(int argc, char **argv)
{
    const char *prog = "kensa";
    cli_alloc_init();
    if (argc < 2) {
        usage(stderr, prog);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc, argv, 2, prog);
    if (strcmp(cmd, "compile") == 0)
        return cmd_compile(argc, argv, 2, prog);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout, prog);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-v") == 0 || strcmp(cmd, "version") == 0) {
        printf("kensa %s (compatible with YARA 4.2.3)\n", KENSA_VERSION);
        cli_alloc_print(stdout);
        return 0;
    }
    fprintf(stderr, "%s: unknown command `%s`\n\n", prog, cmd);
    usage(stderr, prog);
    return 1;
}
