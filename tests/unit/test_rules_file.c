/*
 * test_rules_file.c - compiled-rules files (src/rules/rules.c, format version 4): rules saved
 * with their run-time structures and prefilter databases load back to the same scan results as
 * the rules compiled from source, with the stored structures (ks_stats.loaded_prefilter = 1)
 * and with KS_LOAD_REBUILD; files of another format version are refused; a damaged byte
 * anywhere gives KS_EFORMAT or the same results (rebuilt); a crafted run-time section (damaged
 * and its digest recomputed, as an attacker would) gives KS_EFORMAT or rules that scan without
 * any out-of-bounds access (run under ASan: ./test.sh).
 *
 * The layout walked here is the one rules.c documents (header, tables, u64 run-time length,
 * digest, run-time section, digest) and strings_write / pf_write / needs_write produce; the
 * walker checks that it ends exactly where the section does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "kensa.h"
#include "rules/rules.h"
#include "match/strings.h"
#include "eval/needs.h"

static int failures, checks;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);          \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static const char *RULES =
    "rule text_mods {\n"
    "  strings:\n"
    "    $a = \"Hello\" nocase\n"
    "    $b = \"World\" wide ascii\n"
    "    $c = \"xorme\" xor(1-3)\n"
    "    $d = \"base64me\" base64\n"
    "    $e = \"fullword\" fullword\n"
    "    $g = \"Q\\x00\" ascii wide\n"
    "  condition: any of them\n"
    "}\n"
    "rule hexes {\n"
    "  strings:\n"
    "    $h1 = { 4D 5A ?? 00 [2-4] 50 45 }\n"
    "    $h2 = { 61 62 63 64 [0-300] 65 66 67 68 }\n"
    "    $h3 = { 68 ( 69 | 6A ) 6B 6C }\n"
    "  condition: any of them\n"
    "}\n"
    "rule regexes {\n"
    "  strings:\n"
    "    $r1 = /ab+c[0-9]{2}/\n"
    "    $r2 = /[0-9]{3}-xy/\n"
    "    $r3 = /[a-z]{2}[0-9]/\n"
    "  condition: #r1 > 0 or $r2 or $r3\n"
    "}\n"
    "rule keyed {\n"
    "  strings:\n"
    "    $k0 = { 4C 65 67 61 6C 43 6F 70 [1-8] 41 41 41 41 }\n"
    "    $k1 = { 4C 65 67 61 6C 43 6F 70 [1-8] 42 42 42 42 }\n"
    "    $k2 = { 4C 65 67 61 6C 43 6F 70 [1-8] 43 43 43 43 }\n"
    "    $k3 = { 4C 65 67 61 6C 43 6F 70 [1-8] 44 44 44 44 }\n"
    "    $k4 = { 4C 65 67 61 6C 43 6F 70 [1-8] 45 45 45 45 }\n"
    "    $k5 = { 4C 65 67 61 6C 43 6F 70 [1-8] 46 46 46 46 }\n"
    "    $k6 = { 4C 65 67 61 6C 43 6F 70 [1-8] 47 47 47 47 }\n"
    "    $k7 = { 4C 65 67 61 6C 43 6F 70 [1-8] 48 48 48 48 }\n"
    "    $k8 = { 4C 65 67 61 6C 43 6F 70 [1-8] 49 49 49 49 }\n"
    "    $k9 = { 4C 65 67 61 6C 43 6F 70 [1-8] 4A 4A 4A 4A }\n"
    "  condition: any of them\n"
    "}\n"
    "rule needy { strings: $n = \"needle\" condition: $n and filesize > 10 }\n"
    "rule lazy { strings: $n = \"needle\" $h = { 4C 65 67 [1-6] 43 43 } $r = /abb+c[0-9]/\n"
    "  condition: $n and ($h or $r) }\n"
    "rule never { strings: $z = \"zzzzzzqq\" condition: $z }\n"
    "rule always { condition: filesize > 0 }\n"
    "rule ref { condition: text_mods and hexes and keyed }\n"
    "import \"tests\"\n"
    "rule keys_int { strings: $s = \"zzzzqqqq\" condition: tests.constants.one == 1 or $s }\n"
    "rule keys_str { condition: tests.empty() == \"\" or tests.constants.foo == \"bar\" }\n"
    "rule keys_not { condition: tests.constants.two == 3 or tests.constants.foo == \"fo\" }\n";

static uint8_t data[2048];
static size_t data_len;

static void add(const void *p, size_t n)
{
    memcpy(data + data_len, p, n);
    data_len += n;
}
#define ADD(s) add(s, sizeof(s) - 1)

static void build_data(void)
{
    ADD("xx hello World W\0o\0r\0l\0d\0 zmpog YmFzZTY0bWU= a fullword. Q\0\0\0 ");
    ADD("MZ\x90\x00\x01\x02PE abcd");
    for (int i = 0; i < 250; i++) ADD(".");
    ADD("efgh hijkl abbbc42 123-xy aq LegalCop\x01\x02""CCCC LegalCop\x07GGGG needle ");
}

/* ------------------------------------------------------------------ scan results as text */

