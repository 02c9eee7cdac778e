/* fuzz_extract_ole2.c - libFuzzer harness for the ole2 extractor (see extract_harness.h); seeds in fuzz/corpus/extract_ole2. */
#include "extract_harness.h"
