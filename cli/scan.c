/*
 * scan.c - `kensa scan`: yara 4.2.3's command line on top of libkensa.
 *
 * Output lines, messages and exit codes follow yara 4.2.3. Directory and --scan-list targets are
 * scanned by a pool of threads (one ks_scanner each, all sharing one ks_rules); each file's output
 * is buffered and written as one block, in the order the files were found (readdir order), so the
 * output does not depend on -p.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_THREADS 32

/* ------------------------------------------------------------------ options */

static const char *opt_atom_table;
static int opt_compiled;
static int opt_count;
static cli_strv opt_defines;
static int opt_fail_on_warnings;
static int opt_fast;
static int opt_help;
static cli_strv opt_identifiers;
static long long opt_max_chunk = 1073741824LL;
static long long opt_limit;
static long long opt_max_strings = 10000;
static cli_strv opt_module_data;
static int opt_negate;
static int opt_no_follow;
static int opt_no_warnings;
static int opt_meta;
static int opt_module_print;
static int opt_namespace;
static int opt_stats;
static int opt_strings;
static int opt_string_length;
static int opt_tags_print;
static int opt_recursive;
static int opt_scan_list;
static long long opt_skip_larger;
static long long opt_stack_size = 16384;
static cli_strv opt_tags;
static long long opt_threads = -1;
static long long opt_timeout;
static int opt_version;
static int opt_no_extract;
static const char *opt_format;
static long long opt_max_depth = 17;
static long long opt_max_objects = 10000;
static long long opt_max_object_size = 100LL << 20;
static long long opt_max_input_size = 400LL << 20;
static long long opt_extract_time = 120;
static int opt_notes;
static long long opt_spill_threshold = 16LL << 20;
static const char *opt_tmp_dir;
static int opt_rebuild_prefilter;

