/*
 * kensa.h - public API of libkensa: compile YARA rules, scan bytes with them.
 *
 *   ks_compiler  -- takes rule text (files or strings), collects every diagnostic, and produces
 *   ks_rules     -- compiled rules: read-only, shareable by any number of scanners/threads,
 *                   savable to and loadable from a file (the one part built later, a
 *                   prefilter database for non-PE data, is built once under a lock by the
 *                   first scan that needs it);
 *   ks_scanner   -- per-thread scan state over one ks_rules; scans memory or files and reports
 *                   rules through a callback.
 *
 * Every fallible function returns KS_OK (0) or a negative KS_E* code; ks_strerror() names it.
 * The library never aborts and never exits.
 */
#ifndef KENSA_H
#define KENSA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KENSA_VERSION "0.1.0"

enum {
    KS_OK = 0,
    KS_ENOMEM = -1,      /* out of memory */
    KS_ESYNTAX = -2,     /* rule compile errors (see diagnostics) */
    KS_EIO = -3,         /* could not open / read / write a file */
    KS_ELIMIT = -4,      /* a configured limit was reached */
    KS_EFORMAT = -5,     /* malformed input (e.g. a compiled-rules file) */
    KS_EARG = -6,        /* invalid argument / misuse */
    KS_ETIMEOUT = -7,    /* scan timed out */
    KS_ENOMODULE = -8,   /* unknown or unavailable module */
    KS_EINTERNAL = -9,   /* internal error (a bug) */
    KS_ESTACK = -10,     /* evaluation stack / recursion limit */
    KS_EUNDEF = -11,     /* undefined identifier / external */
    KS_ETYPE = -12,      /* type mismatch */
    KS_EMODDATA = -13    /* a module's data (e.g. -x cuckoo=report) is invalid */
};
const char *ks_strerror(int rc);

typedef struct ks_compiler ks_compiler;
typedef struct ks_rules ks_rules;
typedef struct ks_scanner ks_scanner;

/* ------------------------------------------------------------------ compiler */

/* A diagnostic. `file` is the file name given to add_file/add_string (or NULL), `line` 1-based,
 * `rule` the rule being compiled (NULL if none). `text` is the full message in yara's format,
 * e.g. `rules.yar(3): error: undefined string identifier "$b"`. */
typedef struct ks_diag {
    int is_warning;
    const char *file;
    int line;
    const char *rule;
    const char *msg;     /* the message alone: `undefined string identifier "$b"` */
    const char *text;    /* the formatted line as yara prints it */
} ks_diag;
typedef void (*ks_diag_fn)(const ks_diag *d, void *ud);

int ks_compiler_create(ks_compiler **out);
void ks_compiler_destroy(ks_compiler *c);
void ks_compiler_set_diag(ks_compiler *c, ks_diag_fn fn, void *ud);
/* Limit on strings per rule (yara's --max-strings-per-rule, default 10000). */
void ks_compiler_set_max_strings_per_rule(ks_compiler *c, uint32_t n);
/* Threads ks_compiler_get_rules() may use (default 1; the CLI passes its -p value). With 2 or
 * more, the prefilter's two Vectorscan databases are compiled at the same time; the rules are
 * the same either way. */
void ks_compiler_set_threads(ks_compiler *c, int n);

/* External variables: define before adding rules. Redefining replaces the value. */
int ks_compiler_define_int(ks_compiler *c, const char *name, int64_t v);
int ks_compiler_define_float(ks_compiler *c, const char *name, double v);
int ks_compiler_define_bool(ks_compiler *c, const char *name, int v);
int ks_compiler_define_string(ks_compiler *c, const char *name, const char *v);

/* Add rules. `ns` is the namespace (NULL = "default"). Returns the number of errors found in
 * this source (0 = fine), or a negative KS_E* for I/O / memory failures. Diagnostics go to the
 * callback. After an error the compiler keeps going and reports what else it finds, but
 * ks_compiler_get_rules() will refuse. */
int ks_compiler_add_file(ks_compiler *c, const char *path, const char *ns);
int ks_compiler_add_string(ks_compiler *c, const char *src, size_t len, const char *ns,
                           const char *file_name);
