/*
 * strings.h - from compiled strings to prefilter atoms, and from atom hits to exact matches.
 *
 * Build side (strings_build): every string is expanded into what must be searched:
 *   - text strings into literal *variants* (ascii, wide, each xor key, the three base64 shifts,
 *     ...), each searched through one atom: its rarest 8-byte window (`back` bytes in);
 *   - regex and hex strings into the atoms chosen by re.c, each verified by re_verify(); hits
 *     are first checked against the atom's straight-line forward prefix (re_fwd_prefix), and a
 *     string with a single atom searches that whole prefix instead of the atom (`ext`).
 * Identical atoms are merged: one prefilter pattern, a list of *targets* to verify, pre-sorted
 * in YARA's tie order. See docs/design.md, Performance, for why each piece keeps YARA's results.
 *
 * Run side (strings_scan): the prefilter reports atom ends; each target is verified exactly and
 * recorded in the scanner's per-string match lists (sorted by offset, one match per offset,
 * at most KS_MAX_MATCHES per string). Chained hex pieces are assembled after the pass.
 */
#ifndef KENSA_STRINGS_H
#define KENSA_STRINGS_H

#include <stdint.h>

#include "rules/rules.h"
#include "match/prefilter.h"

#define KS_MAX_MATCHES 1000000

typedef struct str_variant {
    uint32_t str;        /* string index */
    uint32_t off, len;   /* bytes in strings_rt.bytes */
    int32_t xor_key;     /* -1 if not xor */
    uint8_t nocase;
    uint8_t wide;
    uint32_t rfirst, nrival;  /* rivals[rfirst..+nrival): variants of the same string that yara
                                 records first when both match at one offset (prefix-related,
                                 shorter or created earlier); this one is dropped then */
} str_variant;

enum { TG_LIT = 1, TG_RE = 2 };
enum { TWIN_PREV = 1, TWIN_NEXT = 2 };
typedef struct pf_target {
    uint8_t kind;
    uint8_t solo;        /* TG_RE: the string's atoms are all this one prefilter atom, so its
                            hits never tie with other atoms' hits (verified at once) */
    uint8_t nf;          /* TG_RE: number of prefix filters (0: none, always verify) */
    uint8_t flen[2];     /* bytes checked by each filter (<= 8) */
    int8_t ext;          /* TG_RE: the prefilter pattern ends `ext` bytes after the atom (before
                            it when negative): subtract from the hit's end offset (the atom's
                            forward prefix, or a window around it: strings.c, line_window) */
    uint8_t twin;        /* TG_RE: TWIN_PREV: verifies as the target before it in its atom's
                            group does (same program, atom, filters), so a hit replays that
                            one's matches; TWIN_NEXT: the target after it is such a twin */
    uint32_t str;
    uint32_t x;          /* TG_LIT: variant index; TG_RE: res index (piece) */
    uint32_t atom;       /* TG_RE: atom index in the re_code */
    uint32_t back;       /* TG_LIT: bytes from variant start to atom start; TG_RE: 0 */
    uint32_t alen;       /* atom length */
    uint64_t fval[2], fmask[2];  /* TG_RE prefix filters (re_fwd_prefix), little-endian words */
    uint8_t fk[4];       /* TG_RE far key (strings.c, set_far_key): 0 < fklen bytes a match has
                            at pos + o for some o in [fkmin, fkmax], pos being the atom's first
                            byte; fklen 0: none */
    uint8_t fklen;
    uint8_t fkr;         /* index in fk of its rarest byte (freq_byte), the one searched for */
    int32_t fkmin, fkmax;
} pf_target;

/* Targets sharing one atom, dispatched by a second key (re_fwd_key) instead of one by one: a
 * hit ending at `end` looks up the 4 bytes at end + rel + g, g in [jmin, jmax], among the
 * class's sorted keys (gent[first .. first+n)). */
typedef struct tclass {
    int64_t rel;
    uint32_t jmin, jmax;
    uint32_t first, n;
} tclass;
typedef struct gentry {
    uint32_t key;        /* 4 bytes, little-endian */
    uint32_t target;     /* index into targets */
} gentry;

typedef struct strings_rt {
    VEC(str_variant) vars;
    VEC(uint8_t) bytes;
    VEC(uint32_t) rivals;
    VEC(pf_target) targets;      /* grouped by atom id */
    uint32_t *tfirst;            /* atom id -> first target; tfirst[natoms] = targets.n */
    uint32_t natoms;
    uint32_t *tsplit;            /* atom id -> end of the targets checked one by one; targets
                                    [tsplit, tfirst[id+1]) are reached through classes */
    uint32_t *cfirst;            /* atom id -> its classes [cfirst[id], cfirst[id+1]) */
    VEC(tclass) classes;
    VEC(gentry) gent;
    VEC(uint32_t) chained;       /* strings with chained pieces (re_count > 1) */
    VEC(pf_target) everywhere;   /* targets with no atom: verified at every offset */
    pf_db *db;
    uint32_t *piece_str;         /* res index -> string index (KS_NONE for condition regexes) */
    uint32_t *piece_no;          /* res index -> piece number within its string */
} strings_rt;

