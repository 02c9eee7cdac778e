/*
 * tnef.c - TNEF streams (winmail.dat, application/ms-tnef; MS-OXTNEF), written from the
 * specification.
 *
 *   u32 signature 0x223E9F78, u16 legacy key, then attributes:
 *   u8 level (1 message, 2 attachment), u32 id (type << 16 | id), u32 length, data,
 *   u16 checksum (sum of the data bytes mod 65536)
 *
 * Attributes used (by their low 16 bits): attBody 0x800C (message text), attMsgProps 0x9003
 * and attAttachment 0x9005 (MAPI property lists, MS-OXTNEF 2.1.3.5), attAttachRenddata 0x9002
 * (starts an attachment), attAttachTitle 0x8010 (its 8.3 name), attAttachData 0x800F (its
 * bytes). Children, message items first (passwords in bodies are harvested before attachments
 * are opened):
 *   "body.txt"          attBody
 *   "props/body.txt"    PR_BODY (0x1000), "props/body.html" PR_BODY_HTML (0x1013),
 *   "props/body.rtf"    PR_RTF_COMPRESSED (0x1009) decompressed (lzfu.c)
 *   "[attach N] F"      attAttachData, else PR_ATTACH_DATA_BIN (0x3701 binary), else
 *                       PR_ATTACH_DATA_OBJ (0x3701 object, its 16-byte IID dropped: an embedded
 *                       message is a TNEF stream again, detected as "tnef"); F = PR_ATTACH_LONG_FILENAME
 *                       (0x3707), else attAttachTitle, else PR_DISPLAY_NAME (0x3001)
 * Children are slices of the input: nothing is copied but converted text.
 *
 * Hostile input: a length past the end is cut to the end (noted), bad checksums are noted (at
 * most MAX_NOTES per stream), the attribute loop is bounded by the input (11 bytes at least per
 * attribute) and MAX_ATTRS, property lists by MAX_PROPS and value counts by the bytes left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mapi.h"

#define TNEF_SIGNATURE 0x223E9F78u
#define MAX_ATTRS 100000
#define MAX_PROPS 65536
#define MAX_ATTACH 4096
#define MAX_NOTES 8
#define MAX_NAME 256

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct tnef {
    fmt_sink *k;
    const uint8_t *d;
    size_t n;
    int notes;
} tnef;

static void tnote(tnef *t, const char *what, uint32_t id)
{
    if (t->notes < MAX_NOTES)
        fmt_note(t->k, "parse-error: tnef: %s (attribute 0x%08X)", what, id);
    else if (t->notes == MAX_NOTES)
        fmt_note(t->k, "parse-error: tnef: more problems not reported");
    t->notes++;
}

/* ------------------------------------------------------------------ MAPI property lists */

typedef int (*prop_fn)(void *ud, uint32_t tag, const uint8_t *v, size_t vn);

/* Size of one fixed-size value of a base type, 0 if the type is variable-size, -1 unknown. */
static int fixed_size(uint16_t t)
{
    switch (t) {
    case 0x0001: return 0;      /* PtypNull */
    case 0x0002: return 2;      /* Integer16 */
    case 0x0003: return 4;      /* Integer32 */
    case 0x0004: return 4;      /* Floating32 */
    case 0x0005: return 8;      /* Floating64 */
    case 0x0006: return 8;      /* Currency */
    case 0x0007: return 8;      /* FloatingTime */
    case 0x000A: return 4;      /* ErrorCode */
    case 0x000B: return 2;      /* Boolean */
    case 0x0014: return 8;      /* Integer64 */
    case 0x0040: return 8;      /* Time */
    case 0x0048: return 16;     /* Guid */
    default: return -1;
    }
}

static size_t pad4(size_t x) { return (x + 3) & ~(size_t)3; }

/* Parse a property list (u32 count, then properties), calling fn for each single-valued
 * property with its value (variable-size: the bytes; PtypObject: with its IID). Returns KS_OK
 * or fn's non-OK value; damage is noted and ends the list. */