typedef struct sbuf { char *p; size_t n, cap; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, tmp, (size_t)k + 1);
    b->n += (size_t)k;
}

static int collect(ks_scanner *s, const ks_event *ev, void *ud)
{
    sbuf *b = ud;
    if (ev->type != KS_EV_RULE_MATCH) return 0;
    sb_printf(b, "%s\n", ev->rule->id);
    for (int si = 0; si < ev->rule->nstrings; si++) {
        const ks_match *m;
        int n = ks_scanner_matches(s, ev->rule->index, si, &m);
        for (int k = 0; k < n; k++)
            sb_printf(b, "  %d @%lld +%u x%d\n", si, (long long)m[k].offset, m[k].length,
                      m[k].xor_key);
    }
    return 0;
}

/* The rules' matches on data, as text, reporting every rule and then matching ones only
 * (caller frees); NULL if a scan failed. */
static char *results(const ks_rules *r)
{
    ks_scanner *s;
    if (ks_scanner_create(r, &s) != KS_OK) return NULL;
    ks_scanner_set_timeout(s, 2);
    sbuf b = {0};
    sb_printf(&b, "%s", "");
    int rc = ks_scanner_scan_mem(s, data, data_len, collect, &b);
    /* again reporting matching rules only: guard-dead strings skipped, lazy strings held */
    sb_printf(&b, "%s", "-- matches only\n");
    ks_scanner_set_flags(s, KS_SCAN_MATCHES_ONLY);
    if (rc == KS_OK) rc = ks_scanner_scan_mem(s, data, data_len, collect, &b);
    ks_scanner_destroy(s);
    if (rc != KS_OK) { free(b.p); return NULL; }
    return b.p;
}

/* ------------------------------------------------------------------ files */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_all(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len) { perror(path); exit(2); }
    fclose(f);
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Offsets in a saved file: the run-time section [rt, rt_end), its digest at rt_end, and the four
 * serialized Vectorscan databases inside it (blob[k], blob_len[k]). 0 if the layout differs. */
typedef struct layout { size_t rt, rt_end, blob[4], blob_len[4]; } layout;

static size_t skip_array(const uint8_t *f, size_t len, size_t o)
{
    if (o + 8 > len) return len + 1;
    return o + 8 + (size_t)rd32(f + o) * rd32(f + o + 4);
}

