/*
 * prefilter.h - the multi-pattern prefilter: Vectorscan (Hyperscan) block-mode databases
 * holding every atom of every string: atoms marked `lit` in a pure-literal database
 * (hs_compile_lit_multi, cheaper to compile), all others in a regex database; atoms marked
 * `gated` are also kept apart for data that does not start with "MZ" (pf_scan).
 *
 * Atoms are short byte sequences with optional per-byte masks (hex nibbles / wildcards) and an
 * optional case-insensitive flag. The prefilter only says "atom `id` ends at offset `end`";
 * everything it reports is verified exactly by the scanner. Inputs of 4 GiB or more are scanned
 * in overlapping chunks (hs_scan takes a 32-bit length); an atom hit is reported once.
 * Hit order: the regex database's hits first (by end offset), then the literal database's (by end
 * offset); the caller decides which atoms may be literal so that this order cannot matter.
 *
 * A database is built when rules are compiled. A compiled-rules file also stores it (pf_write:
 * Vectorscan's serialized databases, tied to the CPU features and library version), and loading
 * maps it back (pf_read + pf_open) instead of compiling again; when Vectorscan refuses the stored
 * bytes the caller rebuilds from the rules. Scratch space is per scanner.
 */
#ifndef KENSA_PREFILTER_H
#define KENSA_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/ser.h"

#define PF_MAX_ATOM 64

typedef struct pf_atom {
    uint8_t bytes[PF_MAX_ATOM];
    uint8_t mask[PF_MAX_ATOM];   /* 0xFF exact, 0x00 any, other: nibble masks */
    uint32_t len;                /* 1..PF_MAX_ATOM */
    uint32_t nocase;
    uint32_t lit;                /* set by the caller: may go to the literal database (honoured
                                    only if pf_lit_capable); not part of the atom's identity */
    uint32_t gated;              /* set by the caller: an atom needed only when the scanned data
                                    starts with "MZ" (pf_scan's gate_open). A regex-database one
                                    goes to a third database; a literal one is left out of the
                                    ungated literal database. Not part of the atom's identity */
} pf_atom;

/* 1 when (v, m) is a letter whose case bit alone is masked (m == 0xDF): it matches the letter
 * in either case. Atoms, prefix filters and the rarity model (freq.c) write caseless letters so. */
static inline int pf_folded(uint8_t v, uint8_t m)
{
    uint8_t u = v & 0xDF;
    return m == 0xDF && u >= 'A' && u <= 'Z';
}

/* 1 if the atom can be searched by the literal database: through the whole atom or a run of
 * 4 bytes or more in it made of exact bytes and letters whose case bit alone is masked (0xDF),
 * leading NULs left out. A run or a folded letter finds a superset of the atom's hits: only
 * atoms whose targets verify the whole atom may be masked (regex and hex strings). Hits are
 * still reported at the atom's end, in end order (pf_scan). */
int pf_lit_capable(const pf_atom *a);

typedef struct pf_db pf_db;
typedef struct pf_scratch pf_scratch;

/* Build a database for atoms[0..n); atom i is reported with id i. n may be 0 (then scanning
 * reports nothing). With threads >= 2 the regex and literal databases are compiled at the same
 * time (the result does not depend on it). Returns KS_OK, KS_ENOMEM or KS_EINTERNAL (message in
 * err). */
int pf_build(const pf_atom *atoms, uint32_t n, int threads, pf_db **out, char *err,
             size_t errlen);
void pf_free(pf_db *db);

int pf_scratch_alloc(const pf_db *db, pf_scratch **out);
void pf_scratch_free(pf_scratch *s);

/* Called for each atom hit: id and the offset one past the atom's last byte.
 * Return non-zero to stop the scan. */
typedef int (*pf_hit_fn)(uint32_t id, uint64_t end, void *ud);

/* Scan data[0..len). With gate_open 0 (the caller passes 1 unless it knows that no gated atom
 * can matter: data not starting with "MZ" and only matching rules wanted), hits of gated atoms
 * may be left out: the gated regex database is not scanned, and the literal database is
 * replaced by the ungated literal one, which the first gate-closed scans build once they have
 * seen enough data (pf_set_lazy_bytes; the build is shared by the threads scanning with db, and
 * a thread that finds another one building goes on with the literal database). Hit order: the
 * regex database's, then the gated one's, then the literal (or ungated literal) one's. Returns
 * KS_OK (also when stopped by the callback) or an error. */
int pf_scan(const pf_db *db, pf_scratch *s, const uint8_t *data, size_t len, int gate_open,
            pf_hit_fn fn, void *ud);

/* Bytes of gate-closed data pf_scan sees before it builds the ungated literal database
 * (default 256 MiB, a quarter of it when three quarters of the data so far had the gate closed;
 * 0: at the first gate-closed scan). Set before scanning. */
void pf_set_lazy_bytes(pf_db *db, uint64_t bytes);

/* ------------------------------------------------------------------ saving and loading
 *
 * Stored form: u32 natoms, u32 max_len of the regex, literal, gated and ungated literal
 * databases, the delta array (natoms bytes), the four databases in that order as
 * hs_serialize_database bytes (empty array: no database). pf_write builds the ungated literal
 * database first if it is still to be built.
 */

/* The Vectorscan library's version string (hs_version()): stored databases are used only by the
 * same version. */
const char *pf_version(void);

/* Write db. Returns KS_OK, KS_ENOMEM (serialization) or the writer's error. */
int pf_write(ser_w *w, const pf_db *db);

/* Read a stored database for `natoms` atoms (the caller's count: a different stored count is an
 * error). Checks every number kensa itself uses (delta and lengths bounded by PF_MAX_ATOM) but
 * does not give the Vectorscan bytes to Vectorscan: they are kept until pf_open. The result
 * must not be scanned with before pf_open succeeded. Returns KS_OK, KS_EFORMAT or KS_ENOMEM
 * (also latched in r); *out is NULL on error. */
int pf_read(ser_r *r, uint32_t natoms, pf_db **out);

/* Deserialize the databases kept by pf_read, once the caller has checked their integrity (the
 * file's digest): Vectorscan trusts its bytecode beyond its header and CRC. Checks that each is
 * a database of this Vectorscan version for this platform (hs_serialized_database_size, then
 * hs_deserialize_database, which refuses another version or CPU feature set and a bytecode that
 * fails its CRC) in block mode (hs_database_info). Frees the kept bytes either way. Returns
 * KS_OK, or KS_EFORMAT when a database is refused (the caller rebuilds from the rules). */
int pf_open(pf_db *db);

#endif
