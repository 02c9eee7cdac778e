/*
 * object.h - the module object model: typed trees of values that modules declare and fill.
 *
 * A module (pe, hash, tests, ...) is a tree of objects. At compile time the compiler asks the
 * module to *declare* its tree (names and types only, every value undefined); the tree is used to
 * type-check expressions like `pe.sections[0].name` or `hash.md5(0, filesize)`. At scan time each
 * scanner builds a fresh tree with the same declare function and the module's load function fills
 * in values for the scanned data. Anything never set stays undefined, and YARA's undefined
 * semantics follow from that.
 *
 *   struct  -- named fields (any object type), in declaration order
 *   array   -- integer-indexed items, all of one declared item type (a prototype object)
 *   dict    -- string-keyed items, likewise
 *   int / float / string -- leaf values, each possibly undefined
 *   func    -- one or more overloads: argument types string + return type + C implementation
 *
 * Type letters used in signatures: 'i' integer, 'f' float, 's' string, 'r' regex, 'b' boolean
 * (booleans are returned as integers 0/1 by modules, as in YARA).
 *
 * Ownership: objects are owned by their parent; obj_destroy(root) frees a whole tree.
 * Thread-safety: a tree is used by one scanner at a time; declared trees used by the compiler
 * are read-only after declaration.
 */
#ifndef KENSA_OBJECT_H
#define KENSA_OBJECT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum obj_type {
    OBJ_INT = 1,
    OBJ_FLOAT,
    OBJ_STRING,
    OBJ_STRUCT,
    OBJ_ARRAY,
    OBJ_DICT,
    OBJ_FUNC
} obj_type;

typedef struct ks_object ks_object;
struct re_code;

/* ---- values passed to and returned from module functions ---- */
typedef enum { V_UNDEF = 0, V_INT, V_FLOAT, V_STR, V_REGEX } val_type;

typedef struct ks_val {
    val_type type;
    int64_t i;
    double f;
    const uint8_t *s;           /* V_STR: bytes (not necessarily NUL-terminated) */
    size_t len;
    const struct re_code *re;   /* V_REGEX */
} ks_val;

/* What a module function sees of the current scan. */
typedef struct ks_fnctx {
    const uint8_t *data;        /* the scanned bytes (whole object) */
    size_t size;
    ks_object *module_root;     /* the calling module's object tree for this scan */
    void *scratch;              /* opaque; pass to fnctx_strdup */
    /* Optional sink for the console module: one message, NUL-terminated, without newline.
     * NULL (e.g. a zero-initialised ks_fnctx) = write the message and "\n" to stdout, which
     * is what yara's CLI does. */
    void (*log)(void *log_ud, const char *msg);
    void *log_ud;
    /* The structure the function was called on (the function's parent object), e.g. the item
     * pe.signatures[i] for pe.signatures[i].valid_on(t); NULL when unknown. */
    ks_object *self;
} ks_fnctx;

/* Copy bytes into storage that lives until the end of the current scan (for returned strings).
 * The copy is NUL-terminated (not counted in len). Returns NULL on out-of-memory, when
 * ctx->scratch is NULL, or past 256 MiB per scratch. */
const uint8_t *fnctx_strdup(ks_fnctx *ctx, const void *s, size_t len);

/* The scratch arena behind ks_fnctx.scratch (implemented in object.c). The evaluator creates one
 * per scanner, passes it as ctx->scratch, and calls ks_scratch_reset() after each scan (which
 * frees every string returned by module functions during that scan). */
typedef struct ks_scratch ks_scratch;
ks_scratch *ks_scratch_new(void);                    /* NULL on OOM */
void ks_scratch_reset(ks_scratch *s);
void ks_scratch_destroy(ks_scratch *s);
const uint8_t *ks_scratch_dup(ks_scratch *s, const void *p, size_t len);

/* A module function: args already converted to the declared types (`nargs` of them).
 * Set *ret (type V_UNDEF for undefined). Return 0, or a negative KS_E* error to abort the scan. */
typedef int (*ks_fn)(ks_fnctx *ctx, const ks_val *args, int nargs, ks_val *ret);

/* ---- building trees (declare functions) ----
 * All return the new object, or NULL on out-of-memory / bad arguments. */
ks_object *obj_new_root(const char *module_name);             /* a struct */
ks_object *obj_decl_int(ks_object *parent, const char *name);
ks_object *obj_decl_float(ks_object *parent, const char *name);
ks_object *obj_decl_string(ks_object *parent, const char *name);
ks_object *obj_decl_struct(ks_object *parent, const char *name);
/* Arrays and dicts: item_type is OBJ_INT/OBJ_FLOAT/OBJ_STRING/OBJ_STRUCT. For OBJ_STRUCT the
 * returned pointer is the item *prototype* struct: declare the item's fields on it. For leaf item
 * types the array/dict object itself is returned. */
ks_object *obj_decl_array(ks_object *parent, const char *name, obj_type item_type);
ks_object *obj_decl_dict(ks_object *parent, const char *name, obj_type item_type);
/* Declare (an overload of) a function; `args` e.g. "ii", "s", "" ; `ret` one of 'i','f','s'. */
int obj_decl_func(ks_object *parent, const char *name, const char *args, char ret, ks_fn fn);

void obj_destroy(ks_object *o);
/* Return a tree to its just-declared state, keeping the declaration: every leaf undefined (and
 * its lazy resolver dropped), arrays and dicts emptied, udata released; constants
 * (obj_set_const_int) keep their value. A scanner keeps each module's declared tree across
 * scans and resets it after each one instead of declaring anew. */