static const cli_opt scan_opts[] = {
    {0, "atom-quality-table", OPT_STR, &opt_atom_table, "FILE",
     "path to a file with the atom quality table (accepted, not used)"},
    {'C', "compiled-rules", OPT_FLAG, &opt_compiled, NULL, "load compiled rules"},
    {'c', "count", OPT_FLAG, &opt_count, NULL, "print only number of matches"},
    {'d', "define", OPT_STRS, &opt_defines, "VAR=VALUE", "define external variable"},
    {0, "fail-on-warnings", OPT_FLAG, &opt_fail_on_warnings, NULL, "fail on warnings"},
    {'f', "fast-scan", OPT_FLAG, &opt_fast, NULL, "fast matching mode"},
    {'h', "help", OPT_FLAG, &opt_help, NULL, "show this help and exit"},
    {'i', "identifier", OPT_STRS, &opt_identifiers, "IDENTIFIER",
     "print only rules named IDENTIFIER"},
    {0, "max-process-memory-chunk", OPT_INT, &opt_max_chunk, "NUMBER",
     "set maximum chunk size while reading process memory (default=1073741824; "
     "accepted, process scanning is not supported)"},
    {'l', "max-rules", OPT_INT, &opt_limit, "NUMBER",
     "abort scanning after matching a NUMBER of rules"},
    {0, "max-strings-per-rule", OPT_INT, &opt_max_strings, "NUMBER",
     "set maximum number of strings per rule (default=10000)"},
    {'x', "module-data", OPT_STRS, &opt_module_data, "MODULE=FILE",
     "pass FILE's content as extra data to MODULE"},
    {'n', "negate", OPT_FLAG, &opt_negate, NULL, "print only not satisfied rules (negate)"},
    {'N', "no-follow-symlinks", OPT_FLAG, &opt_no_follow, NULL,
     "do not follow symlinks when scanning"},
    {'w', "no-warnings", OPT_FLAG, &opt_no_warnings, NULL, "disable warnings"},
    {'m', "print-meta", OPT_FLAG, &opt_meta, NULL, "print metadata"},
    {'D', "print-module-data", OPT_FLAG, &opt_module_print, NULL, "print module data"},
    {'e', "print-namespace", OPT_FLAG, &opt_namespace, NULL, "print rules' namespace"},
    {'S', "print-stats", OPT_FLAG, &opt_stats, NULL, "print rules' statistics"},
    {'s', "print-strings", OPT_FLAG, &opt_strings, NULL, "print matching strings"},
    {'L', "print-string-length", OPT_FLAG, &opt_string_length, NULL,
     "print length of matched strings"},
    {'g', "print-tags", OPT_FLAG, &opt_tags_print, NULL, "print tags"},
    {'r', "recursive", OPT_FLAG, &opt_recursive, NULL, "recursively search directories"},
    {0, "scan-list", OPT_FLAG, &opt_scan_list, NULL, "scan files listed in FILE, one per line"},
    {'z', "skip-larger", OPT_INT, &opt_skip_larger, "NUMBER",
     "skip files larger than the given size when scanning a directory"},
    {'k', "stack-size", OPT_INT, &opt_stack_size, "SLOTS",
     "set maximum stack size (default=16384; accepted, kensa sizes its stack itself)"},
    {'t', "tag", OPT_STRS, &opt_tags, "TAG", "print only rules tagged as TAG"},
    {'p', "threads", OPT_INT, &opt_threads, "NUMBER",
     "use the specified NUMBER of threads to scan a directory (default: CPUs, max 32)"},
    {'a', "timeout", OPT_INT, &opt_timeout, "SECONDS",
     "abort scanning after the given number of SECONDS"},
    {'v', "version", OPT_FLAG, &opt_version, NULL, "show version information"},
    {0, "no-extract", OPT_FLAG, &opt_no_extract, NULL,
     "scan each file as its bytes only, like yara (identical output)"},
    {0, "format", OPT_STR, &opt_format, "FORMAT",
     "output format: text (yara's lines, TARGET = object path) or json (JSON Lines, one "
     "document per file: object tree, hashes, matches, events)"},
    {0, "max-depth", OPT_INT, &opt_max_depth, "NUMBER",
     "extraction: deepest object level extracted (default=17)"},
    {0, "max-objects", OPT_INT, &opt_max_objects, "NUMBER",
     "extraction: objects per file (default=10000)"},
    {0, "max-object-size", OPT_INT, &opt_max_object_size, "BYTES",
     "extraction: size of one extracted object (default=104857600)"},
    {0, "max-input-size", OPT_INT, &opt_max_input_size, "BYTES",
     "extraction: extracted bytes per file (default=419430400)"},
    {0, "max-extract-time", OPT_INT, &opt_extract_time, "SECONDS",
     "extraction: time per file (default=120)"},
    {0, "spill-threshold", OPT_INT, &opt_spill_threshold, "BYTES",
     "extraction: an object decoded past BYTES moves to a temporary file (default=16777216, "
     "0=never)"},
    {0, "tmp-dir", OPT_STR, &opt_tmp_dir, "DIR",
     "extraction: directory for those files (default: $TMPDIR, else /tmp)"},
    {0, "print-notes", OPT_FLAG, &opt_notes, NULL,
     "text format: print extraction notes (limits, parse errors, passwords) on stderr"},
    {0, "rebuild-prefilter", OPT_FLAG, &opt_rebuild_prefilter, NULL,
     "with -C: do not use the run-time structures and prefilter databases stored in the file, "
     "rebuild them from its rules (slower; for files from untrusted sources)"},
    {0, NULL, 0, NULL, NULL, NULL}};

void cmd_scan_help(FILE *out, const char *prog)
{
    fprintf(out,
            "kensa %s, a YARA 4.2.3 compatible pattern matching tool.\n"
            "Usage: %s scan [OPTION]... [NAMESPACE:]RULES_FILE... FILE | DIR | PID\n\n"
            "Mandatory arguments to long options are mandatory for short options too.\n\n",
            KENSA_VERSION, prog);
    cli_print_opts(scan_opts, out);
    fprintf(out,
            "\nOptions taking a value also accept `-pVALUE` and `--threads VALUE`.\n"
            "Output, messages and exit codes follow yara 4.2.3 (exit 0 on success, 1 on any\n"
            "error). Differences: -S prints kensa's own statistics; process (PID) targets are\n"
            "not supported; -k and --max-process-memory-chunk are accepted and ignored.\n");
}

/* ------------------------------------------------------------------ shared scan state */

typedef struct module_blob {
    char *name;
    uint8_t *data;
    size_t len;
} module_blob;

static ks_rules *g_rules;
static module_blob *g_modules;
static int g_nmodules;
static atomic_llong g_total_count;
static atomic_int g_timed_out;
static time_t g_start;

typedef struct scan_ctx {
    const char *path;
    FILE *out;
    FILE *err;
    int count;
    char *too_many;     /* set when --fail-on-warnings aborted on too many matches */
    cli_tree *tree;     /* --format json: the document being written */
} scan_ctx;

static const char hx[] = "0123456789ABCDEF";