int ks_compiler_error_count(const ks_compiler *c);
int ks_compiler_warning_count(const ks_compiler *c);

/* Finish: build the matcher and return the compiled rules (caller owns; ks_rules_destroy). The
 * compiler may not be used to add rules afterwards. KS_ESYNTAX if any source had errors. */
int ks_compiler_get_rules(ks_compiler *c, ks_rules **out);

/* ------------------------------------------------------------------ rules */

void ks_rules_destroy(ks_rules *r);

/* Compiled-rules files (`kensa compile`, `kensa scan -C`). A file holds the rule tables and the
 * run-time structures derived from them (string targets, rule needs, and the prefilter's
 * Vectorscan databases as hs_serialize_database bytes), so that loading maps them back instead
 * of rebuilding them (compiling the Vectorscan databases is most of a compile).
 *
 * Like yara's, a compiled file is trusted input. What loading checks:
 *  - the format version (a file from another format version gives KS_EFORMAT), a digest
 *    (CRC-32) over the tables, and every index between the tables (a damaged or inconsistent
 *    file gives KS_EFORMAT, never an out-of-bounds access);
 *  - the run-time structures are used only when written by this kensa and Vectorscan version,
 *    their own digest matches and Vectorscan accepts the databases on this machine (its check
 *    of version and CPU features); otherwise they are rebuilt from the tables, with the results
 *    the file would have given (only slower). Every index in them is checked as well: one out
 *    of range gives KS_EFORMAT.
 * Vectorscan's bytecode itself cannot be validated (Vectorscan checks a database's header and
 * CRC, then trusts it): a crafted file could make Vectorscan misbehave. For files from
 * untrusted sources, load with KS_LOAD_REBUILD: the stored run-time structures are then never
 * read, and the prefilter is compiled from the validated tables (as when compiling from source).
 *
 * ks_rules_save writes such a file (KS_EIO if it cannot be written). ks_rules_load is
 * ks_rules_load_opts with flags 0. */
enum {
    KS_LOAD_REBUILD = 1          /* ignore the stored run-time structures and prefilter databases:
                                    rebuild them from the tables (`--rebuild-prefilter`) */
};
int ks_rules_save(const ks_rules *r, const char *path);
int ks_rules_load(const char *path, ks_rules **out);   /* KS_EFORMAT for a bad file */
int ks_rules_load_opts(const char *path, unsigned flags, ks_rules **out);

enum { KS_META_INT = 1, KS_META_STRING = 2, KS_META_BOOL = 3 };
typedef struct ks_meta {
    const char *id;
    int type;
    int64_t i;           /* KS_META_INT / KS_META_BOOL */
    const char *s;       /* KS_META_STRING (NUL-terminated; may contain escapes already decoded) */
    size_t slen;
} ks_meta;

enum { KS_RULE_PRIVATE = 1, KS_RULE_GLOBAL = 2 };
typedef struct ks_rule_info {
    uint32_t index;
    const char *id;
    const char *ns;
    const char *const *tags;
    int ntags;
    const ks_meta *metas;
    int nmetas;
    int flags;           /* KS_RULE_* */
    int nstrings;
} ks_rule_info;

uint32_t ks_rules_count(const ks_rules *r);
int ks_rules_info(const ks_rules *r, uint32_t index, ks_rule_info *out);
/* Identifier of string `si` of rule `ri` ("$a"); private strings have *is_private = 1. */
const char *ks_rules_string_id(const ks_rules *r, uint32_t ri, int si, int *is_private);
/* Kind of string `si` of rule `ri` as declared: text "...", hex { ... } or regex /.../
 * (yara prints matches of hex strings as hex bytes). -1 if there is no such string. */
enum { KS_STRING_TEXT = 1, KS_STRING_HEX = 2, KS_STRING_REGEX = 3 };
int ks_rules_string_kind(const ks_rules *r, uint32_t ri, int si);
/* Number of external variables and their names (for tools). */
uint32_t ks_rules_externals(const ks_rules *r, const char ***names);