/* threads: how many threads the prefilter compile may use (pf_build). gated (per rule, may be
 * NULL): 1 for a rule that is false unless the data starts with "MZ" (its condition starts with
 * `uint16(0) == 0x5A4D`); atoms only such rules need are gated (pf_atom.gated): strings_scan
 * with its gate closed leaves their hits out. */
int strings_build(const ks_tables *t, strings_rt *rt, int threads, const uint8_t *gated,
                  char *err, size_t errlen);
void strings_free(strings_rt *rt);

/* Saving and loading (rules.c's compiled-rules file). Stored: vars, bytes, rivals, targets,
 * everywhere, natoms, tfirst, tsplit, cfirst, classes, gent, then the prefilter (pf_write);
 * piece_str, piece_no and chained are derived from the tables again on reading.
 *
 * strings_write: KS_OK or an error. strings_read: reads what strings_write wrote (array sizes
 * checked, nothing else; the prefilter is read, not opened: see pf_read/pf_open); errors are
 * latched in r too. strings_check: 1 when every index in rt is in range for t and for rt's own
 * arrays (what strings_scan relies on: target -> string/variant/regex piece/atom, variant ->
 * bytes/rivals, tfirst/cfirst ascending from 0 to their arrays' sizes, tsplit inside its atom's
 * targets, class -> gent, gent -> a keyed target of its atom, bounded class windows), 0
 * otherwise. On error rt is left for strings_free. */
int strings_write(ser_w *w, const strings_rt *rt);
int strings_read(ser_r *r, const ks_tables *t, strings_rt *rt);
int strings_check(const ks_tables *t, const strings_rt *rt);

/* one recorded match */
typedef struct str_match {
    int64_t off;
    uint32_t len;
    int32_t xor_key;
} str_match;

typedef VEC(str_match) match_list;

/* a hit held back for a lazy string: target index, where it is verified, and whether it goes
 * through the tie order (strings.c, hit_target) */
typedef struct lazy_hit {
    uint64_t end;
    uint32_t tg;
    uint32_t tie;
} lazy_hit;

/* per-scan matching state (owned by the scanner) */
typedef struct strings_state {
    match_list *m;               /* per string */
    match_list *pieces;          /* per res index (only chained pieces use it) */
    uint8_t *too_many;           /* per string: hit the match limit */
    const uint32_t *sgset;       /* per string: its rule's guard set, 0 for none (set by the
                                    scanner; NULL: no string is ever dead) */
    const uint8_t *gsdead;       /* per guard set: 1 when it failed for this scan (gsdead[0] is
                                    0): the rule is false whatever its strings match, so their
                                    hits are not verified */
    uint32_t nfull;              /* strings with too_many set */
    pf_scratch *scratch;
    int fast;                    /* stop recording a string after its first match */
    VEC(uint32_t) hit;           /* strings with at least one match, in order of first match */
    VEC(uint32_t) hitp;          /* chained pieces with at least one match */
    int hit_lost;                /* a hit list could not grow: it is incomplete */
    /* Lazy strings (eval/needs.c), set by the scanner: per string, 1 when the verification of
     * its hits may wait until the search is over (NULL: none may). Held hits are then verified
     * for the strings lazy_need(lazy_ud, si) returns 1 for (all when lazy_need is NULL or a
     * hit list is incomplete), in the order they came. At most LAZY_MAX_HELD are held: past
     * that all are verified and the rest of the scan verifies at once. */
    const uint8_t *lazy;
    int (*lazy_need)(void *ud, uint32_t si);
    void *lazy_ud;
    VEC(lazy_hit) held;
} strings_state;

#define LAZY_MAX_HELD (1u << 16)

int strings_state_init(const ks_tables *t, const strings_rt *rt, strings_state *st);
void strings_state_free(const ks_tables *t, strings_state *st);
void strings_state_reset(const ks_tables *t, strings_state *st);

/* 1 when string si's rule is false for this scan whatever si matches (strings_state.gsdead). */
static inline int str_dead(const strings_state *st, uint32_t si)
{
    return st->sgset && st->gsdead[st->sgset[si]];
}

/* Search all strings in data. gate_open 0: the strings of gated rules (strings_build) may be
 * left unsearched (the caller has marked them dead: their rules' guard failed). Returns KS_OK
 * or an error. */
int strings_scan(const ks_tables *t, const strings_rt *rt, strings_state *st,
                 const uint8_t *data, size_t size, int gate_open);

#endif