/* Match data as yara prints it: printable ASCII as is, other bytes as \xHH. Formatted into a
 * local buffer and written at once (the -s output of a large scan is millions of bytes). */
static void print_text(FILE *out, const uint8_t *d, size_t n)
{
    char buf[1024];
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        if (b + 4 > sizeof buf) {
            fwrite(buf, 1, b, out);
            b = 0;
        }
        if (d[i] >= 32 && d[i] <= 126) {
            buf[b++] = (char)d[i];
        } else {
            buf[b++] = '\\';
            buf[b++] = 'x';
            buf[b++] = hx[d[i] >> 4];
            buf[b++] = hx[d[i] & 15];
        }
    }
    fwrite(buf, 1, b, out);
}

/* Hex string data: at most 64 bytes as "HH HH ...", then " ..." if longer. */
static void print_hex(FILE *out, const uint8_t *d, size_t n)
{
    char buf[64 * 3 + 8];
    size_t k = n < 64 ? n : 64, b = 0;
    for (size_t i = 0; i < k; i++) {
        if (i)
            buf[b++] = ' ';
        buf[b++] = hx[d[i] >> 4];
        buf[b++] = hx[d[i] & 15];
    }
    if (n > 64) {
        memcpy(buf + b, " ...", 4);
        b += 4;
    }
    fwrite(buf, 1, b, out);
}

/* yara's escaping of string metadata (C escapes, octal for other non-printables). */
static void print_meta_string(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': case '\'': case '\\': fprintf(out, "\\%c", c); break;
        case '\a': fputs("\\a", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\v': fputs("\\v", out); break;
        default:
            if (c >= 32 && c <= 126)
                fputc(c, out);
            else
                fprintf(out, "\\%03o", c);
        }
    }
}

static void print_rule(ks_scanner *s, scan_ctx *ctx, const ks_rule_info *r)
{
    FILE *out = ctx->out;
    if (opt_namespace)
        fprintf(out, "%s:", r->ns ? r->ns : "default");
    fprintf(out, "%s ", r->id);
    if (opt_tags_print) {
        fputc('[', out);
        for (int i = 0; i < r->ntags; i++)
            fprintf(out, i ? ",%s" : "%s", r->tags[i]);
        fputs("] ", out);
    }
    if (opt_meta) {
        fputc('[', out);
        for (int i = 0; i < r->nmetas; i++) {
            const ks_meta *m = &r->metas[i];
            if (i)
                fputc(',', out);
            switch (m->type) {
            case KS_META_INT:
                fprintf(out, "%s =%lld", m->id, (long long)m->i);
                break;
            case KS_META_BOOL:
                fprintf(out, "%s=%s", m->id, m->i ? "true" : "false");
                break;
            default:
                fprintf(out, "%s=\"", m->id);
                /* yara prints up to the first NUL */
                print_meta_string(out, m->s ? m->s : "", m->s ? strlen(m->s) : 0);
                fputc('"', out);
            }
        }
        fputs("] ", out);
    }
    fprintf(out, "%s\n", ctx->path);

    if (!opt_strings && !opt_string_length)
        return;
    for (int si = 0; si < r->nstrings; si++) {
        int priv = 0;
        const char *id = ks_rules_string_id(g_rules, r->index, si, &priv);
        if (!id || priv)
            continue;
        const ks_match *m = NULL;
        int n = ks_scanner_matches(s, r->index, si, &m);
        if (n <= 0 || !m)
            continue;
        int hex = opt_strings && ks_rules_string_kind(g_rules, r->index, si) == KS_STRING_HEX;
        for (int k = 0; k < n; k++) {
            if (opt_string_length)
                /* yara prints the recorded data length (the match, capped at 512 bytes) */
                fprintf(out, "0x%llx:%u:%s", (unsigned long long)m[k].offset, m[k].data_len, id);
            else
                fprintf(out, "0x%llx:%s", (unsigned long long)m[k].offset, id);
            if (opt_strings) {
                fputs(": ", out);
                if (hex)
                    print_hex(out, m[k].data, m[k].data_len);
                else
                    print_text(out, m[k].data, m[k].data_len);
            }
            fputc('\n', out);
        }
    }
}

static int has_str(const cli_strv *v, const char *s)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return 1;
    return 0;
}

static void print_module(ks_scanner *s, scan_ctx *ctx, const char *module)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (!mf)
        return;
    ks_scanner_print_module(s, module, mf);
    fclose(mf);
    if (buf) {
        fwrite(buf, 1, len, ctx->out);
        if (len == 0 || buf[len - 1] != '\n')
            fputc('\n', ctx->out);
    }
    free(buf);
}

