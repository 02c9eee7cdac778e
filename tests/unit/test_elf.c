/*
 * test_elf.c - the `elf` module on tiny ELF files built here (32/64-bit, little/big endian):
 * header fields, entry point as a file offset, sections with names, segments, symbols; and
 * malformed inputs (truncated headers, huge counts, bad string tables, unmapped entry points),
 * which must leave values undefined without crashing. Expected values follow YARA 4.2.3.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rule_test.h"

typedef struct w {
    uint8_t *b;
    int be, b64;
} w;

static void put(w *x, size_t off, uint64_t v, int n)
{
    for (int k = 0; k < n; k++) {
        int sh = x->be ? (n - 1 - k) * 8 : k * 8;
        x->b[off + (size_t)k] = (uint8_t)(v >> sh);
    }
}

/* class-sized word */
static void put_word(w *x, size_t off, uint64_t v)
{
    put(x, off, v, x->b64 ? 8 : 4);
}

/* Layout: ehdr | 1 phdr | 8 code bytes | shstrtab | strtab | symtab (2 syms) | 5 shdrs.
 * Returns the size. Sections: null, .text, .shstrtab, .symtab, .strtab. */
static size_t build(uint8_t *buf, size_t cap, int b64, int be)
{
    w x = {buf, be, b64};
    size_t eh = b64 ? 64 : 52, ph = b64 ? 56 : 32, sh = b64 ? 64 : 40, sy = b64 ? 24 : 16;
    size_t code = eh + ph, shstr = code + 8;
    static const char shs[] = "\0.text\0.shstrtab\0.symtab\0.strtab";
    static const char strs[] = "\0main\0data";
    size_t str = shstr + sizeof shs, sym = (str + sizeof strs + 7) & ~(size_t)7;
    size_t shoff = sym + 2 * sy, total = shoff + 5 * sh;
    if (total > cap)
        return 0;
    memset(buf, 0, total);
    memcpy(buf, "\x7f" "ELF", 4);
    buf[4] = b64 ? 2 : 1;
    buf[5] = be ? 2 : 1;
    buf[6] = 1;
    put(&x, 16, 2, 2);                   /* ET_EXEC */
    put(&x, 18, b64 ? 62 : 3, 2);        /* EM_X86_64 / EM_386 */
    put(&x, 20, 1, 4);
    put_word(&x, 24, 0x400000 + code);       /* entry */
    put_word(&x, b64 ? 32 : 28, eh);         /* phoff */
    put_word(&x, b64 ? 40 : 32, shoff);      /* shoff */
    put(&x, b64 ? 52 : 40, eh, 2);
    put(&x, b64 ? 54 : 42, ph, 2);
    put(&x, b64 ? 56 : 44, 1, 2);
    put(&x, b64 ? 58 : 46, sh, 2);
    put(&x, b64 ? 60 : 48, 5, 2);
    put(&x, b64 ? 62 : 50, 2, 2);        /* shstrndx */
    /* PT_LOAD, R+X, maps the whole file at 0x400000 */
    put(&x, eh, 1, 4);
    if (b64) {
        put(&x, eh + 4, 5, 4);
        put_word(&x, eh + 8, 0);
        put_word(&x, eh + 16, 0x400000);
        put_word(&x, eh + 24, 0x400000);
        put_word(&x, eh + 32, total);
        put_word(&x, eh + 40, total);
        put_word(&x, eh + 48, 0x1000);
    } else {
        put_word(&x, eh + 4, 0);
        put_word(&x, eh + 8, 0x400000);
        put_word(&x, eh + 12, 0x400000);
        put_word(&x, eh + 16, total);
        put_word(&x, eh + 20, total);
        put(&x, eh + 24, 5, 4);
        put_word(&x, eh + 28, 0x1000);
    }
    memcpy(buf + code, "\x90\x90\x90\x90\xc3\0\0\0", 8);
    memcpy(buf + shstr, shs, sizeof shs);
    memcpy(buf + str, strs, sizeof strs);
    /* symbols: [0] null, [1] "main" FUNC GLOBAL in section 1 */
    put(&x, sym + sy, 1, 4);
    if (b64) {
        buf[sym + sy + 4] = 0x12;
        put(&x, sym + sy + 6, 1, 2);
        put_word(&x, sym + sy + 8, 0x400000 + code);
        put_word(&x, sym + sy + 16, 5);
    } else {
        put_word(&x, sym + sy + 4, 0x400000 + code);
        put_word(&x, sym + sy + 8, 5);
        buf[sym + sy + 12] = 0x12;
        put(&x, sym + sy + 14, 1, 2);
    }
    /* section headers */
    struct { uint32_t name, type; uint64_t flags, addr, off, size; uint32_t link; } s[5] = {
        {0, 0, 0, 0, 0, 0, 0},
        {1, 1, 6, 0x400000 + code, code, 8, 0},
        {7, 3, 0, 0, shstr, sizeof shs, 0},
        {17, 2, 0, 0, sym, 2 * sy, 4},
        {25, 3, 0, 0, str, sizeof strs, 0},
    };
    for (int i = 0; i < 5; i++) {
        size_t o = shoff + (size_t)i * sh;
        put(&x, o, s[i].name, 4);
        put(&x, o + 4, s[i].type, 4);
        put_word(&x, o + 8, s[i].flags);
        put_word(&x, o + (b64 ? 16 : 12), s[i].addr);
        put_word(&x, o + (b64 ? 24 : 16), s[i].off);
        put_word(&x, o + (b64 ? 32 : 20), s[i].size);
        put(&x, o + (b64 ? 40 : 24), s[i].link, 4);
    }
    return total;
}

