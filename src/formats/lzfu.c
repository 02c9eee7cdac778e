/*
 * lzfu.c - MS-OXRTFCP decompression of PR_RTF_COMPRESSED (the RTF body of Outlook messages, in
 * .msg files and TNEF streams), written from the specification.
 *
 * Contract (see mapi.h): input is the property value as stored; output is appended to a
 * fmt_buf and charged to the sink; the input is never read past `n`, whatever the header
 * declares; damage is returned as a description, never as an error, and the bytes decoded up to
 * it are kept.
 *
 *   header: u32 CompSize (bytes after this field), u32 RawSize, u32 CompType, u32 CRC
 *   "MELA" (0x414C454D): RawSize bytes stored as they are
 *   "LZFu" (0x75465A4C): runs of a control byte (bits LSB first) and 8 items; bit 0 = one
 *       literal byte, bit 1 = a 16-bit big-endian reference: 12-bit offset into a 4096-byte
 *       circular dictionary, 4-bit length - 2. The dictionary starts with a fixed 207-byte RTF
 *       prefix and the write position at 207; a reference whose offset equals the write
 *       position ends the stream. CRC-32 (reflected 0xEDB88320, initial value 0, no final XOR)
 *       over the bytes after the header.
 *
 * Bounds: each control bit consumes at least one input byte, so the loop is bounded by the input
 * and the output by 17/2 x the input (and by the sink's limits).
 */
#include <stdlib.h>
#include <string.h>

#include "formats/mapi.h"

#define LZFU_MAGIC 0x75465A4Cu
#define MELA_MAGIC 0x414C454Du

static const char prebuf[] =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
    "\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0"
    "\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
_Static_assert(sizeof prebuf - 1 == 207, "MS-OXRTFCP initial dictionary is 207 bytes");

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_oxrtfcp(const uint8_t *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int b = 0; b < 8; b++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

/* Output staging: bytes are charged and appended in blocks. */
typedef struct lz_out {
    fmt_sink *k;
    fmt_buf *out;
    uint64_t clen;
    uint8_t blk[4096];
    size_t bn;
} lz_out;

static int lz_flush(lz_out *o)
{
    int rc = fmt_buf_add(o->k, o->out, o->blk, o->bn, o->clen);
    o->bn = 0;
    return rc;
}

static int lz_put(lz_out *o, uint8_t c)
{
    o->blk[o->bn++] = c;
    return o->bn == sizeof o->blk ? lz_flush(o) : KS_OK;
}

int fmt_lzfu_decompress(fmt_sink *k, const uint8_t *in, size_t n, uint64_t container_len,
                        fmt_buf *out, const char **problem)
{
    *problem = NULL;
    if (n < 16) {
        *problem = "header truncated";
        return KS_OK;
    }
    uint32_t comp = rd32(in), raw = rd32(in + 4), type = rd32(in + 8), crc = rd32(in + 12);
    size_t end = n;
    if (comp < 12) {
        *problem = "bad compressed size";
        return KS_OK;
    }
    if ((uint64_t)comp + 4 <= n)
        end = (size_t)comp + 4;
    else
        *problem = "truncated";
    if (type == MELA_MAGIC) {
        size_t take = end - 16;
        if (raw < take)
            take = raw;
        else if (raw > take)
            *problem = "truncated";
        return fmt_buf_add(k, out, in + 16, take, container_len);
    }
    if (type != LZFU_MAGIC) {
        *problem = "unknown compression type";
        return KS_OK;
    }
    if (!*problem && crc32_oxrtfcp(in + 16, end - 16) != crc)
        *problem = "CRC mismatch";

    lz_out *o = malloc(sizeof *o);
    uint8_t *dict = malloc(4096);
    if (!o || !dict) {
        free(o);
        free(dict);
        return KS_ENOMEM;
    }
    o->k = k;
    o->out = out;
    o->clen = container_len;
    o->bn = 0;
    memset(dict, 0, 4096);
    memcpy(dict, prebuf, 207);
    unsigned wp = 207;
    size_t i = 16;
    int rc = KS_OK, done = 0;
    while (i < end && !done && rc == KS_OK) {
        uint8_t ctrl = in[i++];
        for (int bit = 0; bit < 8 && rc == KS_OK; bit++) {
            if (i >= end)
                break;
            if (!(ctrl >> bit & 1)) {
                uint8_t c = in[i++];
                dict[wp] = c;
                wp = (wp + 1) & 4095;
                rc = lz_put(o, c);
                continue;
            }
            if (i + 2 > end) {
                i = end;
                break;
            }
            unsigned ref = (unsigned)in[i] << 8 | in[i + 1];
            i += 2;
            unsigned off = ref >> 4, len = (ref & 15) + 2;
            if (off == wp) {
                done = 1;
                break;
            }
            for (unsigned j = 0; j < len && rc == KS_OK; j++) {
                uint8_t c = dict[(off + j) & 4095];
                dict[wp] = c;
                wp = (wp + 1) & 4095;
                rc = lz_put(o, c);
            }
        }
    }
    if (rc == KS_OK)
        rc = lz_flush(o);
    if (rc == KS_OK && !done && !*problem)
        *problem = "no end marker (truncated)";
    free(o);
    free(dict);
    return rc;
}
