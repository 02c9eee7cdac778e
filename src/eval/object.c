/*
 * object.c - the module object model (see object.h): typed trees of structs, arrays, dicts,
 * leaves and functions, the path language used by modules to set values, `yara -D`-style
 * printing, and the per-scan scratch arena behind fnctx_strdup().
 *
 * Representation: every node is a ks_object with a type tag and a union payload.
 *   struct -- fields in declaration order; looked up by name linearly, or through a hash index
 *              built on first use once a struct has STRUCT_INDEX_MIN fields (pe has ~150)
 *   array  -- a prototype item plus a sparse vector of items; length = highest set index + 1
 *   dict   -- a prototype item plus entries in insertion order, with an open-addressing hash
 *             index so that large dicts stay linear to build
 * Array items and dict entries are deep copies of the prototype made on demand by obj_set_*.
 *
 * Printing order: YARA keeps struct members in a list that it *prepends* to, so declared
 * structs print their members in reverse declaration order, and each copy (prototype -> item,
 * done recursively) reverses the order again. Every object carries `flip`, the parity of the
 * number of copies it went through; printing uses it to reproduce YARA's order byte for byte.
 *
 * Limits: array indexes < OBJ_MAX_ARRAY_ITEMS, dicts hold at most OBJ_MAX_DICT_ENTRIES entries,
 * names and literal keys in paths are at most OBJ_MAX_NAME bytes, functions have at most
 * OBJ_MAX_OVERLOADS overloads. Nothing here aborts: every failure is a NULL or a KS_E* code.
 * No global mutable state: trees are independent, so different threads may use different trees.
 */
#include "eval/object.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kensa.h"

#define OBJ_MAX_ARRAY_ITEMS 1000000
#define OBJ_MAX_DICT_ENTRIES 1000000
#define OBJ_MAX_OVERLOADS 16
#define OBJ_MAX_NAME 256
#define OBJ_PRINT_MAX_INDENT 31
#define SCRATCH_MAX_BYTES ((size_t)256 << 20)

typedef struct dict_ent {
    uint8_t *key;
    size_t len;
    uint64_t hash;
    ks_object *obj;
} dict_ent;

struct ks_object {
    obj_type type;
    uint8_t defined;     /* leaves only */
    uint8_t flip;        /* parity of copies: 1 = print struct members in declaration order */
    uint8_t keep;        /* a constant (obj_set_const_int): obj_reset leaves its value */
    char *name;
    ks_object *parent;
    void *udata;                        /* obj_set_udata(): module data, usually on the root */
    void (*udata_free)(void *);
    obj_lazy_fn lazy;                   /* leaves: obj_set_lazy() resolver not run yet */
    void *lazy_ud;
    union {
        int64_t i;
        double f;
        struct { uint8_t *p; size_t len; } s;
        struct {
            ks_object **v;
            size_t n, cap, hint;    /* hint: last member found */
            uint32_t *idx;          /* NULL, or tabcap slots: member index + 1, 0 = empty */
            size_t tabcap;          /* power of two, >= 2 * n */
        } st;
        struct { ks_object *proto; ks_object **v; size_t len, cap; } arr;
        struct {
            ks_object *proto;
            dict_ent *v;
            size_t n, cap;
            uint32_t *tab;      /* entry index + 1, 0 = empty slot */
            size_t tabcap;      /* power of two, >= 2 * cap */
        } dict;
        struct {
            int n;
            char ret;
            char *args[OBJ_MAX_OVERLOADS];
            ks_fn fn[OBJ_MAX_OVERLOADS];
        } fn;
    } u;
};

/* ------------------------------------------------------------------ creation */

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (r)
        memcpy(r, s, n + 1);
    return r;
}

static ks_object *obj_alloc(obj_type t, const char *name)
{
    ks_object *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->type = t;
    o->name = dup_cstr(name ? name : "");
    if (!o->name) {
        free(o);
        return NULL;
    }
    return o;
}

