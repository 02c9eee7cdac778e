/*
 * ole2.c - OLE2 compound files (.doc/.xls/.ppt/.msg, vbaProject.bin): streams, the VBA project's
 * module sources (MS-OVBA), and Ole10Native payloads.
 *
 * A bounds-checked reader written for kensa rather than libgsf: libgsf builds the whole
 * directory in GObjects and GLib aborts on allocation failure; this reader needs a few arrays,
 * each capped by the file size.
 *
 *   header (512 bytes) -> DIFAT -> FAT (sector chains) -> directory (128-byte entries, a
 *   red-black tree per storage) -> streams (FAT chains, or mini-FAT chains inside the root's
 *   mini stream when smaller than the cutoff).
 *
 * Hostile files: every chain walk stops after as many steps as there are sectors (cycles), every
 * sector index is checked against the file, the directory tree is walked with a visited map
 * (cycles, shared children), and every stream copy is charged to the sink (streams sharing one
 * big chain cannot multiply the bytes past the input limit).
 *
 * Children: "VBA/<module>" for each VBA module (decompressed source, first), then every other
 * stream by its storage path ("WordDocument", "Macros/PROJECT", "ObjectPool/_1/\x01Ole10Native"
 * is shown as "ObjectPool/_1/Ole10Native"), and "Ole10Native/<file name>" for an embedded
 * package's payload. The module streams themselves (compressed) are not emitted.
 *
 * The reader is also an internal API (ole2.h: open, entries, children, read a stream, rebuild a
 * storage as a compound file of its own) used by msg.c and by type detection.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/ole2.h"

#define NOSTREAM 0xFFFFFFFFu
#define ENDCHAIN 0xFFFFFFFEu
#define MAX_DIR_ENTRIES 65536
#define MAX_MODULES 1024

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct dirent_ {
    char name[160];          /* UTF-8, control characters dropped */
    uint8_t type;            /* 1 storage, 2 stream, 5 root */
    uint32_t left, right, child, start;
    uint64_t size;
    uint32_t parent;         /* NOSTREAM if unreached */
    uint32_t first, next;    /* first child (storages), next sibling: children lists */
} dirent_;

typedef struct ole2_file {
    fmt_sink *k;
    const uint8_t *d;
    size_t n;
    uint32_t ssize, mssize, cutoff;
    uint32_t nsect;          /* sectors in the file */
    uint32_t *fat;
    uint32_t nfat;           /* entries */
    uint32_t *minifat;
    uint32_t nminifat;
    fmt_buf ministream;
    dirent_ *dir;
    uint32_t ndir;
    fmt_buf rawdir;          /* the directory's 128-byte entries as read (for ole2_rebuild) */
} ole;