static int scan_cb(ks_scanner *s, const ks_event *ev, void *ud)
{
    scan_ctx *ctx = ud;
    switch (ev->type) {
    case KS_EV_RULE_MATCH:
    case KS_EV_RULE_NOMATCH: {
        const ks_rule_info *r = ev->rule;
        if (!r)
            return 0;
        bool show = true;
        if (opt_tags.n) {
            show = false;
            for (int i = 0; i < r->ntags && !show; i++)
                show = has_str(&opt_tags, r->tags[i]);
        }
        if (opt_identifiers.n)
            show = has_str(&opt_identifiers, r->id);
        bool matching = ev->type == KS_EV_RULE_MATCH;
        show = show && (opt_negate ? !matching : matching);
        if (show && !opt_count) {
            if (ctx->tree)
                cli_tree_rule(ctx->tree, s, r);
            else
                print_rule(s, ctx, r);
        }
        long long total = atomic_load(&g_total_count);
        if (matching) {
            ctx->count++;
            total = atomic_fetch_add(&g_total_count, 1) + 1;
        }
        if (opt_limit != 0 && total >= opt_limit)
            return 1;
        return 0;
    }
    case KS_EV_TOO_MANY_MATCHES:
        if (opt_no_warnings)
            return 0;
        fprintf(ctx->err,
                "warning: rule \"%s\": too many matches for %s, results for this rule may be "
                "incorrect\n",
                ev->rule ? ev->rule->id : "", ev->string_id ? ev->string_id : "");
        if (opt_fail_on_warnings) {
            char *msg = NULL;
            if (asprintf(&msg, "string \"%s\" in rule \"%s\" caused too many matches",
                         ev->string_id ? ev->string_id : "", ev->rule ? ev->rule->id : "") < 0)
                msg = NULL;
            free(ctx->too_many);
            ctx->too_many = msg;
            return KS_ELIMIT;
        }
        return 0;
    case KS_EV_MODULE_IMPORTED:
        if (opt_module_print && ev->module)
            print_module(s, ctx, ev->module);
        return 0;
    default:
        return 0;
    }
}

static int setup_scanner(ks_scanner **out)
{
    ks_scanner *s;
    int rc = ks_scanner_create(g_rules, &s);
    if (rc != KS_OK) {
        fprintf(stderr, "error: %s\n", cli_error_text(rc));
        return -1;
    }
    if (opt_compiled && cli_define_externals(&opt_defines, NULL, s) != 0) {
        ks_scanner_destroy(s);
        return -1;
    }
    for (int i = 0; i < g_nmodules; i++) {
        rc = ks_scanner_set_module_data(s, g_modules[i].name, g_modules[i].data, g_modules[i].len);
        if (rc != KS_OK && rc != KS_ENOMODULE) {
            fprintf(stderr, "error: %s\n", cli_error_text(rc));
            ks_scanner_destroy(s);
            return -1;
        }
    }
    ks_scanner_set_flags(s, (opt_fast ? KS_SCAN_FAST : 0) | (opt_negate ? 0 : KS_SCAN_MATCHES_ONLY) |
                                (opt_module_print ? KS_SCAN_MODULE_EVENTS : 0));
    *out = s;
    return 0;
}

/* Extraction options from the command line. */
static int tree_options(cli_tree_opts *to)
{
    memset(to, 0, sizeof *to);
    ks_extract_opts_init(&to->x);
    to->x.max_depth = opt_max_depth < 0 ? 0 : (uint32_t)(opt_max_depth > 1000 ? 1000 : opt_max_depth);
    to->x.max_objects = opt_max_objects < 1 ? 1 : (uint32_t)(opt_max_objects > 10000000 ? 10000000 : opt_max_objects);
    to->x.max_object_size = opt_max_object_size < 0 ? 0 : (uint64_t)opt_max_object_size;
    to->x.max_input_size = opt_max_input_size < 0 ? 0 : (uint64_t)opt_max_input_size;
    to->x.max_seconds = opt_extract_time < 0 ? 0 : (uint32_t)opt_extract_time;
    if (opt_timeout > 0) {
        long long left = opt_timeout - (long long)difftime(time(NULL), g_start);
        if (left < 1)
            left = 1;
        if (to->x.max_seconds == 0 || left < (long long)to->x.max_seconds)
            to->x.max_seconds = (uint32_t)left;
    }
    to->x.spill_threshold = opt_spill_threshold < 0 ? 0 : (uint64_t)opt_spill_threshold;
    to->x.tmp_dir = opt_tmp_dir;
    to->json = opt_format && strcmp(opt_format, "json") == 0;
    to->strings = opt_strings;
    to->rules = g_rules;
    to->notes = opt_notes ? stderr : NULL;
    return 0;
}