static int valid_ident(const char *name)
{
    size_t n;
    if (!name || !*name)
        return 0;
    n = strlen(name);
    if (n >= OBJ_MAX_NAME)
        return 0;
    for (size_t k = 0; k < n; k++) {
        char c = name[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* Append `child` to struct `s`. 0 or KS_E*. */
static int struct_add(ks_object *s, ks_object *child)
{
    if (s->u.st.n == s->u.st.cap) {
        size_t nc = s->u.st.cap ? s->u.st.cap * 2 : 8;
        ks_object **nv = realloc(s->u.st.v, nc * sizeof *nv);
        if (!nv)
            return KS_ENOMEM;
        s->u.st.v = nv;
        s->u.st.cap = nc;
    }
    s->u.st.v[s->u.st.n++] = child;
    child->parent = s;
    free(s->u.st.idx);          /* rebuilt on the next lookup */
    s->u.st.idx = NULL;
    s->u.st.tabcap = 0;
    return 0;
}

ks_object *obj_new_root(const char *module_name)
{
    if (!module_name)
        return NULL;
    return obj_alloc(OBJ_STRUCT, module_name);
}

/* Declare a new member of struct `parent`; NULL on bad args, duplicate name or OOM. */
static ks_object *decl_member(ks_object *parent, const char *name, obj_type t)
{
    ks_object *o;
    if (!parent || parent->type != OBJ_STRUCT || !valid_ident(name))
        return NULL;
    if (obj_field(parent, name))
        return NULL;
    o = obj_alloc(t, name);
    if (!o)
        return NULL;
    o->flip = parent->flip;
    if (struct_add(parent, o) != 0) {
        obj_destroy(o);
        return NULL;
    }
    return o;
}

ks_object *obj_decl_int(ks_object *parent, const char *name)
{ return decl_member(parent, name, OBJ_INT); }
ks_object *obj_decl_float(ks_object *parent, const char *name)
{ return decl_member(parent, name, OBJ_FLOAT); }
ks_object *obj_decl_string(ks_object *parent, const char *name)
{ return decl_member(parent, name, OBJ_STRING); }
ks_object *obj_decl_struct(ks_object *parent, const char *name)
{ return decl_member(parent, name, OBJ_STRUCT); }

static ks_object *decl_container(ks_object *parent, const char *name, obj_type ctype,
                                 obj_type item_type)
{
    ks_object *c, *proto;
    if (item_type != OBJ_INT && item_type != OBJ_FLOAT && item_type != OBJ_STRING &&
        item_type != OBJ_STRUCT)
        return NULL;
    c = decl_member(parent, name, ctype);
    if (!c)
        return NULL;
    proto = obj_alloc(item_type, name);
    if (!proto)
        return NULL;    /* c stays in the tree, freed with it; caller sees failure */
    proto->parent = c;
    proto->flip = c->flip;
    if (ctype == OBJ_ARRAY)
        c->u.arr.proto = proto;
    else
        c->u.dict.proto = proto;
    return item_type == OBJ_STRUCT ? proto : c;
}

ks_object *obj_decl_array(ks_object *parent, const char *name, obj_type item_type)
{ return decl_container(parent, name, OBJ_ARRAY, item_type); }
ks_object *obj_decl_dict(ks_object *parent, const char *name, obj_type item_type)
{ return decl_container(parent, name, OBJ_DICT, item_type); }

int obj_decl_func(ks_object *parent, const char *name, const char *args, char ret, ks_fn fn)
{
    ks_object *f;
    char *a;
    if (!parent || parent->type != OBJ_STRUCT || !args || !fn || !valid_ident(name))
        return KS_EARG;
    if (ret != 'i' && ret != 'f' && ret != 's')
        return KS_EARG;
    for (const char *p = args; *p; p++)
        if (!strchr("ifsrb", *p))
            return KS_EARG;
    f = obj_field(parent, name);
    if (f) {
        if (f->type != OBJ_FUNC || f->u.fn.ret != ret)
            return KS_ETYPE;
        if (f->u.fn.n >= OBJ_MAX_OVERLOADS)
            return KS_ELIMIT;
        for (int k = 0; k < f->u.fn.n; k++)
            if (strcmp(f->u.fn.args[k], args) == 0)
                return KS_EARG;     /* duplicate overload */
    } else {
        f = decl_member(parent, name, OBJ_FUNC);
        if (!f)
            return KS_ENOMEM;
        f->u.fn.ret = ret;
    }
    a = dup_cstr(args);
    if (!a)
        return KS_ENOMEM;
    f->u.fn.args[f->u.fn.n] = a;
    f->u.fn.fn[f->u.fn.n] = fn;
    f->u.fn.n++;
    return 0;
}

/* Free an array's items or a dict's entries (not the prototype), leaving it empty. */
static void drop_items(ks_object *o)
{
    if (o->type == OBJ_ARRAY) {
        for (size_t k = 0; k < o->u.arr.len; k++)
            obj_destroy(o->u.arr.v[k]);
        free(o->u.arr.v);
        o->u.arr.v = NULL;
        o->u.arr.len = o->u.arr.cap = 0;
    } else if (o->type == OBJ_DICT) {
        for (size_t k = 0; k < o->u.dict.n; k++) {
            free(o->u.dict.v[k].key);
            obj_destroy(o->u.dict.v[k].obj);
        }
        free(o->u.dict.v);
        free(o->u.dict.tab);
        o->u.dict.v = NULL;
        o->u.dict.tab = NULL;
        o->u.dict.n = o->u.dict.cap = o->u.dict.tabcap = 0;
    }
}

void obj_destroy(ks_object *o)
{
    if (!o)
        return;
    switch (o->type) {
    case OBJ_STRING:
        free(o->u.s.p);
        break;
    case OBJ_STRUCT:
        for (size_t k = 0; k < o->u.st.n; k++)
            obj_destroy(o->u.st.v[k]);
        free(o->u.st.v);
        free(o->u.st.idx);
        break;
    case OBJ_ARRAY:
        obj_destroy(o->u.arr.proto);
        drop_items(o);
        break;
    case OBJ_DICT:
        obj_destroy(o->u.dict.proto);
        drop_items(o);
        break;
    case OBJ_FUNC:
        for (int k = 0; k < o->u.fn.n; k++)
            free(o->u.fn.args[k]);
        break;
    default:
        break;
    }
    if (o->udata_free && o->udata)
        o->udata_free(o->udata);
    free(o->name);
    free(o);
}

void obj_reset(ks_object *o)
{
    if (!o || o->keep)
        return;
    switch (o->type) {
    case OBJ_INT: case OBJ_FLOAT:
        o->u.i = 0;
        o->u.f = 0;
        break;
    case OBJ_STRING:
        free(o->u.s.p);
        o->u.s.p = NULL;
        o->u.s.len = 0;
        break;
    case OBJ_STRUCT:
        for (size_t k = 0; k < o->u.st.n; k++)
            obj_reset(o->u.st.v[k]);
        o->u.st.hint = 0;
        break;
    case OBJ_ARRAY: case OBJ_DICT:
        drop_items(o);
        break;
    default:
        break;
    }
    o->defined = 0;
    o->lazy = NULL;
    o->lazy_ud = NULL;
    if (o->udata_free && o->udata)
        o->udata_free(o->udata);
    o->udata = NULL;
    o->udata_free = NULL;
}

int obj_set_udata(ks_object *root, void *p, void (*free_fn)(void *))
{
    if (!root)
        return KS_EARG;
    if (root->udata_free && root->udata && root->udata != p)
        root->udata_free(root->udata);
    root->udata = p;
    root->udata_free = free_fn;
    return 0;
}

void *obj_get_udata(const ks_object *o)
{
    while (o && o->parent)
        o = o->parent;
    return o ? o->udata : NULL;
}

/* Deep copy of a (prototype) object: same shape, every value undefined, no items, and the
 * copy-parity flipped (see the file comment). NULL on OOM. */
static ks_object *obj_copy(const ks_object *src)
{
    ks_object *c = obj_alloc(src->type, src->name);
    if (!c)
        return NULL;
    c->flip = !src->flip;
    switch (src->type) {
    case OBJ_STRUCT:
        for (size_t k = 0; k < src->u.st.n; k++) {
            ks_object *m = obj_copy(src->u.st.v[k]);
            if (!m || struct_add(c, m) != 0) {
                obj_destroy(m);
                obj_destroy(c);
                return NULL;
            }
        }
        break;
    case OBJ_ARRAY:
    case OBJ_DICT: {
        const ks_object *sp = src->type == OBJ_ARRAY ? src->u.arr.proto : src->u.dict.proto;
        ks_object *p = sp ? obj_copy(sp) : NULL;
        if (sp && !p) {
            obj_destroy(c);
            return NULL;
        }
        if (p)
            p->parent = c;
        if (src->type == OBJ_ARRAY)
            c->u.arr.proto = p;
        else
            c->u.dict.proto = p;
        break;
    }
    case OBJ_FUNC:
        c->u.fn.ret = src->u.fn.ret;
        for (int k = 0; k < src->u.fn.n; k++) {
            c->u.fn.args[k] = dup_cstr(src->u.fn.args[k]);
            if (!c->u.fn.args[k]) {
                obj_destroy(c);
                return NULL;
            }
            c->u.fn.fn[k] = src->u.fn.fn[k];
            c->u.fn.n = k + 1;
        }
        break;
    default:
        break;
    }
    return c;
}

/* ------------------------------------------------------------------ containers */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
    for (size_t k = 0; k < n; k++) {
        h ^= p[k];
        h *= 1099511628211ULL;
    }
    return h;
}

static ks_object *dict_find(const ks_object *d, const uint8_t *key, size_t len, uint64_t h)
{
    size_t mask, slot;
    if (!d->u.dict.tab)
        return NULL;
    mask = d->u.dict.tabcap - 1;
    for (slot = (size_t)h & mask;; slot = (slot + 1) & mask) {
        uint32_t e = d->u.dict.tab[slot];
        const dict_ent *de;
        if (e == 0)
            return NULL;
        de = &d->u.dict.v[e - 1];
        if (de->hash == h && de->len == len && (len == 0 || memcmp(de->key, key, len) == 0))
            return de->obj;
    }
}

static void dict_index_insert(ks_object *d, size_t idx)
{
    size_t mask = d->u.dict.tabcap - 1;
    size_t slot = (size_t)d->u.dict.v[idx].hash & mask;
    while (d->u.dict.tab[slot] != 0)
        slot = (slot + 1) & mask;
    d->u.dict.tab[slot] = (uint32_t)(idx + 1);
}

/* Get or create the entry for `key`. *out = the item; 0 or KS_E*. */
static int dict_get(ks_object *d, const uint8_t *key, size_t len, int create, ks_object **out)
{
    uint64_t h = hash_bytes(key, len);
    ks_object *o = dict_find(d, key, len, h);
    dict_ent *e;
    *out = o;
    if (o || !create)
        return 0;
    if (!d->u.dict.proto)
        return KS_EINTERNAL;
    if (d->u.dict.n >= OBJ_MAX_DICT_ENTRIES)
        return KS_ELIMIT;
    if (d->u.dict.n == d->u.dict.cap) {
        size_t nc = d->u.dict.cap ? d->u.dict.cap * 2 : 8;
        size_t ntab = nc * 2;
        dict_ent *nv = realloc(d->u.dict.v, nc * sizeof *nv);
        uint32_t *nt;
        if (!nv)
            return KS_ENOMEM;
        d->u.dict.v = nv;
        nt = calloc(ntab, sizeof *nt);
        if (!nt)
            return KS_ENOMEM;
        free(d->u.dict.tab);
        d->u.dict.tab = nt;
        d->u.dict.tabcap = ntab;
        d->u.dict.cap = nc;
        for (size_t k = 0; k < d->u.dict.n; k++)
            dict_index_insert(d, k);
    }
    o = obj_copy(d->u.dict.proto);
    if (!o)
        return KS_ENOMEM;
    e = &d->u.dict.v[d->u.dict.n];
    e->key = malloc(len + 1);
    if (!e->key) {
        obj_destroy(o);
        return KS_ENOMEM;
    }
    if (len)
        memcpy(e->key, key, len);
    e->key[len] = 0;
    e->len = len;
    e->hash = h;
    e->obj = o;
    o->parent = d;
    dict_index_insert(d, d->u.dict.n);
    d->u.dict.n++;
    *out = o;
    return 0;
}

static int array_get(ks_object *a, int64_t i, int create, ks_object **out)
{
    ks_object *o;
    *out = NULL;
    if (i < 0 || i >= OBJ_MAX_ARRAY_ITEMS)
        return create ? KS_ELIMIT : 0;
    if ((size_t)i < a->u.arr.len && a->u.arr.v[i]) {
        *out = a->u.arr.v[i];
        return 0;
    }
    if (!create)
        return 0;
    if (!a->u.arr.proto)
        return KS_EINTERNAL;
    if ((size_t)i >= a->u.arr.cap) {
        size_t nc = a->u.arr.cap ? a->u.arr.cap : 16;
        ks_object **nv;
        while (nc <= (size_t)i)
            nc *= 2;
        if (nc > OBJ_MAX_ARRAY_ITEMS)
            nc = OBJ_MAX_ARRAY_ITEMS;
        nv = realloc(a->u.arr.v, nc * sizeof *nv);
        if (!nv)
            return KS_ENOMEM;
        memset(nv + a->u.arr.cap, 0, (nc - a->u.arr.cap) * sizeof *nv);
        a->u.arr.v = nv;
        a->u.arr.cap = nc;
    }
    o = obj_copy(a->u.arr.proto);
    if (!o)
        return KS_ENOMEM;
    o->parent = a;
    a->u.arr.v[i] = o;
    if ((size_t)i >= a->u.arr.len)
        a->u.arr.len = (size_t)i + 1;
    *out = o;
    return 0;
}

/* ------------------------------------------------------------------ paths */

/*
 * Resolve `path` (printf-like, see object.h) below root. Grammar:
 *   path  := seg ('.' seg)*
 *   seg   := ident ('[' index ']')?
 *   index := %d | %i | %u | %ld | %li | %lu | %lld | %lli | %llu | %zu | %zd   (array index)
 *          | %s (NUL-terminated key) | %.*s (int length, then pointer) | "literal" | digits
 * With `create`, missing array items / dict entries are created. On success *out is the object
 * (NULL if absent and !create). Returns 0 or KS_EARG (malformed), KS_EUNDEF (no such field),
 * KS_ETYPE (indexing a non-container / field of a non-struct), KS_ELIMIT, KS_ENOMEM.
 */
static ks_object *field_n(const ks_object *s, const char *name, size_t n);

static int resolve(ks_object *root, int create, const char *path, va_list *ap, ks_object **out)
{
    ks_object *o = root;
    const char *p = path;
    *out = NULL;
    if (!root || !path)
        return KS_EARG;
    for (;;) {
        size_t n = 0;
        int rc;
        while (p[n] && p[n] != '.' && p[n] != '[') {
            if (n + 1 >= OBJ_MAX_NAME)
                return KS_EARG;
            n++;
        }
        if (n == 0)
            return KS_EARG;
        if (o->type != OBJ_STRUCT)
            return KS_ETYPE;
        o = field_n(o, p, n);
        p += n;
        if (!o)
            return KS_EUNDEF;
        if (*p == '[') {
            int is_key = 0;
            int64_t idx = 0;
            const uint8_t *key = NULL;
            size_t klen = 0;
            char lit[OBJ_MAX_NAME];
            p++;
            if (*p == '%') {
                p++;
                if (p[0] == 's') {
                    key = va_arg(*ap, const uint8_t *);
                    if (!key)
                        return KS_EARG;
                    klen = strlen((const char *)key);
                    is_key = 1;
                    p += 1;
                } else if (p[0] == '.' && p[1] == '*' && p[2] == 's') {
                    int l = va_arg(*ap, int);
                    key = va_arg(*ap, const uint8_t *);
                    if (l < 0 || (!key && l > 0))
                        return KS_EARG;
                    klen = (size_t)l;
                    if (!key)
                        key = (const uint8_t *)"";
                    is_key = 1;
                    p += 3;
                } else if (p[0] == 'd' || p[0] == 'i') {
                    idx = va_arg(*ap, int);
                    p += 1;
                } else if (p[0] == 'u') {
                    idx = va_arg(*ap, unsigned);
                    p += 1;
                } else if (p[0] == 'l' && p[1] == 'l' && (p[2] == 'd' || p[2] == 'i')) {
                    idx = va_arg(*ap, long long);
                    p += 3;
                } else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'u') {
                    unsigned long long v = va_arg(*ap, unsigned long long);
                    idx = v > INT64_MAX ? -1 : (int64_t)v;
                    p += 3;
                } else if (p[0] == 'l' && (p[1] == 'd' || p[1] == 'i')) {
                    idx = va_arg(*ap, long);
                    p += 2;
                } else if (p[0] == 'l' && p[1] == 'u') {
                    unsigned long v = va_arg(*ap, unsigned long);
                    idx = v > INT64_MAX ? -1 : (int64_t)v;
                    p += 2;
                } else if (p[0] == 'z' && p[1] == 'u') {
                    size_t v = va_arg(*ap, size_t);
                    idx = v > INT64_MAX ? -1 : (int64_t)v;
                    p += 2;
                } else if (p[0] == 'z' && p[1] == 'd') {
                    idx = (int64_t)va_arg(*ap, ptrdiff_t);
                    p += 2;
                } else {
                    return KS_EARG;
                }
            } else if (*p == '"') {
                size_t l = 0;
                p++;
                while (*p && *p != '"') {
                    if (l + 1 >= sizeof lit)
                        return KS_EARG;
                    lit[l++] = *p++;
                }
                if (*p != '"')
                    return KS_EARG;
                p++;
                lit[l] = 0;
                key = (const uint8_t *)lit;
                klen = l;
                is_key = 1;
            } else if (*p >= '0' && *p <= '9') {
                while (*p >= '0' && *p <= '9') {
                    if (idx > (INT64_MAX - 9) / 10)
                        return KS_ELIMIT;
                    idx = idx * 10 + (*p++ - '0');
                }
            } else {
                return KS_EARG;
            }
            if (*p != ']')
                return KS_EARG;
            p++;
            if (*p != '.' && *p != 0)
                return KS_EARG;
            if (is_key) {
                if (o->type != OBJ_DICT)
                    return KS_ETYPE;
                rc = dict_get(o, key, klen, create, &o);
            } else {
                if (o->type != OBJ_ARRAY)
                    return KS_ETYPE;
                if (idx < 0)
                    return create ? KS_ELIMIT : 0;
                rc = array_get(o, idx, create, &o);
            }
            if (rc != 0)
                return rc;
            if (!o)
                return 0;   /* absent, not created */
        }
        if (*p == 0)
            break;
        p++;    /* '.' */
    }
    *out = o;
    return 0;
}

static int set_target(ks_object *root, obj_type want, const char *path, va_list *ap,
                      ks_object **out)
{
    int rc = resolve(root, 1, path, ap, out);
    if (rc != 0)
        return rc;
    if (!*out)
        return KS_EINTERNAL;
    if ((*out)->type != want)
        return KS_ETYPE;
    return 0;
}

int obj_set_int(ks_object *root, int64_t v, const char *path, ...)
{
    ks_object *o;
    va_list ap;
    int rc;
    va_start(ap, path);
    rc = set_target(root, OBJ_INT, path, &ap, &o);
    va_end(ap);
    if (rc != 0)
        return rc;
    o->lazy = NULL;
    o->u.i = v;
    o->defined = 1;
    return 0;
}

int obj_set_const_int(ks_object *root, int64_t v, const char *name)
{
    ks_object *o = obj_field(root, name);
    if (!o)
        return KS_EUNDEF;
    if (o->type != OBJ_INT)
        return KS_ETYPE;
    o->lazy = NULL;
    o->u.i = v;
    o->defined = 1;
    o->keep = 1;
    return 0;
}

int obj_set_float(ks_object *root, double v, const char *path, ...)
{
    ks_object *o;
    va_list ap;
    int rc;
    va_start(ap, path);
    rc = set_target(root, OBJ_FLOAT, path, &ap, &o);
    va_end(ap);
    if (rc != 0)
        return rc;
    o->lazy = NULL;
    o->u.f = v;
    o->defined = isnan(v) ? 0 : 1;     /* YARA: a NaN float is undefined */
    return 0;
}

int obj_set_string(ks_object *root, const void *s, size_t len, const char *path, ...)
{
    ks_object *o;
    va_list ap;
    int rc;
    uint8_t *copy = NULL;
    va_start(ap, path);
    rc = set_target(root, OBJ_STRING, path, &ap, &o);
    va_end(ap);
    if (rc != 0)
        return rc;
    o->lazy = NULL;
    if (!s) {       /* NULL = make undefined */
        free(o->u.s.p);
        o->u.s.p = NULL;
        o->u.s.len = 0;
        o->defined = 0;
        return 0;
    }
    copy = malloc(len + 1);
    if (!copy)
        return KS_ENOMEM;
    if (len)
        memcpy(copy, s, len);
    copy[len] = 0;
    free(o->u.s.p);
    o->u.s.p = copy;
    o->u.s.len = len;
    o->defined = 1;
    return 0;
}

int obj_set_lazy(ks_object *root, obj_lazy_fn fn, void *ud, const char *path, ...)
{
    ks_object *o = NULL;
    va_list ap;
    int rc;
    if (!fn)
        return KS_EARG;
    va_start(ap, path);
    rc = resolve(root, 1, path, &ap, &o);
    va_end(ap);
    if (rc != 0)
        return rc;
    if (!o)
        return KS_EINTERNAL;
    if (o->type != OBJ_INT && o->type != OBJ_FLOAT && o->type != OBJ_STRING)
        return KS_ETYPE;
    if (o->type == OBJ_STRING) {
        free(o->u.s.p);
        o->u.s.p = NULL;
        o->u.s.len = 0;
    }
    o->defined = 0;
    o->lazy = fn;
    o->lazy_ud = ud;
    return 0;
}

/* Run a pending obj_set_lazy() resolver of a leaf, once. Readers take const pointers, but every
 * tree is made of heap objects from obj_alloc (never const storage), so the leaf may be
 * written here; a tree is used by one scanner (one thread) at a time. */
static void lazy_resolve(const ks_object *co)
{
    if (!co || !co->lazy)
        return;
    ks_object *o = (ks_object *)co;
    obj_lazy_fn fn = o->lazy;
    o->lazy = NULL;             /* once, even if it fails (and no recursion through fn) */
    ks_val v;
    memset(&v, 0, sizeof v);
    if (fn(o->lazy_ud, &v) != 0)
        return;
    if (o->type == OBJ_INT && v.type == V_INT) {
        o->u.i = v.i;
        o->defined = 1;
    } else if (o->type == OBJ_FLOAT && v.type == V_FLOAT) {
        o->u.f = v.f;
        o->defined = isnan(v.f) ? 0 : 1;
    } else if (o->type == OBJ_STRING && v.type == V_STR && (v.s || !v.len)) {
        uint8_t *copy = malloc(v.len + 1);
        if (!copy)
            return;             /* out of memory: stays undefined */
        if (v.len)
            memcpy(copy, v.s, v.len);
        copy[v.len] = 0;
        o->u.s.p = copy;
        o->u.s.len = v.len;
        o->defined = 1;
    }
}

int64_t obj_get_int(ks_object *root, int *defined, const char *path, ...)
{
    ks_object *o = NULL;
    va_list ap;
    int rc;
    va_start(ap, path);
    rc = resolve(root, 0, path, &ap, &o);
    va_end(ap);
    if (rc == 0)
        lazy_resolve(o);
    if (rc != 0 || !o || o->type != OBJ_INT || !o->defined) {
        if (defined)
            *defined = 0;
        return 0;
    }
    if (defined)
        *defined = 1;
    return o->u.i;
}

ks_object *obj_lookup(ks_object *root, const char *path, ...)
{
    ks_object *o = NULL;
    va_list ap;
    int rc;
    va_start(ap, path);
    rc = resolve(root, 0, path, &ap, &o);
    va_end(ap);
    return rc == 0 ? o : NULL;
}

/* ------------------------------------------------------------------ navigation */

obj_type obj_type_of(const ks_object *o) { return o ? o->type : (obj_type)0; }
const char *obj_name(const ks_object *o) { return o ? o->name : NULL; }

/* Members are found by a linear search by name starting after the member found last (modules
 * set and rules read members mostly in declaration order, so the next one is usually the first
 * compared; the first-byte test keeps string compares to likely candidates), or, in a struct
 * with this many members, through a hash index built on first use. */
#define STRUCT_INDEX_MIN 16

/* 1 when member name m is name[0..n) (n >= 1; strncmp stops at a shorter m's NUL) */
static inline int name_is(const char *m, const char *name, size_t n)
{
    return m[0] == name[0] && strncmp(m, name, n) == 0 && m[n] == 0;
}

/* Builds s's name index (s->u.st.n >= STRUCT_INDEX_MIN). 0, or KS_ENOMEM (then lookups stay
 * linear). Member names are unique (obj_decl refuses a duplicate). */
static int struct_index(ks_object *s)
{
    size_t cap = 32;
    while (cap < 2 * s->u.st.n)
        cap *= 2;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return KS_ENOMEM;
    for (size_t k = 0; k < s->u.st.n; k++) {
        const char *m = s->u.st.v[k]->name;
        size_t i = (size_t)hash_bytes((const uint8_t *)m, strlen(m)) & (cap - 1);
        while (idx[i])
            i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)k + 1;
    }
    s->u.st.idx = idx;
    s->u.st.tabcap = cap;
    return 0;
}

