/*
 * test_kensa_module.c - the `kensa` rules module (src/modules/kensa.c) and the extraction
 * features around it: ks_scanner_set_object() (one-shot), plain scans (root object, target
 * name), ks_scan_tree() objects (depth, parent_type, path, hashes), lazy hashes (computed only
 * when asked for, only the digests asked for, once; no_hashes; given by a set_object caller;
 * printed by -D), fmt_buf spilling to
 * temporary files (small threshold: content scanned intact, hashes equal to in-memory ones; an
 * unusable tmp_dir gives a note and the walk goes on in memory), and a text part in another
 * charset still scanned as its original bytes (the password harvest from its UTF-8 conversion is
 * checked end to end by tests/extract_test.py: jis.eml, sjis.eml, subject.eml).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kensa.h"

static int failures, checks;

#define CHECK(c)                                                                 \
    do {                                                                         \
        checks++;                                                                \
        if (!(c)) {                                                              \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
        }                                                                        \
    } while (0)

static ks_rules *compile(const char *src)
{
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    if (ks_compiler_create(&c) != KS_OK)
        return NULL;
    if (ks_compiler_add_string(c, src, strlen(src), NULL, "t.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK)
        r = NULL;
    ks_compiler_destroy(c);
    return r;
}

/* ---- plain scans: count matching rules */
static int count_cb(ks_scanner *s, const ks_event *ev, void *ud)
{
    (void)s;
    if (ev->type == KS_EV_RULE_MATCH)
        (*(int *)ud)++;
    return 0;
}

static int scan_count(ks_scanner *s, const char *data)
{
    int n = 0;
    if (ks_scanner_scan_mem(s, (const uint8_t *)data, strlen(data), count_cb, &n) != KS_OK)
        return -1;
    return n;
}

/* ---- tree scans: record "rule@path" lines and notes */
typedef struct rec {
    char buf[16384];
    size_t n;
} rec;

static int tree_cb(ks_scanner *s, const ks_tree_event *ev, void *ud)
{
    (void)s;
    rec *r = ud;
    char line[1024];
    line[0] = 0;
    if (ev->type == KS_TREE_SCAN && ev->scan->type == KS_EV_RULE_MATCH)
        snprintf(line, sizeof line, "%s@%s|%s\n", ev->scan->rule->id, ev->obj->path,
                 ks_object_hash(ev->obj, KS_HASH_SHA256));
    else if (ev->type == KS_TREE_NOTE)
        snprintf(line, sizeof line, "note@%s|%s\n", ev->obj ? ev->obj->path : "", ev->text);
    size_t l = strlen(line);
    if (r->n + l < sizeof r->buf) {
        memcpy(r->buf + r->n, line, l + 1);
        r->n += l;
    }
    return 0;
}