static int parse_props(tnef *t, uint32_t attr, const uint8_t *d, size_t n, prop_fn fn, void *ud)
{
    if (n < 4) {
        tnote(t, "property list truncated", attr);
        return KS_OK;
    }
    uint32_t count = rd32(d);
    size_t i = 4;
    if (count > MAX_PROPS || count > (n - 4) / 8) {
        tnote(t, "property count too large", attr);
        if (count > MAX_PROPS)
            count = MAX_PROPS;
    }
    for (uint32_t p = 0; p < count; p++) {
        if (n - i < 4)
            goto trunc;
        uint32_t tag = rd32(d + i);
        i += 4;
        uint16_t type = (uint16_t)tag, id = (uint16_t)(tag >> 16);
        if (id >= 0x8000) {   /* named property: GUID, kind, id or name */
            if (n - i < 20)
                goto trunc;
            uint32_t kind = rd32(d + i + 16);
            i += 20;
            if (n - i < 4)
                goto trunc;
            if (kind == 1) {
                uint32_t nl = rd32(d + i);
                i += 4;
                if (nl > n - i)
                    goto trunc;
                i += pad4(nl) < n - i ? pad4(nl) : n - i;
            } else if (kind == 0)
                i += 4;
            else {
                tnote(t, "bad named property kind", attr);
                return KS_OK;
            }
        }
        int mv = (type & 0x1000) != 0;
        uint16_t base = type & 0x0FFF;
        int fs = fixed_size(base);
        if (base == 0x001E || base == 0x001F || base == 0x0102 || base == 0x000D) {
            if (n - i < 4)
                goto trunc;
            uint32_t nv = rd32(d + i);
            i += 4;
            if (nv > (n - i) / 4) {
                tnote(t, "value count too large", attr);
                return KS_OK;
            }
            for (uint32_t v = 0; v < nv; v++) {
                if (n - i < 4)
                    goto trunc;
                uint32_t vl = rd32(d + i);
                i += 4;
                if (vl > n - i)
                    goto trunc;
                if (v == 0 && !mv) {
                    int rc = fn(ud, tag, d + i, vl);
                    if (rc != KS_OK)
                        return rc;
                }
                i += pad4(vl) < n - i ? pad4(vl) : n - i;
            }
        } else if (fs >= 0) {
            uint64_t nv = 1;
            if (mv) {
                if (n - i < 4)
                    goto trunc;
                nv = rd32(d + i);
                i += 4;
            }
            uint64_t bytes = nv * pad4((size_t)fs);
            if (bytes > n - i)
                goto trunc;
            if (!mv) {
                int rc = fn(ud, tag, d + i, (size_t)fs);
                if (rc != KS_OK)
                    return rc;
            }
            i += (size_t)bytes;
        } else {
            tnote(t, "unknown property type", attr);
            return KS_OK;
        }
    }
    return KS_OK;
trunc:
    tnote(t, "property list truncated", attr);
    return KS_OK;
}

/* ------------------------------------------------------------------ message properties */

typedef struct msgprops {
    tnef *t;
} msgprops;

static int emit_text(tnef *t, const char *label, const uint8_t *v, size_t vn, int unicode)
{
    if (!unicode) {
        while (vn && v[vn - 1] == 0)
            vn--;
        return vn ? fmt_emit(t->k, label, label, v, vn) : KS_OK;
    }
    fmt_buf b = {0};
    int rc = fmt_utf16_to_utf8(t->k, v, vn, t->n, &b);
    if (rc == KS_OK && b.n)
        rc = fmt_emit(t->k, label, label, b.p, b.n);
    else if (rc == KS_ELIMIT)
        rc = KS_OK;
    fmt_buf_free(&b);
    return rc;
}

static int msgprop(void *ud, uint32_t tag, const uint8_t *v, size_t vn)
{
    msgprops *m = ud;
    switch (tag) {
    case 0x1000001Eu:
    case 0x1000001Fu:
        return emit_text(m->t, "props/body.txt", v, vn, tag == 0x1000001Fu);
    case 0x1013001Eu:
    case 0x1013001Fu:
    case 0x10130102u:
        return emit_text(m->t, "props/body.html", v, vn, tag == 0x1013001Fu);
    case 0x10090102u:
        return fmt_mapi_emit_rtf(m->t->k, "tnef", "props/body.rtf", v, vn, m->t->n);
    default:
        return KS_OK;
    }
}

/* ------------------------------------------------------------------ attachments */

typedef struct attach {
    int open;
    unsigned idx;
    char title[MAX_NAME], longname[MAX_NAME], display[MAX_NAME];
    const uint8_t *data, *bin, *obj;
    size_t datan, binn, objn;
    int has_data;
} attach;

static int attprop(void *ud, uint32_t tag, const uint8_t *v, size_t vn)
{
    attach *a = ud;
    switch (tag) {
    case 0x3707001Eu:
    case 0x3707001Fu:
        fmt_mapi_name(v, vn, tag == 0x3707001Fu, a->longname, sizeof a->longname);
        break;
    case 0x3001001Eu:
    case 0x3001001Fu:
        fmt_mapi_name(v, vn, tag == 0x3001001Fu, a->display, sizeof a->display);
        break;
    case 0x37010102u:
        a->bin = v;
        a->binn = vn;
        break;
    case 0x3701000Du:
        if (vn >= 16) {   /* IID, then the object (an embedded message: a TNEF stream) */
            a->obj = v + 16;
            a->objn = vn - 16;
        }
        break;
    default:
        break;
    }
    return KS_OK;
}