static int parse_layout(const uint8_t *f, size_t len, layout *l)
{
    size_t o = 16;
    for (int i = 0; i < 11; i++) o = skip_array(f, len, o);          /* the tables */
    if (o + 12 > len) return 0;
    uint64_t rt_len = rd64(f + o);
    l->rt = o + 12;
    l->rt_end = l->rt + rt_len;
    if (l->rt_end + 4 != len) return 0;
    o = l->rt + 4;                                                  /* RUNTIME_VERSION */
    o += 4 + rd32(f + o);                                           /* KENSA_VERSION */
    o += 4 + rd32(f + o);                                           /* Vectorscan version */
    for (int i = 0; i < 5; i++) o = skip_array(f, len, o);          /* vars .. everywhere */
    o += 4;                                                         /* natoms */
    for (int i = 0; i < 5; i++) o = skip_array(f, len, o);          /* tfirst .. gent */
    o += 20;                                                        /* pf: natoms, lengths */
    o = skip_array(f, len, o);                                      /* delta */
    for (int k = 0; k < 4; k++) {
        l->blob[k] = o + 8;
        l->blob_len[k] = rd32(f + o + 4);
        o = skip_array(f, len, o);
    }
    for (int i = 0; i < 5; i++) o = skip_array(f, len, o);          /* needs arrays */
    o += 4;                                                         /* pruned */
    for (int i = 0; i < 4; i++) o = skip_array(f, len, o);          /* lfirst .. lazy */
    o += 12;                                                        /* nlazy, nkeys, ngroups */
    for (int i = 0; i < 3; i++) o = skip_array(f, len, o);          /* gexpr, gkfirst, kconst */
    return o == l->rt_end;
}

static int in_blob(const layout *l, size_t pos)
{
    for (int k = 0; k < 4; k++)
        if (pos >= l->blob[k] && pos < l->blob[k] + l->blob_len[k]) return 1;
    return 0;
}

/* ------------------------------------------------------------------ tests */

static char path[64];           /* rewritten thousands of times: in /dev/shm when there is one */
static char *expected;          /* results of the rules compiled from source */
static uint8_t *saved;
static size_t saved_len;
static layout lay;

static void test_round_trip(void)
{
    ks_compiler *c;
    ks_rules *r = NULL;
    ks_compiler_create(&c);
    int n = ks_compiler_add_string(c, RULES, strlen(RULES), NULL, "t.yar");
    CHECK(n == 0 && ks_compiler_get_rules(c, &r) == KS_OK, "rules do not compile");
    ks_compiler_destroy(c);
    if (!r) exit(1);
    /* the rule set exercises every stored structure */
    const strings_rt *srt = r->srt;
    CHECK(srt->classes.n > 0 && srt->gent.n > 0, "no target classes");
    CHECK(srt->chained.n > 0, "no chained string");
    CHECK(srt->rivals.n > 0, "no rivals");
    CHECK(srt->everywhere.n > 0, "no atom-less target");
    CHECK(r->needs->pruned > 0, "no rule needs");
    CHECK(r->needs->nlazy > 0, "no lazy string");
    CHECK(r->needs->nkeys == 5 && r->needs->ngroups == 4, "keys: %u in %u groups",
          r->needs->nkeys, r->needs->ngroups);
    expected = results(r);
    CHECK(expected && strstr(expected, "ref\n") && strstr(expected, "regexes\n") &&
              strstr(expected, "needy\n") && strstr(expected, "lazy\n") &&
              strstr(expected, "-- matches only\n") &&
              strstr(strstr(expected, "-- matches only\n"), "lazy\n") &&
              strstr(expected, "keys_int\n") && strstr(expected, "keys_str\n") &&
              !strstr(expected, "keys_not\n") && !strstr(expected, "never\n"),
          "unexpected results:\n%s", expected ? expected : "(scan failed)");

    snprintf(path, sizeof path, "%s/kensa-rules-file-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp %s", path);
    close(fd);
    CHECK(ks_rules_save(r, path) == KS_OK, "save failed");
    saved = read_all(path, &saved_len);
    CHECK(saved && parse_layout(saved, saved_len, &lay), "file layout not as documented");
    if (!saved || !lay.rt) exit(1);
    CHECK(lay.blob_len[0] + lay.blob_len[1] + lay.blob_len[2] + lay.blob_len[3] > 0,
          "no Vectorscan database stored");

    ks_rules *l1 = NULL, *l2 = NULL;
    ks_stats st;
    CHECK(ks_rules_load(path, &l1) == KS_OK, "load failed");
    CHECK(ks_rules_load_opts(path, KS_LOAD_REBUILD, &l2) == KS_OK, "load (rebuild) failed");
    if (l1 && l2) {
        ks_rules_stats(l1, &st);
        CHECK(st.loaded_prefilter == 1, "stored prefilter not used");
        ks_stats st0;
        ks_rules_stats(r, &st0);
        CHECK(st.ac_like_patterns == st0.ac_like_patterns && st.atoms == st0.atoms, "stats differ");
        ks_rules_stats(l2, &st);
        CHECK(st.loaded_prefilter == 0, "KS_LOAD_REBUILD used the stored prefilter");
        char *a = results(l1), *b = results(l2);
        CHECK(a && strcmp(a, expected) == 0, "loaded rules give other results:\n%s", a ? a : "");
        CHECK(b && strcmp(b, expected) == 0, "rebuilt rules give other results:\n%s", b ? b : "");
        free(a);
        free(b);
        /* saving loaded or rebuilt rules writes the same file */
        for (int k = 0; k < 2; k++) {
            char p2[80];
            snprintf(p2, sizeof p2, "%s.2", path);
            size_t len2 = 0;
            uint8_t *again = NULL;
            if (ks_rules_save(k ? l2 : l1, p2) == KS_OK) again = read_all(p2, &len2);
            CHECK(again && len2 == saved_len && memcmp(again, saved, len2) == 0,
                  "saving %s rules writes another file", k ? "rebuilt" : "loaded");
            free(again);
            unlink(p2);
        }
    }
    ks_rules_destroy(l1);
    ks_rules_destroy(l2);
    ks_rules_destroy(r);
}

