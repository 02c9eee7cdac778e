/*
 * fuzz_rules.c - libFuzzer harness: the input is rule text.
 *
 * Compiles the bytes with ks_compiler_add_string() (with a few externals defined so conditions
 * that use them get past the compiler), and when they compile, scans a small fixed buffer and
 * reads every reported match back. Any crash, sanitizer report or leak is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"
#include "rules_harness.h"

static const uint8_t scan_data[] =
    "MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode.\r\n"
    "abc hello world HELLO h\x00""e\x00l\x00l\x00o\x00 "
    "c2VjcmV0 \x01\x02\x03\x04\xff\xfe AAAAAAAAAAAAAAAA 1234567890 "
    "<script>eval(unescape('%u9090'))</script> Document_Open AutoOpen Shell(";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_rules *rules = rh_compile(data, size);
    if (rules) {
        rh_exercise(rules, scan_data, sizeof scan_data - 1, 1);
        ks_rules_destroy(rules);
    }
    return 0;
}
