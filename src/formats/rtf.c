/*
 * rtf.c - placeholder: RTF \object extraction is not written yet; RTF
 * documents are scanned as their bytes.
 */
#include "formats/formats.h"

int fmt_rtf_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    (void)k, (void)d, (void)n;
    return KS_OK;
}
