/* fuzz_extract_tnef.c - libFuzzer harness for the tnef extractor (see extract_harness.h); seeds in fuzz/corpus/extract_tnef (tests/fixtures/make_seeds.py). */
#include "extract_harness.h"