/* Scan one file into memory buffers. Returns the scan's KS_* code. */
static int scan_one(ks_scanner *s, const char *path, int many, char **obuf, size_t *olen,
                    char **ebuf, size_t *elen, int *count)
{
    scan_ctx ctx = {path, NULL, NULL, 0, NULL, NULL};
    *obuf = *ebuf = NULL;
    *olen = *elen = 0;
    ctx.out = open_memstream(obuf, olen);
    ctx.err = open_memstream(ebuf, elen);
    if (!ctx.out || !ctx.err) {
        if (ctx.out)
            fclose(ctx.out);
        if (ctx.err)
            fclose(ctx.err);
        return KS_ENOMEM;
    }
    int rc;
    if (opt_timeout > 0) {
        long long left = opt_timeout - (long long)difftime(time(NULL), g_start);
        if (left <= 0) {
            rc = KS_ETIMEOUT;
            goto done;
        }
        ks_scanner_set_timeout(s, (int)left);
    }
    if (opt_no_extract) {
        rc = ks_scanner_scan_file(s, path, scan_cb, &ctx);
    } else {
        cli_tree_opts to;
        if (tree_options(&to) != 0) {
            rc = KS_EARG;
            goto done;
        }
        rc = cli_scan_tree(s, path, &to, ctx.out, scan_cb, &ctx, &ctx.path, &ctx.tree);
    }
    if (ctx.too_many && rc == KS_OK)
        rc = KS_ELIMIT;
done:
    if (rc != KS_OK || many) {
        /* the count line (directory / list mode, even after an error), then the error */
        if (many && opt_count)
            fprintf(ctx.out, "%s: %d\n", path, ctx.count);
        if (rc != KS_OK)
            fprintf(ctx.err, "error scanning %s: %s\n", path,
                    ctx.too_many ? ctx.too_many : cli_error_text(rc));
    }
    free(ctx.too_many);
    fclose(ctx.out);
    fclose(ctx.err);
    *count = ctx.count;
    return rc;
}

/* ------------------------------------------------------------------ thread pool */

/* A file to scan: `seq` is its place in the output (walk order), `size` its scheduling key. */
typedef struct job {
    char *path;
    size_t seq;
    long long size;
} job;

typedef struct result {
    char *out, *err;
    size_t olen, elen;
    int ready;
} result;

/* Pending jobs form a max-heap on file size: workers take the largest file enqueued so far, so
 * a big file found late in the walk does not run alone at the end while the other threads idle
 * (longest-processing-time-first scheduling). Output still comes out in walk order (`submit`).
 * Ties go to the file found first; with -l, files are taken in walk order. */
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static job *q_heap;
static size_t q_n, q_cap;
static int q_done;
static result *r_slots;
static size_t r_n, r_cap, r_next;

static int job_before(const job *a, const job *b)
{
    /* -l counts matches across files, so which files report depends on the order: keep
     * yara's walk order then */
    if (opt_limit != 0)
        return a->seq < b->seq;
    return a->size > b->size || (a->size == b->size && a->seq < b->seq);
}

static void heap_push(job j)
{
    size_t i = q_n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!job_before(&j, &q_heap[up]))
            break;
        q_heap[i] = q_heap[up];
        i = up;
    }
    q_heap[i] = j;
}

static job heap_pop(void)
{
    job top = q_heap[0], last = q_heap[--q_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q_n)
            break;
        if (c + 1 < q_n && job_before(&q_heap[c + 1], &q_heap[c]))
            c++;
        if (!job_before(&q_heap[c], &last))
            break;
        q_heap[i] = q_heap[c];
        i = c;
    }
    if (q_n)
        q_heap[i] = last;
    return top;
}

