/*
 * test_pe.c - unit tests for the `pe` module: one-line rules over a tiny PE32 DLL built here in
 * memory (two sections, standard imports by name and by ordinal, a delay-load import, exports
 * with a NONAME ordinal, a resource tree with a named type and a version-info resource, a rich
 * header and an overlay), plus hostile variants (truncated headers, huge counts, a resource
 * directory that points at itself, an import table that never ends) that must neither crash nor
 * hang. Expected values were checked with yara 4.2.3 on the same bytes (`test_pe --write DIR`
 * writes the fixture so tests/modules/pe_compare.sh can diff yara -D against kensa -D on it).
 * Exit status: number of failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/rule_test.h"

#define PE_SIZE 0xC10
static uint8_t pe[PE_SIZE];

static void w16(uint32_t off, uint32_t v)
{
    pe[off] = (uint8_t)v;
    pe[off + 1] = (uint8_t)(v >> 8);
}

static void w32(uint32_t off, uint32_t v)
{
    w16(off, v & 0xffff);
    w16(off + 2, v >> 16);
}

static void wstr(uint32_t off, const char *s)
{
    memcpy(pe + off, s, strlen(s) + 1);
}

/* UTF-16LE of an ASCII string, NUL-terminated; returns bytes written. */
static uint32_t wwide(uint32_t off, const char *s)
{
    uint32_t k = 0;
    for (; s[k]; k++)
        w16(off + 2 * k, (uint8_t)s[k]);
    w16(off + 2 * k, 0);
    return 2 * (k + 1);
}

#define RVA(r) ((r) - 0x2000 + 0x400)    /* .rdata: rva 0x2000 <-> file 0x400 */
#define A4(x) (((x) + 3) & ~3u)

/* One version-info String: key/value; returns its aligned length. */
static uint32_t vstring(uint32_t off, const char *key, const char *val)
{
    uint32_t k = 6 + wwide(off + 6, key);
    uint32_t v;
    k = A4(k);
    v = wwide(off + k, val);
    w16(off, k + v);
    w16(off + 2, (uint32_t)strlen(val) + 1);
    w16(off + 4, 1);
    return A4(k + v);
}

