/* fuzz_extract_mime.c - libFuzzer harness for the mime extractor (see extract_harness.h); seeds in fuzz/corpus/extract_mime. */
#include "extract_harness.h"
