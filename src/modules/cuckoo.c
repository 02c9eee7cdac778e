/*
 * cuckoo.c - the `cuckoo` module of YARA 4.2.3: functions over a Cuckoo sandbox JSON report
 * given with `-x cuckoo=report.json` (ks_scanner_set_module_data). The report is parsed with
 * jansson at load time and attached to the module tree (obj_set_udata); the functions reach it
 * through ctx->module_root. The module declares no values, only functions:
 *
 *   network.dns_lookup(/re/)      "network"."domains"[*]."domain" (when "domains" exists), else
 *                                 "network"."dns"[*]."hostname"; an entry counts only when it
 *                                 also has a string "ip"
 *   network.http_get/http_post/http_request(/re/)
 *                                 "network"."http"[*]."uri" whose "method" is GET / POST / either
 *                                 (case-insensitive); both must be strings
 *   network.http_user_agent(/re/) "network"."http"[*]."user-agent"
 *   network.host(/re/)            "network"."hosts"[*]
 *   network.tcp(/re/, port)       "network"."tcp"[*]: "dst" matches and the JSON integer "dport",
 *   network.udp(/re/, port)       truncated to 32 bits as YARA's json_unpack("i") does, == port
 *   registry.key_access(/re/)     "behavior"."summary"."keys"[*]
 *   filesystem.file_access(/re/)  "behavior"."summary"."files"[*]
 *   sync.mutex(/re/)              "behavior"."summary"."mutexes"[*]
 *
 * Facts reproduced from YARA 4.2.3 (validated with `yara -x cuckoo=...`):
 *   - every function returns 0 or 1, never undefined (also without a report);
 *   - a regex is searched unanchored in the string up to its first NUL;
 *   - host / key_access / file_access / mutex reaching a non-string array element (before a
 *     match) make the scan fail (yara: "error: 4"; here KS_EARG);
 *   - a report that is not valid JSON: yara fails the scan ("error: 57"); kensa's scanner
 *     ignores module load errors, so the functions just return 0.
 * Parsing is jansson's (depth and size limits are its own); the functions only walk arrays.
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "match/re.h"
#include "modules/modutil.h"

static const json_t *report(const ks_fnctx *ctx)
{
    return ctx ? (const json_t *)obj_get_udata(ctx->module_root) : NULL;
}

/* json_object_get tolerating NULL and non-objects (as jansson does). */
static json_t *jget(const json_t *o, const char *key)
{
    return o ? json_object_get(o, key) : NULL;
}

static const json_t *network(const ks_fnctx *ctx)
{
    return jget(report(ctx), "network");
}

static const json_t *summary(const ks_fnctx *ctx)
{
    return jget(jget(report(ctx), "behavior"), "summary");
}

/* 1 match, 0 no match, <0 KS_E*. s is a C string (YARA stops at NUL). */
static int re_hit(const ks_val *re, const char *s)
{
    int rc;
    if (!re->re || !s)
        return 0;
    rc = re_search(re->re, (const uint8_t *)s, strlen(s));
    if (rc < 0)
        return rc == RE_ENOMEM ? KS_ENOMEM : KS_EINTERNAL;
    return rc > 0;
}

