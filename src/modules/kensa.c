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
 *   md5, sha1, sha256  string  lowercase hex; undefined when hashing is off (no_hashes) and in
 *                              plain scans (use the hash module there)
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
        if (o->md5[0])
            rc |= set_str(root, "md5", o->md5);
        if (o->sha1[0])
            rc |= set_str(root, "sha1", o->sha1);
        if (o->sha256[0])
            rc |= set_str(root, "sha256", o->sha256);
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