static int flush_attach(tnef *t, attach *a)
{
    if (!a->open)
        return KS_OK;
    a->open = 0;
    const char *name = a->longname[0] ? a->longname : a->title[0] ? a->title : a->display;
    char label[MAX_NAME + 32];
    if (name[0])
        snprintf(label, sizeof label, "[attach %u] %s", a->idx, name);
    else
        snprintf(label, sizeof label, "[attach %u]", a->idx);
    if (a->has_data)
        return fmt_emit(t->k, label, name, a->data, a->datan);
    if (a->bin)
        return fmt_emit(t->k, label, name, a->bin, a->binn);
    if (a->obj)
        return fmt_emit(t->k, label, name, a->obj, a->objn);
    fmt_note(t->k, "parse-error: tnef: attachment %u has no data", a->idx);
    return KS_OK;
}

static void start_attach(attach *a, unsigned idx)
{
    memset(a, 0, sizeof *a);
    a->open = 1;
    a->idx = idx;
}

/* ------------------------------------------------------------------ the attribute walk */

typedef struct attr {
    uint8_t level;
    uint32_t id;
    const uint8_t *v;
    size_t vn;
} attr;

/* Next attribute at *pos; 0 at the end. Damage noted (when `noting`): a length past the end
 * is cut, a bad checksum reported; the attribute is still returned. */
static int next_attr(tnef *t, size_t *pos, attr *a, int noting)
{
    size_t i = *pos;
    if (i >= t->n || t->n - i < 9) {
        if (i < t->n && noting)
            tnote(t, "trailing bytes", 0);
        return 0;
    }
    a->level = t->d[i];
    a->id = rd32(t->d + i + 1);
    uint32_t len = rd32(t->d + i + 5);
    i += 9;
    if (len > t->n - i) {
        if (noting)
            tnote(t, "attribute truncated", a->id);
        a->v = t->d + i;
        a->vn = t->n - i;
        *pos = t->n;
        return 1;
    }
    a->v = t->d + i;
    a->vn = len;
    i += len;
    if (t->n - i < 2) {
        if (noting)
            tnote(t, "checksum missing", a->id);
        *pos = t->n;
        return 1;
    }
    uint16_t sum = 0;
    for (size_t q = 0; q < len; q++)
        sum = (uint16_t)(sum + a->v[q]);
    if (sum != rd16(t->d + i) && noting)
        tnote(t, "checksum mismatch", a->id);
    *pos = i + 2;
    return 1;
}

int fmt_tnef_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    tnef t = {k, d, n, 0};
    if (n < 6 || rd32(d) != TNEF_SIGNATURE) {
        fmt_note(k, "parse-error: tnef: no signature");
        return KS_OK;
    }
    int rc = KS_OK;
    attr a;
    /* pass 1: message bodies */
    size_t pos = 6;
    for (unsigned na = 0; rc == KS_OK && na < MAX_ATTRS && next_attr(&t, &pos, &a, 1); na++) {
        if (fmt_stopped(k))
            return FMT_STOP;
        if (a.level != 1)
            continue;
        if ((a.id & 0xFFFF) == 0x800C)
            rc = emit_text(&t, "body.txt", a.v, a.vn, 0);
        else if ((a.id & 0xFFFF) == 0x9003) {
            msgprops m = {&t};
            rc = parse_props(&t, a.id, a.v, a.vn, msgprop, &m);
        }
    }
    if (rc != KS_OK)
        return rc == KS_ELIMIT ? KS_OK : rc;
    /* pass 2: attachments (damage was noted in pass 1) */
    attach *cur = calloc(1, sizeof *cur);
    if (!cur)
        return KS_ENOMEM;
    unsigned nattach = 0;
    pos = 6;
    for (unsigned na = 0; rc == KS_OK && na < MAX_ATTRS && next_attr(&t, &pos, &a, 0); na++) {
        if (a.level != 2)
            continue;
        uint16_t id = (uint16_t)a.id;
        if (id == 0x9002 || !cur->open) {   /* attAttachRenddata starts one */
            rc = flush_attach(&t, cur);
            if (rc != KS_OK)
                break;
            if (nattach >= MAX_ATTACH) {
                fmt_note(k, "limit: tnef: attachments past the first %d not extracted", MAX_ATTACH);
                break;
            }
            start_attach(cur, ++nattach);
        }
        if (id == 0x8010)
            fmt_mapi_name(a.v, a.vn, 0, cur->title, sizeof cur->title);
        else if (id == 0x800F) {
            cur->data = a.v;
            cur->datan = a.vn;
            cur->has_data = 1;
        } else if (id == 0x9005)
            rc = parse_props(&t, a.id, a.v, a.vn, attprop, cur);
    }
    if (rc == KS_OK)
        rc = flush_attach(&t, cur);
    free(cur);
    return rc == KS_ELIMIT ? KS_OK : rc;
}
