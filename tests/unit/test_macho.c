/*
 * test_macho.c - the `macho` module on tiny Mach-O files built here: thin 32/64-bit in both
 * byte orders (header, segments, sections, LC_MAIN entry point and stack size, LC_UNIXTHREAD
 * entry point mapped through the segments), fat files (fat_arch[], file[], the helper
 * functions), and malformed inputs (short files, oversized commands, huge counts).
 * Expected values follow YARA 4.2.3.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rule_test.h"

#define R(c) "import \"macho\" rule t { condition: " c " }"

static void put(uint8_t *b, size_t off, uint64_t v, int n, int be)
{
    for (int k = 0; k < n; k++)
        b[off + (size_t)k] = (uint8_t)(v >> (be ? (n - 1 - k) * 8 : k * 8));
}

/* header | segment "__TEXT" with one section "__text" | LC_MAIN or LC_UNIXTHREAD (x86/x86_64).
 * vmaddr 0x1000, vmsize 0x1000, fileoff 0; entry 0x1010 -> offset 0x10. Returns the size. */
static size_t build(uint8_t *b, int b64, int be, int thread)
{
    size_t hs = b64 ? 32 : 28, seg = b64 ? 72 : 56, sec = b64 ? 80 : 68, o = hs;
    size_t ts = b64 ? 168 : 64, pc = b64 ? 128 : 40;
    memset(b, 0, 1024);
    put(b, 0, b64 ? 0xfeedfacf : 0xfeedface, 4, be);
    put(b, 4, b64 ? 0x01000007 : 7, 4, be);
    put(b, 8, 3, 4, be);
    put(b, 12, 2, 4, be);
    put(b, 16, 2, 4, be);
    put(b, 24, 0x200085, 4, be);
    put(b, o, b64 ? 0x19 : 1, 4, be);
    put(b, o + 4, seg + sec, 4, be);
    memcpy(b + o + 8, "__TEXT", 6);
    if (b64) {
        put(b, o + 24, 0x1000, 8, be);
        put(b, o + 32, 0x1000, 8, be);
        put(b, o + 48, 0x200, 8, be);
        put(b, o + 56, 7, 4, be);
        put(b, o + 64, 1, 4, be);
    } else {
        put(b, o + 24, 0x1000, 4, be);
        put(b, o + 28, 0x1000, 4, be);
        put(b, o + 36, 0x200, 4, be);
        put(b, o + 40, 7, 4, be);
        put(b, o + 48, 1, 4, be);
    }
    memcpy(b + o + seg, "__text", 6);
    memcpy(b + o + seg + 16, "__TEXT", 6);
    put(b, o + seg + 32, 0x1010, b64 ? 8 : 4, be);
    put(b, o + seg + (b64 ? 40 : 36), 0x20, b64 ? 8 : 4, be);
    o += seg + sec;
    if (thread) {
        put(b, o, 5, 4, be);
        put(b, o + 4, 16 + ts, 4, be);
        put(b, o + 16 + pc, 0x1010, b64 ? 8 : 4, be);
        o += 16 + ts;
    } else {
        put(b, o, 0x80000028, 4, be);
        put(b, o + 4, 24, 4, be);
        put(b, o + 8, 0x1234, 8, be);
        put(b, o + 16, 0x8000, 8, be);
        o += 24;
    }
    put(b, 20, o - hs, 4, be);
    return o + 64;
}

static void thin(int b64, int be)
{
    uint8_t b[1024];
    size_t n = build(b, b64, be, 0);
    assert_true_rule_blob(b64 ? (be ? R("macho.magic == macho.MH_CIGAM_64")
                                    : R("macho.magic == macho.MH_MAGIC_64"))
                              : (be ? R("macho.magic == macho.MH_CIGAM")
                                    : R("macho.magic == macho.MH_MAGIC")), b, n);
    assert_true_rule_blob(b64 ? R("macho.cputype == macho.CPU_TYPE_X86_64 and defined macho.reserved")
                              : R("macho.cputype == macho.CPU_TYPE_I386 and not defined macho.reserved"),
                          b, n);
    assert_true_rule_blob(R("macho.filetype == macho.MH_EXECUTE and macho.ncmds == 2 and "
                            "macho.flags & macho.MH_PIE"), b, n);
    assert_true_rule_blob(R("macho.number_of_segments == 1 and macho.segments[0].segname == "
                            "\"__TEXT\" and macho.segments[0].vmaddr == 0x1000 and "
                            "macho.segments[0].fsize == 0x200 and macho.segments[0].nsects == 1"),
                          b, n);
    assert_true_rule_blob(R("macho.segments[0].sections[0].sectname == \"__text\" and "
                            "macho.segments[0].sections[0].addr == 0x1010 and "
                            "macho.segments[0].sections[0].size == 0x20"), b, n);
    assert_true_rule_blob(R("macho.entry_point == 0x1234 and macho.stack_size == 0x8000"), b, n);
    assert_true_rule_blob(R("not defined macho.nfat_arch and "
                            "not defined macho.file_index_for_arch(7)"), b, n);
    n = build(b, b64, be, 1);
    assert_true_rule_blob(R("macho.entry_point == 0x10 and not defined macho.stack_size"), b, n);
}

