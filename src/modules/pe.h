/*
 * pe.h - internal interface shared by the files of the `pe` module (pe.c: declarations, header
 * parsing and load; pe_fn.c: the module functions; pe_sig.c: Authenticode certificates;
 * pe_ord.c: ordinal-to-name tables). Not part of the public API.
 *
 * Every read of the scanned data goes through the bounds-checked helpers below: offsets are
 * uint64_t, a range [off, off + len) is usable only when pe_fits() says so, and no pointer is ever
 * formed outside the data.
 */
#ifndef KENSA_MODULES_PE_H
#define KENSA_MODULES_PE_H

#include <stddef.h>
#include <stdint.h>

#include "eval/object.h"

/* Limits, as in YARA 4.2.3's pe module. */
#define PE_MAX_SECTIONS 96
#define PE_MAX_IMPORTS 16384
#define PE_MAX_EXPORTS 8192
#define PE_MAX_EXPORT_NAME 512
#define PE_MAX_RESOURCES 65536
/* kensa-only safety net against quadratic blow-ups on hostile files: the number of loop steps
 * one parse may take (normal files use a tiny fraction of it). */
#define PE_WORK_BUDGET 20000000

#define PE_IMPORT_STANDARD 1
#define PE_IMPORT_DELAYED 2
#define PE_IMPORT_ANY (-1)

typedef struct pe_file {
    const uint8_t *d;
    size_t n;
    uint64_t nt;        /* offset of "PE\0\0" */
    uint64_t opt;       /* offset of the optional header */
    uint64_t sec;       /* offset of the section table */
    uint16_t nsec;      /* FileHeader.NumberOfSections */
    uint16_t optsize;   /* FileHeader.SizeOfOptionalHeader */
    int is64;
    int64_t budget;
} pe_file;

typedef struct pe_func {
    char *name;         /* never NULL once in a list */
    int has_ordinal;
    uint16_t ordinal;
    struct pe_func *next;
} pe_func;

typedef struct pe_dll {
    char *name;
    pe_func *funcs;
    struct pe_dll *next;
} pe_dll;

static inline int pe_fits(const pe_file *pe, uint64_t off, uint64_t len)
{
    return len <= pe->n && off <= pe->n - len;
}

static inline uint64_t pe_avail(const pe_file *pe, uint64_t off)
{
    return off < pe->n ? pe->n - off : 0;
}

static inline uint32_t pe_u8(const pe_file *pe, uint64_t off)
{
    return pe_fits(pe, off, 1) ? pe->d[off] : 0;
}

static inline uint32_t pe_u16(const pe_file *pe, uint64_t off)
{
    return pe_fits(pe, off, 2) ? (uint32_t)pe->d[off] | (uint32_t)pe->d[off + 1] << 8 : 0;
}

static inline uint32_t pe_u32(const pe_file *pe, uint64_t off)
{
    if (!pe_fits(pe, off, 4))
        return 0;
    return (uint32_t)pe->d[off] | (uint32_t)pe->d[off + 1] << 8 | (uint32_t)pe->d[off + 2] << 16 |
           (uint32_t)pe->d[off + 3] << 24;
}

static inline uint64_t pe_u64(const pe_file *pe, uint64_t off)
{
    return (uint64_t)pe_u32(pe, off) | (uint64_t)pe_u32(pe, off + 4) << 32;
}

/* Validate the headers the way YARA does; 0 on success (pe filled), -1 if not a PE. */
int pe_open(pe_file *pe, const uint8_t *d, size_t n);
/* File offset of an RVA, or -1 (YARA's pe_rva_to_offset). */
int64_t pe_rva_to_offset(const pe_file *pe, uint64_t rva);
/* Offset of data directory `entry` (8 bytes: rva, size), or 0 if outside the optional header. */
uint64_t pe_dir_entry(const pe_file *pe, int entry);
/* File offset of data directory `entry`'s data, or -1 when it is absent or maps outside the file. */
int64_t pe_dir_offset(const pe_file *pe, int entry);

/* Import lists (standard / delayed), as YARA builds them for imphash() and imports(). The
 * counts are returned through the out parameters when non-NULL. NULL with *nomem set on OOM. */
pe_dll *pe_parse_imports(pe_file *pe, int64_t *ndlls, int64_t *nfuncs, int *nomem);
pe_dll *pe_parse_delayed(pe_file *pe, int64_t *ndlls, int64_t *nfuncs, int *nomem);
void pe_free_dlls(pe_dll *d);

/* Ordinal name of an import by ordinal ("ordN" when unknown) into buf (>= 64 bytes). */
void pe_ord_lookup(const char *dll, uint16_t ord, char *buf, size_t bufsz);

/* Authenticode: fills signatures[] / number_of_signatures. Returns 0 or KS_ENOMEM. */
int pe_parse_certificates(pe_file *pe, ks_object *root);
int pe_fn_valid_on(ks_fnctx *ctx, const ks_val *a, int n, ks_val *ret);

/* Declares the module functions (pe_fn.c). */
int pe_declare_functions(ks_object *root);
int pe_declare_rich_functions(ks_object *rich);

#endif