static void build(void)
{
    uint32_t o;
    memset(pe, 0, sizeof pe);
    /* DOS header + rich header */
    pe[0] = 'M';
    pe[1] = 'Z';
    w32(0x3c, 0xc0);
    {
        const uint32_t key = 0x11223344;
        w32(0x80, 0x536e6144 ^ key);      /* DanS */
        w32(0x84, key);
        w32(0x88, key);
        w32(0x8c, key);
        w32(0x90, 0x00de0001 ^ key);      /* toolid 0xde, version 1 */
        w32(0x94, 5 ^ key);
        w32(0x98, 0x00df0002 ^ key);      /* toolid 0xdf, version 2 */
        w32(0x9c, 7 ^ key);
        w32(0xa0, 0x68636952);            /* Rich */
        w32(0xa4, key);
    }
    /* NT headers */
    o = 0xc0;
    w32(o, 0x00004550);
    w16(o + 4, 0x14c);
    w16(o + 6, 2);
    w32(o + 8, 0x5f000000);
    w16(o + 20, 224);
    w16(o + 22, 0x2102);
    o = 0xd8;                             /* optional header */
    w16(o, 0x10b);
    pe[o + 2] = 2;
    pe[o + 3] = 30;
    w32(o + 4, 0x200);
    w32(o + 8, 0x800);
    w32(o + 16, 0x1000);                  /* entry point */
    w32(o + 20, 0x1000);
    w32(o + 24, 0x2000);
    w32(o + 28, 0x10000000);
    w32(o + 32, 0x1000);
    w32(o + 36, 0x200);
    w16(o + 40, 4);
    w16(o + 48, 4);
    w32(o + 56, 0x3000);
    w32(o + 60, 0x200);
    w16(o + 68, 2);
    w16(o + 70, 0x140);
    w32(o + 72, 0x100000);
    w32(o + 76, 0x1000);
    w32(o + 80, 0x100000);
    w32(o + 84, 0x1000);
    w32(o + 92, 16);
    w32(o + 96 + 0 * 8, 0x2100);          /* export */
    w32(o + 96 + 0 * 8 + 4, 0x90);
    w32(o + 96 + 1 * 8, 0x2000);          /* import */
    w32(o + 96 + 1 * 8 + 4, 0x3c);
    w32(o + 96 + 2 * 8, 0x2300);          /* resource */
    w32(o + 96 + 2 * 8 + 4, 0x100);
    w32(o + 96 + 13 * 8, 0x2200);         /* delay import */
    w32(o + 96 + 13 * 8 + 4, 0x40);
    /* section table at 0xd8 + 224 = 0x1b8 */
    o = 0x1b8;
    memcpy(pe + o, ".text", 5);
    w32(o + 8, 0x200);
    w32(o + 12, 0x1000);
    w32(o + 16, 0x200);
    w32(o + 20, 0x200);
    w32(o + 36, 0x60000020);
    o += 40;
    memcpy(pe + o, ".rdata\0x", 8);       /* junk after the NUL, as some packers leave */
    w32(o + 8, 0x800);
    w32(o + 12, 0x2000);
    w32(o + 16, 0x800);
    w32(o + 20, 0x400);
    w32(o + 36, 0x40000040);
    pe[0x200] = 0xc3;

    /* imports */
    w32(RVA(0x2000), 0x2040);
    w32(RVA(0x2000) + 12, 0x2080);
    w32(RVA(0x2000) + 16, 0x2060);
    w32(RVA(0x2014), 0x2050);
    w32(RVA(0x2014) + 12, 0x2090);
    w32(RVA(0x2014) + 16, 0x2070);
    w32(RVA(0x2040), 0x20a0);
    w32(RVA(0x2044), 0x20b0);
    w32(RVA(0x2050), 0x80000073);         /* WS2_32 ordinal 115 = WSAStartup */
    w32(RVA(0x2060), 0x20a0);
    w32(RVA(0x2064), 0x20b0);
    w32(RVA(0x2070), 0x80000073);
    wstr(RVA(0x2080), "KERNEL32.dll");
    wstr(RVA(0x2090), "WS2_32.dll");
    wstr(RVA(0x20a2), "GetTickCount");
    wstr(RVA(0x20b2), "Sleep");
    /* exports */
    o = RVA(0x2100);
    w32(o + 4, 0x5e000000);
    w32(o + 12, 0x2180);
    w32(o + 16, 1);
    w32(o + 20, 3);
    w32(o + 24, 2);
    w32(o + 28, 0x2130);
    w32(o + 32, 0x2140);
    w32(o + 36, 0x2150);
    w32(RVA(0x2130), 0x1000);
    w32(RVA(0x2134), 0x1010);
    w32(RVA(0x2138), 0x1020);
    w32(RVA(0x2140), 0x2160);
    w32(RVA(0x2144), 0x2170);
    w16(RVA(0x2150), 0);
    w16(RVA(0x2152), 2);
    wstr(RVA(0x2160), "Alpha");
    wstr(RVA(0x2170), "Beta");
    wstr(RVA(0x2180), "tiny.dll");
    /* delay imports */
    o = RVA(0x2200);
    w32(o, 1);
    w32(o + 4, 0x2240);
    w32(o + 8, 0x2250);
    w32(o + 12, 0x2260);
    w32(o + 16, 0x2270);
    wstr(RVA(0x2240), "USER32.dll");
    w32(RVA(0x2260), 0x1000);
    w32(RVA(0x2264), 0x1000);
    w32(RVA(0x2270), 0x2280);
    w32(RVA(0x2274), 0x80000005);
    wstr(RVA(0x2282), "MessageBoxA");
    /* resources at rva 0x2300: root {named "TEST", id 16} -> level 1 {id 1} -> level 2 {0x409} */
    o = RVA(0x2300);
    w32(o + 4, 0x12345678);
    w16(o + 8, 4);
    w16(o + 12, 1);
    w16(o + 14, 1);
    w32(o + 16, 0x80000000 | 0x70);
    w32(o + 20, 0x80000000 | 0x28);
    w32(o + 24, 16);
    w32(o + 28, 0x80000000 | 0x28);
    w16(o + 0x28 + 14, 1);
    w32(o + 0x28 + 16, 1);
    w32(o + 0x28 + 20, 0x80000000 | 0x40);
    w16(o + 0x40 + 14, 1);
    w32(o + 0x40 + 16, 0x409);
    w32(o + 0x40 + 20, 0x58);
    w32(o + 0x58, 0x2400);
    w32(o + 0x58 + 4, 0x100);
    w16(o + 0x70, 4);
    wwide(o + 0x72, "TEST");
    /* version info at rva 0x2400 */
    o = RVA(0x2400);
    {
        uint32_t sfi = o + 92, st = sfi + 36, s = st + 24, total;
        w16(o + 2, 52);
        wwide(o + 6, "VS_VERSION_INFO");
        w32(o + 40, 0xfeef04bd);
        wwide(sfi + 6, "StringFileInfo");
        w16(sfi + 4, 1);
        wwide(st + 6, "040904b0");
        w16(st + 4, 1);
        s += vstring(s, "CompanyName", "Kensa Test");
        s += vstring(s, "ProductName", "tiny");
        s += vstring(s, "FileVersion", "1.0");
        w16(st, s - st);
        w16(sfi, s - sfi);
        total = s - o;
        w16(o, total);
    }
    memcpy(pe + 0xC00, "OVERLAY-OVERLAY!", 16);
}

