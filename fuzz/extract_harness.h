/*
 * extract_harness.h - shared body of the extractor harnesses (fuzz_extract_mime.c,
 * fuzz_extract_archive.c, fuzz_extract_ole2.c): the input is a file, walked with ks_scan_tree()
 * under small limits, with rules that use every per-object external. Every object's info and
 * every match is read back. The harnesses differ by their seed corpus (and fuzzer dictionary),
 * which steers them to one extractor: type detection is by content.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kensa.h"

static ks_rules *h_rules;

static const char h_src[] =
    "rule a { strings: $a = \"certutil\" nocase $b = \"AutoOpen\" $c = { D0 CF 11 E0 } "
    "condition: any of them }\n"
    "rule b { condition: filename contains \".\" and filepath != \"x\" and extension == \".doc\" "
    "and filetype == \"OLE2\" and owner == \"\" }\n";

static int h_tree(ks_scanner *s, const ks_tree_event *ev, void *ud)
{
    size_t *sink = ud;
    if (ev->obj)
        *sink += strlen(ev->obj->path) + strlen(ev->obj->type) + strlen(ev->obj->name) +
                 ev->obj->size;
    if (ev->text)
        *sink += strlen(ev->text);
    if (ev->type == KS_TREE_OBJECT) {   /* the lazy hashes, one kind per object in turn */
        const char *h = ks_object_hash(ev->obj, (ks_hash_kind)(ev->obj->id % KS_HASH_KINDS));
        if (h)
            *sink += strlen(h);
    }
    if (ev->type == KS_TREE_SCAN && ev->scan->type == KS_EV_RULE_MATCH && ev->scan->rule) {
        for (int si = 0; si < ev->scan->rule->nstrings; si++) {
            const ks_match *m = NULL;
            int n = ks_scanner_matches(s, ev->scan->rule->index, si, &m);
            for (int k = 0; k < n && m; k++)
                *sink += m[k].data_len;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!h_rules) {
        ks_compiler *c = NULL;
        if (ks_compiler_create(&c) != KS_OK)
            return 0;
        const char *ext[] = {"filename", "filepath", "extension", "filetype", "owner"};
        for (int i = 0; i < 5; i++)
            ks_compiler_define_string(c, ext[i], "");
        if (ks_compiler_add_string(c, h_src, sizeof h_src - 1, NULL, "h.yar") != 0 ||
            ks_compiler_get_rules(c, &h_rules) != KS_OK) {
            ks_compiler_destroy(c);
            return 0;
        }
        ks_compiler_destroy(c);
    }
    ks_scanner *s = NULL;
    if (ks_scanner_create(h_rules, &s) != KS_OK)
        return 0;
    ks_extract_opts o;
    ks_extract_opts_init(&o);
    o.max_object_size = 16u << 20;
    o.max_input_size = 64u << 20;
    o.max_objects = 2000;
    o.max_seconds = 20;
    size_t sink = 0;
    ks_scan_tree(s, "fuzz.bin", data, size, &o, h_tree, &sink);
    ks_scanner_destroy(s);
    return 0;
}
