/*
 * re.h - YARA-dialect regular expressions and hex strings: compile, atoms, verify.
 *
 * A regex (/.../ in a rule) or a hex string ({ 4D 5A ?? [2-4] ( 00 | 01 ) }) compiles into an
 * re_code: a flat, position-independent byte buffer (so compiled rules can be saved and loaded
 * with a memcpy) holding the matching programs, plus a table of *atoms*.
 *
 * Atoms are short literal pieces (<= RE_MAX_ATOM bytes, with per-byte masks for hex nibble
 * wildcards) that every match must contain. The engine puts all atoms of all strings into one
 * Vectorscan database; when an atom is found at offset P (the atom's first byte), it calls
 * re_verify(), which runs the atom's backward program (from P towards the start of the data) and
 * forward program (from P on) and reports each match (start, length) exactly as YARA 4.2.3 would.
 * Match lengths therefore follow YARA's rules, not Perl's or POSIX's: lock-step threads in
 * priority order where a thread reaching MATCH kills the lower-priority ones; lengths depend on
 * where the atom sits, like in YARA; forward matches stop at RE_SCAN_LIMIT bytes.
 *
 * An atom of length 0 means "no usable atom": the engine must call re_verify at every offset.
 *
 * Matching is linear in the input for every pattern (no backtracking blow-up).
 */
#ifndef KENSA_RE_H
#define KENSA_RE_H

#include <stddef.h>
#include <stdint.h>

#define RE_MAX_ATOM 4          /* YARA's atom length */
#define RE_SCAN_LIMIT 4096     /* max bytes a forward (or backward) match may span */
#define RE_NO_CODE UINT32_MAX

/* Compile-time flags (regex modifiers /i /s and string modifiers). */
#define RE_NOCASE   0x01       /* /i or nocase */
#define RE_DOTALL   0x02       /* /s */
#define RE_ASCII    0x04       /* match the plain form (default when neither ASCII nor WIDE given) */
#define RE_WIDE     0x08       /* match the UTF-16LE-ish form (each literal byte followed by 00) */

typedef struct re_atom {
    uint8_t bytes[RE_MAX_ATOM];
    uint8_t mask[RE_MAX_ATOM];  /* 0xFF exact, 0xF0/0x0F nibble, 0x00 any byte */
    uint8_t len;                /* 0..RE_MAX_ATOM; 0 = no atom, verify everywhere */
    uint8_t wide;               /* atom is the wide form (bytes interleaved with 00) */
    uint8_t nocase;             /* atom must be searched case-insensitively */
    uint8_t pad;
    int32_t quality;            /* YARA-like atom quality, for "may slow down scanning" */
    uint32_t fwd;               /* offset of forward program in code[] */
    uint32_t bwd;               /* offset of backward program in code[], or RE_NO_CODE */
} re_atom;

/*
 * Compiled pattern. Allocated as ONE block: the struct header followed by atoms[] and code[],
 * with total size `size` bytes, containing no pointers (offsets only), so it can be written to
 * disk and read back as-is (re_code_check() validates a loaded block).
 */
typedef struct re_code {
    uint32_t size;              /* total bytes of this block, header included */
    uint32_t flags;             /* RE_* flags it was compiled with */
    uint32_t natoms;
    uint32_t atoms_off;         /* offset of re_atom[natoms] from the start of the block */
    uint32_t code_off;          /* offset of program bytes from the start of the block */
    uint32_t code_len;
    uint32_t search_fwd;        /* program used by re_search() (whole pattern, forward) */
    uint8_t  greedy;            /* YARA's STRING_FLAGS_GREEDY_REGEXP */
    uint8_t  fast_hex;          /* hex string that YARA matches with its "fast" executor */
    uint8_t  has_dot_star;      /* contains .*, .+ or .{n,} (YARA warns about these) */
    uint8_t  pad;
    int32_t  min_quality;       /* YARA's quality of the chosen atoms (min over them) */
} re_code;

static inline const re_atom *re_atoms(const re_code *c)
{ return (const re_atom *)((const uint8_t *)c + c->atoms_off); }

/* Errors: RE_OK, or a negative code with a message (YARA's wording where it has one). */
#define RE_OK        0
#define RE_ESYNTAX  -1
#define RE_ENOMEM   -2
#define RE_ELIMIT   -3           /* too large / too complex */