/* Member name[0..n) of struct s (name need not be NUL-terminated), or NULL. */
static ks_object *field_n(const ks_object *s, const char *name, size_t n)
{
    size_t nm = s->u.st.n, h = s->u.st.hint < nm ? s->u.st.hint : 0;
    if (nm >= STRUCT_INDEX_MIN && (s->u.st.idx || struct_index((ks_object *)s) == 0)) {
        if (name_is(s->u.st.v[h]->name, name, n))
            return s->u.st.v[h];
        size_t mask = s->u.st.tabcap - 1;
        size_t i = (size_t)hash_bytes((const uint8_t *)name, n) & mask;
        for (; s->u.st.idx[i]; i = (i + 1) & mask) {
            size_t k = s->u.st.idx[i] - 1;
            if (name_is(s->u.st.v[k]->name, name, n)) {
                ((ks_object *)s)->u.st.hint = k;
                return s->u.st.v[k];
            }
        }
        return NULL;
    }
    for (size_t c = 0; c < nm; c++) {
        size_t k = h + c < nm ? h + c : h + c - nm;
        if (name_is(s->u.st.v[k]->name, name, n)) {
            ((ks_object *)s)->u.st.hint = k;
            return s->u.st.v[k];
        }
    }
    return NULL;
}

ks_object *obj_field(const ks_object *s, const char *name)
{
    if (!s || s->type != OBJ_STRUCT || !name)
        return NULL;
    return field_n(s, name, strlen(name));
}

