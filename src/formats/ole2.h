/*
 * ole2.h - the OLE2 (MS-CFB compound file) reader of ole2.c as a small internal API, for the
 * extractors of formats stored in compound files (msg.c: Outlook .msg) and for type detection.
 *
 *   ole2_open(k, d, n, &o)       header, FAT, directory (tree walked once), mini stream
 *   ole2_count / ole2_entry      directory entries by index (0 = root), with parent links
 *   ole2_first / ole2_next       the children of a storage, in directory order
 *   ole2_read(o, i, &buf)        a stream's bytes (charged to the sink)
 *   ole2_rebuild(o, i, &buf)     a storage as a compound file of its own (embedded .msg, OLE
 *                                object attachments), so the walker can scan it as an object
 *   ole2_close(o)
 *
 * Contract: `d` must outlive the ole2_file. With k == NULL (detection) nothing is charged or
 * noted and the mini stream is not loaded (ole2_read of a mini stream then fails). Every read
 * is bounds-checked against `d`, chains stop after as many steps as there are sectors.
 */
#ifndef KENSA_OLE2_H
#define KENSA_OLE2_H

#include "formats/formats.h"

#define OLE2_NONE 0xFFFFFFFFu

typedef struct ole2_file ole2_file;

typedef struct ole2_entry {
    const char *name;        /* UTF-8, control characters dropped ("\x01Ole" -> "Ole") */
    uint8_t type;            /* 1 storage, 2 stream, 5 root */
    uint32_t parent;         /* OLE2_NONE: not reachable from the root */
    uint64_t size;           /* declared stream size */
} ole2_entry;

/* Returns KS_OK (*out set; damage already noted), KS_EFORMAT (not usable: noted, *out NULL) or
 * KS_ENOMEM. */
int ole2_open(fmt_sink *k, const uint8_t *d, size_t n, ole2_file **out);
void ole2_close(ole2_file *o);
uint32_t ole2_count(const ole2_file *o);
/* 1 and *e filled when i is a valid index, else 0. */
int ole2_entry_get(const ole2_file *o, uint32_t i, ole2_entry *e);
/* First child of storage s / next sibling of entry i (OLE2_NONE at the end). */
uint32_t ole2_first(const ole2_file *o, uint32_t s);
uint32_t ole2_next(const ole2_file *o, uint32_t i);
/* Append stream i to b. KS_OK, KS_EFORMAT (chain broken: what was read is kept), KS_ELIMIT
 * (charge refused, noted), KS_ENOMEM. */
int ole2_read(ole2_file *o, uint32_t i, fmt_buf *b);
/* Write storage s and everything under it as a compound file (version 4, 4096-byte sectors)
 * whose root holds s's children. Returns KS_OK, KS_EFORMAT (a stream broken: kept partial, or
 * too big for 109 FAT sectors), KS_ELIMIT, KS_ENOMEM. */
int ole2_rebuild(ole2_file *o, uint32_t s, fmt_buf *out);

#endif
