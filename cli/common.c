/*
 * common.c - helpers shared by `kensa scan` and `kensa compile`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* yara's is_float(): optional '-', no leading dot, digits with exactly one dot. */
static bool is_float(const char *s)
{
    bool dot = false;
    if (*s == '-')
        s++;
    if (*s == '.')
        return false;
    for (; *s; s++) {
        if (*s == '.') {
            if (dot)
                return false;
            dot = true;
        } else if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return dot;
}

/* yara's is_integer(): optional '-', then one or more digits. */
static bool is_integer(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

int cli_define_externals(const cli_strv *defs, ks_compiler *c, ks_scanner *s)
{
    for (int i = 0; i < defs->n; i++) {
        const char *def = defs->v[i];
        const char *eq = strchr(def, '=');
        if (!eq) {
            /* yara prints this, ignores the remaining -d options and carries on */
            fprintf(stderr, "error: wrong syntax for `-d` option.\n");
            return 0;
        }
        size_t nl = (size_t)(eq - def);
        char *name = malloc(nl + 1);
        if (!name) {
            fprintf(stderr, "error: not enough memory\n");
            return -1;
        }
        memcpy(name, def, nl);
        name[nl] = '\0';
        const char *val = eq + 1;
        int rc;
        if (is_float(val)) {
            double d = strtod(val, NULL);
            rc = c ? ks_compiler_define_float(c, name, d) : ks_scanner_define_float(s, name, d);
        } else if (is_integer(val)) {
            /* yara uses atoi(): the value is truncated to a C int. */
            int64_t v = (int)strtol(val, NULL, 10);
            rc = c ? ks_compiler_define_int(c, name, v) : ks_scanner_define_int(s, name, v);
        } else if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
            int b = strcmp(val, "true") == 0;
            rc = c ? ks_compiler_define_bool(c, name, b) : ks_scanner_define_bool(s, name, b);
        } else {
            rc = c ? ks_compiler_define_string(c, name, val)
                   : ks_scanner_define_string(s, name, val);
        }
        if (rc != KS_OK) {
            if (rc == KS_EUNDEF)
                fprintf(stderr, "error: undefined external variable \"%s\"\n", name);
            else
                fprintf(stderr, "error: %s\n", cli_error_text(rc));
            free(name);
            return -1;
        }
        free(name);
    }
    return 0;
}

void cli_diag_cb(const ks_diag *d, void *ud)
{
    cli_diag_state *st = ud;
    const char *type;
    if (!d->is_warning) {
        type = "error";
        st->errors++;
    } else if (!st->ignore_warnings) {
        type = "warning";
        st->warnings++;
    } else {
        return;
    }
    const char *msg = d->msg ? d->msg : (d->text ? d->text : "");
    const char *file = d->file ? d->file : "(null)";
    if (!d->msg && d->text)
        fprintf(stderr, "%s\n", d->text);
    else if (d->rule)
        fprintf(stderr, "%s: rule \"%s\" in %s(%d): %s\n", type, d->rule, file, d->line, msg);
    else
        fprintf(stderr, "%s(%d): %s: %s\n", file, d->line, type, msg);
}

/* Split `NAMESPACE:FILE` as yara 4.2.3 does: an argument naming an existing file is a file name;
 * otherwise its first colon, unless followed by '\\', ends the namespace (`ns:/abs/path.yar`). */
static void split_ns(const char *arg, char **ns, const char **file)
{
    const char *colon = access(arg, F_OK) != 0 ? strchr(arg, ':') : NULL;
    if (colon && colon[1] != '\\') {
        size_t n = (size_t)(colon - arg);
        *ns = malloc(n + 1);
        if (*ns) {
            memcpy(*ns, arg, n);
            (*ns)[n] = '\0';
        }
        *file = colon + 1;
    } else {
        *ns = NULL;
        *file = arg;
    }
}

int cli_add_rule_files(ks_compiler *c, const char *const *files, int n)
{
    for (int i = 0; i < n; i++) {
        char *ns;
        const char *file;
        split_ns(files[i], &ns, &file);
        struct stat st;
        int rc;
        if (stat(file, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            /* a pipe or device (e.g. /dev/stdin): read it once, compile the buffer */
            uint8_t *src;
            size_t len;
            if (cli_read_file(file, &src, &len) != 0) {
                fprintf(stderr, "error: could not open file: %s\n", file);
                free(ns);
                return -1;
            }
            rc = ks_compiler_add_string(c, (const char *)src, len, ns, file);
            free(src);
        } else {
            FILE *f = fopen(file, "rb");
            if (!f) {
                fprintf(stderr, "error: could not open file: %s\n", file);
                free(ns);
                return -1;
            }
            fclose(f);
            rc = ks_compiler_add_file(c, file, ns);
        }
        free(ns);
        if (rc == KS_EIO) {
            fprintf(stderr, "error: could not open file: %s\n", file);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "error: %s\n", cli_error_text(rc));
            return -1;
        }
    }
    return 0;
}

int cli_read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

int cli_map_file(const char *path, uint8_t **data, size_t *len, int *mapped)
{
    *mapped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            (uint64_t)st.st_size <= SIZE_MAX) {
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                close(fd);
                *data = p;
                *len = (size_t)st.st_size;
                *mapped = 1;
                return 0;
            }
        }
        close(fd);
    }
    return cli_read_file(path, data, len);
}

void cli_unmap_file(uint8_t *data, size_t len, int mapped)
{
    if (mapped)
        munmap(data, len);
    else
        free(data);
}

const char *cli_error_text(int rc)
{
    switch (rc) {
    case KS_OK: return "success";
    case KS_ENOMEM: return "not enough memory";
    case KS_EIO: return "could not open file";
    case KS_ETIMEOUT: return "scanning timed out";
    case KS_EFORMAT: return "invalid compiled rules file.";
    case KS_ESTACK: return "stack overflow while evaluating condition (see --stack-size argument)";
    case KS_ETYPE: return "invalid type for external variable";
    case KS_ELIMIT: return "too many matches";
    case KS_EMODDATA: return "error: 57";   /* yara 4.2.3 prints its code: ERROR_INVALID_MODULE_DATA */
    default: return ks_strerror(rc);
    }
}