static void test_versions(void)
{
    uint8_t *b = malloc(saved_len);
    ks_rules *r = NULL;
    /* another format version (1: the format before the run-time section; 2: before YARA's atom
     * quality and fast-executor semantics changed the stored regex programs; 3: before keys in
     * the needs; 5: a future one) */
    static const uint32_t other[] = { 1, 2, 3, 5 };
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        uint32_t v = other[k];
        memcpy(b, saved, saved_len);
        memcpy(b + 8, &v, 4);
        write_all(path, b, saved_len);
        CHECK(ks_rules_load(path, &r) == KS_EFORMAT, "format version %u accepted", v);
        CHECK(ks_rules_load_opts(path, KS_LOAD_REBUILD, &r) == KS_EFORMAT,
              "format version %u accepted (rebuild)", v);
    }
    /* a version 1 file as kensa wrote it: header and tables only */
    uint32_t v1 = 1;
    memcpy(b, saved, lay.rt - 12);
    memcpy(b + 8, &v1, 4);
    write_all(path, b, lay.rt - 12);
    CHECK(ks_rules_load(path, &r) == KS_EFORMAT, "version 1 file accepted");
    /* truncated anywhere */
    size_t cuts[] = {0, 7, 16, lay.rt - 12, lay.rt - 1, lay.rt, lay.rt + 9, saved_len - 5, saved_len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_all(path, saved, cuts[i]);
        int rc = ks_rules_load(path, &r);
        CHECK(rc == KS_EFORMAT, "file cut at %zu: rc %d", cuts[i], rc);
    }
    /* trailing bytes */
    memcpy(b, saved, saved_len);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, saved_len, f);
    fputc(0, f);
    fclose(f);
    CHECK(ks_rules_load(path, &r) == KS_EFORMAT, "trailing byte accepted");
    free(b);
}

/* Damaged files: a byte changed, the file loaded; it must be refused or give the same results.
 * Every byte of the header and tables and the start of the run-time section; a stride through
 * the rest of it, whose bytes all take one path (digest mismatch, rebuild). */