/* Queue a file; size < 0: unknown, looked up here. */
static void enqueue(const char *path, long long size)
{
    if (size < 0) {
        struct stat st;
        size = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    }
    job jb;
    char *p = strdup(path);
    if (!p) {
        fprintf(stderr, "error: not enough memory\n");
        exit(1);
    }
    jb.path = p;
    jb.size = size;
    pthread_mutex_lock(&q_mu);
    if (q_n == q_cap) {
        size_t cap = q_cap ? q_cap * 2 : 256;
        job *nh = realloc(q_heap, cap * sizeof(*nh));
        if (!nh) {
            fprintf(stderr, "error: not enough memory\n");
            exit(1);
        }
        q_heap = nh;
        q_cap = cap;
    }
    if (r_n == r_cap) {
        size_t cap = r_cap ? r_cap * 2 : 256;
        result *nr = realloc(r_slots, cap * sizeof(*nr));
        if (!nr) {
            fprintf(stderr, "error: not enough memory\n");
            exit(1);
        }
        r_slots = nr;
        r_cap = cap;
    }
    memset(&r_slots[r_n], 0, sizeof(result));
    jb.seq = r_n++;
    heap_push(jb);
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
}

/* Store a finished file's output and write every block that is now next in line. */
static void submit(size_t seq, char *out, size_t olen, char *err, size_t elen)
{
    pthread_mutex_lock(&q_mu);
    result *r = &r_slots[seq];
    r->out = out;
    r->olen = olen;
    r->err = err;
    r->elen = elen;
    r->ready = 1;
    while (r_next < r_n && r_slots[r_next].ready) {
        result *x = &r_slots[r_next];
        if (x->olen) {
            fwrite(x->out, 1, x->olen, stdout);
            fflush(stdout);
        }
        if (x->elen) {
            fwrite(x->err, 1, x->elen, stderr);
            fflush(stderr);
        }
        free(x->out);
        free(x->err);
        x->out = x->err = NULL;
        r_next++;
    }
    pthread_mutex_unlock(&q_mu);
}

static void *worker(void *arg)
{
    ks_scanner *s = arg;
    for (;;) {
        pthread_mutex_lock(&q_mu);
        while (!q_n && !q_done)
            pthread_cond_wait(&q_cv, &q_mu);
        if (!q_n) {
            pthread_mutex_unlock(&q_mu);
            break;
        }
        job jb = heap_pop();
        pthread_mutex_unlock(&q_mu);
        job *j = &jb;
        char *out = NULL, *err = NULL;
        size_t olen = 0, elen = 0;
        if (!atomic_load(&g_timed_out)) {
            int count = 0;
            int rc = scan_one(s, j->path, 1, &out, &olen, &err, &elen, &count);
            if (rc == KS_ETIMEOUT)
                atomic_store(&g_timed_out, 1);
        }
        submit(j->seq, out, olen, err, elen);
        free(j->path);
    }
    return NULL;
}

/* ------------------------------------------------------------------ directory walking */

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

static void walk_dir(const char *dir, dir_id *stack, int depth)
{
    if (atomic_load(&g_timed_out))
        return;
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL && !atomic_load(&g_timed_out)) {
        size_t n = strlen(dir) + strlen(de->d_name) + 2;
        char *full = malloc(n);
        if (!full)
            break;
        snprintf(full, n, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(full, &st) != 0 || (S_ISLNK(st.st_mode) && opt_no_follow)) {
            free(full);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            char buf[2];
            ssize_t len = readlink(full, buf, sizeof buf);
            if (len == 1 && buf[0] == '.') {
                free(full);
                continue;
            }
        }
        if (stat(full, &st) == 0) {
            if (S_ISREG(st.st_mode)) {
                if (opt_skip_larger <= 0 || opt_skip_larger > (long long)st.st_size)
                    enqueue(full, (long long)st.st_size);
                else
                    fprintf(stderr, "skipping %s (%lld bytes) because it's larger than %lld bytes.\n",
                            full, (long long)st.st_size, opt_skip_larger);
            } else if (opt_recursive && S_ISDIR(st.st_mode) && strcmp(de->d_name, ".") != 0 &&
                       strcmp(de->d_name, "..") != 0) {
                /* guard against symlink loops (yara would recurse until paths get too long) */
                int loop = 0;
                for (int i = 0; i < depth; i++)
                    if (stack[i].dev == st.st_dev && stack[i].ino == st.st_ino)
                        loop = 1;
                if (!loop && depth < 255) {
                    stack[depth].dev = st.st_dev;
                    stack[depth].ino = st.st_ino;
                    walk_dir(full, stack, depth + 1);
                }
            }
        }
        free(full);
    }
    closedir(dp);
}

static void walk_root(const char *dir)
{
    dir_id stack[256];
    struct stat st;
    int depth = 0;
    if (stat(dir, &st) == 0) {
        stack[0].dev = st.st_dev;
        stack[0].ino = st.st_ino;
        depth = 1;
    }
    walk_dir(dir, stack, depth);
}