#define T(cond) rt_check(__LINE__, "import \"pe\" rule t { condition: " cond " }", pe, PE_SIZE, 1)
#define F(cond) rt_check(__LINE__, "import \"pe\" rule t { condition: " cond " }", pe, PE_SIZE, 0)
#define TB(cond, buf, len) \
    rt_check(__LINE__, "import \"pe\" rule t { condition: " cond " }", buf, len, 1)

static void basic(void)
{
    T("pe.is_pe == 1");
    T("pe.machine == pe.MACHINE_I386");
    T("pe.number_of_sections == 2");
    T("pe.timestamp == 0x5f000000");
    T("pe.characteristics & pe.DLL");
    T("pe.is_dll() and pe.is_32bit() and not pe.is_64bit()");
    T("pe.is_dll() == 0x2000");
    T("pe.entry_point == 0x200 and pe.entry_point_raw == 0x1000");
    T("pe.image_base == 0x10000000");
    T("pe.subsystem == pe.SUBSYSTEM_WINDOWS_GUI");
    T("pe.dll_characteristics == (pe.DYNAMIC_BASE | pe.NX_COMPAT)");
    T("pe.linker_version.major == 2 and pe.linker_version.minor == 30");
    T("pe.opthdr_magic == pe.IMAGE_NT_OPTIONAL_HDR32_MAGIC");
    T("pe.sections[0].name == \".text\" and pe.sections[1].name == \".rdata\\x00x\"");
    T("pe.sections[1].raw_data_offset == 0x400 and pe.sections[1].virtual_address == 0x2000");
    T("pe.section_index(\".text\") == 0 and pe.section_index(0x500) == 1");
    F("defined pe.section_index(\".nope\")");
    T("pe.overlay.offset == 0xC00 and pe.overlay.size == 16");
    T("pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_IMPORT].virtual_address == 0x2000");
    T("pe.rva_to_offset(0x2010) == 0x410");
    F("defined pe.rva_to_offset(0x9000)");
    T("pe.number_of_rva_and_sizes == 16");
}

static void imports_exports(void)
{
    T("pe.number_of_imports == 2 and pe.number_of_imported_functions == 3");
    T("pe.imports(\"kernel32.dll\", \"gettickcount\")");
    T("pe.imports(\"KERNEL32.dll\") == 2");
    T("pe.imports(\"ws2_32.dll\", 115)");
    T("pe.imports(\"ws2_32.dll\", \"WSAStartup\")");
    F("pe.imports(\"ws2_32.dll\", 116)");
    T("pe.imports(/kernel32/i, /^Get/) == 1");
    T("pe.import_details[1].library_name == \"WS2_32.dll\"");
    T("pe.import_details[1].functions[2].name == \"WSAStartup\"");      /* 4.2.3 indexing */
    T("pe.import_details[1].number_of_functions == 3");
    T("pe.import_details[1].functions[2].ordinal == 115");
    F("defined pe.import_details[0].functions[0].ordinal");
    /* md5("kernel32.gettickcount,kernel32.sleep,ws2_32.wsastartup") */
    T("pe.imphash() == \"1bf648a36aeaccbd1588fd5c9f997cd9\"");
    T("pe.number_of_delayed_imports == 1 and pe.number_of_delayed_imported_functions == 2");
    T("pe.imports(pe.IMPORT_DELAYED, \"user32.dll\", \"MessageBoxA\")");
    T("pe.imports(pe.IMPORT_DELAYED, \"user32.dll\", 5)");
    F("pe.imports(\"user32.dll\", \"MessageBoxA\")");
    T("pe.imports(pe.IMPORT_ANY, \"user32.dll\") == 2");
    T("pe.imports(pe.IMPORT_ANY, /user32/i, /box/i) == 1");
    T("pe.imports(pe.IMPORT_STANDARD, \"kernel32.dll\", \"Sleep\")");
    F("defined pe.delay_import_details[0].library_name");                /* never filled in 4.2.3 */
    T("pe.number_of_exports == 3 and pe.dll_name == \"tiny.dll\"");
    T("pe.export_timestamp == 0x5e000000");
    T("pe.exports(\"alpha\") and pe.exports(\"Beta\") and not pe.exports(\"Gamma\")");
    T("pe.exports(2) and not pe.exports(4)");
    T("pe.exports(/^Be/) and not pe.exports(/^Ze/)");
    T("pe.exports_index(\"Beta\") == 2 and pe.exports_index(1) == 0");
    F("defined pe.exports_index(\"Gamma\")");
    F("defined pe.export_details[1].name");
    T("pe.export_details[2].offset == 0x220 and pe.export_details[2].ordinal == 3");
}