static void test_plain(void)
{
    ks_rules *r = compile(
        "import \"kensa\"\n"
        "rule root { condition: kensa.is_root == 1 and kensa.depth == 0 and kensa.parent_type == \"\" "
        "and kensa.type == \"text\" and kensa.size == filesize and not defined kensa.md5 }\n"
        "rule named { condition: kensa.path == \"dir/file.txt\" and kensa.name == \"dir/file.txt\" }\n"
        "rule unnamed { condition: kensa.path == \"\" and kensa.label == \"\" }\n"
        "rule child { condition: kensa.depth == 2 and kensa.type == \"vba\" and "
        "kensa.parent_type == \"ole2\" and kensa.path contains \".zip > \" and "
        "kensa.md5 == \"0123\" and kensa.label == \"VBA/M\" and kensa.name == \"M\" and "
        "kensa.is_root == 0 and kensa.size == 7 }\n");
    CHECK(r != NULL);
    if (!r)
        return;
    ks_scanner *s = NULL;
    CHECK(ks_scanner_create(r, &s) == KS_OK);
    /* no object: a root, type detected from the bytes, path "" (scan_mem knows no name) */
    CHECK(scan_count(s, "hello world\n") == 2);   /* root + unnamed */
    /* -x data for the module is ignored (never read as an object) */
    CHECK(ks_scanner_set_module_data(s, "kensa", "garbage", 7) == KS_OK);
    CHECK(scan_count(s, "hello world\n") == 2);
    /* an object set for one scan */
    ks_object_info o;
    memset(&o, 0, sizeof o);
    o.path = "m.eml > [2] a.zip > x.doc > VBA/M";
    o.label = "VBA/M";
    o.name = "M";
    o.type = "vba";
    o.parent_type = "ole2";
    o.size = 7;
    o.depth = 2;
    ks_object_hashes h;
    memset(&h, 0, sizeof h);
    strcpy(h.hex[KS_HASH_MD5], "0123");           /* a digest the caller already has */
    h.have = 1u << KS_HASH_MD5;
    o.hashes = &h;
    ks_scanner_set_object(s, &o);
    CHECK(scan_count(s, "Sub A()") == 1);         /* child only */
    CHECK(h.have == 1u << KS_HASH_MD5);           /* no data: nothing else computed */
    /* one-shot: the next scan is a plain root again */
    CHECK(scan_count(s, "hello world\n") == 2);
    ks_scanner_set_object(s, &o);
    ks_scanner_set_object(s, NULL);                /* cleared */
    CHECK(scan_count(s, "hello world\n") == 2);
    /* scan_file: the path given is the root's path */
    char dir[] = "/tmp/kensa-unit-XXXXXX";
    if (mkdtemp(dir)) {
        char sub[64], file[96];
        snprintf(sub, sizeof sub, "%s/dir", dir);
        snprintf(file, sizeof file, "%s/dir/file.txt", dir);
        mkdir(sub, 0700);
        FILE *f = fopen(file, "w");
        if (f) {
            fputs("hello world\n", f);
            fclose(f);
            char cwd[4096];
            if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
                int n = 0;
                CHECK(ks_scanner_scan_file(s, "dir/file.txt", count_cb, &n) == KS_OK);
                CHECK(n == 2);                     /* root + named */
                CHECK(chdir(cwd) == 0);
            }
            unlink(file);
        }
        rmdir(sub);
        rmdir(dir);
    }
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
}

/* A mail: a text part, then a base64 part of `big` bytes ending with a marker. */
static char *make_mail(size_t big, const char *text_headers, const char *text_body)
{
    size_t cap = big * 2 + 4096;
    char *m = malloc(cap);
    if (!m)
        return NULL;
    int w = snprintf(m, cap,
                     "From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\n%s\r\n\r\n%s\r\n"
                     "--BB\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n",
                     text_headers, text_body);
    size_t n = (size_t)w;
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    /* payload: big bytes, 'a'..'z' cycling, ending with "ZZ-END-MARKER" */
    const char *marker = "ZZ-END-MARKER";
    size_t ml = strlen(marker);
    unsigned acc = 0;
    int bits = 0, col = 0;
    for (size_t i = 0; i < big; i++) {
        unsigned char c = i >= big - ml ? (unsigned char)marker[i - (big - ml)] : (unsigned char)('a' + i % 26);
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            m[n++] = al[(acc >> bits) & 63];
            if (++col == 76) {
                m[n++] = '\r';
                m[n++] = '\n';
                col = 0;
            }
        }
    }
    if (bits) {
        m[n++] = al[(acc << (6 - bits)) & 63];
        m[n++] = '=';
        if (bits == 2)
            m[n++] = '=';
    }
    n += (size_t)snprintf(m + n, cap - n, "\r\n--BB--\r\n");
    return m;
}

