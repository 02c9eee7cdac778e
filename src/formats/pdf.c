/*
 * pdf.c - placeholder: PDF stream extraction is not written yet; PDFs are scanned as bytes.
 */
#include "formats/formats.h"

int fmt_pdf_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    (void)k, (void)d, (void)n;
    return KS_OK;
}