/* Notes go to the sink; without one (detection) they are dropped. */
static void onote(ole *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void onote(ole *o, const char *fmt, ...)
{
    if (!o->k)
        return;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fmt_note(o->k, "%s", buf);
}

/* Append to a buffer: charged to the sink, or (no sink: detection) capped by the file size. */
static int buf_add(ole *o, fmt_buf *b, const void *p, size_t n)
{
    if (o->k)
        return fmt_buf_add(o->k, b, p, n, o->n);
    if (n == 0)
        return KS_OK;
    if (b->n + n > o->n + 4096)
        return KS_ELIMIT;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return KS_ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return KS_OK;
}

static const uint8_t *sector(const ole *o, uint32_t s)
{
    uint64_t off = ((uint64_t)s + 1) * o->ssize;
    if (s >= ENDCHAIN - 4 || off + o->ssize > o->n)
        return NULL;
    return o->d + off;
}

/* Follow a FAT chain from `start`, appending up to `want` bytes (all if want == UINT64_MAX). */
static int read_chain(ole *o, uint32_t start, uint64_t want, fmt_buf *b)
{
    uint32_t s = start;
    for (uint32_t steps = 0; s < ENDCHAIN - 4 && steps <= o->nsect && b->n < want; steps++) {
        const uint8_t *p = sector(o, s);
        if (!p)
            return KS_EFORMAT;
        size_t take = o->ssize;
        if (want - b->n < take)
            take = (size_t)(want - b->n);
        int rc = buf_add(o, b, p, take);
        if (rc != KS_OK)
            return rc;
        if (s >= o->nfat)
            return KS_EFORMAT;
        s = o->fat[s];
    }
    return (want != UINT64_MAX && b->n < want) ? KS_EFORMAT : KS_OK;
}

static int read_mini(ole *o, uint32_t start, uint64_t want, fmt_buf *b)
{
    uint32_t s = start;
    for (uint32_t steps = 0; s < ENDCHAIN - 4 && steps <= o->nminifat && b->n < want; steps++) {
        uint64_t off = (uint64_t)s * o->mssize;
        if (off + o->mssize > o->ministream.n)
            return KS_EFORMAT;
        size_t take = o->mssize;
        if (want - b->n < take)
            take = (size_t)(want - b->n);
        int rc = buf_add(o, b, o->ministream.p + off, take);
        if (rc != KS_OK)
            return rc;
        if (s >= o->nminifat)
            return KS_EFORMAT;
        s = o->minifat[s];
    }
    return b->n < want ? KS_EFORMAT : KS_OK;
}

static int read_stream(ole *o, const dirent_ *e, fmt_buf *b)
{
    if (e->size < o->cutoff && e->type == 2)
        return read_mini(o, e->start, e->size, b);
    return read_chain(o, e->start, e->size, b);
}

/* Load a chain of uint32 tables (FAT sectors listed in `secs`, or a chain) into *out. */
static int load_fat(ole *o)
{
    const uint8_t *h = o->d;
    uint32_t nfs = rd32(h + 0x2C);
    uint32_t per = o->ssize / 4;
    if (nfs > o->nsect)
        nfs = o->nsect;
    uint32_t *secs = calloc((size_t)nfs + 1, sizeof *secs);
    if (!secs)
        return KS_ENOMEM;
    uint32_t got = 0;
    for (uint32_t i = 0; i < 109 && got < nfs; i++)
        secs[got++] = rd32(h + 0x4C + 4 * i);
    uint32_t ds = rd32(h + 0x44);
    for (uint32_t steps = 0; got < nfs && ds < ENDCHAIN - 4 && steps <= o->nsect; steps++) {
        const uint8_t *p = sector(o, ds);
        if (!p)
            break;
        for (uint32_t i = 0; i + 1 < per && got < nfs; i++)
            secs[got++] = rd32(p + 4 * i);
        ds = rd32(p + 4 * (per - 1));
    }
    o->fat = calloc((size_t)got * per + 1, sizeof *o->fat);
    if (!o->fat) {
        free(secs);
        return KS_ENOMEM;
    }
    for (uint32_t i = 0; i < got; i++) {
        const uint8_t *p = sector(o, secs[i]);
        for (uint32_t j = 0; j < per; j++)
            o->fat[o->nfat++] = p ? rd32(p + 4 * j) : ENDCHAIN;
    }
    free(secs);
    return got < nfs ? KS_EFORMAT : KS_OK;
}

static void utf16_name(const uint8_t *p, uint16_t bytes, char *out, size_t cap)
{
    size_t w = 0;
    if (bytes > 64)
        bytes = 64;
    for (uint16_t i = 0; i + 1 < bytes && w + 4 < cap; i += 2) {
        uint16_t c = rd16(p + i);
        if (c == 0)
            break;
        if (c < 0x20)
            continue;
        if (c < 0x80)
            out[w++] = (char)c;
        else if (c < 0x800) {
            out[w++] = (char)(0xC0 | c >> 6);
            out[w++] = (char)(0x80 | (c & 63));
        } else {
            out[w++] = (char)(0xE0 | c >> 12);
            out[w++] = (char)(0x80 | ((c >> 6) & 63));
            out[w++] = (char)(0x80 | (c & 63));
        }
    }
    out[w] = 0;
}

static int load_dir(ole *o)
{
    fmt_buf b = {0};
    int rc = read_chain(o, rd32(o->d + 0x30), (uint64_t)MAX_DIR_ENTRIES * 128, &b);
    if (rc == KS_ENOMEM || rc == KS_ELIMIT) {
        fmt_buf_free(&b);
        return rc;
    }
    o->ndir = (uint32_t)(b.n / 128);
    o->dir = calloc((size_t)o->ndir + 1, sizeof *o->dir);
    if (!o->dir) {
        fmt_buf_free(&b);
        return KS_ENOMEM;
    }
    for (uint32_t i = 0; i < o->ndir; i++) {
        const uint8_t *p = b.p + (size_t)i * 128;
        dirent_ *e = &o->dir[i];
        utf16_name(p, rd16(p + 0x40), e->name, sizeof e->name);
        e->type = p[0x42];
        e->left = rd32(p + 0x44);
        e->right = rd32(p + 0x48);
        e->child = rd32(p + 0x4C);
        e->start = rd32(p + 0x74);
        e->size = rd32(p + 0x78);
        if (o->ssize == 4096)
            e->size |= (uint64_t)rd32(p + 0x7C) << 32;
        e->parent = NOSTREAM;
        e->first = e->next = NOSTREAM;
    }
    o->rawdir = b;   /* kept for ole2_rebuild; freed with the ole2_file */
    if (o->ndir == 0)
        return KS_EFORMAT;
    /* walk the tree from the root, with a visited map */
    uint8_t *seen = calloc(o->ndir, 1);
    uint32_t *stack = calloc((size_t)o->ndir * 3 + 3, sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return KS_ENOMEM;
    }
    size_t sp = 0;
    int cycles = 0;
    seen[0] = 1;
    if (o->dir[0].child < o->ndir) {
        stack[sp++] = o->dir[0].child;
        o->dir[o->dir[0].child].parent = 0;
    }
    while (sp > 0) {
        uint32_t i = stack[--sp];
        if (seen[i]) {
            cycles++;
            continue;
        }
        seen[i] = 1;
        dirent_ *e = &o->dir[i];
        uint32_t kids[3] = {e->left, e->right, e->child};
        for (int q = 0; q < 3; q++) {
            uint32_t c = kids[q];
            if (c >= o->ndir || seen[c] || sp >= (size_t)o->ndir * 3)
                continue;
            if (o->dir[c].parent == NOSTREAM)
                o->dir[c].parent = q == 2 ? i : e->parent;
            stack[sp++] = c;
        }
    }
    free(seen);
    free(stack);
    if (cycles)
        onote(o, "parse-error: ole2: directory cycle");
    /* children lists (in index order); parent links are acyclic: each is set once, to an entry
     * reached earlier */
    for (uint32_t i = o->ndir; i-- > 1;) {
        uint32_t p = o->dir[i].parent;
        if (p < o->ndir) {
            o->dir[i].next = o->dir[p].first;
            o->dir[p].first = i;
        }
    }
    return KS_OK;
}

/* Storage path of entry i ("Macros/VBA/dir"), without the root. */
static void entry_path(const ole *o, uint32_t i, char *out, size_t cap)
{
    uint32_t chain[32];
    int nc = 0;
    for (uint32_t c = i; c != 0 && c < o->ndir && nc < 32; c = o->dir[c].parent)
        chain[nc++] = c;
    size_t w = 0;
    out[0] = 0;
    for (int q = nc - 1; q >= 0; q--) {
        int r = snprintf(out + w, cap - w, "%s%s", w ? "/" : "", o->dir[chain[q]].name);
        if (r < 0 || (size_t)r >= cap - w)
            break;
        w += (size_t)r;
    }
}

static int in_vba_storage(const ole *o, uint32_t i)
{
    uint32_t p = o->dir[i].parent;
    return p < o->ndir && o->dir[p].type == 1 && strcasecmp(o->dir[p].name, "VBA") == 0;
}

/* ------------------------------------------------------------------ MS-OVBA */

int fmt_ovba_decompress(const uint8_t *in, size_t n, size_t cap, fmt_buf *out)
{
    if (n < 1 || in[0] != 1)
        return KS_EFORMAT;
    size_t i = 1;
    while (i + 2 <= n) {
        uint16_t h = rd16(in + i);
        size_t csize = (size_t)(h & 0x0FFF) + 3;
        int compressed = h >> 15;
        if (((h >> 12) & 7) != 3)
            return KS_EFORMAT;
        size_t cend = i + csize < n ? i + csize : n;
        i += 2;
        size_t dstart = out->n;
        if (out->n + 4096 > out->cap) {
            if (out->n + 4096 > cap)
                return KS_ELIMIT;
            size_t nc = out->cap ? out->cap * 2 : 8192;
            while (nc < out->n + 4096)
                nc *= 2;
            uint8_t *p = realloc(out->p, nc);
            if (!p)
                return KS_ENOMEM;
            out->p = p;
            out->cap = nc;
        }
        if (!compressed) {
            size_t take = cend - i < 4096 ? cend - i : 4096;
            memcpy(out->p + out->n, in + i, take);
            out->n += take;
            i = cend;
            continue;
        }
        while (i < cend) {
            uint8_t flags = in[i++];
            for (int bit = 0; bit < 8 && i < cend; bit++) {
                if (!(flags >> bit & 1)) {
                    if (out->n - dstart >= 4096)
                        return KS_EFORMAT;
                    out->p[out->n++] = in[i++];
                    continue;
                }
                if (i + 2 > cend)
                    return KS_EFORMAT;
                uint16_t tok = rd16(in + i);
                i += 2;
                size_t diff = out->n - dstart;
                unsigned bc = 4;
                while (bc < 12 && ((size_t)1 << bc) < diff)
                    bc++;
                uint16_t lmask = (uint16_t)(0xFFFF >> bc);
                size_t len = (size_t)(tok & lmask) + 3;
                size_t off = (size_t)(tok >> (16 - bc)) + 1;
                if (off > diff || diff + len > 4096)
                    return KS_EFORMAT;
                for (size_t q = 0; q < len; q++, out->n++)
                    out->p[out->n] = out->p[out->n - off];
            }
        }
    }
    return KS_OK;
}

typedef struct vba_module {
    char name[128];
    char stream[128];
    uint32_t offset;
} vba_module;

/* Parse the decompressed dir stream: module names, stream names, source offsets. */
static int parse_dir(const uint8_t *d, size_t n, vba_module *mods, int max)
{
    size_t i = 0;
    int nm = 0, cur = -1;
    while (i + 6 <= n && nm <= max) {
        uint16_t id = rd16(d + i);
        uint32_t sz = rd32(d + i + 2);
        i += 6;
        if (id == 0x0009)   /* PROJECTVERSION: size field is "reserved"; 6 bytes follow */
            sz = 6;
        if (sz > n - i)
            break;
        const uint8_t *v = d + i;
        switch (id) {
        case 0x0019:   /* MODULENAME */
            if (nm < max) {
                cur = nm++;
                memset(&mods[cur], 0, sizeof mods[cur]);
                size_t l = sz < sizeof mods[cur].name - 1 ? sz : sizeof mods[cur].name - 1;
                memcpy(mods[cur].name, v, l);
            } else
                cur = -1;
            break;
        case 0x001A:   /* MODULESTREAMNAME */
            if (cur >= 0) {
                size_t l = sz < sizeof mods[cur].stream - 1 ? sz : sizeof mods[cur].stream - 1;
                memcpy(mods[cur].stream, v, l);
                mods[cur].stream[l] = 0;
            }
            break;
        case 0x0031:   /* MODULEOFFSET */
            if (cur >= 0 && sz >= 4)
                mods[cur].offset = rd32(v);
            break;
        default:
            break;
        }
        i += sz;
    }
    return nm;
}

static uint32_t find_child(const ole *o, uint32_t storage, const char *name)
{
    for (uint32_t i = 0; i < o->ndir; i++)
        if (o->dir[i].parent == storage && o->dir[i].type == 2 &&
            strcasecmp(o->dir[i].name, name) == 0)
            return i;
    return NOSTREAM;
}

static int extract_vba(ole *o, uint32_t storage)
{
    uint32_t di = find_child(o, storage, "dir");
    if (di == NOSTREAM)
        return KS_OK;
    fmt_buf raw = {0}, dir = {0};
    vba_module *mods = NULL;
    int rc = read_stream(o, &o->dir[di], &raw);
    if (rc == KS_ENOMEM)
        goto out;
    rc = fmt_ovba_decompress(raw.p, raw.n, 16u << 20, &dir);
    if (rc == KS_ENOMEM)
        goto out;
    if (rc != KS_OK)
        onote(o, "parse-error: vba: dir stream does not decompress");
    mods = calloc(MAX_MODULES, sizeof *mods);
    if (!mods) {
        rc = KS_ENOMEM;
        goto out;
    }
    int nm = parse_dir(dir.p, dir.n, mods, MAX_MODULES);
    rc = KS_OK;
    for (int m = 0; m < nm && rc == KS_OK; m++) {
        uint32_t si = find_child(o, storage, mods[m].stream[0] ? mods[m].stream : mods[m].name);
        if (si == NOSTREAM) {
            onote(o, "parse-error: vba: no stream for module %s", mods[m].name);
            continue;
        }
        fmt_buf ms = {0}, src = {0};
        int r = read_stream(o, &o->dir[si], &ms);
        if (r == KS_ENOMEM || r == KS_ELIMIT) {
            fmt_buf_free(&ms);
            rc = r == KS_ENOMEM ? r : KS_OK;
            continue;
        }
        if (mods[m].offset < ms.n) {
            r = fmt_ovba_decompress(ms.p + mods[m].offset, ms.n - mods[m].offset,
                                    (size_t)fmt_max_object(o->k), &src);
            if (r == KS_ENOMEM)
                rc = r;
            else if (r != KS_OK)
                onote(o, "parse-error: vba: module %s does not decompress fully",
                         mods[m].name);
        } else
            onote(o, "parse-error: vba: module %s offset out of range", mods[m].name);
        fmt_buf_free(&ms);
        if (rc == KS_OK && (src.n || mods[m].offset < ms.n)) {
            if (fmt_charge(o->k, 0, src.n, 0) == KS_OK) {
                char label[160];
                snprintf(label, sizeof label, "VBA/%s", mods[m].name);
                rc = fmt_emit(o->k, label, mods[m].name, src.p, src.n);
            }
        }
        fmt_buf_free(&src);
    }
out:
    free(mods);
    fmt_buf_free(&raw);
    fmt_buf_free(&dir);
    return rc == KS_ELIMIT ? KS_OK : rc;
}

/* Ole10Native: u32 size, u16 flags, label\0, file\0, u16, u16, u32, temp path\0, u32 n, data. */
static int extract_ole10(ole *o, const uint8_t *d, size_t n)
{
    size_t i = 6;
    const char *strs[3] = {0};
    for (int s = 0; s < 3; s++) {
        if (s == 2)
            i += 8;   /* unknown u16 u16 u32 */
        if (i >= n)
            return KS_OK;
        const uint8_t *z = memchr(d + i, 0, n - i);
        if (!z)
            return KS_OK;
        strs[s] = (const char *)d + i;
        i = (size_t)(z - d) + 1;
    }
    if (i + 4 > n)
        return KS_OK;
    uint32_t len = rd32(d + i);
    i += 4;
    if (len > n - i) {
        onote(o, "parse-error: ole2: Ole10Native payload truncated");
        len = (uint32_t)(n - i);
    }
    const char *fname = strs[1] && *strs[1] ? strs[1] : strs[0];
    const char *b = strrchr(fname, '\\');
    if (b)
        fname = b + 1;
    char label[300];
    snprintf(label, sizeof label, "Ole10Native/%.250s", fname);
    return fmt_emit(o->k, label, fname, d + i, len);
}

/* ------------------------------------------------------------------ internal API (ole2.h) */

void ole2_close(ole *o)
{
    if (!o)
        return;
    free(o->fat);
    free(o->minifat);
    free(o->dir);
    fmt_buf_free(&o->ministream);
    fmt_buf_free(&o->rawdir);
    free(o);
}

int ole2_open(fmt_sink *k, const uint8_t *d, size_t n, ole **out)
{
    *out = NULL;
    ole *o = calloc(1, sizeof *o);
    if (!o)
        return KS_ENOMEM;
    o->k = k;
    o->d = d;
    o->n = n;
    int rc = KS_OK;
    if (n < 512) {
        onote(o, "parse-error: ole2: truncated header");
        rc = KS_EFORMAT;
        goto fail;
    }
    uint16_t sh = rd16(d + 0x1E), msh = rd16(d + 0x20);
    if ((sh != 9 && sh != 12) || msh != 6) {
        onote(o, "parse-error: ole2: bad sector size");
        rc = KS_EFORMAT;
        goto fail;
    }
    o->ssize = 1u << sh;
    o->mssize = 1u << msh;
    o->cutoff = 4096;   /* the only value MS-CFB allows, whatever the header says */
    o->nsect = (uint32_t)(n / o->ssize);
    rc = load_fat(o);
    if (rc == KS_ENOMEM)
        goto fail;
    if (rc != KS_OK)
        onote(o, "parse-error: ole2: FAT truncated");
    rc = load_dir(o);
    if (rc == KS_ENOMEM)
        goto fail;
    if (rc != KS_OK) {
        onote(o, "parse-error: ole2: no directory");
        rc = KS_EFORMAT;
        goto fail;
    }
    if (!k) {   /* detection: the directory is all it needs */
        *out = o;
        return KS_OK;
    }
    /* mini FAT and mini stream */
    fmt_buf mf = {0};
    uint64_t want = (uint64_t)rd32(d + 0x40) * o->ssize;
    if (want > n)
        want = n;
    int r = read_chain(o, rd32(d + 0x3C), want, &mf);
    if (r == KS_ENOMEM) {
        fmt_buf_free(&mf);
        rc = r;
        goto fail;
    }
    o->nminifat = (uint32_t)(mf.n / 4);
    o->minifat = calloc((size_t)o->nminifat + 1, sizeof *o->minifat);
    if (!o->minifat) {
        fmt_buf_free(&mf);
        rc = KS_ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < o->nminifat; i++)
        o->minifat[i] = rd32(mf.p + 4 * i);
    fmt_buf_free(&mf);
    uint64_t ms = o->dir[0].size;
    if (ms > n)
        ms = n;
    r = read_chain(o, o->dir[0].start, ms, &o->ministream);
    if (r == KS_ENOMEM) {
        rc = r;
        goto fail;
    }
    if (r != KS_OK && o->nminifat)
        onote(o, "parse-error: ole2: mini stream truncated");
    *out = o;
    return KS_OK;
fail:
    ole2_close(o);
    return rc;
}

uint32_t ole2_count(const ole *o) { return o->ndir; }

int ole2_entry_get(const ole *o, uint32_t i, ole2_entry *e)
{
    if (i >= o->ndir)
        return 0;
    e->name = o->dir[i].name;
    e->type = o->dir[i].type;
    e->parent = o->dir[i].parent;
    e->size = o->dir[i].size;
    return 1;
}

uint32_t ole2_first(const ole *o, uint32_t s) { return s < o->ndir ? o->dir[s].first : NOSTREAM; }
uint32_t ole2_next(const ole *o, uint32_t i) { return i < o->ndir ? o->dir[i].next : NOSTREAM; }

int ole2_read(ole *o, uint32_t i, fmt_buf *b)
{
    if (i >= o->ndir || o->dir[i].type != 2)
        return KS_EFORMAT;
    return read_stream(o, &o->dir[i], b);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#define RB_SECT 4096u
#define RB_FATSECT 0xFFFFFFFDu
#define RB_FREESECT 0xFFFFFFFFu

static uint64_t rb_secs(uint64_t bytes) { return (bytes + RB_SECT - 1) / RB_SECT; }

/* Layout of a rebuilt file: [header][FAT][directory][mini FAT][mini stream][big streams], all
 * in 4096-byte sectors (MS-CFB version 4); chains are contiguous runs. Directory siblings are
 * written as right-linked lists (no balancing: readers walk the tree, they do not check colors). */
int ole2_rebuild(ole *o, uint32_t s, fmt_buf *out)
{
    if (s >= o->ndir || (o->dir[s].type != 1 && o->dir[s].type != 5) ||
        o->rawdir.n < (size_t)o->ndir * 128)
        return KS_EFORMAT;
    int rc = KS_OK, broken = 0;
    uint32_t *list = malloc((size_t)o->ndir * sizeof *list);
    uint32_t *nidx = malloc((size_t)o->ndir * sizeof *nidx);
    fmt_buf *data = NULL;
    uint32_t *start = NULL, *fat = NULL;
    if (!list || !nidx) {
        rc = KS_ENOMEM;
        goto out;
    }
    memset(nidx, 0xFF, (size_t)o->ndir * sizeof *nidx);
    uint32_t cnt = 1;
    list[0] = s;
    nidx[s] = 0;
    for (uint32_t q = 0; q < cnt; q++) {
        uint8_t t = o->dir[list[q]].type;
        if (t != 1 && t != 5)
            continue;   /* a stream's "children" (malformed) are not copied */
        for (uint32_t c = o->dir[list[q]].first, steps = 0; c < o->ndir && steps < o->ndir;
             c = o->dir[c].next, steps++) {
            if (nidx[c] != NOSTREAM || (o->dir[c].type != 1 && o->dir[c].type != 2) ||
                cnt >= o->ndir)
                continue;
            nidx[c] = cnt;
            list[cnt++] = c;
        }
    }
    data = calloc(cnt, sizeof *data);
    start = calloc(cnt, sizeof *start);
    if (!data || !start) {
        rc = KS_ENOMEM;
        goto out;
    }
    uint64_t mini = 0, big = 0;
    for (uint32_t q = 1; q < cnt; q++) {
        start[q] = ENDCHAIN;
        if (o->dir[list[q]].type != 2)
            continue;
        int r = read_stream(o, &o->dir[list[q]], &data[q]);
        if (r == KS_ENOMEM || r == KS_ELIMIT) {
            rc = r;
            goto out;
        }
        if (r != KS_OK)
            broken = 1;
        if (data[q].n == 0)
            continue;
        if (data[q].n < 4096) {
            start[q] = (uint32_t)(mini / 64);
            mini += (data[q].n + 63) / 64 * 64;
        } else {
            start[q] = (uint32_t)big;   /* relative; made absolute below */
            big += rb_secs(data[q].n);
        }
    }
    uint64_t ndirs = rb_secs((uint64_t)cnt * 128), nminis = mini / 64;
    uint64_t nmfs = rb_secs(nminis * 4), nms = rb_secs(mini);
    uint64_t body = ndirs + nmfs + nms + big, nfat = 1;
    while (nfat * (RB_SECT / 4) < body + nfat)
        nfat++;
    if (nfat > 109) {
        onote(o, "parse-error: ole2: storage too big to rebuild");
        rc = KS_EFORMAT;
        goto out;
    }
    uint64_t total = (1 + nfat + body) * RB_SECT;
    if (o->k && (rc = fmt_charge(o->k, 0, total, o->n)) != KS_OK)
        goto out;
    if (out->p || total > SIZE_MAX) {
        rc = KS_EFORMAT;
        goto out;
    }
    out->p = calloc(1, (size_t)total);
    fat = malloc((size_t)nfat * RB_SECT);
    if (!out->p || !fat) {
        rc = KS_ENOMEM;
        goto out;
    }
    out->n = out->cap = (size_t)total;
    memset(fat, 0xFF, (size_t)nfat * RB_SECT);
    uint32_t sec = 0;
    for (; sec < nfat; sec++)
        fat[sec] = RB_FATSECT;
    uint32_t dir0 = sec, mf0 = dir0 + (uint32_t)ndirs, ms0 = mf0 + (uint32_t)nmfs,
             big0 = ms0 + (uint32_t)nms;
    uint32_t runs[4][2] = {{dir0, (uint32_t)ndirs}, {mf0, (uint32_t)nmfs}, {ms0, (uint32_t)nms},
                           {0, 0}};
    for (int r = 0; r < 3; r++)
        for (uint32_t j = 0; j < runs[r][1]; j++)
            fat[runs[r][0] + j] = j + 1 < runs[r][1] ? runs[r][0] + j + 1 : ENDCHAIN;
    uint8_t *p = out->p;
    /* header */
    memcpy(p, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
    p[0x18] = 0x3E;
    p[0x1A] = 4;
    p[0x1C] = 0xFE;
    p[0x1D] = 0xFF;
    p[0x1E] = 12;
    p[0x20] = 6;
    wr32(p + 0x28, (uint32_t)ndirs);
    wr32(p + 0x2C, (uint32_t)nfat);
    wr32(p + 0x30, dir0);
    wr32(p + 0x38, 4096);
    wr32(p + 0x3C, nmfs ? mf0 : ENDCHAIN);
    wr32(p + 0x40, (uint32_t)nmfs);
    wr32(p + 0x44, ENDCHAIN);
    for (uint32_t j = 0; j < 109; j++)
        wr32(p + 0x4C + 4 * j, j < nfat ? j : RB_FREESECT);
    /* streams: mini FAT + mini stream, or their own sector runs */
    uint8_t *mfat = p + (size_t)(1 + mf0) * RB_SECT, *mstr = p + (size_t)(1 + ms0) * RB_SECT;
    memset(mfat, 0xFF, (size_t)nmfs * RB_SECT);
    for (uint32_t q = 1; q < cnt; q++) {
        size_t len = data[q].n;
        if (o->dir[list[q]].type != 2 || len == 0)
            continue;
        if (len < 4096) {
            uint32_t m0 = start[q], nm = (uint32_t)((len + 63) / 64);
            memcpy(mstr + (size_t)m0 * 64, data[q].p, len);
            for (uint32_t j = 0; j < nm; j++)
                wr32(mfat + 4 * ((size_t)m0 + j), j + 1 < nm ? m0 + j + 1 : ENDCHAIN);
        } else {
            uint32_t s0 = big0 + start[q], ns = (uint32_t)rb_secs(len);
            memcpy(p + (size_t)(1 + s0) * RB_SECT, data[q].p, len);
            for (uint32_t j = 0; j < ns; j++)
                fat[s0 + j] = j + 1 < ns ? s0 + j + 1 : ENDCHAIN;
            start[q] = s0;
        }
    }
    for (uint32_t j = 0; j < nfat * (RB_SECT / 4); j++)
        wr32(p + RB_SECT + 4 * (size_t)j, fat[j]);
    /* directory */
    uint8_t *dp = p + (size_t)(1 + dir0) * RB_SECT;
    for (uint64_t q = cnt; q < ndirs * (RB_SECT / 128); q++) {
        uint8_t *e = dp + q * 128;
        wr32(e + 0x44, NOSTREAM);
        wr32(e + 0x48, NOSTREAM);
        wr32(e + 0x4C, NOSTREAM);
    }
    for (uint32_t q = 0; q < cnt; q++) {
        const dirent_ *src = &o->dir[list[q]];
        uint8_t *e = dp + (size_t)q * 128;
        memcpy(e, o->rawdir.p + (size_t)list[q] * 128, 128);
        uint32_t sib = q ? src->next : NOSTREAM, kid = src->first;
        while (sib < o->ndir && nidx[sib] == NOSTREAM)   /* skipped (odd type) siblings */
            sib = o->dir[sib].next;
        while (kid < o->ndir && nidx[kid] == NOSTREAM)
            kid = o->dir[kid].next;
        e[0x43] = 1;   /* black */
        wr32(e + 0x44, NOSTREAM);
        wr32(e + 0x48, sib < o->ndir ? nidx[sib] : NOSTREAM);
        wr32(e + 0x4C, src->type != 2 && kid < o->ndir ? nidx[kid] : NOSTREAM);
        uint64_t size = 0;
        uint32_t st = 0;
        if (q == 0) {
            static const char rootname[] = "Root Entry";
            memset(e, 0, 64);
            for (size_t c = 0; c < sizeof rootname - 1; c++)
                e[2 * c] = (uint8_t)rootname[c];
            e[0x40] = (uint8_t)(2 * sizeof rootname);
            e[0x41] = 0;
            e[0x42] = 5;
            st = nms ? ms0 : ENDCHAIN;
            size = mini;
        } else if (src->type == 2) {
            st = start[q];
            size = data[q].n;
        }
        wr32(e + 0x74, st);
        wr32(e + 0x78, (uint32_t)size);
        wr32(e + 0x7C, (uint32_t)(size >> 32));
    }
    rc = broken ? KS_EFORMAT : KS_OK;
out:
    if (rc != KS_OK && rc != KS_EFORMAT)
        fmt_buf_free(out);
    if (data)
        for (uint32_t q = 0; q < cnt; q++)
            fmt_buf_free(&data[q]);
    free(data);
    free(start);
    free(fat);
    free(list);
    free(nidx);
    return rc;
}

/* ------------------------------------------------------------------ extractor */

int fmt_ole2_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    ole *o = NULL;
    int rc = ole2_open(k, d, n, &o);
    if (rc != KS_OK)
        return rc == KS_ENOMEM ? rc : KS_OK;
    /* VBA projects first */
    for (uint32_t i = 0; i < o->ndir && rc == KS_OK; i++)
        if (o->dir[i].type == 1 && o->dir[i].parent != NOSTREAM &&
            strcasecmp(o->dir[i].name, "VBA") == 0)
            rc = extract_vba(o, i);
    /* then every other stream */
    for (uint32_t i = 1; i < o->ndir && rc == KS_OK; i++) {
        dirent_ *e = &o->dir[i];
        if (e->type != 2 || e->parent == NOSTREAM || e->size == 0 || in_vba_storage(o, i))
            continue;
        fmt_buf b = {0};
        int r = read_stream(o, e, &b);
        if (r == KS_ENOMEM) {
            fmt_buf_free(&b);
            rc = r;
            break;
        }
        if (r == KS_ELIMIT) {
            fmt_buf_free(&b);
            continue;
        }
        char path[512];
        entry_path(o, i, path, sizeof path);
        if (r != KS_OK)
            fmt_note(k, "parse-error: ole2: stream %s truncated", path);
        rc = fmt_emit(k, path, e->name, b.p, b.n);
        if (rc == KS_OK && strcmp(e->name, "Ole10Native") == 0)
            rc = extract_ole10(o, b.p, b.n);
        if (rc == KS_OK)   /* XLM macro sheets (Workbook), DDE fields (WordDocument) */
            rc = fmt_office_stream(k, path, b.p, b.n);
        fmt_buf_free(&b);
    }
    ole2_close(o);
    return rc;
}

int fmt_ole2_is_msg(const uint8_t *d, size_t n)
{
    ole *o = NULL;
    if (ole2_open(NULL, d, n, &o) != KS_OK)
        return 0;
    int msg = 0;
    for (uint32_t c = o->dir[0].first, steps = 0; c < o->ndir && steps < o->ndir && !msg;
         c = o->dir[c].next, steps++)
        if ((o->dir[c].type == 2 && strcmp(o->dir[c].name, "__properties_version1.0") == 0) ||
            strncmp(o->dir[c].name, "__substg1.0_", 12) == 0)
            msg = 1;
    ole2_close(o);
    return msg;
}
