/*
 * fuzz_cuckoo.c - libFuzzer harness for the `cuckoo` module: the input is the JSON report
 * (what `-x cuckoo=FILE` passes), the scanned data is a fixed short buffer.
 *
 * A fixed rule calling every cuckoo function is compiled once; each input is set as the
 * module data of a fresh scanner and a scan is run. Any crash, hang, sanitizer report or leak is
 * a bug. Seeds: fuzz/corpus/cuckoo (replayed by ctest as fuzz_replay_cuckoo).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static const char rule_text[] =
    "import \"cuckoo\"\n"
    "rule walk {\n"
    "  condition:\n"
    "    cuckoo.network.dns_lookup(/evil/) or cuckoo.network.http_get(/\\.php/) or\n"
    "    cuckoo.network.http_post(/gate/) or cuckoo.network.http_request(/a/) or\n"
    "    cuckoo.network.http_user_agent(/Mozilla/) or cuckoo.network.host(/10\\./) or\n"
    "    cuckoo.network.tcp(/1/, 80) or cuckoo.network.udp(/8/, 53) or\n"
    "    cuckoo.registry.key_access(/Run/i) or cuckoo.filesystem.file_access(/\\.exe$/) or\n"
    "    cuckoo.sync.mutex(/mtx/)\n"
    "}\n";

static int on_event(ks_scanner *s, const ks_event *ev, void *ud)
{
    (void)s;
    (void)ev;
    (void)ud;
    return 0;
}

static void ignore_diag(const ks_diag *d, void *ud)
{
    (void)d;
    (void)ud;
}

static ks_rules *compiled(void)
{
    static ks_rules *rules;     /* harness-only cache: compiled once per process */
    if (!rules) {
        ks_compiler *c = NULL;
        if (ks_compiler_create(&c) != KS_OK)
            return NULL;
        ks_compiler_set_diag(c, ignore_diag, NULL);
        if (ks_compiler_add_string(c, rule_text, sizeof rule_text - 1, NULL, "fuzz_cuckoo.yar") == 0)
            ks_compiler_get_rules(c, &rules);
        ks_compiler_destroy(c);
    }
    return rules;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_rules *rules = compiled();
    ks_scanner *s = NULL;
    if (!rules || ks_scanner_create(rules, &s) != KS_OK)
        return 0;
    ks_scanner_set_timeout(s, 10);
    static const uint8_t target[] = "MZ cuckoo target";
    ks_scanner_set_module_data(s, "cuckoo", data, size);
    ks_scanner_scan_mem(s, target, sizeof target - 1, on_event, NULL);
    ks_scanner_destroy(s);
    return 0;
}