/* Object member that must be a string; NULL otherwise. */
static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = jget(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Any string element of array `arr` matching; a non-string element is an error, as in YARA. */
static int array_match(ks_val *ret, const json_t *arr, const ks_val *re)
{
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(arr, k);
        if (!json_is_string(v))
            return KS_EARG;
        int rc = re_hit(re, json_string_value(v));
        if (rc < 0)
            return rc;
        if (rc)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

static int fn_dns_lookup(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    const json_t *net = network(ctx);
    const char *field = "domain";
    const json_t *arr = jget(net, "domains");
    if (!arr) {
        arr = jget(net, "dns");
        field = "hostname";
    }
    size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t k = 0; k < cnt; k++) {
        const json_t *v = json_array_get(arr, k);
        const char *host = jstr(v, field);
        if (!host || !jstr(v, "ip"))
            continue;
        int rc = re_hit(&a[0], host);
        if (rc < 0)
            return rc;
        if (rc)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

#define METHOD_GET 1
#define METHOD_POST 2

static int http_request(ks_fnctx *ctx, const ks_val *re, int methods, ks_val *ret)
{
    const json_t *arr = jget(network(ctx), "http");
    size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t k = 0; k < cnt; k++) {
        const json_t *v = json_array_get(arr, k);
        const char *uri = jstr(v, "uri"), *method = jstr(v, "method");
        if (!uri || !method)
            continue;
        if (!((methods & METHOD_GET) && strcasecmp(method, "get") == 0) &&
            !((methods & METHOD_POST) && strcasecmp(method, "post") == 0))
            continue;
        int rc = re_hit(re, uri);
        if (rc < 0)
            return rc;
        if (rc)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

static int fn_http_get(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return http_request(ctx, &a[0], METHOD_GET, ret);
}

static int fn_http_post(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return http_request(ctx, &a[0], METHOD_POST, ret);
}

static int fn_http_request(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return http_request(ctx, &a[0], METHOD_GET | METHOD_POST, ret);
}

static int fn_http_user_agent(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    const json_t *arr = jget(network(ctx), "http");
    size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t k = 0; k < cnt; k++) {
        const char *ua = jstr(json_array_get(arr, k), "user-agent");
        if (!ua)
            continue;
        int rc = re_hit(&a[0], ua);
        if (rc < 0)
            return rc;
        if (rc)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

static int fn_host(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return array_match(ret, jget(network(ctx), "hosts"), &a[0]);
}

/* tcp / udp: {"dst": string, "dport": integer}; YARA unpacks dport into a C int. */
static int conn_match(ks_fnctx *ctx, const char *proto, const ks_val *a, ks_val *ret)
{
    const json_t *arr = jget(network(ctx), proto);
    size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t k = 0; k < cnt; k++) {
        const json_t *v = json_array_get(arr, k);
        const json_t *port = jget(v, "dport");
        const char *dst = jstr(v, "dst");
        if (!dst || !json_is_integer(port))
            continue;
        int rc = re_hit(&a[0], dst);
        if (rc < 0)
            return rc;
        int32_t p = (int32_t)(uint32_t)(uint64_t)json_integer_value(port);
        if (rc && (int64_t)p == a[1].i)
            return mod_ret_int(ret, 1);
    }
    return mod_ret_int(ret, 0);
}

static int fn_tcp(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return conn_match(ctx, "tcp", a, ret);
}

static int fn_udp(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return conn_match(ctx, "udp", a, ret);
}

static int fn_key_access(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return array_match(ret, jget(summary(ctx), "keys"), &a[0]);
}

static int fn_file_access(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return array_match(ret, jget(summary(ctx), "files"), &a[0]);
}

static int fn_mutex(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret)
{
    (void)n;
    return array_match(ret, jget(summary(ctx), "mutexes"), &a[0]);
}

static int cuckoo_declare(ks_object *root)
{
    ks_object *net = obj_decl_struct(root, "network");
    if (!net)
        return KS_ENOMEM;
    if (obj_decl_func(net, "dns_lookup", "r", 'i', fn_dns_lookup) ||
        obj_decl_func(net, "http_get", "r", 'i', fn_http_get) ||
        obj_decl_func(net, "http_post", "r", 'i', fn_http_post) ||
        obj_decl_func(net, "http_request", "r", 'i', fn_http_request) ||
        obj_decl_func(net, "http_user_agent", "r", 'i', fn_http_user_agent) ||
        obj_decl_func(net, "host", "r", 'i', fn_host) ||
        obj_decl_func(net, "tcp", "ri", 'i', fn_tcp) ||
        obj_decl_func(net, "udp", "ri", 'i', fn_udp))
        return KS_ENOMEM;
    ks_object *reg = obj_decl_struct(root, "registry");
    if (!reg || obj_decl_func(reg, "key_access", "r", 'i', fn_key_access))
        return KS_ENOMEM;
    ks_object *fs = obj_decl_struct(root, "filesystem");
    if (!fs || obj_decl_func(fs, "file_access", "r", 'i', fn_file_access))
        return KS_ENOMEM;
    ks_object *sy = obj_decl_struct(root, "sync");
    if (!sy || obj_decl_func(sy, "mutex", "r", 'i', fn_mutex))
        return KS_ENOMEM;
    return 0;
}

static void free_json(void *p)
{
    json_decref((json_t *)p);
}

static int cuckoo_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                       size_t mod_data_len)
{
    (void)data;
    (void)size;
    json_error_t err;
    if (!mod_data)
        return 0;
    json_t *j = json_loadb((const char *)mod_data, mod_data_len, JSON_ALLOW_NUL, &err);
    if (!j)
        return KS_EFORMAT;
    if (obj_set_udata(root, j, free_json) != 0) {
        json_decref(j);
        return KS_EINTERNAL;
    }
    return 0;
}

const ks_module ks_module_cuckoo = {"cuckoo", cuckoo_declare, cuckoo_load, NULL};
