/*
 * test_cuckoo.c - the `cuckoo` module with small JSON reports passed as module data: every
 * network / registry / filesystem / sync function, the old ("dns") and new ("domains") DNS
 * layouts, method filters, 32-bit port truncation, no report, an invalid report, and a
 * non-string array element (a scan error, as in YARA). Also the object layer's udata API.
 * Expected values follow YARA 4.2.3.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eval/object.h"
#include "kensa.h"

static int fails, count;

static int on_match(ks_scanner *s, const ks_event *ev, void *ud)
{
    (void)s;
    if (ev->type == KS_EV_RULE_MATCH)
        (*(int *)ud)++;
    return 0;
}

/* 1 matched, 0 not, -1 compile error, -2 scan error */
static int run(const char *cond, const char *report)
{
    char rule[1024];
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    ks_scanner *s = NULL;
    int res = -1, n = 0;
    snprintf(rule, sizeof rule, "import \"cuckoo\"\nrule t { condition: %s }\n", cond);
    if (ks_compiler_create(&c) != KS_OK)
        return -1;
    if (ks_compiler_add_string(c, rule, strlen(rule), NULL, "t.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK)
        goto out;
    res = -2;
    if (ks_scanner_create(r, &s) != KS_OK)
        goto out;
    if (report && ks_scanner_set_module_data(s, "cuckoo", report, strlen(report)) != KS_OK)
        goto out;
    if (ks_scanner_scan_mem(s, (const uint8_t *)"x", 1, on_match, &n) != KS_OK)
        goto out;
    res = n > 0;
out:
    ks_scanner_destroy(s);
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
    return res;
}

#define CHECK(cond, report, want)                                                            \
    do {                                                                                     \
        int got_ = run(cond, report);                                                        \
        count++;                                                                             \
        if (got_ != (want)) {                                                                \
            fails++;                                                                         \
            fprintf(stderr, "line %d: want %d got %d: %s\n", __LINE__, want, got_, cond);   \
        }                                                                                    \
    } while (0)

static const char rep[] =
    "{\"network\":{\"hosts\":[\"bbb\",\"1.2.3.4\"],"
    "\"domains\":[{\"ip\":\"1.1.1.1\",\"domain\":\"evil.com\"},{\"domain\":\"noip.com\"}],"
    "\"dns\":[{\"ip\":\"2\",\"hostname\":\"old.com\"}],"
    "\"http\":[{\"uri\":\"http://x/a\",\"method\":\"GET\",\"user-agent\":\"Moz\"},"
    "{\"uri\":\"http://y/p\",\"method\":\"Post\"}],"
    "\"tcp\":[{\"dst\":\"10.0.0.1\",\"dport\":80},{\"dst\":\"10.0.0.2\",\"dport\":4294967376}],"
    "\"udp\":[{\"dst\":\"8.8.8.8\",\"dport\":53.0},{\"dst\":\"9.9.9.9\",\"dport\":53}]},"
    "\"behavior\":{\"summary\":{\"keys\":[\"HKLM\\\\Soft\"],\"files\":[\"C:\\\\a.txt\"],"
    "\"mutexes\":[\"mtx1\"]}}}";

static void udata_api(void)
{
    static int freed;
    ks_object *root = obj_new_root("m");
    ks_object *s = root ? obj_decl_struct(root, "sub") : NULL;
    int v = 7;
    count++;
    if (!s || obj_get_udata(s) != NULL || obj_set_udata(root, &v, NULL) != 0 ||
        obj_get_udata(s) != &v || obj_get_udata(root) != &v || obj_set_udata(NULL, &v, NULL) == 0)
        fails++, fprintf(stderr, "udata api\n");
    obj_destroy(root);
    (void)freed;
}

static void count_free(void *p)
{
    (*(int *)p)++;
}

static void udata_free(void)
{
    int n = 0, m = 0;
    ks_object *root = obj_new_root("m");
    count++;
    obj_set_udata(root, &n, count_free);
    obj_set_udata(root, &m, count_free);     /* replaces: frees the first */
    obj_destroy(root);                        /* frees the second */
    if (n != 1 || m != 1)
        fails++, fprintf(stderr, "udata free: %d %d\n", n, m);
}

int main(void)
{
    udata_api();
    udata_free();
    CHECK("cuckoo.network.host(/b$/)", rep, 1);
    CHECK("cuckoo.network.host(/^1\\.2/)", rep, 1);
    CHECK("cuckoo.network.host(/zzz/)", rep, 0);
    CHECK("cuckoo.network.dns_lookup(/evil/)", rep, 1);
    CHECK("cuckoo.network.dns_lookup(/noip/)", rep, 0);     /* no "ip" */
    CHECK("cuckoo.network.dns_lookup(/old/)", rep, 0);      /* "domains" wins */
    CHECK("cuckoo.network.dns_lookup(/old/)",
          "{\"network\":{\"dns\":[{\"ip\":\"2\",\"hostname\":\"old.com\"}]}}", 1);
    CHECK("cuckoo.network.http_get(/x\\/a/)", rep, 1);
    CHECK("cuckoo.network.http_get(/y/)", rep, 0);
    CHECK("cuckoo.network.http_post(/y/)", rep, 1);
    CHECK("cuckoo.network.http_post(/x/)", rep, 0);
    CHECK("cuckoo.network.http_request(/y\\/p/)", rep, 1);
    CHECK("cuckoo.network.http_user_agent(/Moz/)", rep, 1);
    CHECK("cuckoo.network.http_user_agent(/Chrome/)", rep, 0);
    CHECK("cuckoo.network.tcp(/10\\.0/, 80)", rep, 1);
    CHECK("cuckoo.network.tcp(/0\\.2/, 80)", rep, 1);       /* 4294967376 as a C int */
    CHECK("cuckoo.network.tcp(/0\\.2/, 4294967376)", rep, 0);
    CHECK("cuckoo.network.tcp(/10\\.0/, 81)", rep, 0);
    CHECK("cuckoo.network.udp(/8\\.8/, 53)", rep, 0);       /* real port */
    CHECK("cuckoo.network.udp(/9\\.9/, 53)", rep, 1);
    CHECK("cuckoo.registry.key_access(/soft/i)", rep, 1);
    CHECK("cuckoo.registry.key_access(/soft/)", rep, 0);
    CHECK("cuckoo.filesystem.file_access(/a\\.txt$/)", rep, 1);
    CHECK("cuckoo.sync.mutex(/mtx/)", rep, 1);
    CHECK("cuckoo.sync.mutex(/zzz/)", rep, 0);
    CHECK("defined cuckoo.sync.mutex(/zzz/)", rep, 1);
    /* no report: every function is 0 (defined) */
    CHECK("not cuckoo.network.host(/./) and defined cuckoo.network.host(/./)", NULL, 1);
    CHECK("cuckoo.registry.key_access(/./)", NULL, 0);
    /* invalid JSON: the scan fails, as in yara (error 57) */
    CHECK("cuckoo.network.host(/./)", "{bad", -2);
    CHECK("cuckoo.network.host(/./)", "[]", 0);
    CHECK("cuckoo.network.host(/./)", "{\"network\":{\"hosts\":\"notalist\"}}", 0);
    /* a non-string element reached before a match is a scan error */
    CHECK("cuckoo.network.host(/zzz/)", "{\"network\":{\"hosts\":[\"a\",5]}}", -2);
    CHECK("cuckoo.network.host(/a/)", "{\"network\":{\"hosts\":[\"a\",5]}}", 1);
    /* strings stop at NUL as in YARA */
    CHECK("cuckoo.sync.mutex(/bc/)",
          "{\"behavior\":{\"summary\":{\"mutexes\":[\"a\\u0000bc\"]}}}", 0);
    CHECK("cuckoo.network.http_user_agent(/./)",
          "{\"network\":{\"http\":[{\"user-agent\":7},{\"uri\":\"u\"}]}}", 0);
    printf("%d passed, %d failed\n", count - fails, fails);
    return fails ? 1 : 0;
}