/* ------------------------------------------------------------------ scanner */

int ks_scanner_create(const ks_rules *r, ks_scanner **out);
void ks_scanner_destroy(ks_scanner *s);

/* Override external variables for the next scans (must exist in the rules; a type mismatch gives
 * KS_ETYPE, an unknown name KS_EUNDEF). */
int ks_scanner_define_int(ks_scanner *s, const char *name, int64_t v);
int ks_scanner_define_float(ks_scanner *s, const char *name, double v);
int ks_scanner_define_bool(ks_scanner *s, const char *name, int v);
int ks_scanner_define_string(ks_scanner *s, const char *name, const char *v);

void ks_scanner_set_timeout(ks_scanner *s, int seconds);           /* 0 = none */
/* Give MODULE extra data (yara's -x MODULE=FILE). The bytes are copied. */
int ks_scanner_set_module_data(ks_scanner *s, const char *module, const void *data, size_t len);

enum {
    KS_SCAN_FAST = 1,           /* yara -f: stop searching a string after its first match */
    KS_SCAN_MATCHES_ONLY = 2,   /* report no KS_EV_RULE_NOMATCH events (saves a callback per
                                   rule and scan when non-matching rules are of no interest);
                                   then the strings of a rule one of whose leading conditions
                                   (tests of filesize or of an integer at a fixed offset, such
                                   as uint16(0) == 0x5A4D) fails for the data are not verified,
                                   nor the hex and regex strings of a rule whose other strings
                                   show it cannot match (the "lazy strings" of eval/needs.c):
                                   no event could show them. Unlike yara, no too-many-matches
                                   event is then reported for those strings */
    KS_SCAN_MODULE_EVENTS = 4,  /* load every imported module before the rules and report
                                   KS_EV_MODULE_IMPORTED for each (for -D); without it a module
                                   is parsed only when a condition reads it */
    KS_SCAN_EVAL_ALL = 8        /* evaluate every rule's condition, also those that no matched
                                   string or true key needs (eval/needs.c): the same results,
                                   slower; for tests of that skipping */
};
void ks_scanner_set_flags(ks_scanner *s, int flags);

/* Events passed to the callback. */
enum {
    KS_EV_RULE_MATCH = 1,       /* rule matched (private rules are not reported) */
    KS_EV_RULE_NOMATCH = 2,     /* rule did not match (for -n) */
    KS_EV_TOO_MANY_MATCHES = 3, /* a string reached the per-string match limit (string_id set) */
    KS_EV_MODULE_IMPORTED = 4,  /* a module's data is ready (module set; for -D) */
    KS_EV_SCAN_END = 5
};
typedef struct ks_event {
    int type;
    const ks_rule_info *rule;   /* RULE_MATCH / RULE_NOMATCH / TOO_MANY_MATCHES */
    const char *string_id;      /* TOO_MANY_MATCHES */
    const char *module;         /* MODULE_IMPORTED */
} ks_event;
/* Return 0 to continue, 1 to stop the scan (KS_OK is still returned), negative to abort. */
typedef int (*ks_scan_fn)(ks_scanner *s, const ks_event *ev, void *ud);

int ks_scanner_scan_mem(ks_scanner *s, const uint8_t *data, size_t len, ks_scan_fn cb, void *ud);
int ks_scanner_scan_file(ks_scanner *s, const char *path, ks_scan_fn cb, void *ud);

/* During a callback: the matches of string `si` of the reported rule. */
typedef struct ks_match {
    int64_t offset;
    uint32_t length;            /* match length */
    const uint8_t *data;        /* the matched bytes (data_len <= min(length, 512)) */
    uint32_t data_len;
    int xor_key;                /* xor key for xor strings, -1 otherwise */
} ks_match;
int ks_scanner_matches(ks_scanner *s, uint32_t ri, int si, const ks_match **out);

/* During a KS_EV_MODULE_IMPORTED callback (or after a scan): print that module's data as
 * `yara -D` does. */
int ks_scanner_print_module(ks_scanner *s, const char *module, FILE *out);