ks_object *obj_field_hint(const ks_object *s, const char *name, uint32_t *hint)
{
    if (!s || s->type != OBJ_STRUCT || !name)
        return NULL;
    size_t h = *hint;
    if (h < s->u.st.n && strcmp(s->u.st.v[h]->name, name) == 0)
        return s->u.st.v[h];
    ks_object *o = obj_field(s, name);
    if (o)
        *hint = (uint32_t)s->u.st.hint;
    return o;
}

int64_t obj_field_count(const ks_object *s)
{
    return (s && s->type == OBJ_STRUCT) ? (int64_t)s->u.st.n : 0;
}

ks_object *obj_field_at(const ks_object *s, int64_t i)
{
    if (!s || s->type != OBJ_STRUCT || i < 0 || (uint64_t)i >= s->u.st.n)
        return NULL;
    return s->u.st.v[i];
}

ks_object *obj_parent(const ks_object *o) { return o ? o->parent : NULL; }

ks_object *obj_item_proto(const ks_object *c)
{
    if (!c)
        return NULL;
    if (c->type == OBJ_ARRAY)
        return c->u.arr.proto;
    if (c->type == OBJ_DICT)
        return c->u.dict.proto;
    return NULL;
}

ks_object *obj_index(const ks_object *arr, int64_t i)
{
    if (!arr || arr->type != OBJ_ARRAY || i < 0 || (uint64_t)i >= arr->u.arr.len)
        return NULL;
    return arr->u.arr.v[i];
}