typedef struct re_error {
    char msg[256];               /* e.g. "unterminated hex string", "invalid jump length" */
} re_error;

/* Compile the body of /.../ (without slashes; `len` bytes, may contain any byte).
 * flags: RE_NOCASE, RE_DOTALL, RE_ASCII, RE_WIDE. On success *out is malloc'ed (free()). */
int re_compile_regex(const char *src, size_t len, uint32_t flags, re_code **out, re_error *err);

/* Compile the body of a hex string (between { and }, braces excluded).
 * A hex string with a jump wider than RE_CHAIN_GAP is split into pieces that are matched
 * separately and chained by the engine: *npieces receives the count, out[i] each piece's code,
 * gap_min[i]/gap_max[i] the allowed gap between the END of piece i-1 and the START of piece i
 * (gap_max = -1 for unbounded). For a string that is not split, *npieces = 1.
 * out/gap arrays are malloc'ed by the callee: free each out[i], then the arrays. */
#define RE_CHAIN_GAP 200
int re_compile_hex(const char *src, size_t len, uint32_t flags,
                   re_code ***out, int32_t **gap_min, int32_t **gap_max, int *npieces,
                   re_error *err);

/*
 * ENGINE CONTRACT (what the scanner must do with atoms and re_verify's matches to equal YARA):
 *  1. Search every atom (bytes/mask; nocase: compare A-Z/a-z folded where mask is 0xFF; wide
 *     atoms already contain the 00 bytes). Atoms with len 0: call re_verify at every offset
 *     0..size-1 of the data.
 *  2. Per string, process atom hits in increasing order of the atom's END offset (pos+len-1).
 *     Hits of the same string ending at the same offset: longer atom first, then HIGHER atom
 *     index first (YARA's Aho-Corasick match-list order). Vectorscan reports by end offset; the
 *     engine must sort ties itself (e.g. collect hits per end offset, then sort).
 *  3. For every (start,len) emitted: if the string already has a match at `start`, keep the
 *     existing one, unless c->greedy, in which case overwrite its length with the new one.
 *     Otherwise add it. Report the string's matches sorted by start. Zero-length matches are
 *     never emitted. fullword/private/xor are the engine's business (apply them to emitted
 *     matches as YARA does: fullword rejects a match before it is added).
 *  4. Hex strings split into pieces (re_compile_hex, npieces > 1) are chained by the engine with
 *     gap_min/gap_max (gap_max -1 = unbounded); YARA 4.2.3 reports chained matches from the start
 *     of piece 0 to the end of the last piece (yara -s shows such lengths capped at 512? observed
 *     0x0:512 for a 40004-byte chained match).
 *  5. has_dot_star -> YARA's ".*" warning; re_slow() -> "may slow down scanning".
 */

/* Like re_compile_regex, but for a string's regex: split like a hex string at top-level lazy
 * `.{n,m}?` jumps wider than RE_CHAIN_GAP (yara chains those pieces; the gap is not examined,
 * so it spans newlines too). Same outputs as re_compile_hex. */
int re_compile_regex_pieces(const char *src, size_t len, uint32_t flags,
                            re_code ***out, int32_t **gap_min, int32_t **gap_max, int *npieces,
                            re_error *err);

/* Called for each match found by re_verify: start offset in data, length in bytes, and whether
 * it was found in the wide form (the engine's fullword test depends on it). Return non-zero to
 * stop. */
typedef int (*re_emit_fn)(size_t start, size_t len, int wide, void *ud);

/*
 * Verify atom number `ai` of `c`, found at data[pos] (first byte of the atom), over data[0..size).
 * Emits every match YARA would record for this atom hit, with YARA's lengths, in YARA's order:
 * the forward program runs once (ASCII form, then the WIDE form if the ASCII one fails and the
 * pattern was compiled with RE_WIDE); with a backward program every backward end gives a match.
 * Returns RE_OK or a negative error.
 */
int re_verify(const re_code *c, uint32_t ai, const uint8_t *data, size_t size, size_t pos,
              re_emit_fn emit, void *ud);