/* Per-rule profiling is not collected; statistics for -S. */
typedef struct ks_stats {
    uint32_t rules;
    uint32_t strings;
    uint32_t atoms;
    uint32_t ac_like_patterns;  /* distinct prefilter patterns */
    uint32_t loaded_prefilter;  /* 1: the run-time structures and prefilter databases were read
                                   from a compiled file (0: built, or rebuilt on loading) */
} ks_stats;
void ks_rules_stats(const ks_rules *r, ks_stats *out);

/* ------------------------------------------------------------------ deep extraction (object tree)
 *
 * ks_scan_tree() takes an input apart and scans every layer: the input is the root object; each
 * container found in it (mail, mbox, zip/7z/rar/cab/iso/lzh/tar, gzip/bzip2/xz, OLE2 with its VBA
 * project, OOXML) yields child objects, which are detected from their content (magic bytes, not
 * names), scanned with the rules and extracted in turn, depth first. Objects are hashed only on
 * demand (ks_object_hash(), the `kensa` module's md5/sha1/sha256). Only the current path
 * from the root is held in memory. Before each object's scan the externals `filename`,
 * `filepath`, `extension`, `filetype` and `owner` are set when the rules declare them as strings.
 *
 * Limits stop extraction, never the walk: when one is reached a KS_TREE_NOTE event ("limit: depth",
 * "limit: objects", "limit: object-size", "limit: input-size", "limit: ratio", "limit: time") is
 * reported on the object concerned and its siblings are still scanned. A malformed object gives a
 * "parse-error: ..." note and whatever could be recovered is still scanned. */
typedef struct ks_extract_opts {
    uint32_t max_depth;          /* deepest child level extracted (root = 0); default 17 */
    uint32_t max_objects;        /* objects per input, root included; default 10000 */
    uint64_t max_object_size;    /* bytes of one extracted object; default 100 MB */
    uint64_t max_input_size;     /* extracted bytes over the whole input; default 400 MB */
    uint32_t max_seconds;        /* whole walk; default 120 (0 = none) */
    uint32_t max_ratio;          /* an entry expanding past 1 MB and past max_ratio times the size
                                    of its container is a bomb; default 250 (0 = no check) */
    uint32_t max_mime_nesting;   /* multipart levels inside one message; default 64 */
    int no_hashes;               /* 1: objects get no hashes (ks_object_info.hashes NULL, so
                                    ks_object_hash() returns NULL and kensa.md5/sha1/sha256 are
                                    undefined). Hashes cost nothing until asked for, so this
                                    only matters to callbacks and rules that ask */
    uint64_t spill_threshold;    /* an object being decoded/decompressed that grows past this
                                    moves to an unlinked temporary file (mapped when scanned)
                                    instead of anonymous memory; default 16 MB (0 = never) */
    const char *tmp_dir;         /* where those files go (created with mode 0600, unlinked at
                                    once); NULL = $TMPDIR, else /tmp. Read during the walk only.
                                    Cannot create one: a "spill: ..." note, kept in memory */
} ks_extract_opts;
/* Fill *o with the defaults above. */
void ks_extract_opts_init(ks_extract_opts *o);

/* The digests of an object (ks_object_hash()). */
typedef enum ks_hash_kind { KS_HASH_MD5 = 0, KS_HASH_SHA1 = 1, KS_HASH_SHA256 = 2 } ks_hash_kind;
#define KS_HASH_KINDS 3

/* An object's digests, computed when first asked for and then kept: each one at most once per
 * object, and only those asked for (a rule reading kensa.sha256 costs one SHA-256 of the object,
 * no MD5 or SHA-1). ks_scan_tree() gives every object one over its bytes, valid until the
 * object's KS_TREE_OBJECT_END event returns. A caller describing its own object to
 * ks_scanner_set_object() may give one too: the bytes to digest on demand (data, len; have = 0),
 * digests it already has (hex[kind] with bit 1u << kind set in have), or both. Not locked: an
 * object is used by one thread at a time (its scanner's). */