ks_object *obj_key(const ks_object *dict, const uint8_t *key, size_t len)
{
    if (!dict || dict->type != OBJ_DICT || (!key && len))
        return NULL;
    if (!key)
        key = (const uint8_t *)"";
    return dict_find(dict, key, len, hash_bytes(key, len));
}

int64_t obj_length(const ks_object *c)
{
    if (!c)
        return -1;
    if (c->type == OBJ_ARRAY)
        return (int64_t)c->u.arr.len;
    if (c->type == OBJ_DICT)
        return (int64_t)c->u.dict.n;
    return -1;
}

ks_object *obj_dict_entry(const ks_object *d, int64_t i, const uint8_t **key, size_t *len)
{
    if (!d || d->type != OBJ_DICT || i < 0 || (uint64_t)i >= d->u.dict.n)
        return NULL;
    if (key)
        *key = d->u.dict.v[i].key;
    if (len)
        *len = d->u.dict.v[i].len;
    return d->u.dict.v[i].obj;
}

int obj_is_defined(const ks_object *o)
{
    if (!o)
        return 0;
    lazy_resolve(o);
    switch (o->type) {
    case OBJ_INT:
    case OBJ_FLOAT:
    case OBJ_STRING:
        return o->defined;
    default:
        return 1;
    }
}

