/*
 * kensa.c - the `kensa` module: the current object of the extraction tree, for rules.
 *
 *   import "kensa"
 *   rule vba_in_zip { condition: kensa.type == "vba" and kensa.depth >= 3 and
 *                                kensa.path contains ".zip > " }
 *
 * Fields (a plain structure, no functions):
 *   type         string  detected type: "email", "zip", "ole2", "vba", "text", "data", ...
 *   parent_type  string  the parent's type; "" for the root
 *   path         string  "invite.eml > [2] agenda.zip > lecture.doc > VBA/ThisDocument"
 *   label        string  this object's path component ("[2] agenda.zip")
 *   name         string  this object's file name ("agenda.zip"; may be "")
 *   depth        int     0 for the root
 *   is_root      int     1 for the root, 0 for extracted objects
 *   size         int     bytes of the object
 *   md5, sha1, sha256  string  lowercase hex; undefined when the object has no hashes
 *                              (no_hashes) and in plain scans (use the hash module there)
 *
 * The hashes are lazy fields (obj_set_lazy): a digest is computed by ks_object_hash() when a
 * rule first reads that field (or -D prints the module), so a rule reading kensa.sha256 costs
 * one SHA-256 and no MD5, and rules that never read them cost nothing. The digest is kept in
 * the object's ks_object_hashes, so the tree callback (the CLI's JSON output) asking for it too
 * does not hash the object again.
 *
 * The scanner passes the object (ks_scanner_set_object(), called by the tree walker before each
 * object's scan) through mod_data as a ks_kensa_data (kensa_module.h). Without one (a plain
 * ks_scanner_scan_mem/scan_file, `kensa scan --no-extract`) the data is described as a root
 * object: type = fmt_detect(data), depth 0, parent_type "", path = label = name = the file given
 * to ks_scanner_scan_file() or "". Like every module it is loaded only for rules that import it.
 * yara has no such module: rules importing it are kensa-only.
 */
#include <string.h>

#include "formats/formats.h"
#include "modules/kensa_module.h"

static int kensa_declare(ks_object *root)
{
    /* yara -D prints a module's fields in reverse declaration order: declared backwards so
     * that `kensa scan -D` shows type, parent_type, path, ... */
    static const struct { const char *name; char t; } f[] = {
        {"sha256", 's'}, {"sha1", 's'}, {"md5", 's'}, {"size", 'i'}, {"is_root", 'i'},
        {"depth", 'i'}, {"name", 's'}, {"label", 's'}, {"path", 's'}, {"parent_type", 's'},
        {"type", 's'}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (!(f[i].t == 's' ? obj_decl_string(root, f[i].name) : obj_decl_int(root, f[i].name)))
            return KS_ENOMEM;
    return 0;
}

static int set_str(ks_object *root, const char *field, const char *v)
{
    if (!v)
        v = "";
    return obj_set_string(root, v, strlen(v), field);   /* field: a plain name, no % */
}

/* Lazy resolvers of md5/sha1/sha256: ud is the object's ks_object_hashes, which the caller of
 * ks_scanner_set_object() keeps valid until the scan returns (the module tree is unloaded
 * when the scan ends, so it never outlives that). */
static int lazy_hash(void *ud, ks_hash_kind kind, ks_val *v)
{
    ks_object_info o;
    memset(&o, 0, sizeof o);
    o.hashes = ud;
    const char *h = ks_object_hash(&o, kind);
    if (h) {
        v->type = V_STR;
        v->s = (const uint8_t *)h;
        v->len = strlen(h);
    }
    return 0;
}
static int lazy_md5(void *ud, ks_val *v) { return lazy_hash(ud, KS_HASH_MD5, v); }
static int lazy_sha1(void *ud, ks_val *v) { return lazy_hash(ud, KS_HASH_SHA1, v); }
static int lazy_sha256(void *ud, ks_val *v) { return lazy_hash(ud, KS_HASH_SHA256, v); }

static int kensa_load(ks_object *root, const uint8_t *data, size_t size, const void *mod_data,
                      size_t mod_data_len)
{
    const ks_kensa_data *kd =
        mod_data && mod_data_len == sizeof(ks_kensa_data) ? mod_data : NULL;
    const ks_object_info *o = kd ? kd->obj : NULL;
    int rc = 0;
    if (o) {
        rc |= set_str(root, "type", o->type);
        rc |= set_str(root, "parent_type", o->parent_type);
        rc |= set_str(root, "path", o->path);
        rc |= set_str(root, "label", o->label);
        rc |= set_str(root, "name", o->name);
        rc |= obj_set_int(root, o->depth, "depth");
        rc |= obj_set_int(root, o->depth == 0, "is_root");
        rc |= obj_set_int(root, (int64_t)o->size, "size");
        if (o->hashes) {
            rc |= obj_set_lazy(root, lazy_md5, o->hashes, "md5");
            rc |= obj_set_lazy(root, lazy_sha1, o->hashes, "sha1");
            rc |= obj_set_lazy(root, lazy_sha256, o->hashes, "sha256");
        }
    } else {
        const char *target = kd && kd->target ? kd->target : "";
        rc |= set_str(root, "type", fmt_detect(data, size));
        rc |= set_str(root, "parent_type", "");
        rc |= set_str(root, "path", target);
        rc |= set_str(root, "label", target);
        rc |= set_str(root, "name", target);
        rc |= obj_set_int(root, 0, "depth");
        rc |= obj_set_int(root, 1, "is_root");
        rc |= obj_set_int(root, (int64_t)size, "size");
    }
    /* obj_set_* fail only on out-of-memory here (the fields are declared above) */
    return rc ? KS_ENOMEM : 0;
}

const ks_module ks_module_kensa = {"kensa", kensa_declare, kensa_load, NULL};