#define R(cond) "import \"elf\" rule t { condition: " cond " }"

static void check_good(int b64, int be)
{
    uint8_t buf[1024];
    size_t n = build(buf, sizeof buf, b64, be);
    size_t code = b64 ? 64 + 56 : 52 + 32;
    char rule[256];
    assert_true_rule_blob(R("elf.type == elf.ET_EXEC"), buf, n);
    assert_true_rule_blob(b64 ? R("elf.machine == elf.EM_X86_64") : R("elf.machine == elf.EM_386"),
                          buf, n);
    snprintf(rule, sizeof rule, R("elf.entry_point == %zu"), code);
    assert_true_rule_blob(rule, buf, n);
    assert_true_rule_blob(R("elf.number_of_sections == 5 and elf.number_of_segments == 1"), buf, n);
    assert_true_rule_blob(R("elf.sections[1].name == \".text\" and elf.sections[1].size == 8"),
                          buf, n);
    assert_true_rule_blob(R("elf.sections[2].type == elf.SHT_STRTAB"), buf, n);
    assert_true_rule_blob(R("elf.sections[1].flags & elf.SHF_EXECINSTR"), buf, n);
    assert_true_rule_blob(R("elf.segments[0].type == elf.PT_LOAD and "
                            "elf.segments[0].flags == elf.PF_R | elf.PF_X and "
                            "elf.segments[0].virtual_address == 0x400000"), buf, n);
    assert_true_rule_blob(R("elf.symtab_entries == 2 and elf.symtab[1].name == \"main\" and "
                            "elf.symtab[1].type == elf.STT_FUNC and "
                            "elf.symtab[1].bind == elf.STB_GLOBAL and elf.symtab[1].shndx == 1 "
                            "and elf.symtab[1].size == 5"), buf, n);
    assert_true_rule_blob(R("elf.symtab[0].name == \"\""), buf, n);
    assert_true_rule_blob(R("not defined elf.dynsym_entries and not defined elf.dynamic_section_entries"),
                          buf, n);
    assert_true_rule_blob(R("for any s in elf.sections : (s.name == \".symtab\")"), buf, n);
}

static void check_malformed(void)
{
    uint8_t buf[1024], t[1024];
    size_t n = build(buf, sizeof buf, 1, 0);
    /* truncated: nothing but the constants */
    for (size_t cut = 0; cut <= 64; cut += 4) {
        assert_true_rule_blob(R("not defined elf.type and elf.ET_EXEC == 2"), buf, cut);
    }
    assert_true_rule_blob(R("defined elf.type"), buf, 65);
    /* cut in the middle of the section table: header fields only */
    assert_true_rule_blob(R("defined elf.type and not defined elf.sections[0].type and "
                            "elf.number_of_segments == 1"), buf, n - 10);
    /* huge section count */
    memcpy(t, buf, n);
    t[60] = 0xff;
    t[61] = 0xfe;
    assert_true_rule_blob(R("elf.number_of_sections == 0xfeff and not defined elf.sections[0].type"),
                          t, n);
    /* huge program header count */
    memcpy(t, buf, n);
    t[56] = 0xff;
    t[57] = 0xff;
    assert_true_rule_blob(R("not defined elf.segments[0].type and not defined elf.entry_point"), t,
                          n);
    /* shstrndx out of range: no sections */
    memcpy(t, buf, n);
    t[62] = 9;
    assert_true_rule_blob(R("not defined elf.sections[0].type"), t, n);
    /* entry point outside every segment */
    memcpy(t, buf, n);
    t[24 + 3] = 0x7f;
    assert_true_rule_blob(R("not defined elf.entry_point"), t, n);
    /* zero entry point: undefined */
    memcpy(t, buf, n);
    memset(t + 24, 0, 8);
    assert_true_rule_blob(R("not defined elf.entry_point"), t, n);
    /* huge section offsets and sizes in the symbol table header */
    memcpy(t, buf, n);
    memset(t + n - 2 * 64 + 24, 0xff, 16);
    assert_true_rule_blob(R("not defined elf.symtab_entries and elf.number_of_sections == 5"), t, n);
    /* a string table not starting with NUL: names undefined */
    memcpy(t, buf, n);
    t[64 + 56 + 8] = 'x';
    assert_true_rule_blob(R("not defined elf.sections[1].name"), t, n);
    /* bad class / data bytes */
    memcpy(t, buf, n);
    t[4] = 3;
    assert_true_rule_blob(R("not defined elf.type"), t, n);
    /* not ELF */
    assert_true_rule_blob(R("not defined elf.type and not defined elf.number_of_sections"),
                          "MZ\x90\x00", 4);
}

int main(void)
{
    check_good(1, 0);
    check_good(1, 1);
    check_good(0, 0);
    check_good(0, 1);
    check_malformed();
    /* YARA 4.2.3 has no symbol visibility, telfhash, import_md5 or exports */
    assert_error(R("elf.symtab[0].visibility == 0"));
    assert_error(R("elf.telfhash() == \"\""));
    assert_error(R("elf.import_md5() == \"\""));
    assert_true_rule(R("elf.PT_GNU_STACK == 0x6474e551 and elf.DT_ENCODING == 32"), "");
    RT_DONE();
}