int64_t obj_int(const ks_object *o)
{
    lazy_resolve(o);
    return (o && o->type == OBJ_INT && o->defined) ? o->u.i : 0;
}

double obj_float(const ks_object *o)
{
    lazy_resolve(o);
    return (o && o->type == OBJ_FLOAT && o->defined) ? o->u.f : NAN;
}

const uint8_t *obj_string(const ks_object *o, size_t *len)
{
    lazy_resolve(o);
    if (!o || o->type != OBJ_STRING || !o->defined) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = o->u.s.len;
    return o->u.s.p;
}

int obj_func_count(const ks_object *f)
{ return (f && f->type == OBJ_FUNC) ? f->u.fn.n : 0; }

const char *obj_func_args(const ks_object *f, int k)
{ return (f && f->type == OBJ_FUNC && k >= 0 && k < f->u.fn.n) ? f->u.fn.args[k] : NULL; }

char obj_func_ret(const ks_object *f, int k)
{ return (f && f->type == OBJ_FUNC && k >= 0 && k < f->u.fn.n) ? f->u.fn.ret : 0; }

ks_fn obj_func_impl(const ks_object *f, int k)
{ return (f && f->type == OBJ_FUNC && k >= 0 && k < f->u.fn.n) ? f->u.fn.fn[k] : NULL; }