static int is_directory(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_integer_str(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Scan a directory or a --scan-list with the thread pool. Returns the exit code. */
static int scan_many(const char *target, int nthreads)
{
    FILE *list = NULL;
    if (!is_directory(target) && opt_scan_list) {
        list = fopen(target, "rb");
        if (!list) {
            fprintf(stderr, "error: could not open file \"%s\".\n", target);
            return 1;
        }
    }
    pthread_t th[MAX_THREADS];
    ks_scanner *sc[MAX_THREADS];
    int started = 0;
    for (int i = 0; i < nthreads; i++) {
        if (setup_scanner(&sc[i]) != 0)
            break;
        if (pthread_create(&th[i], NULL, worker, sc[i]) != 0) {
            ks_scanner_destroy(sc[i]);
            break;
        }
        started++;
    }
    if (started == 0) {
        if (list)
            fclose(list);
        return 1;
    }
    if (list) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, list)) >= 0) {
            if (len > 0 && line[len - 1] == '\n')
                line[len - 1] = '\0';
            if (is_directory(line))
                walk_root(line);
            else
                enqueue(line, -1);
        }
        free(line);
        fclose(list);
    } else {
        walk_root(target);
    }
    pthread_mutex_lock(&q_mu);
    q_done = 1;
    pthread_cond_broadcast(&q_cv);
    pthread_mutex_unlock(&q_mu);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        ks_scanner_destroy(sc[i]);
    }
    free(r_slots);
    free(q_heap);
    return 0;
}

static int scan_single(const char *target)
{
    struct stat st;
    if (stat(target, &st) != 0 && is_integer_str(target)) {
        fprintf(stderr, "error scanning %s: process scanning not supported\n", target);
        return 1;
    }
    ks_scanner *s;
    if (setup_scanner(&s) != 0)
        return 1;
    char *out, *err;
    size_t olen, elen;
    int count = 0;
    int rc = scan_one(s, target, 0, &out, &olen, &err, &elen, &count);
    ks_scanner_destroy(s);
    if (olen)
        fwrite(out, 1, olen, stdout);
    fflush(stdout);
    if (elen)
        fwrite(err, 1, elen, stderr);
    free(out);
    free(err);
    if (rc != KS_OK)
        return 1;
    if (opt_count)
        printf("%d\n", count);
    return 0;
}

/* ------------------------------------------------------------------ entry point */

static int load_module_data(void)
{
    for (int i = 0; i < opt_module_data.n; i++) {
        const char *arg = opt_module_data.v[i];
        const char *eq = strchr(arg, '=');
        if (!eq) {
            fprintf(stderr, "error: wrong syntax for `-x` option.\n");
            return -1;
        }
        module_blob *nb = realloc(g_modules, (size_t)(g_nmodules + 1) * sizeof(*nb));
        if (!nb)
            return -1;
        g_modules = nb;
        module_blob *b = &g_modules[g_nmodules];
        b->name = strndup(arg, (size_t)(eq - arg));
        if (!b->name)
            return -1;
        if (cli_read_file(eq + 1, &b->data, &b->len) != 0) {
            fprintf(stderr, "error: could not open file \"%s\".\n", eq + 1);
            free(b->name);
            return -1;
        }
        g_nmodules++;
    }
    return 0;
}

static void free_module_data(void)
{
    for (int i = 0; i < g_nmodules; i++) {
        free(g_modules[i].name);
        free(g_modules[i].data);
    }
    free(g_modules);
    g_modules = NULL;
    g_nmodules = 0;
}

/* Rule files given to load_rules, for read_rules (run through cli_alloc_compile). */
struct rule_args {
    int nfiles;
    const char *const *files;
};

/* Compile the rule files, or load the compiled one (-C), into g_rules: 0, or -1 after printing
 * why. */
