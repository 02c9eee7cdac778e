/*
 * prefilter.h - the multi-pattern prefilter: Vectorscan (Hyperscan) block-mode databases
 * holding every atom of every string: atoms marked `lit` in a pure-literal database
 * (hs_compile_lit_multi, cheaper to compile), all others in a regex database.
 *
 * Atoms are short byte sequences with optional per-byte masks (hex nibbles / wildcards) and an
 * optional case-insensitive flag. The prefilter only says "atom `id` ends at offset `end`";
 * everything it reports is verified exactly by the scanner. Inputs of 4 GiB or more are scanned
 * in overlapping chunks (hs_scan takes a 32-bit length); an atom hit is reported once.
 * Hit order: the regex database's hits first (by end offset), then the literal database's (by end
 * offset); the caller decides which atoms may be literal so that this order cannot matter.
 *
 * A database is built at compile/load time (Vectorscan's serialized form is tied to the CPU and
 * library version, so kensa saves the atoms, never the database). Scratch space is per scanner.
 */
#ifndef KENSA_PREFILTER_H
#define KENSA_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#define PF_MAX_ATOM 64

typedef struct pf_atom {
    uint8_t bytes[PF_MAX_ATOM];
    uint8_t mask[PF_MAX_ATOM];   /* 0xFF exact, 0x00 any, other: nibble masks */
    uint32_t len;                /* 1..PF_MAX_ATOM */
    uint32_t nocase;
    uint32_t lit;                /* set by the caller: may go to the literal database (honoured
                                    only if every mask byte is 0xFF and bytes[0] != 0); not part
                                    of the atom's identity */
    uint32_t shift_ok;           /* set by the caller: the atom's hits may be found through an
                                    exact run inside it, reported out of end order with the other
                                    atoms' hits (each of its strings has this one atom only); not
                                    part of the identity */
} pf_atom;

/* 1 if the atom can be searched by the literal database (no masked byte, first byte not NUL) */
int pf_lit_capable(const pf_atom *a);

typedef struct pf_db pf_db;
typedef struct pf_scratch pf_scratch;

/* Build a database for atoms[0..n); atom i is reported with id i. n may be 0 (then scanning
 * reports nothing). Returns KS_OK, KS_ENOMEM or KS_EINTERNAL (message in err). */
int pf_build(const pf_atom *atoms, uint32_t n, pf_db **out, char *err, size_t errlen);
void pf_free(pf_db *db);

int pf_scratch_alloc(const pf_db *db, pf_scratch **out);
void pf_scratch_free(pf_scratch *s);

/* Called for each atom hit: id and the offset one past the atom's last byte.
 * Return non-zero to stop the scan. */
typedef int (*pf_hit_fn)(uint32_t id, uint64_t end, void *ud);

/* Scan data[0..len). Returns KS_OK (also when stopped by the callback) or an error. */
int pf_scan(const pf_db *db, pf_scratch *s, const uint8_t *data, size_t len, pf_hit_fn fn, void *ud);

#endif