static void test_damage(void)
{
    uint8_t *b = malloc(saved_len);
    static const uint8_t flips[] = {0x01, 0x80, 0xFF, 0x10};
    int refused = 0, same = 0, stored = 0;
    for (size_t pos = 0; pos < saved_len; pos++) {
        if (pos >= lay.rt + 64 && pos < lay.rt_end && pos % (in_blob(&lay, pos) ? 97 : 7) != 0)
            continue;
        memcpy(b, saved, saved_len);
        b[pos] ^= flips[pos % 4];
        write_all(path, b, saved_len);
        ks_rules *r = NULL;
        int rc = ks_rules_load(path, &r);
        if (rc == KS_EFORMAT) { refused++; continue; }
        CHECK(rc == KS_OK, "byte %zu damaged: rc %d", pos, rc);
        if (rc != KS_OK) continue;
        ks_stats st;
        ks_rules_stats(r, &st);
        stored += st.loaded_prefilter != 0;
        char *res = results(r);
        int eq = res && strcmp(res, expected) == 0;
        CHECK(eq, "byte %zu damaged: other results", pos);
        same += eq;
        free(res);
        ks_rules_destroy(r);
    }
    /* the digests catch every single damaged byte: tables refused, run-time section rebuilt */
    CHECK(stored == 0, "%d damaged files used their stored run-time section", stored);
    CHECK(refused > 0 && same > 0, "refused %d, rebuilt %d", refused, same);
    printf("damage: %d refused, %d rebuilt with the same results\n", refused, same);
    free(b);
}

/* Crafted run-time sections: a byte changed and the section's digest recomputed. The loader
 * must refuse the file, rebuild (Vectorscan refuses a database whose own CRC fails), or give
 * rules that scan without any out-of-bounds access (ASan); results may differ. Every byte
 * outside the Vectorscan databases with one or two changes; KENSA_TEST_FULL=1 in the
 * environment: every byte with 8 changes each. */
static void test_crafted(void)
{
    uint8_t *b = malloc(saved_len);
    static const uint8_t flips[] = {0x01, 0x80, 0xFF, 0x10, 0x7F, 0x02, 0x40, 0x08};
    int full = getenv("KENSA_TEST_FULL") != NULL;
    int refused = 0, rebuilt = 0, used = 0;
    for (size_t pos = lay.rt; pos < lay.rt_end; pos++) {
        if (!full && in_blob(&lay, pos) && (pos % 61) != 0) continue;
        int nflips = full ? 8 : 1 + (pos % 3 == 0);
        for (int k = 0; k < nflips; k++) {
            memcpy(b, saved, saved_len);
            b[pos] ^= full ? flips[k] : flips[(pos + (size_t)k * 2) % 5];
            uint32_t sum = (uint32_t)crc32(0, b + lay.rt, (uInt)(lay.rt_end - lay.rt));
            memcpy(b + lay.rt_end, &sum, 4);
            write_all(path, b, saved_len);
            ks_rules *r = NULL;
            int rc = ks_rules_load(path, &r);
            if (rc == KS_EFORMAT) { refused++; continue; }
            CHECK(rc == KS_OK, "crafted byte %zu: rc %d", pos, rc);
            if (rc != KS_OK) continue;
            ks_stats st;
            ks_rules_stats(r, &st);
            if (st.loaded_prefilter) used++;
            else rebuilt++;
            char *res = results(r);
            if (!st.loaded_prefilter)
                CHECK(res && strcmp(res, expected) == 0, "crafted byte %zu: rebuilt differently", pos);
            free(res);
            ks_rules_destroy(r);
        }
    }
    CHECK(refused > 0 && used > 0, "crafted: refused %d, used %d", refused, used);
    printf("crafted: %d refused, %d rebuilt, %d used (scanned without fault)\n", refused, rebuilt,
           used);
    free(b);
}

int main(void)
{
    build_data();
    test_round_trip();
    test_versions();
    test_damage();
    test_crafted();
    unlink(path);
    free(saved);
    free(expected);
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
