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

/* A growable byte buffer with a hard cap (the sink's object limit). */
typedef struct fmt_buf {
    uint8_t *p;
    size_t n, cap;
} fmt_buf;
/* Append; returns KS_OK, KS_ENOMEM, or KS_ELIMIT when the charge is refused (see fmt_charge). */
int fmt_buf_add(fmt_sink *k, fmt_buf *b, const void *d, size_t n, uint64_t container_len);
void fmt_buf_free(fmt_buf *b);

/* ---- extractors: each returns KS_OK, FMT_STOP or a negative KS_E* (see above) ---- */
int fmt_mime_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* RFC 5322 / MIME message */
int fmt_mbox_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* mbox: each message */
/* libarchive formats; `type` is the detected type name ("zip", "7z", "gzip", ...). */
int fmt_archive_extract(fmt_sink *k, const char *type, const char *name, const uint8_t *d, size_t n);
int fmt_ole2_extract(fmt_sink *k, const uint8_t *d, size_t n);    /* OLE2 streams + VBA sources */
int fmt_rtf_extract(fmt_sink *k, const uint8_t *d, size_t n);     /* RTF \object data */
int fmt_pdf_extract(fmt_sink *k, const uint8_t *d, size_t n);     /* PDF streams */

/* MS-OVBA: decompress a CompressedContainer. Output capped at `cap` bytes. Returns KS_OK,
 * KS_EFORMAT (garbage; what was decoded is kept) or KS_ENOMEM. */
int fmt_ovba_decompress(const uint8_t *in, size_t n, size_t cap, fmt_buf *out);

/* Harvest candidate passwords from text (mail bodies): "password: X", "パスワード：X", quoted
 * words near such phrases. Calls add(ud, word) for each. */
void fmt_find_passwords(const uint8_t *d, size_t n, void (*add)(void *ud, const char *w, size_t wl),
                        void *ud);

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
