/* fuzz_extract_msg.c - libFuzzer harness for the msg extractor (see extract_harness.h); seeds in fuzz/corpus/extract_msg (tests/fixtures/make_seeds.py). */
#include "extract_harness.h"
