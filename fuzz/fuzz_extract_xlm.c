/* fuzz_extract_xlm.c - libFuzzer harness for the XLM macro sheet and DDE field decoders (xlm.c,
 * dde.c; see extract_harness.h); seeds in fuzz/corpus/extract_xlm (.xls, .xlsm, .docx, .rtf,
 * .xlsx, .csv, .doc from tests/fixtures/xlmdde.py). */
#include "extract_harness.h"