static void fat(void)
{
    uint8_t b[4096 + 1024], t[1024];
    size_t n = build(t, 1, 0, 0);
    memset(b, 0, sizeof b);
    put(b, 0, 0xcafebabe, 4, 1);
    put(b, 4, 2, 4, 1);
    put(b, 8, 0x01000007, 4, 1);      /* arch 0: x86_64 at 0x1000 */
    put(b, 12, 3, 4, 1);
    put(b, 16, 0x1000, 4, 1);
    put(b, 20, n, 4, 1);
    put(b, 28, 0x0100000c, 4, 1);     /* arch 1: arm64, out of the file */
    put(b, 36, 0x100000, 4, 1);
    put(b, 40, 16, 4, 1);
    memcpy(b + 0x1000, t, n);
    n += 0x1000;
    assert_true_rule_blob(R("macho.fat_magic == macho.FAT_MAGIC and macho.nfat_arch == 2 and "
                            "macho.fat_arch[1].cputype == macho.CPU_TYPE_ARM64"), b, n);
    assert_true_rule_blob(R("macho.file[0].entry_point == 0x1234 and "
                            "macho.file[0].segments[0].segname == \"__TEXT\" and "
                            "not defined macho.file[1].magic and not defined macho.magic"), b, n);
    assert_true_rule_blob(R("macho.file_index_for_arch(macho.CPU_TYPE_X86_64) == 0 and "
                            "macho.file_index_for_arch(macho.CPU_TYPE_X86_64, 3) == 0 and "
                            "not defined macho.file_index_for_arch(macho.CPU_TYPE_ARM64)"), b, n);
    assert_true_rule_blob(R("macho.entry_point_for_arch(macho.CPU_TYPE_X86_64) == 0x1000 + 0x1234"
                            " and macho.entry_point_for_arch(macho.CPU_TYPE_X86_64, 3) == 0x2234"),
                          b, n);
    /* arm64 has no file: both forms add YARA's UNDEFINED constant to the offset (a defined,
     * meaningless value), as YARA 4.2.3 does */
    assert_true_rule_blob(R("macho.entry_point_for_arch(macho.CPU_TYPE_ARM64, 0) < 0 and "
                            "defined macho.entry_point_for_arch(macho.CPU_TYPE_ARM64)"), b, n);
    /* huge count: only fat_magic and nfat_arch */
    put(b, 4, 0xffffffff, 4, 1);
    assert_true_rule_blob(R("macho.nfat_arch == 0xffffffff and not defined macho.fat_arch[0].cputype"
                            " and not defined macho.file_index_for_arch(7)"), b, n);
}

static void malformed(void)
{
    uint8_t b[1024];
    size_t n = build(b, 0, 0, 0);
    assert_true_rule_blob(R("not defined macho.magic and macho.MH_MAGIC == 0xfeedface"), b, 31);
    assert_true_rule_blob(R("macho.magic == macho.MH_MAGIC and macho.number_of_segments == 0"), b, 40);
    put(b, 28 + 4, 0x7fffffff, 4, 0);     /* segment cmdsize past the end: walk stops */
    assert_true_rule_blob(R("macho.number_of_segments == 0 and not defined macho.entry_point"), b, n);
    n = build(b, 1, 0, 0);
    put(b, 16, 0xffffffff, 4, 0);         /* ncmds huge */
    put(b, 32 + 64, 0xffffffff, 4, 0);    /* nsects huge: bounded by cmdsize */
    assert_true_rule_blob(R("macho.number_of_segments == 1 and "
                            "not defined macho.segments[0].sections[1].addr"), b, n);
    put(b, 32 + 4, 7, 4, 0);              /* cmdsize < 8 */
    assert_true_rule_blob(R("macho.number_of_segments == 0"), b, n);
    assert_false_rule_blob(R("defined macho.magic"), "\xca\xfe\xba", 3);
    assert_true_rule_blob(R("defined macho.fat_magic and macho.nfat_arch == 0"),
                          "\xca\xfe\xba\xbe\x00\x00\x00\x00", 8);
}

int main(void)
{
    for (int b64 = 0; b64 < 2; b64++)
        for (int be = 0; be < 2; be++)
            thin(b64, be);
    fat();
    malformed();
    RT_DONE();
}