void obj_reset(ks_object *o);

/* Opaque data a module attaches to its tree at load time (e.g. a parsed report that its
 * functions consult through ctx->module_root). obj_set_udata stores `p` on `root`, first
 * releasing any different pointer stored before; `free_fn` (may be NULL) is called on `p` by
 * obj_destroy(root). obj_get_udata walks up from `o` to the top of its tree and returns what
 * was stored there (NULL if nothing). Returns 0, or KS_EARG when root is NULL. */
int obj_set_udata(ks_object *root, void *p, void (*free_fn)(void *));
void *obj_get_udata(const ks_object *o);

/* ---- setting values at scan time ----
 * `path` is a printf format naming an object below `root`, e.g. "sections[%d].name",
 * "version_info[%s]", "number_of_sections". Array items and dict entries are created on demand.
 * Return 0, or a negative KS_E* error (no such field, type mismatch, out of memory, limits). */
int obj_set_int(ks_object *root, int64_t v, const char *path, ...);
/* The int member `name` of struct `root` (a module's constant, such as pe.MACHINE_I386) set to v
 * for good: obj_reset leaves it, so a module sets its constants on its first load only
 * (obj_is_defined tells). Returns 0, KS_EUNDEF (no such member) or KS_ETYPE. */
int obj_set_const_int(ks_object *root, int64_t v, const char *name);
int obj_set_float(ks_object *root, double v, const char *path, ...);
int obj_set_string(ks_object *root, const void *s, size_t len, const char *path, ...);
/* Lazy leaves: the value of the int/float/string leaf at `path` is computed on first read.
 * `fn(ud, &v)` runs at most once, when the leaf is first read (obj_is_defined, obj_int,
 * obj_float, obj_string, obj_get_int, obj_print): it sets v (V_UNDEF, or the leaf's type:
 * V_INT, V_FLOAT, V_STR whose bytes the tree copies) and returns 0; a non-zero return or a
 * value of another type leaves the leaf undefined. An obj_set_* on the leaf before that drops
 * the resolver; copies of a prototype (array items, dict entries) do not inherit it. `ud` must
 * stay valid until the leaf is read or the tree destroyed. Meant for values that are costly and
 * rarely read (the `kensa` module's hashes). Reading a lazy leaf writes it, which is fine since
 * a tree is used by one scanner at a time. Returns 0, KS_EARG (fn NULL), KS_ETYPE (not an
 * int/float/string leaf) or the path errors of obj_set_*. */
typedef int (*obj_lazy_fn)(void *ud, ks_val *v);
int obj_set_lazy(ks_object *root, obj_lazy_fn fn, void *ud, const char *path, ...);
/* Read back a value set earlier (undefined -> returns 0 and sets *defined = 0). */
int64_t obj_get_int(ks_object *root, int *defined, const char *path, ...);
ks_object *obj_lookup(ks_object *root, const char *path, ...);

/* ---- navigation used by the compiler and evaluator ---- */
obj_type obj_type_of(const ks_object *o);
const char *obj_name(const ks_object *o);
/* struct field by name (NULL if none) */
ks_object *obj_field(const ks_object *s, const char *name);
/* The same, trying position *hint first and leaving the found one's position there: a caller
 * that looks up one name in same-shaped structs again and again keeps one hint per site. */
ks_object *obj_field_hint(const ks_object *s, const char *name, uint32_t *hint);
/* struct fields by position, in declaration order (functions included); NULL past the end */
int64_t obj_field_count(const ks_object *s);
ks_object *obj_field_at(const ks_object *s, int64_t i);
ks_object *obj_parent(const ks_object *o);
/* For arrays/dicts: the prototype (declared) item, for type checking. */
ks_object *obj_item_proto(const ks_object *container);
/* array item i / dict item by key at scan time; NULL if absent (= undefined). */
ks_object *obj_index(const ks_object *arr, int64_t i);
ks_object *obj_key(const ks_object *dict, const uint8_t *key, size_t len);
/* container length (number of items / entries); -1 for undefined */
int64_t obj_length(const ks_object *container);
/* dict iteration: i-th entry in insertion order; returns item and sets key/len; NULL past end */
ks_object *obj_dict_entry(const ks_object *dict, int64_t i, const uint8_t **key, size_t *len);
/* leaf values */
int obj_is_defined(const ks_object *o);
int64_t obj_int(const ks_object *o);
double obj_float(const ks_object *o);
const uint8_t *obj_string(const ks_object *o, size_t *len);
/* functions: number of overloads, their signatures, implementations */
int obj_func_count(const ks_object *f);
const char *obj_func_args(const ks_object *f, int overload);
char obj_func_ret(const ks_object *f, int overload);
ks_fn obj_func_impl(const ks_object *f, int overload);

/* Print a tree the way `yara -D` prints module data. */
void obj_print(FILE *out, const ks_object *root);

/* ---- modules ---- */
typedef struct ks_module {
    const char *name;
    /* Build the declaration tree under root (a struct named after the module). */
    int (*declare)(ks_object *root);
    /* Fill values for one scan. mod_data: bytes given with -x MODULE=FILE, or NULL. */
    int (*load)(ks_object *root, const uint8_t *data, size_t size,
                const void *mod_data, size_t mod_data_len);
    /* Release anything load() kept outside the tree (may be NULL). */
    void (*unload)(ks_object *root);
} ks_module;

/* All built-in modules; NULL-terminated. */
extern const ks_module *const ks_builtin_modules[];
const ks_module *ks_module_find(const char *name);

#endif