static void test_tree(void)
{
    ks_rules *r = compile(
        "import \"kensa\"\n"
        "rule big_end { strings: $a = \"ZZ-END-MARKER\" condition: $a at filesize - 13 and "
        "kensa.depth == 1 and kensa.parent_type == \"email\" and kensa.name == \"big.bin\" and "
        "kensa.path == \"m.eml > [2] big.bin\" and kensa.size == filesize and defined kensa.sha256 }\n"
        "rule mail_root { condition: kensa.type == \"email\" and kensa.is_root == 1 and "
        "kensa.path == \"m.eml\" }\n");
    CHECK(r != NULL);
    if (!r)
        return;
    ks_scanner *s = NULL;
    CHECK(ks_scanner_create(r, &s) == KS_OK);
    char *mail = make_mail(300000, "Content-Type: text/plain", "hello");
    CHECK(mail != NULL);
    if (!mail) {
        ks_scanner_destroy(s);
        ks_rules_destroy(r);
        return;
    }
    ks_extract_opts o;
    ks_extract_opts_init(&o);
    CHECK(o.spill_threshold == 16u << 20 && o.tmp_dir == NULL);

    /* in memory */
    rec a = {{0}, 0};
    o.spill_threshold = 0;
    CHECK(ks_scan_tree(s, "m.eml", (const uint8_t *)mail, strlen(mail), &o, tree_cb, &a) == KS_OK);
    CHECK(strstr(a.buf, "mail_root@m.eml|") != NULL);
    CHECK(strstr(a.buf, "big_end@m.eml > [2] big.bin|") != NULL);

    /* spilled after 4 KB: same matches, same hashes, no note */
    rec b = {{0}, 0};
    o.spill_threshold = 4096;
    CHECK(ks_scan_tree(s, "m.eml", (const uint8_t *)mail, strlen(mail), &o, tree_cb, &b) == KS_OK);
    CHECK(strcmp(a.buf, b.buf) == 0);
    CHECK(strstr(b.buf, "note@") == NULL);

    /* an unusable directory: one note, the walk goes on in memory */
    rec c = {{0}, 0};
    o.tmp_dir = "/nonexistent/kensa-no-such-dir";
    CHECK(ks_scan_tree(s, "m.eml", (const uint8_t *)mail, strlen(mail), &o, tree_cb, &c) == KS_OK);
    CHECK(strstr(c.buf, "big_end@m.eml > [2] big.bin|") != NULL);
    CHECK(strstr(c.buf, "spill: cannot create a file in /nonexistent/kensa-no-such-dir") != NULL);
    free(mail);
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
}

/* ---- lazy hashes: which digests were computed, seen at each object's end */
typedef struct hrec {
    unsigned have[8];        /* hashes->have at KS_TREE_OBJECT_END, by object id */
    int nobj, nomatch, nnull;
    const char *sha_at_obj;  /* ks_object_hash(SHA-256) asked at KS_TREE_OBJECT (ask_sha) */
    int ask_sha, same_ptr;
} hrec;

static int hash_cb(ks_scanner *s, const ks_tree_event *ev, void *ud)
{
    (void)s;
    hrec *r = ud;
    if (ev->type == KS_TREE_OBJECT && r->ask_sha) {
        r->sha_at_obj = ks_object_hash(ev->obj, KS_HASH_SHA256);
        r->same_ptr = r->sha_at_obj == ks_object_hash(ev->obj, KS_HASH_SHA256);
    }
    if (ev->type == KS_TREE_SCAN && ev->scan->type == KS_EV_RULE_MATCH)
        r->nomatch++;
    if (ev->type == KS_TREE_OBJECT_END) {
        if (!ev->obj->hashes)
            r->nnull++;
        else if (ev->obj->id < 8)
            r->have[ev->obj->id] = ev->obj->hashes->have;
        r->nobj++;
    }
    return 0;
}

