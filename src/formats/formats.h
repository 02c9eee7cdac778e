/*
 * formats.h - the contract between the tree walker (src/scan/extract.c) and the container
 * extractors (src/formats/<kind>.c, one file per container kind).
 *
 * An extractor gets the bytes of one object and a sink. For every child it finds it calls
 * fmt_emit(); the walker scans that child (and its own children) before fmt_emit() returns, so
 * the child's buffer may be freed right after. Problems are reported with fmt_note() and the
 * extractor carries on with what it can recover. Every byte an extractor produces by decoding or
 * decompressing is first charged with fmt_charge(), which enforces the per-object, per-input and
 * ratio limits.
 *
 *   extract(sink, data, len)
 *       -> fmt_emit(sink, label, name, child, clen)     -- scans child, recurses, returns
 *       -> fmt_note(sink, "parse-error: mime: ...")
 *
 * Return values: fmt_emit() returns KS_OK to go on or FMT_STOP (walk must stop: callback asked,
 * time limit, object-count limit) or a negative KS_E* code; extractors return that value as soon
 * as they see it, and KS_OK otherwise (parse problems are notes, not errors).
 */
#ifndef KENSA_FORMATS_H
#define KENSA_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "kensa.h"

#define FMT_STOP 1

typedef struct fmt_sink fmt_sink;

/* Scan a child of the current object. `label` is its path component ("[2] agenda.zip"; NULL =
 * name), `name` its file name ("" if none). */
