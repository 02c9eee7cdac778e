/* fuzz_extract_archive.c - libFuzzer harness for the archive extractor (see extract_harness.h); seeds in fuzz/corpus/extract_archive. */
#include "extract_harness.h"