/* ------------------------------------------------------------------ printing */

static void put_tabs(FILE *out, int n)
{
    for (int k = 0; k < n; k++)
        fputc('\t', out);
}

/* YARA's isprint() in the C locale: 0x20..0x7e. */
static void print_escaped(FILE *out, const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (p[k] >= 0x20 && p[k] < 0x7f)
            fputc(p[k], out);
        else
            fprintf(out, "\\x%02x", p[k]);
    }
}

static void print_obj(FILE *out, const ks_object *o, int indent, int ident)
{
    int tabs = indent < OBJ_PRINT_MAX_INDENT ? indent : OBJ_PRINT_MAX_INDENT;
    if (ident && o->type != OBJ_FUNC) {
        put_tabs(out, tabs);
        fputs(o->name, out);
    }
    lazy_resolve(o);            /* -D prints every value: lazy leaves are computed */
    switch (o->type) {
    case OBJ_INT:
        if (o->defined)
            fprintf(out, " = %" PRId64, o->u.i);
        else
            fputs(" = YR_UNDEFINED", out);
        break;
    case OBJ_FLOAT:
        if (o->defined)
            fprintf(out, " = %f", o->u.f);
        else
            fputs(" = nan", out);
        break;
    case OBJ_STRING:
        if (o->defined) {
            fputs(" = \"", out);
            print_escaped(out, o->u.s.p, o->u.s.len);
            fputc('"', out);
        } else {
            fputs(" = YR_UNDEFINED", out);
        }
        break;
    case OBJ_STRUCT:
        for (size_t k = 0; k < o->u.st.n; k++) {
            const ks_object *m = o->flip ? o->u.st.v[k] : o->u.st.v[o->u.st.n - 1 - k];
            if (m->type == OBJ_FUNC)
                continue;
            fputc('\n', out);
            print_obj(out, m, indent + 1, 1);
        }
        break;
    case OBJ_ARRAY:
        for (size_t k = 0; k < o->u.arr.len; k++) {
            if (!o->u.arr.v[k])
                continue;
            fputc('\n', out);
            put_tabs(out, tabs);
            fprintf(out, "\t[%zu]", k);
            print_obj(out, o->u.arr.v[k], indent + 1, 0);
        }
        break;
    case OBJ_DICT:
        for (size_t k = 0; k < o->u.dict.n; k++) {
            const dict_ent *e = &o->u.dict.v[k];
            fputc('\n', out);
            put_tabs(out, tabs);
            fputc('\t', out);
            /* YARA keys are C strings: print up to the first NUL */
            fwrite(e->key, 1, strnlen((const char *)e->key, e->len), out);
            print_obj(out, e->obj, indent + 1, 0);
        }
        break;
    default:
        break;
    }
}

