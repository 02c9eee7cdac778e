/*
 * kensa_module.h - what the scanner hands to the `kensa` rules module (src/modules/kensa.c).
 *
 * The `kensa` module describes the object being scanned in the extraction tree (type, depth,
 * parent type, path, hashes). Its data does not come from the scanned bytes alone nor from
 * `-x kensa=FILE`: scanner.c passes a ks_kensa_data as the module's mod_data (with
 * mod_data_len == sizeof(ks_kensa_data)) and ignores any -x data given for it.
 * Internal to the library (src/scan, src/modules).
 */
#ifndef KENSA_MODULE_KENSA_H
#define KENSA_MODULE_KENSA_H

#include "eval/object.h"
#include "kensa.h"

typedef struct ks_kensa_data {
    /* The object set with ks_scanner_set_object() for this scan (strings owned by the caller,
     * valid during the scan), or NULL for a plain scan: then the module describes a root object
     * whose type is fmt_detect() of the data and whose path is `target`. */
    const ks_object_info *obj;
    /* Plain scans: the file given to ks_scanner_scan_file(), or NULL (ks_scanner_scan_mem). */
    const char *target;
} ks_kensa_data;

extern const ks_module ks_module_kensa;

#endif
