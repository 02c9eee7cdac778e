/*
 * extract.c - the object-tree walk behind ks_scan_tree(): detect, scan, extract, recurse.
 *
 * Hashes are lazy: each frame carries a ks_object_hashes over its bytes, and a digest is
 * computed only when something asks for it (ks_object_hash(): the tree callback, e.g. the CLI's
 * JSON output; the `kensa` module when a rule reads kensa.md5/sha1/sha256; the bomb memory
 * below, only for containers and only once a bomb was seen), at most once per object and kind.
 *
 * The walk is depth first and holds only the current path: one frame per level, each owning its
 * path string and pointing at bytes owned by the extractor of the level above (a slice of its
 * input or a buffer it decoded). An extractor calls fmt_emit() for each child; fmt_emit() runs
 * visit() on it, which scans it and runs the child's own extractor, before returning. So the
 * memory in use is the sum of the buffers along one path, and that sum is bounded by the
 * per-input limit on extracted bytes (fmt_charge).
 *
 *   ks_scan_tree(root)
 *     visit(root) -> OBJECT event, scan (SCAN events), extractor(root)
 *                      -> fmt_emit(child) -> visit(child) -> ... -> OBJECT_END(child)
 *                 -> OBJECT_END(root)
 *
 * Limits (ks_extract_opts) never abort the walk by themselves: depth, size and ratio limits skip
 * one object's extraction with a note; the object-count and time limits end the walk (there is
 * nothing more that may be scanned) with a note; callbacks can stop or abort.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "formats/formats.h"
#include "kensa.h"
#include "scan/spill.h"

#define MAX_LABEL 200            /* bytes of a path component (longer names are cut) */
#define MAX_PASSWORDS 32
#define MAX_PASSWORD_LEN 64
#define HARVEST_BYTES (1u << 20) /* text bytes searched for passwords per object */
#define MAX_BOMBS 256            /* remembered bomb hashes per input */

enum { LIM_DEPTH = 1, LIM_SIZE = 2, LIM_INPUT = 4, LIM_RATIO = 8, LIM_OBJECTS = 16, LIM_TIME = 32 };

typedef struct frame {
    ks_object_info info;
    ks_object_hashes hashes; /* info.hashes points here (unless no_hashes) */
    char *path;              /* owned */
    char *label;             /* owned */
    char *name;              /* owned */
    int limits;              /* LIM_* notes already reported on this object */
} frame;

struct fmt_sink {
    ks_scanner *s;
    ks_extract_opts o;
    ks_tree_fn cb;
    void *ud;
    frame *cur;              /* the object whose extractor is running */
    uint32_t nobjects;
    uint64_t total;          /* bytes charged over the whole input */
    struct timespec start;
    int stop;                /* 1: end the walk */
    int rc;                  /* error to return (negative) */
    int ext_off[5];          /* 1: external not declared as a string: don't set it */
    char *pw[MAX_PASSWORDS];
    int npw;
    char (*bombs)[65];       /* SHA-256 of containers whose extraction hit a size limit */
    int nbombs;
    spill_list spills;       /* live fmt_bufs moved to temporary files (spill.c) */
    int spill_failed;        /* 1: a temporary file could not be made: keep buffers in memory */
    uint64_t spilled;        /* bytes written to spill files since their pages were last dropped */
};

static const char *const ext_names[5] = {"filename", "filepath", "extension", "filetype", "owner"};

/* ------------------------------------------------------------------ options, small helpers */

void ks_extract_opts_init(ks_extract_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_depth = 17;
    o->max_objects = 10000;
    o->max_object_size = 100ull << 20;
    o->max_input_size = 400ull << 20;
    o->max_seconds = 120;
    o->max_ratio = 250;
    o->max_mime_nesting = 64;
    o->spill_threshold = 16ull << 20;
}

static double elapsed(const fmt_sink *k)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - k->start.tv_sec) + (now.tv_nsec - k->start.tv_nsec) / 1e9;
}

static void hexify(const unsigned char *md, unsigned n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = 0;
}