typedef struct ks_object_hashes {
    const uint8_t *data;         /* the object's bytes; NULL: nothing to digest, only the
                                    digests already in `have` */
    size_t len;
    unsigned have;               /* bit 1u << kind: hex[kind] holds that digest */
    char hex[KS_HASH_KINDS][65]; /* lowercase hex, NUL-terminated (32, 40, 64 digits) */
} ks_object_hashes;

typedef struct ks_object_info {
    const char *path;            /* "invite.eml > [2] agenda.zip > lecture.doc > VBA/ThisDocument";
                                    the root's path is the name given to ks_scan_tree() */
    const char *label;           /* this object's path component ("[2] agenda.zip") */
    const char *name;            /* file name of this object ("agenda.zip"; may be "") */
    const char *type;            /* detected type: "email", "mbox", "zip", "ooxml", "ole2", "vba",
                                    "7z", "rar", "cab", "iso", "lzh", "tar", "gzip", "bzip2", "xz",
                                    "pdf", "rtf", "pe", "elf", "html", "text", "data", ... */
    const char *parent_type;     /* NULL for the root */
    uint64_t size;
    int depth;                   /* root = 0 */
    uint32_t id;                 /* 0 for the root, then in walk order */
    uint32_t parent_id;          /* = id for the root */
    ks_object_hashes *hashes;    /* MD5/SHA-1/SHA-256 on demand: read with ks_object_hash();
                                    NULL = none (no_hashes) */
} ks_object_info;

/* The object's digest `kind` in lowercase hex (32, 40 or 64 digits). Computed on the first call
 * for that object and kind, then kept in *obj->hashes (later calls, and the `kensa` module's
 * field of the same name, return it without hashing again). NULL when the object has no hashes
 * (obj->hashes NULL, e.g. no_hashes), when `kind` is not a KS_HASH_* value, when hashes->data is
 * NULL and that digest was not given, or when hashing fails (out of memory; retried on the next
 * call). The string lives as long as *obj->hashes: for ks_scan_tree() objects, until the
 * object's KS_TREE_OBJECT_END event returns. */
const char *ks_object_hash(const ks_object_info *obj, ks_hash_kind kind);

enum {
    KS_TREE_OBJECT = 1,          /* an object is about to be scanned (obj set) */
    KS_TREE_SCAN = 2,            /* an event of that object's scan (scan set: rule match, ...);
                                    ks_scanner_matches() works during it */
    KS_TREE_OBJECT_END = 3,      /* the object and all its children are done */
    KS_TREE_NOTE = 4             /* text set: "limit: ...", "parse-error: ...", "password: ..." */
};
typedef struct ks_tree_event {
    int type;
    const ks_object_info *obj;
    const ks_event *scan;
    const char *text;
} ks_tree_event;
/* Return 0 to continue, 1 to stop the whole walk (KS_OK is still returned), negative to abort
 * (that code is returned). */
typedef int (*ks_tree_fn)(ks_scanner *s, const ks_tree_event *ev, void *ud);

/* Describe the object the next scan of `s` is about (the `kensa` rules module reads it:
 * kensa.type, kensa.depth, kensa.path, ...). The struct is copied, its strings and *hashes are
 * not: they must stay valid until that scan returns. kensa.md5/sha1/sha256 are ks_object_hash()
 * of it, computed only when a rule first reads them (undefined when it returns NULL). It applies
 * to the next ks_scanner_scan_mem/scan_file only (cleared when the scan ends); NULL clears it.
 * ks_scan_tree() calls it before each object. Without it the `kensa` module describes the data
 * as a root object (type detected from the bytes, depth 0, path = the file given to
 * ks_scanner_scan_file(), or ""). */
void ks_scanner_set_object(ks_scanner *s, const ks_object_info *obj);

/* Walk and scan the object tree of `data`. `name` is the root's path (e.g. the file name); opts
 * NULL = defaults. Returns KS_OK, KS_ETIMEOUT (scanner timeout), KS_ENOMEM, or the callback's
 * negative code. The scanner's externals listed above are left at the last object's values. */
int ks_scan_tree(ks_scanner *s, const char *name, const uint8_t *data, size_t len,
                 const ks_extract_opts *opts, ks_tree_fn cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