void obj_print(FILE *out, const ks_object *root)
{
    if (!out || !root)
        return;
    print_obj(out, root, 0, 1);
    fputc('\n', out);
}

/* ------------------------------------------------------------------ scratch */

typedef struct scratch_blk {
    struct scratch_blk *next;
    size_t len;
    uint8_t data[];
} scratch_blk;

struct ks_scratch {
    scratch_blk *head;
    size_t total;
};

ks_scratch *ks_scratch_new(void)
{
    return calloc(1, sizeof(ks_scratch));
}

void ks_scratch_reset(ks_scratch *s)
{
    if (!s)
        return;
    while (s->head) {
        scratch_blk *n = s->head->next;
        free(s->head);
        s->head = n;
    }
    s->total = 0;
}

void ks_scratch_destroy(ks_scratch *s)
{
    ks_scratch_reset(s);
    free(s);
}

const uint8_t *ks_scratch_dup(ks_scratch *s, const void *p, size_t len)
{
    scratch_blk *b;
    if (!s || (!p && len))
        return NULL;
    if (len > SCRATCH_MAX_BYTES || s->total + len > SCRATCH_MAX_BYTES)
        return NULL;
    b = malloc(sizeof *b + len + 1);
    if (!b)
        return NULL;
    if (len)
        memcpy(b->data, p, len);
    b->data[len] = 0;
    b->len = len;
    b->next = s->head;
    s->head = b;
    s->total += len;
    return b->data;
}

const uint8_t *fnctx_strdup(ks_fnctx *ctx, const void *s, size_t len)
{
    if (!ctx)
        return NULL;
    return ks_scratch_dup((ks_scratch *)ctx->scratch, s, len);
}