static int read_rules(void *arg)
{
    const struct rule_args *ra = arg;
    int nfiles = ra->nfiles;
    const char *const *files = ra->files;
    if (opt_compiled) {
        if (nfiles != 1) {
            fprintf(stderr,
                    "error: can't accept multiple rules files if one of them is in compiled form.\n");
            return -1;
        }
        int rc = ks_rules_load_opts(files[0], opt_rebuild_prefilter ? KS_LOAD_REBUILD : 0,
                                    &g_rules);
        if (rc != KS_OK) {
            fprintf(stderr, "%s\n", cli_error_text(rc));
            return -1;
        }
        return 0;
    }
    ks_compiler *c;
    if (ks_compiler_create(&c) != KS_OK) {
        fprintf(stderr, "error: not enough memory\n");
        return -1;
    }
    if (cli_define_externals(&opt_defines, c, NULL) != 0) {
        ks_compiler_destroy(c);
        return -1;
    }
    if (opt_atom_table && access(opt_atom_table, R_OK) != 0) {
        fprintf(stderr, "error loading atom quality table: could not open file\n");
        ks_compiler_destroy(c);
        return -1;
    }
    cli_diag_state st = {opt_no_warnings, 0, 0};
    ks_compiler_set_diag(c, cli_diag_cb, &st);
    if (opt_max_strings > 0)
        ks_compiler_set_max_strings_per_rule(c, (uint32_t)opt_max_strings);
    {
        /* compiling may use the threads the scan will use (-p, default: every CPU) */
        long n = opt_threads > 0 ? (long)opt_threads : sysconf(_SC_NPROCESSORS_ONLN);
        ks_compiler_set_threads(c, n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n);
    }
    if (cli_add_rule_files(c, files, nfiles) != 0) {
        ks_compiler_destroy(c);
        return -1;
    }
    if (st.errors > 0 || ks_compiler_error_count(c) > 0 ||
        (opt_fail_on_warnings && st.warnings > 0)) {
        ks_compiler_destroy(c);
        return -1;
    }
    int rc = ks_compiler_get_rules(c, &g_rules);
    ks_compiler_destroy(c);
    if (rc != KS_OK) {
        if (rc != KS_ESYNTAX)
            fprintf(stderr, "error: %s\n", cli_error_text(rc));
        return -1;
    }
    return 0;
}

/* The compile's freed memory (Vectorscan's above all) goes back before the scan. */
static int load_rules(int nfiles, const char *const *files)
{
    struct rule_args a = {nfiles, files};
    return cli_alloc_compile(read_rules, &a);
}

static void print_stats(void)
{
    ks_stats st;
    memset(&st, 0, sizeof st);
    ks_rules_stats(g_rules, &st);
    printf("number of rules                    : %u\n", st.rules);
    printf("number of strings                  : %u\n", st.strings);
    printf("number of atoms                    : %u\n", st.atoms);
    printf("number of prefilter patterns       : %u\n", st.ac_like_patterns);
}

int cmd_scan(int argc, char **argv, int first, const char *prog)
{
    cli_strv pos = {0};
    int ret = 1;
    if (cli_parse(scan_opts, argc, argv, first, &pos) != 0)
        goto out;
    if (opt_version) {
        printf("%s\n", KENSA_VERSION);
        ret = 0;
        goto out;
    }
    if (opt_help) {
        cmd_scan_help(stdout, prog);
        ret = 0;
        goto out;
    }
    if (opt_format && strcmp(opt_format, "text") != 0 && strcmp(opt_format, "json") != 0) {
        fprintf(stderr, "error: unknown format \"%s\" (text or json)\n", opt_format);
        goto out;
    }
    if (opt_threads > MAX_THREADS) {
        fprintf(stderr, "maximum number of threads is %d\n", MAX_THREADS);
        goto out;
    }
    if (pos.n < 2) {
        fprintf(stderr, "%s: wrong number of arguments\n", prog);
        fprintf(stderr, "Usage: %s scan [OPTION]... [NAMESPACE:]RULES_FILE... FILE | DIR | PID\n",
                prog);
        fprintf(stderr, "\nTry `--help` for more options\n");
        goto out;
    }
    if (load_module_data() != 0)
        goto out;
    if (load_rules(pos.n - 1, pos.v) != 0)
        goto out;
    if (opt_stats)
        print_stats();
    fflush(stdout);

    g_start = time(NULL);
    const char *target = pos.v[pos.n - 1];
    if (is_directory(target) || opt_scan_list) {
        long nthreads = opt_threads;
        if (nthreads <= 0) {
            nthreads = sysconf(_SC_NPROCESSORS_ONLN);
            if (nthreads < 1)
                nthreads = 1;
            if (nthreads > MAX_THREADS)
                nthreads = MAX_THREADS;
        }
        ret = scan_many(target, (int)nthreads);
    } else {
        ret = scan_single(target);
    }
out:
    if (g_rules)
        ks_rules_destroy(g_rules);
    g_rules = NULL;
    free_module_data();
    free(pos.v);
    free(opt_defines.v);
    free(opt_identifiers.v);
    free(opt_module_data.v);
    free(opt_tags.v);
    return ret;
}