/*
 * A necessary condition for re_verify(c, ai, ...) at pos to emit anything: the bytes at
 * data[pos..pos+n) must satisfy (data[pos+i] & mask[i]) == val[i] for every i < n (n <= 8), for
 * at least one of the returned forms. Forms: form 0 is the plain run, form 1 the wide run.
 * Returns n for `form` (0 when the form is never run or has no straight-line prefix).
 * Used by the engine as a cheap pre-check; it never changes results.
 */
int re_fwd_prefix(const re_code *c, uint32_t ai, int form, uint8_t val[8], uint8_t mask[8]);

/* The same straight-line run of `form` from the atom's first byte on, up to `max` bytes
 * (re_fwd_prefix is this with max 8). */
int re_fwd_line(const re_code *c, uint32_t ai, int form, uint32_t max, uint8_t *val,
                uint8_t *mask);

/*
 * The bytes a match must have right before atom `ai` of a plain (not wide) pattern: the
 * straight-line start of its backward program (literal, masked and any bytes, up to `max`), in
 * data order: a match with the atom at pos has (data[pos-n+i] & mask[i]) == val[i] for i < n.
 * Returns n (0 when the atom starts the pattern, the pattern is wide, or what precedes the atom
 * is not straight-line). Any-bytes at the front are left out. The engine prepends them to the
 * atom to search a longer, rarer pattern that ends where the atom does; results never change.
 */
int re_bwd_prefix(const re_code *c, uint32_t ai, uint32_t max, uint8_t *val, uint8_t *mask);

/*
 * A second necessary condition, for hex strings run by the fast executor (no alternatives, not
 * wide): some 4 exact bytes `key` the forward program of atom `ai` must read at
 * data[pos + d + g] for some g in [jmin, jmax], pos being the atom's first byte. The key is the
 * 4 bytes right after the program's first jump (d = the byte steps before it, [jmin, jmax] its
 * range, at most 32 wide) or, without a usable jump, the last 4 exact bytes in a row of its
 * straight part past the atom (jmin = jmax = 0). Returns 1 when found, 0 otherwise. The engine
 * uses it to pick, among many targets sharing one atom, the few worth verifying.
 */
int re_fwd_key(const re_code *c, uint32_t ai, uint32_t *d, uint32_t *jmin, uint32_t *jmax,
               uint8_t key[4]);

/*
 * Necessary conditions beyond the jumps, for hex strings run by the fast executor (no
 * alternatives, not wide): every run of exact bytes that atom `ai`'s forward or backward program
 * must read after at least one jump. For each, run(bytes, n, omin, omax, ud) is called with the
 * run in data order (n <= 16 bytes; a longer run is given by its first 16) and the range of its
 * first byte's offset from the atom's first byte: a match with the atom at pos has
 * data[pos + o .. pos + o + n) == bytes for some o in [omin, omax] (negative: before the atom).
 * Walks at most 4,096 instructions per program.
 */
typedef void (*re_run_fn)(const uint8_t *bytes, uint32_t n, int32_t omin, int32_t omax,
                          void *ud);
void re_far_runs(const re_code *c, uint32_t ai, re_run_fn run, void *ud);

/* Unanchored search of the whole pattern in s[0..len) (for the `matches` operator and module
 * functions taking a regex). Returns 1 if found, 0 if not, negative on error. */
int re_search(const re_code *c, const uint8_t *s, size_t len);

/* 1 when YARA 4.2.3 would warn 'string "$x" may slow down scanning' for this pattern
 * (chosen atoms' quality below YARA's threshold). For split hex strings ask every piece: YARA
 * warns if any piece is slow. */
#define RE_QUALITY_WARN (255 - 22 * RE_MAX_ATOM + 38)
int re_slow(const re_code *c);

/* YARA's heuristic quality of one atom (bytes/mask of len <= RE_MAX_ATOM). */
int re_atom_quality(const uint8_t *bytes, const uint8_t *mask, int len);
/* 1 when YARA would warn that a text string with these (already widened if wide) bytes may slow
 * down scanning: the best RE_MAX_ATOM-byte window is below RE_QUALITY_WARN. */
int re_literal_slow(const uint8_t *s, size_t n);

/* Validate a block loaded from disk (sizes, offsets, program well-formedness). 0 if valid. */
int re_code_check(const re_code *c, size_t size);

#endif