#define HELLO_MD5 "b1946ac92492d2347c6235b4d2611184"
#define HELLO_SHA1 "f572d396fae9206628714fb2ce00f72e94f2258f"
#define HELLO_SHA256 "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static void test_lazy_hashes(void)
{
    const uint8_t *hello = (const uint8_t *)"hello\n";
    ks_extract_opts o;
    ks_extract_opts_init(&o);

    /* rules that never read a hash: nothing is computed */
    ks_rules *r = compile("import \"kensa\"\nrule t { condition: kensa.type == \"text\" }\n");
    ks_scanner *s = NULL;
    CHECK(r && ks_scanner_create(r, &s) == KS_OK);
    if (!s)
        return;
    hrec a;
    memset(&a, 0, sizeof a);
    CHECK(ks_scan_tree(s, "h.txt", hello, 6, &o, hash_cb, &a) == KS_OK);
    CHECK(a.nomatch == 1 && a.nobj == 1 && a.have[0] == 0);
    ks_scanner_destroy(s);
    ks_rules_destroy(r);

    /* a rule reading kensa.sha256 (twice): SHA-256 only, computed once and right */
    r = compile("import \"kensa\"\nrule t { condition: kensa.sha256 == \"" HELLO_SHA256 "\" and "
                "kensa.sha256 contains \"5891\" }\n");
    s = NULL;
    CHECK(r && ks_scanner_create(r, &s) == KS_OK);
    if (!s)
        return;
    memset(&a, 0, sizeof a);
    CHECK(ks_scan_tree(s, "h.txt", hello, 6, &o, hash_cb, &a) == KS_OK);
    CHECK(a.nomatch == 1 && a.have[0] == 1u << KS_HASH_SHA256);
    /* the callback asked first: the rule reads the same digest (no second computation) */
    memset(&a, 0, sizeof a);
    a.ask_sha = 1;
    CHECK(ks_scan_tree(s, "h.txt", hello, 6, &o, hash_cb, &a) == KS_OK);
    CHECK(a.nomatch == 1 && a.same_ptr && a.have[0] == 1u << KS_HASH_SHA256);
    CHECK(a.sha_at_obj != NULL);
    /* no_hashes: no hashes object, kensa.sha256 undefined, the callback gets NULL */
    memset(&a, 0, sizeof a);
    a.ask_sha = 1;
    o.no_hashes = 1;
    CHECK(ks_scan_tree(s, "h.txt", hello, 6, &o, hash_cb, &a) == KS_OK);
    CHECK(a.nomatch == 0 && a.nnull == 1 && a.sha_at_obj == NULL);
    o.no_hashes = 0;
    ks_scanner_destroy(s);
    ks_rules_destroy(r);

    /* every digest, on a child of a mail too (the text part "hello\n"): values and bits */
    r = compile("import \"kensa\"\nrule t { condition: kensa.md5 == \"" HELLO_MD5 "\" and "
                "kensa.sha1 == \"" HELLO_SHA1 "\" and kensa.sha256 == \"" HELLO_SHA256 "\" }\n");
    s = NULL;
    CHECK(r && ks_scanner_create(r, &s) == KS_OK);
    if (!s)
        return;
    const char *mail = "From: a@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\n"
                       "Content-Type: text/plain\r\n\r\nhello\n\r\n--BB--\r\n";
    memset(&a, 0, sizeof a);
    CHECK(ks_scan_tree(s, "m.eml", (const uint8_t *)mail, strlen(mail), &o, hash_cb, &a) == KS_OK);
    CHECK(a.nobj == 2 && a.nomatch == 1);          /* the part, not the mail */
    CHECK(a.have[0] == 1u << KS_HASH_MD5);         /* the mail: md5 differs, `and` stops */
    CHECK(a.have[1] == 7);                         /* the part: all three read */

    /* ks_object_hash() on its own: bad kinds, a NULL object, data-only hashes */
    ks_object_hashes h;
    memset(&h, 0, sizeof h);
    h.data = hello;
    h.len = 6;
    ks_object_info oi;
    memset(&oi, 0, sizeof oi);
    CHECK(ks_object_hash(&oi, KS_HASH_MD5) == NULL);   /* no hashes */
    oi.hashes = &h;
    CHECK(ks_object_hash(NULL, KS_HASH_MD5) == NULL);
    CHECK(ks_object_hash(&oi, (ks_hash_kind)3) == NULL);
    CHECK(ks_object_hash(&oi, (ks_hash_kind)-1) == NULL);
    CHECK(h.have == 0);
    const char *sha1 = ks_object_hash(&oi, KS_HASH_SHA1);
    CHECK(sha1 && strcmp(sha1, HELLO_SHA1) == 0 && h.have == 1u << KS_HASH_SHA1);
    CHECK(ks_object_hash(&oi, KS_HASH_SHA1) == sha1);
    /* an empty object */
    ks_object_hashes e;
    memset(&e, 0, sizeof e);
    e.data = (const uint8_t *)"";
    oi.hashes = &e;
    const char *em = ks_object_hash(&oi, KS_HASH_MD5);
    CHECK(em && strcmp(em, "d41d8cd98f00b204e9800998ecf8427e") == 0);

    /* set_object with data-only hashes: computed lazily for the rule */
    memset(&h, 0, sizeof h);
    h.data = hello;
    h.len = 6;
    oi.hashes = &h;
    oi.path = oi.label = oi.name = "x";
    oi.type = "text";
    oi.size = 6;
    ks_scanner_set_object(s, &oi);
    CHECK(scan_count(s, "hello\n") == 1 && h.have == 7);
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
}

