/*
 * mapi.h - pieces shared by the Outlook extractors (msg.c: .msg files, tnef.c: winmail.dat):
 * the MS-OXRTFCP decompressor (lzfu.c), UTF-16LE conversion, and the compressed-RTF body child.
 */
#ifndef KENSA_MAPI_H
#define KENSA_MAPI_H

#include "formats/formats.h"

/* MS-OXRTFCP: decompress a PR_RTF_COMPRESSED value (16-byte header: compressed size, raw size,
 * "LZFu" = compressed or "MELA" = stored, CRC-32 of the compressed bytes), appending to `out`.
 * Every output byte is charged to the sink against `container_len`. Never reads past in[n].
 * Returns KS_OK, KS_ELIMIT (charge refused: noted by the sink), or KS_ENOMEM. *problem is set to
 * NULL, or to a static description ("CRC mismatch", "truncated", "bad header", ...) when the
 * input is damaged: what was decoded is kept in `out` either way. */
int fmt_lzfu_decompress(fmt_sink *k, const uint8_t *in, size_t n, uint64_t container_len,
                        fmt_buf *out, const char **problem);

/* Append UTF-16LE text (n bytes; an odd last byte and trailing NULs dropped, unpaired
 * surrogates as U+FFFD) to `out` as UTF-8, charged. KS_OK, KS_ELIMIT, KS_ENOMEM. */
int fmt_utf16_to_utf8(fmt_sink *k, const uint8_t *p, size_t n, uint64_t container_len,
                      fmt_buf *out);

/* A property string as a NUL-terminated UTF-8 name in out[cap] (cut at cap-1 bytes on a
 * character boundary; control characters dropped): UTF-16LE when unicode, else 8-bit bytes. */
void fmt_mapi_name(const uint8_t *p, size_t n, int unicode, char *out, size_t cap);

/* Decompress a PR_RTF_COMPRESSED value and emit it as `label` (parse problems noted with
 * `who`, e.g. "msg"), then harvest passwords from its text (control words stripped). Returns
 * KS_OK, FMT_STOP or a negative KS_E* (as fmt_emit). */
int fmt_mapi_emit_rtf(fmt_sink *k, const char *who, const char *label, const uint8_t *v, size_t vn,
                      uint64_t container_len);

#endif