static void resources_misc(void)
{
    T("pe.number_of_resources == 2 and pe.resource_timestamp == 0x12345678");
    T("pe.resource_version.major == 4");
    T("pe.resources[0].type_string == \"T\\x00E\\x00S\\x00T\\x00\" and not defined pe.resources[0].type");
    T("pe.resources[1].type == pe.RESOURCE_TYPE_VERSION and pe.resources[1].id == 1");
    T("pe.resources[1].language == 0x409 and pe.resources[1].offset == 0x800");
    T("pe.locale(0x409) and pe.language(9) and not pe.locale(0x407)");
    T("pe.version_info[\"CompanyName\"] == \"Kensa Test\"");
    T("pe.version_info[\"ProductName\"] == \"tiny\"");
    T("pe.number_of_version_infos == 3");
    T("pe.version_info_list[2].key == \"FileVersion\" and pe.version_info_list[2].value == \"1.0\"");
    T("pe.rich_signature.offset == 0x80 and pe.rich_signature.length == 32");
    T("pe.rich_signature.key == 0x11223344");
    T("pe.rich_signature.version(1) == 5 and pe.rich_signature.toolid(0xdf) == 7");
    T("pe.rich_signature.version(2, 0xdf) == 7 and pe.rich_signature.toolid(0xde, 2) == 0");
    T("pe.rich_signature.clear_data startswith \"DanS\"");
    T("pe.number_of_signatures == 0");
    T("pe.calculate_checksum() > 0");
}

static void hostile(void)
{
    static uint8_t buf[PE_SIZE];
    /* not a PE: constants defined, the rest undefined */
    TB("pe.is_pe == 0 and pe.MACHINE_AMD64 == 0x8664", "hello", 5);
    TB("not defined pe.number_of_sections and not defined pe.imphash()", "MZ", 2);
    TB("not defined pe.is_dll() and not defined pe.exports(\"a\")", "", 0);
    /* every truncation of the fixture: no crash, never a PE when the headers are cut */
    for (size_t n = 0; n < 0x300; n += 7)
        TB("not defined pe.number_of_sections or pe.number_of_sections == 2", pe, n);
    /* huge counts */
    memcpy(buf, pe, PE_SIZE);
    buf[0xc0 + 6] = 0xff;
    buf[0xc0 + 7] = 0xff;
    TB("pe.number_of_sections == 65535", buf, PE_SIZE);
    memcpy(buf, pe, PE_SIZE);
    buf[RVA(0x2100) + 20] = 0xff;         /* NumberOfFunctions = 0x...ff */
    buf[RVA(0x2100) + 23] = 0x7f;
    TB("pe.is_pe == 1", buf, PE_SIZE);
    /* resource directory pointing at itself with maximum entry counts */
    memcpy(buf, pe, PE_SIZE);
    {
        uint32_t r = RVA(0x2300);
        buf[r + 12] = 0x00;
        buf[r + 13] = 0x80;               /* 32768 named */
        buf[r + 14] = 0x00;
        buf[r + 15] = 0x80;               /* 32768 ids */
        for (uint32_t e = r + 16; e + 8 <= 0xC00; e += 8) {
            buf[e] = 0;
            buf[e + 1] = 0;
            buf[e + 2] = 0;
            buf[e + 3] = 0x80;
            buf[e + 4] = 0;
            buf[e + 5] = 0;
            buf[e + 6] = 0;
            buf[e + 7] = 0x80;            /* subdirectory at offset 0: the root itself */
        }
    }
    TB("pe.is_pe == 1", buf, PE_SIZE);
    /* an import descriptor table that runs to the end of the file */
    memcpy(buf, pe, PE_SIZE);
    for (uint32_t e = RVA(0x2000); e + 20 <= 0xC00; e += 20) {
        memcpy(buf + e, pe + RVA(0x2000), 20);
    }
    TB("pe.is_pe == 1 and pe.number_of_imports >= 0", buf, PE_SIZE);
    /* e_lfanew far outside / negative */
    memcpy(buf, pe, PE_SIZE);
    buf[0x3f] = 0x80;
    TB("pe.is_pe == 0", buf, PE_SIZE);
    memcpy(buf, pe, PE_SIZE);
    buf[0x3e] = 0x7f;
    TB("pe.is_pe == 0", buf, PE_SIZE);
}