/* -D (KS_SCAN_MODULE_EVENTS): the module is printed with the digests, computed then */
static int print_cb(ks_scanner *s, const ks_event *ev, void *ud)
{
    if (ev->type == KS_EV_MODULE_IMPORTED)
        ks_scanner_print_module(s, ev->module, ud);
    return 0;
}

static void test_hashes_printed(void)
{
    ks_rules *r = compile("import \"kensa\"\nrule t { condition: true }\n");
    ks_scanner *s = NULL;
    CHECK(r && ks_scanner_create(r, &s) == KS_OK);
    if (!s)
        return;
    ks_scanner_set_flags(s, KS_SCAN_MODULE_EVENTS);
    ks_object_hashes h;
    memset(&h, 0, sizeof h);
    h.data = (const uint8_t *)"hello\n";
    h.len = 6;
    ks_object_info oi;
    memset(&oi, 0, sizeof oi);
    oi.path = oi.label = oi.name = "x";
    oi.type = "text";
    oi.size = 6;
    oi.hashes = &h;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    ks_scanner_set_object(s, &oi);
    CHECK(ks_scanner_scan_mem(s, (const uint8_t *)"hello\n", 6, print_cb, f) == KS_OK);
    fclose(f);
    CHECK(buf && strstr(buf, "\tmd5 = \"" HELLO_MD5 "\"\n") != NULL);
    CHECK(buf && strstr(buf, "\tsha256 = \"" HELLO_SHA256 "\"\n") != NULL);
    CHECK(h.have == 7);
    free(buf);
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
}

/* A text part in EUC-JP announcing a password (with an invalid byte the conversion skips): the
 * part is scanned as its original bytes, and the conversion does not disturb the walk. */
static void test_charset(void)
{
    ks_rules *r = compile("rule raw_eucjp { strings: $a = { A5 D1 A5 B9 A5 EF A1 BC A5 C9 } "
                          "condition: $a }\n");
    CHECK(r != NULL);
    if (!r)
        return;
    ks_scanner *s = NULL;
    CHECK(ks_scanner_create(r, &s) == KS_OK);
    /* "パスワード：Kensa2026" in EUC-JP, with a stray invalid byte before it */
    const char *body = "\xFF\xA5\xD1\xA5\xB9\xA5\xEF\xA1\xBC\xA5\xC9\xA1\xA7" "Kensa2026\r\n";
    char *mail = make_mail(10, "Content-Type: text/plain; charset=EUC-JP\r\n"
                               "Content-Transfer-Encoding: 8bit", body);
    rec a = {{0}, 0};
    CHECK(mail && ks_scan_tree(s, "m.eml", (const uint8_t *)mail, strlen(mail), NULL, tree_cb, &a) == KS_OK);
    CHECK(strstr(a.buf, "raw_eucjp@m.eml > [1] text/plain|") != NULL);
    free(mail);
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
}

int main(void)
{
    test_plain();
    test_tree();
    test_lazy_hashes();
    test_hashes_printed();
    test_charset();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
