/* fuzz_extract_rtf.c - libFuzzer harness for the rtf extractor (see extract_harness.h); seeds in fuzz/corpus/extract_rtf. */
#include "extract_harness.h"
