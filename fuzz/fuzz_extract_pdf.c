/* fuzz_extract_pdf.c - libFuzzer harness for the pdf extractor (see extract_harness.h); seeds in fuzz/corpus/extract_pdf. */
#include "extract_harness.h"