int fmt_emit(fmt_sink *k, const char *label, const char *name, const uint8_t *data, size_t len);
/* Report a note on the current object (printf format). */
void fmt_note(fmt_sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Charge `n` more decoded bytes of a child being built, whose total so far (before these) is
 * `have`, extracted from a container of `container_len` bytes. Returns KS_OK, or KS_ELIMIT after
 * having reported the limit note (each kind once per object). */
int fmt_charge(fmt_sink *k, uint64_t have, uint64_t n, uint64_t container_len);
/* 1 when the walk must stop (time limit, callback); extractors check it in their loops. */
int fmt_stopped(fmt_sink *k);
/* Largest object the extractor may build. */
uint64_t fmt_max_object(fmt_sink *k);
/* MIME nesting limit. */
uint32_t fmt_max_nesting(fmt_sink *k);
/* Passwords harvested so far from the input's text (for encrypted archives). */
int fmt_passwords(fmt_sink *k, const char *const **out);

/* A growable byte buffer with a hard cap (the sink's object limit). Start it as {0}.
 *
 * Spilling: when fmt_buf_add() grows a buffer past the walk's spill threshold (ks_extract_opts
 * spill_threshold, default 16 MB), its bytes move to an unlinked temporary file (tmp_dir) and
 * p becomes a shared mapping of that file (src/scan/spill.c); later appends are written to the
 * file. Readers see no difference: p[0..n) is the whole content at any time, may be read, passed
 * to fmt_emit(), or edited in place. The rules for every user of a fmt_buf that went through
 * fmt_buf_add():
 *   - grow it only with fmt_buf_add(); never write at or past p[n], never realloc() or free()
 *     p yourself (it may be a mapping), release it with fmt_buf_free();
 *   - p may move on every fmt_buf_add() of that buffer (as with realloc): re-read b.p after it;
 *   - a struct copy moves ownership (free exactly one of the copies).
 * If the temporary file cannot be made, a "spill: ..." note is reported once and buffers stay
 * in memory (the object and input limits still apply).
 * fmt_ovba_decompress() fills a buffer by hand (no sink, capped by its caller): never pass it a
 * buffer used with fmt_buf_add(). */
typedef struct fmt_buf {
    uint8_t *p;
    size_t n, cap;
    struct fmt_spill *spill;     /* NULL: p is a heap block */
} fmt_buf;
/* Append; returns KS_OK, KS_ENOMEM, or KS_ELIMIT when the charge is refused (see fmt_charge)
 * or the spill file cannot be written (noted). */
int fmt_buf_add(fmt_sink *k, fmt_buf *b, const void *d, size_t n, uint64_t container_len);
void fmt_buf_free(fmt_buf *b);

/* A growable NUL-terminated text for decoded formulas and field instructions: fmt_str_add cuts
 * what would pass `max` bytes (the text stays valid); KS_OK or KS_ENOMEM. */
typedef struct fmt_str {
    char *p;
    size_t n, cap;
} fmt_str;
int fmt_str_add(fmt_str *s, const char *d, size_t n, size_t max);
void fmt_str_free(fmt_str *s);

/* ---- extractors: each returns KS_OK, FMT_STOP or a negative KS_E* (see above) ---- */
int fmt_mime_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* RFC 5322 / MIME message */
int fmt_mbox_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* mbox: each message */
/* libarchive formats; `type` is the detected type name ("zip", "7z", "gzip", ...). */
int fmt_archive_extract(fmt_sink *k, const char *type, const char *name, const uint8_t *d, size_t n);
int fmt_ole2_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* OLE2 streams + VBA sources */
int fmt_rtf_extract(fmt_sink *k, const uint8_t *d, size_t n);     /* RTF \object data */
int fmt_pdf_extract(fmt_sink *k, const uint8_t *d, size_t n);     /* PDF streams */
int fmt_msg_extract(fmt_sink *k, const uint8_t *d, size_t n);     /* Outlook .msg (msg.c) */
int fmt_tnef_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* TNEF winmail.dat (tnef.c) */
/* 1 if an OLE2 file's root holds .msg property streams (ole2.c; used by detection). */
int fmt_ole2_is_msg(const uint8_t *d, size_t n);

/* Excel 4.0 macros and DDE fields (xlm.c, dde.c; contracts at the top of those files). */
/* Called by ole2.c for each stream it emitted (path = storage path): "Workbook"/"Book" -> XLM
 * macro sheets ("XLM/<sheet>") and DDE links; "WordDocument" -> DDE fields ("DDE/<n>"). */
int fmt_office_stream(fmt_sink *k, const char *path, const uint8_t *d, size_t n);
int fmt_xlm_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* BIFF8 Workbook stream */
/* 1 when the walker should run fmt_dde_extract() on this object (a text part of an OOXML
 * package: word/ parts, xl/externalLinks, xl/worksheets, xl/macrosheets, xl/workbook.xml; or a
 * .csv file), even though its type is not a container. */
int fmt_dde_part(const ks_object_info *o);
int fmt_dde_extract(fmt_sink *k, const ks_object_info *o, const uint8_t *d, size_t n);
int fmt_dde_worddoc(fmt_sink *k, const uint8_t *d, size_t n);     /* .doc WordDocument stream */
int fmt_dde_rtf(fmt_sink *k, const uint8_t *d, size_t n);         /* RTF \fldinst groups */
/* Emit one DDE instruction/link as child "DDE/<++*no>" with a "dde: ..." note. */
int fmt_dde_emit(fmt_sink *k, int *no, const char *text, size_t n);

/* MS-OVBA: decompress a CompressedContainer. Output capped at `cap` bytes. Returns KS_OK,
 * KS_EFORMAT (garbage; what was decoded is kept) or KS_ENOMEM. */
int fmt_ovba_decompress(const uint8_t *in, size_t n, size_t cap, fmt_buf *out);

/* Harvest candidate passwords from text (mail bodies): "password: X", "パスワード：X", quoted
 * words near such phrases. Calls add(ud, word) for each. */
void fmt_find_passwords(const uint8_t *d, size_t n, void (*add)(void *ud, const char *w, size_t wl),
                        void *ud);

/* Harvest passwords from text that is not an object of its own (an RTF body's text; mime.c: a
 * text part's UTF-8 conversion from its declared charset, a decoded RFC 2047 Subject). */
void fmt_harvest(fmt_sink *k, const uint8_t *d, size_t n);

/* Detected type name of a buffer (magic bytes, then text heuristics). */
const char *fmt_detect(const uint8_t *d, size_t n);

/* Value of a hex digit character, or -1 (shared by the MIME, RTF and PDF decoders). */
static inline int fmt_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

#endif