/* One scanner over several files: the module tree is declared once and reset after each scan,
 * and zero-argument calls are remembered within one scan only, so no value may leak from one
 * file to the next (the DLL, an EXE variant of it, a non-PE, the DLL again). */
static int reuse_cb(ks_scanner *sc, const ks_event *ev, void *ud)
{
    (void)sc;
    if (ev->type == KS_EV_RULE_MATCH) {
        char *out = ud;
        strcat(out, ev->rule->id);
        strcat(out, " ");
    }
    return 0;
}

static void scanner_reuse(void)
{
    const char *src = "import \"pe\"\n"
                      "rule dll { condition: pe.is_dll() and pe.number_of_sections == 2 }\n"
                      "rule exe { condition: not pe.is_dll() and pe.number_of_sections == 2 }\n"
                      "rule imp { condition: pe.imphash() != \"\" and pe.exports(\"Beta\") }\n"
                      "rule nope { condition: not defined pe.number_of_sections and not defined pe.is_dll() }\n";
    static uint8_t exe[PE_SIZE];
    memcpy(exe, pe, PE_SIZE);
    exe[0xc0 + 22] = 0x02;                 /* characteristics 0x0102: not a DLL */
    exe[0xc0 + 23] = 0x01;
    const struct { const uint8_t *d; size_t n; const char *want; } cases[] = {
        {pe, PE_SIZE, "dll imp "}, {exe, PE_SIZE, "exe imp "}, {(const uint8_t *)"hello", 5, "nope "},
        {pe, PE_SIZE, "dll imp "},
    };
    ks_compiler *c = NULL;
    ks_rules *r = NULL;
    ks_scanner *sc = NULL;
    rt_count++;
    if (ks_compiler_create(&c) != KS_OK || ks_compiler_add_string(c, src, strlen(src), NULL, "t.yar") != 0 ||
        ks_compiler_get_rules(c, &r) != KS_OK || ks_scanner_create(r, &sc) != KS_OK) {
        fprintf(stderr, "scanner_reuse: setup failed\n");
        rt_failures++;
    } else {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            char got[256] = "";
            if (ks_scanner_scan_mem(sc, cases[k].d, cases[k].n, reuse_cb, got) != KS_OK ||
                strcmp(got, cases[k].want) != 0) {
                fprintf(stderr, "scanner_reuse: scan %zu: got \"%s\", want \"%s\"\n", k, got, cases[k].want);
                rt_failures++;
            }
        }
    }
    ks_scanner_destroy(sc);
    ks_rules_destroy(r);
    ks_compiler_destroy(c);
}

int main(int argc, char **argv)
{
    build();
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        char path[4096];
        FILE *f;
        snprintf(path, sizeof path, "%s/tiny_pe.dll", argv[2]);
        f = fopen(path, "wb");
        if (!f || fwrite(pe, 1, PE_SIZE, f) != PE_SIZE)
            return 1;
        fclose(f);
        return 0;
    }
    basic();
    imports_exports();
    resources_misc();
    hostile();
    scanner_reuse();
    printf("test_pe: %d checks, %d failures\n", rt_count, rt_failures);
    return rt_failures;
}