/* Digest `kind` of h's bytes, computed now unless already there (see kensa.h). */
static const char *hashes_get(ks_object_hashes *h, unsigned kind)
{
    if (!h || kind >= KS_HASH_KINDS)
        return NULL;
    unsigned bit = 1u << kind;
    if (h->have & bit)
        return h->hex[kind];
    if (!h->data)
        return NULL;
    const EVP_MD *md = kind == KS_HASH_MD5 ? EVP_md5() : kind == KS_HASH_SHA1 ? EVP_sha1()
                                                                              : EVP_sha256();
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (!md || EVP_Digest(h->data, h->len, dg, &dl, md, NULL) != 1 ||
        2 * (size_t)dl >= sizeof h->hex[kind])
        return NULL;
    hexify(dg, dl, h->hex[kind]);
    h->have |= bit;
    return h->hex[kind];
}

const char *ks_object_hash(const ks_object_info *obj, ks_hash_kind kind)
{
    return obj ? hashes_get(obj->hashes, (unsigned)kind) : NULL;
}

/* A copy of s with control bytes replaced and cut to MAX_LABEL bytes (on a UTF-8 boundary). */
static char *clean_label(const char *s)
{
    size_t n = strlen(s);
    if (n > MAX_LABEL) {
        n = MAX_LABEL;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '_' : s[i];
    c[n] = 0;
    return c;
}

static int emit_event(fmt_sink *k, int type, const ks_event *scan, const char *text)
{
    if (k->stop)
        return FMT_STOP;
    ks_tree_event ev = {type, k->cur ? &k->cur->info : NULL, scan, text};
    int r = k->cb ? k->cb(k->s, &ev, k->ud) : 0;
    if (r < 0) {
        k->rc = r;
        k->stop = 1;
        return r;
    }
    if (r > 0) {
        k->stop = 1;
        return FMT_STOP;
    }
    return KS_OK;
}

void fmt_note(fmt_sink *k, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    emit_event(k, KS_TREE_NOTE, NULL, buf);
}

static void note_limit(fmt_sink *k, frame *f, int lim, const char *text)
{
    if (!f || (f->limits & lim))
        return;
    f->limits |= lim;
    frame *save = k->cur;
    k->cur = f;
    fmt_note(k, "limit: %s", text);
    k->cur = save;
}

int fmt_stopped(fmt_sink *k)
{
    if (k->stop)
        return 1;
    if (k->o.max_seconds && elapsed(k) > (double)k->o.max_seconds) {
        note_limit(k, k->cur, LIM_TIME, "time");
        k->stop = 1;
    }
    return k->stop;
}

uint64_t fmt_max_object(fmt_sink *k) { return k->o.max_object_size; }
uint32_t fmt_max_nesting(fmt_sink *k) { return k->o.max_mime_nesting; }

int fmt_passwords(fmt_sink *k, const char *const **out)
{
    *out = (const char *const *)k->pw;
    return k->npw;
}

int fmt_charge(fmt_sink *k, uint64_t have, uint64_t n, uint64_t container_len)
{
    uint64_t want = have + n;
    if (want > k->o.max_object_size) {
        note_limit(k, k->cur, LIM_SIZE, "object-size");
        return KS_ELIMIT;
    }
    if (k->o.max_ratio && want > (1u << 20) && container_len &&
        want / container_len >= k->o.max_ratio) {
        note_limit(k, k->cur, LIM_RATIO, "ratio");
        return KS_ELIMIT;
    }
    if (k->total + n > k->o.max_input_size) {
        note_limit(k, k->cur, LIM_INPUT, "input-size");
        return KS_ELIMIT;
    }
    k->total += n;
    return KS_OK;
}

int fmt_buf_add(fmt_sink *k, fmt_buf *b, const void *d, size_t n, uint64_t container_len)
{
    if (n == 0)
        return KS_OK;
    int rc = fmt_charge(k, b->n, n, container_len);
    if (rc != KS_OK)
        return rc;
    if (!b->spill && k->o.spill_threshold && !k->spill_failed &&
        (uint64_t)b->n + n > k->o.spill_threshold) {
        char err[192];
        rc = spill_begin(b, &k->spills, k->o.tmp_dir, err, sizeof err);
        if (rc == KS_ENOMEM)
            return rc;
        if (rc != KS_OK) {
            k->spill_failed = 1;
            fmt_note(k, "spill: %s; kept in memory", err);
        }
    }
    if (b->spill) {
        char err[192];
        if (spill_append(b, d, n, err, sizeof err) != KS_OK) {
            fmt_note(k, "spill: %s", err);
            return KS_ELIMIT;
        }
        /* the container this comes from is being read as we go: if it is spilled too, let
         * its pages go every threshold's worth of output */
        k->spilled += n;
        if (k->spilled >= k->o.spill_threshold) {
            k->spilled = 0;
            spill_drop_pages(&k->spills);
        }
        return KS_OK;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return KS_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    return KS_OK;
}

void fmt_buf_free(fmt_buf *b)
{
    if (b->spill) {
        spill_release(b);
        return;
    }
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static void add_password(void *ud, const char *w, size_t wl)
{
    fmt_sink *k = ud;
    if (wl == 0 || wl > MAX_PASSWORD_LEN || k->npw >= MAX_PASSWORDS)
        return;
    for (int i = 0; i < k->npw; i++)
        if (strlen(k->pw[i]) == wl && memcmp(k->pw[i], w, wl) == 0)
            return;
    char *c = strndup(w, wl);
    if (c)
        k->pw[k->npw++] = c;
}

void fmt_harvest(fmt_sink *k, const uint8_t *d, size_t n)
{
    fmt_find_passwords(d, n < HARVEST_BYTES ? n : HARVEST_BYTES, add_password, k);
}

/* ------------------------------------------------------------------ externals and scanning */

static void set_ext(fmt_sink *k, int i, const char *v)
{
    if (k->ext_off[i])
        return;
    int rc = ks_scanner_define_string(k->s, ext_names[i], v);
    if (rc == KS_EUNDEF || rc == KS_ETYPE)
        k->ext_off[i] = 1;
}

/* THOR/LOKI-style externals: filename = base name, filepath = where it is (the directory of a
 * root file, the parent's path of a child), extension = ".ext" lowercased, filetype = the type
 * in upper case, owner = "" (unknown inside containers). */
static void set_externals(fmt_sink *k, frame *f, const frame *parent)
{
    const char *name = f->name;
    char dir[4096] = "";
    if (!parent) {
        const char *sl = strrchr(name, '/');
        if (sl) {
            size_t dl = (size_t)(sl - name);
            if (dl >= sizeof dir)
                dl = sizeof dir - 1;
            memcpy(dir, name, dl);
            dir[dl] = 0;
            name = sl + 1;
        }
    } else {
        snprintf(dir, sizeof dir, "%s", parent->path);
        const char *sl = strrchr(name, '/');
        if (!sl)
            sl = strrchr(name, '\\');
        if (sl)
            name = sl + 1;
    }
    char ext[24] = "";
    const char *dot = strrchr(name, '.');
    if (dot && dot != name && strlen(dot) < sizeof ext) {
        size_t i = 0;
        for (; dot[i]; i++)
            ext[i] = (char)tolower((unsigned char)dot[i]);
        ext[i] = 0;
    }
    char ft[32];
    size_t i = 0;
    for (; f->info.type[i] && i + 1 < sizeof ft; i++)
        ft[i] = (char)toupper((unsigned char)f->info.type[i]);
    ft[i] = 0;
    set_ext(k, 0, name);
    set_ext(k, 1, dir);
    set_ext(k, 2, ext);
    set_ext(k, 3, ft);
    set_ext(k, 4, "");
}

static int scan_fwd(ks_scanner *s, const ks_event *ev, void *ud)
{
    fmt_sink *k = ud;
    (void)s;
    int r = emit_event(k, KS_TREE_SCAN, ev, NULL);
    return r == FMT_STOP ? 1 : r;
}

static int is_container(const char *t)
{
    static const char *const c[] = {"email", "mbox", "zip", "ooxml", "odf", "7z", "rar", "cab",
                                    "iso", "lzh", "tar", "gzip", "bzip2", "xz", "ole2", "rtf",
                                    "pdf", "msg", "tnef", NULL};
    for (int i = 0; c[i]; i++)
        if (strcmp(t, c[i]) == 0)
            return 1;
    return 0;
}

static int run_extractor(fmt_sink *k, const frame *f, const uint8_t *d, size_t n)
{
    const char *t = f->info.type;
    if (fmt_dde_part(&f->info))
        return fmt_dde_extract(k, &f->info, d, n);
    if (strcmp(t, "email") == 0)
        return fmt_mime_extract(k, d, n);
    if (strcmp(t, "mbox") == 0)
        return fmt_mbox_extract(k, d, n);
    if (strcmp(t, "ole2") == 0)
        return fmt_ole2_extract(k, d, n);
    if (strcmp(t, "rtf") == 0)
        return fmt_rtf_extract(k, d, n);
    if (strcmp(t, "pdf") == 0)
        return fmt_pdf_extract(k, d, n);
    if (strcmp(t, "msg") == 0)
        return fmt_msg_extract(k, d, n);
    if (strcmp(t, "tnef") == 0)
        return fmt_tnef_extract(k, d, n);
    return fmt_archive_extract(k, t, f->name, d, n);
}

/* 1: the bytes are a copy of a container whose extraction hit a size limit. Their SHA-256 is
 * computed (whatever no_hashes says) only once such a bomb was seen in this input. */
static int is_known_bomb(fmt_sink *k, ks_object_hashes *h)
{
    const char *sha = k->nbombs ? hashes_get(h, KS_HASH_SHA256) : NULL;
    for (int i = 0; sha && i < k->nbombs; i++)
        if (strcmp(k->bombs[i], sha) == 0)
            return 1;
    return 0;
}

static int is_texty(const char *t)
{
    return strcmp(t, "text") == 0 || strcmp(t, "html") == 0 || strcmp(t, "email") == 0;
}

/* Scan one object and extract its children. */
static int visit(fmt_sink *k, frame *parent, const char *label, const char *name,
                 const uint8_t *d, size_t n)
{
    int rc = KS_OK;
    frame f;
    memset(&f, 0, sizeof f);

    f.label = clean_label(label ? label : name);
    f.name = clean_label(name);
    if (!f.label || !f.name) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (parent) {
        size_t pl = strlen(parent->path), ll = strlen(f.label);
        f.path = malloc(pl + ll + 4);
        if (!f.path) {
            rc = KS_ENOMEM;
            goto out;
        }
        memcpy(f.path, parent->path, pl);
        memcpy(f.path + pl, " > ", 3);
        memcpy(f.path + pl + 3, f.label, ll + 1);
    } else {
        f.path = strdup(f.label);
        if (!f.path) {
            rc = KS_ENOMEM;
            goto out;
        }
    }
    f.info.path = f.path;
    f.info.label = f.label;
    f.info.name = f.name;
    f.info.type = fmt_detect(d, n);
    f.info.parent_type = parent ? parent->info.type : NULL;
    f.info.size = n;
    f.info.depth = parent ? parent->info.depth + 1 : 0;
    f.info.id = k->nobjects++;
    f.info.parent_id = parent ? parent->info.id : f.info.id;
    f.hashes.data = d ? d : (const uint8_t *)"";   /* digested on demand (hashes_get) */
    f.hashes.len = n;
    f.info.hashes = k->o.no_hashes ? NULL : &f.hashes;

    frame *save = k->cur;
    k->cur = &f;
    if ((rc = emit_event(k, KS_TREE_OBJECT, NULL, NULL)) != KS_OK)
        goto restore;

    set_externals(k, &f, parent);
    if (k->o.max_seconds) {
        double left = (double)k->o.max_seconds - elapsed(k);
        ks_scanner_set_timeout(k->s, left < 1 ? 1 : (int)left);
    }
    ks_scanner_set_object(k->s, &f.info);   /* the `kensa` module's view of this object */
    int src = ks_scanner_scan_mem(k->s, d ? d : (const uint8_t *)"", n, scan_fwd, k);
    if (k->stop) {
        rc = k->rc ? k->rc : FMT_STOP;
        goto restore;
    }
    if (src == KS_ETIMEOUT) {
        note_limit(k, &f, LIM_TIME, "time");
        k->rc = KS_ETIMEOUT;
        k->stop = 1;
        rc = KS_ETIMEOUT;
        goto restore;
    }
    if (src == KS_EMODDATA || src == KS_ENOMEM) {
        /* not this object's fault: every other object would fail the same way */
        k->rc = src;
        k->stop = 1;
        rc = src;
        goto restore;
    }
    if (src != KS_OK)
        fmt_note(k, "scan-error: %s", ks_strerror(src));

    if (is_texty(f.info.type))
        fmt_find_passwords(d, n < HARVEST_BYTES ? n : HARVEST_BYTES, add_password, k);

    if (is_container(f.info.type) || fmt_dde_part(&f.info)) {   /* dde.c: OOXML parts, CSV */
        if ((uint32_t)f.info.depth >= k->o.max_depth) {
            note_limit(k, &f, LIM_DEPTH, "depth");
        } else if (is_known_bomb(k, &f.hashes)) {
            /* a copy of a container that already hit a size limit: not inflated again */
            note_limit(k, &f, LIM_RATIO, "ratio (same content as an earlier bomb)");
        } else if (!fmt_stopped(k)) {
            rc = run_extractor(k, &f, d, n);
            const char *sha;     /* remembered only once it hit a size limit */
            if ((f.limits & (LIM_SIZE | LIM_RATIO | LIM_INPUT)) && k->nbombs < MAX_BOMBS &&
                k->bombs && (sha = hashes_get(&f.hashes, KS_HASH_SHA256)) != NULL)
                memcpy(k->bombs[k->nbombs++], sha, 65);
        }
    }
    if (rc == KS_OK && !k->stop)
        rc = emit_event(k, KS_TREE_OBJECT_END, NULL, NULL);
    else if (rc == KS_OK)
        rc = k->rc ? k->rc : FMT_STOP;
restore:
    k->cur = save;
out:
    free(f.path);
    free(f.label);
    free(f.name);
    return rc;
}

int fmt_emit(fmt_sink *k, const char *label, const char *name, const uint8_t *data, size_t len)
{
    if (fmt_stopped(k))
        return k->rc ? k->rc : FMT_STOP;
    if (k->nobjects >= k->o.max_objects) {
        note_limit(k, k->cur, LIM_OBJECTS, "objects");
        k->stop = 1;
        return FMT_STOP;
    }
    if (len > k->o.max_object_size) {
        /* a slice of the parent larger than the object limit: scan its head only */
        note_limit(k, k->cur, LIM_SIZE, "object-size");
        len = (size_t)k->o.max_object_size;
    }
    /* ancestors' spilled buffers (mapped files) need not stay resident while the child is
     * scanned: drop their pages, they are read again from the file when needed */
    spill_drop_pages(&k->spills);
    return visit(k, k->cur, label, name ? name : "", data, len);
}

/* ------------------------------------------------------------------ API */

int ks_scan_tree(ks_scanner *s, const char *name, const uint8_t *data, size_t len,
                 const ks_extract_opts *opts, ks_tree_fn cb, void *ud)
{
    if (!s || (!data && len))
        return KS_EARG;
    fmt_sink *k = calloc(1, sizeof *k);
    if (!k)
        return KS_ENOMEM;
    k->s = s;
    if (opts)
        k->o = *opts;
    else
        ks_extract_opts_init(&k->o);
    if (k->o.max_depth > 1000)
        k->o.max_depth = 1000;      /* recursion bound whatever the caller asks */
    if (k->o.max_mime_nesting > 1000)
        k->o.max_mime_nesting = 1000;
    k->cb = cb;
    k->ud = ud;
    k->bombs = calloc(MAX_BOMBS, sizeof *k->bombs);   /* NULL: no bomb memory, still correct */
    clock_gettime(CLOCK_MONOTONIC, &k->start);
    int rc = visit(k, NULL, name ? name : "", name ? name : "", data, len);
    if (rc == FMT_STOP || rc == KS_ELIMIT)
        rc = KS_OK;
    if (k->rc)
        rc = k->rc;
    for (int i = 0; i < k->npw; i++)
        free(k->pw[i]);
    spill_list_detach(&k->spills);
    free(k->bombs);
    free(k);
    return rc;
}
