/*
 * tree.c - `kensa scan` with extraction (the default): runs ks_scan_tree() on a file and writes
 * either yara's text lines (TARGET = the object's path; the root prints exactly as yara does)
 * or one JSON document per input (--format json, JSON Lines).
 *
 * Text mode forwards every scan event to scan.c's callback after pointing its TARGET at the
 * current object's path. JSON mode keeps one object record open at a time (matches arrive
 * between an object's OBJECT event and its first child) and collects the notes into a separate
 * "events" array, since limit and password notes on a container come after its children.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_tree {
    const cli_tree_opts *o;
    FILE *out;               /* the document */
    char *ebuf;              /* the events array */
    size_t elen;
    FILE *ev;
    int nobjects, nevents, nmatches, open;
    ks_scan_fn cb;
    void *ud;
    const char **cur_path;
};

/* JSON string: UTF-8 kept when valid, other bytes as \u00XX, controls escaped. */
static void json_str(FILE *f, const uint8_t *s, size_t n, int binary)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else if (c < 0x80)
            fputc(c, f);
        else {
            size_t l = (c >= 0xF0 && c < 0xF5) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC2 && c < 0xE0) ? 2 : 0;
            int ok = !binary && l && i + l <= n && l <= 4 && c < 0xF5;
            for (size_t q = 1; ok && q < l; q++)
                ok = (s[i + q] & 0xC0) == 0x80;
            if (ok) {
                fwrite(s + i, 1, l, f);
                i += l - 1;
            } else
                fprintf(f, "\\u%04x", c);
        }
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0, 0);
}

static void close_object(cli_tree *t)
{
    if (t->open) {
        fputs("]}", t->out);
        t->open = 0;
    }
}

void cli_tree_rule(cli_tree *t, ks_scanner *s, const ks_rule_info *r)
{
    FILE *f = t->out;
    fputs(t->nmatches++ ? "," : "", f);
    fputs("{\"rule\":", f);
    json_cstr(f, r->id);
    fputs(",\"namespace\":", f);
    json_cstr(f, r->ns ? r->ns : "default");
    fputs(",\"tags\":[", f);
    for (int i = 0; i < r->ntags; i++) {
        fputs(i ? "," : "", f);
        json_cstr(f, r->tags[i]);
    }
    fputs("],\"meta\":{", f);
    for (int i = 0; i < r->nmetas; i++) {
        const ks_meta *m = &r->metas[i];
        fputs(i ? "," : "", f);
        json_cstr(f, m->id);
        fputc(':', f);
        if (m->type == KS_META_INT)
            fprintf(f, "%lld", (long long)m->i);
        else if (m->type == KS_META_BOOL)
            fputs(m->i ? "true" : "false", f);
        else
            json_str(f, (const uint8_t *)(m->s ? m->s : ""), m->s ? m->slen : 0, 0);
    }
    fputc('}', f);
    if (t->o->strings) {
        fputs(",\"strings\":[", f);
        int first = 1;
        for (int si = 0; si < r->nstrings; si++) {
            int priv = 0;
            const char *id = ks_rules_string_id(t->o->rules, r->index, si, &priv);
            if (!id || priv)
                continue;
            const ks_match *m = NULL;
            int n = ks_scanner_matches(s, r->index, si, &m);
            for (int k = 0; k < n && m; k++) {
                fputs(first ? "" : ",", f);
                first = 0;
                fputs("{\"id\":", f);
                json_cstr(f, id);
                fprintf(f, ",\"offset\":%lld,\"length\":%u,\"data\":", (long long)m[k].offset,
                        m[k].length);
                json_str(f, m[k].data, m[k].data_len, 1);
                fputc('}', f);
            }
        }
        fputc(']', f);
    }
    fputc('}', f);
}

static int tree_cb(ks_scanner *s, const ks_tree_event *ev, void *ud)
{
    cli_tree *t = ud;
    const ks_object_info *o = ev->obj;
    switch (ev->type) {
    case KS_TREE_OBJECT:
        *t->cur_path = o->path;
        if (!t->o->json)
            return 0;
        close_object(t);
        fputs(t->nobjects++ ? "," : "", t->out);
        fprintf(t->out, "{\"id\":%u,\"parent\":%u,\"depth\":%d,\"path\":", o->id, o->parent_id,
                o->depth);
        json_cstr(t->out, o->path);
        fputs(",\"name\":", t->out);
        json_cstr(t->out, o->name);
        fputs(",\"type\":", t->out);
        json_cstr(t->out, o->type);
        fprintf(t->out, ",\"size\":%llu", (unsigned long long)o->size);
        /* the digests are computed here, on demand (text output never pays for them) */
        static const struct { const char *key; ks_hash_kind kind; } hk[] = {
            {"md5", KS_HASH_MD5}, {"sha1", KS_HASH_SHA1}, {"sha256", KS_HASH_SHA256}};
        for (size_t i = 0; i < sizeof hk / sizeof *hk; i++) {
            const char *h = ks_object_hash(o, hk[i].kind);
            if (h)
                fprintf(t->out, ",\"%s\":\"%s\"", hk[i].key, h);
        }
        fputs(",\"matches\":[", t->out);
        t->open = 1;
        t->nmatches = 0;
        return 0;
    case KS_TREE_SCAN:
        *t->cur_path = o->path;
        return t->cb(s, ev->scan, t->ud);
    case KS_TREE_NOTE:
        if (t->o->json && t->ev) {
            fputs(t->nevents++ ? "," : "", t->ev);
            fprintf(t->ev, "{\"object\":%u,\"path\":", o ? o->id : 0);
            json_cstr(t->ev, o ? o->path : "");
            fputs(",\"event\":", t->ev);
            json_cstr(t->ev, ev->text);
            fputc('}', t->ev);
        } else if (t->o->notes && !t->o->json) {
            fprintf(t->o->notes, "note: %s: %s\n", o ? o->path : "", ev->text);
        }
        return 0;
    default:
        return 0;
    }
}

int cli_scan_tree(ks_scanner *s, const char *path, const cli_tree_opts *o, FILE *out,
                  ks_scan_fn cb, void *ud, const char **cur_path, cli_tree **cur_tree)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int mapped = 0;
    if (cli_map_file(path, &data, &len, &mapped) != 0)
        return KS_EIO;
    cli_tree t;
    memset(&t, 0, sizeof t);
    t.o = o;
    t.out = out;
    t.cb = cb;
    t.ud = ud;
    t.cur_path = cur_path;
    if (o->json) {
        t.ev = open_memstream(&t.ebuf, &t.elen);
        if (!t.ev) {
            cli_unmap_file(data, len, mapped);
            return KS_ENOMEM;
        }
        *cur_tree = &t;
        fputs("{\"file\":", out);
        json_cstr(out, path);
        fputs(",\"objects\":[", out);
    }
    int rc = ks_scan_tree(s, path, data, len, &o->x, tree_cb, &t);
    *cur_path = path;
    if (o->json) {
        close_object(&t);
        fclose(t.ev);
        fputs("],\"events\":[", out);
        if (t.elen)
            fwrite(t.ebuf, 1, t.elen, out);
        fputs("]", out);
        if (rc != KS_OK) {
            fputs(",\"error\":", out);
            json_cstr(out, cli_error_text(rc));
        }
        fputs("}\n", out);
        free(t.ebuf);
        *cur_tree = NULL;
    }
    cli_unmap_file(data, len, mapped);
    return rc;
}
