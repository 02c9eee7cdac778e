/*
 * test_dex.c - the `dex` module on a tiny DEX file built here (strings, types, protos, fields,
 * methods, one class with class data, a code item, a map list): header values, tables, encoded
 * fields and methods with their resolved names, has_method / has_class overloads; and malformed
 * inputs (bad magic, short header, tables out of the file, dangling indexes, truncated ULEB128).
 * Expected values follow YARA 4.2.3.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rule_test.h"

#define R(c) "import \"dex\" rule t { condition: " c " }"

static void p32(uint8_t *b, size_t o, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        b[o + (size_t)k] = (uint8_t)(v >> (8 * k));
}

static void p16(uint8_t *b, size_t o, uint16_t v)
{
    b[o] = (uint8_t)v;
    b[o + 1] = (uint8_t)(v >> 8);
}

/* Layout (offsets): header 0 | string_ids 0x70 (4) | type_ids 0x80 (2) | proto_ids 0x88 (1) |
 * field_ids 0x94 (1) | method_ids 0x9c (2) | class_defs 0xac (1) | string data 0xcc |
 * code item 0x100 | class data 0x120 | map 0x140. Returns the size. */
static size_t build(uint8_t *b)
{
    static const char *const strs[] = {"LMain;", "V", "main", "count"};
    size_t o = 0xcc;
    memset(b, 0, 0x200);
    memcpy(b, "dex\n035", 8);
    p32(b, 8, 0xdeadbeef);
    p32(b, 32, 0x170);
    p32(b, 36, 0x70);
    p32(b, 40, 0x12345678);
    p32(b, 52, 0x140);
    p32(b, 56, 4), p32(b, 60, 0x70);
    p32(b, 64, 2), p32(b, 68, 0x80);
    p32(b, 72, 1), p32(b, 76, 0x88);
    p32(b, 80, 1), p32(b, 84, 0x94);
    p32(b, 88, 2), p32(b, 92, 0x9c);
    p32(b, 96, 1), p32(b, 100, 0xac);
    for (int k = 0; k < 4; k++) {
        size_t l = strlen(strs[k]);
        p32(b, 0x70 + 4 * (size_t)k, (uint32_t)o);
        b[o] = (uint8_t)l;
        memcpy(b + o + 1, strs[k], l);
        o += l + 2;
    }
    p32(b, 0x80, 0);                  /* type 0 = "LMain;" */
    p32(b, 0x84, 1);                  /* type 1 = "V" */
    p32(b, 0x88, 1), p32(b, 0x8c, 1); /* proto 0: shorty "V" */
    p16(b, 0x94, 0), p16(b, 0x96, 1), p32(b, 0x98, 3);   /* field: LMain;.count:V */
    p16(b, 0x9c, 0), p16(b, 0x9e, 0), p32(b, 0xa0, 2);   /* method 0: LMain;.main */
    p16(b, 0xa4, 0), p16(b, 0xa6, 0), p32(b, 0xa8, 9);   /* method 1: name past strings */
    p32(b, 0xac, 0), p32(b, 0xb0, 1), p32(b, 0xc4, 0x120);
    p16(b, 0x100, 3), p16(b, 0x102, 1), p32(b, 0x10c, 2);  /* code: 2 insns */
    b[0x110] = 0x0e;
    static const uint8_t cd[] = {1, 0, 2, 0, /* fields */ 0, 9, /* methods */ 0, 9, 0x80, 2,
                                 1, 1, 0};
    memcpy(b + 0x120, cd, sizeof cd);
    p32(b, 0x140, 2);
    p16(b, 0x144, 0), p32(b, 0x148, 1);
    p16(b, 0x150, 0x1000), p32(b, 0x154, 1), p32(b, 0x158, 0x140);
    return 0x170;
}

static void good(void)
{
    uint8_t b[0x200];
    size_t n = build(b);
    assert_true_rule_blob(R("dex.header.magic == dex.DEX_FILE_MAGIC_035 and "
                            "dex.header.checksum == 0xdeadbeef and "
                            "dex.header.endian_tag == dex.ENDIAN_CONSTANT"), b, n);
    assert_true_rule_blob(R("dex.header.string_ids_size == 4 and dex.string_ids[2].value == "
                            "\"main\" and dex.string_ids[2].size == 4"), b, n);
    assert_true_rule_blob(R("dex.type_ids[1].descriptor_idx == 1 and dex.proto_ids[0].shorty_idx "
                            "== 1 and dex.field_ids[0].name_idx == 3 and "
                            "dex.method_ids[1].name_idx == 9"), b, n);
    assert_true_rule_blob(R("dex.class_defs[0].class_data_offset == 0x120 and "
                            "dex.class_defs[0].access_flags == dex.ACC_PUBLIC and "
                            "dex.class_data_item[0].static_fields_size == 1 and "
                            "dex.class_data_item[0].direct_methods_size == 2"), b, n);
    assert_true_rule_blob(R("dex.map_list.size == 2 and dex.map_list.map_item[1].type == "
                            "dex.TYPE_MAP_LIST"), b, n);
    assert_true_rule_blob(R("dex.number_of_fields == 1 and dex.field[0].name == \"count\" and "
                            "dex.field[0].class_name == \"LMain;\" and dex.field[0].proto == \"V\""
                            " and dex.field[0].access_flags == 9"), b, n);
    /* method 1's name index is past the strings: its name stays undefined, the rest is set */
    assert_true_rule_blob(R("dex.number_of_methods == 2 and dex.method[0].name == \"main\" and "
                            "dex.method[0].class_name == \"LMain;\" and dex.method[0].proto == "
                            "\"V\" and dex.method[0].direct == 1 and dex.method[0].virtual == 0 "
                            "and dex.method[0].code_off == 0x100 and "
                            "dex.method[0].code_item.registers_size == 3 and "
                            "dex.method[0].code_item.insns_size == 2 and "
                            "dex.method[0].code_item.insns == \"\\x0e\\x00\\x00\\x00\" and "
                            "dex.method[1].method_idx_diff == 1 and not defined dex.method[1].name and "
                            "dex.method[1].class_name == \"LMain;\""),
                          b, n);
    assert_true_rule_blob(R("dex.has_method(\"main\") and dex.has_method(\"LMain;\", \"main\") and "
                            "not dex.has_method(\"LOther;\", \"main\") and dex.has_method(/ai/) and "
                            "dex.has_method(/Main/, /^m/) and dex.has_class(\"LMain;\") and "
                            "dex.has_class(/^L/) and not dex.has_class(\"x\")"), b, n);
}

static void malformed(void)
{
    uint8_t b[0x200];
    size_t n = build(b);
    assert_true_rule_blob(R("not defined dex.header.magic and dex.ACC_STATIC == 8 and "
                            "not defined dex.has_method(\"main\")"), b, 0x6f);
    assert_true_rule_blob(R("defined dex.header.magic and not defined dex.string_ids[0].value"
                            " and not defined dex.number_of_methods"), b, 0x70);
    b[6] = '0';
    assert_true_rule_blob(R("not defined dex.header.magic"), b, n);
    n = build(b);
    p32(b, 64, 0x100000);             /* type_ids out of the file: parse ends */
    assert_true_rule_blob(R("defined dex.string_ids[0].value and not defined "
                            "dex.type_ids[0].descriptor_idx and not defined dex.number_of_methods"),
                          b, n);
    n = build(b);
    p32(b, 0x70, 0xffffff);           /* one string out of the file */
    assert_true_rule_blob(R("not defined dex.string_ids[0].value and dex.string_ids[1].value == "
                            "\"V\" and not defined dex.field[0].class_name"), b, n);
    n = build(b);
    p32(b, 0x140, 0x7fffffff);        /* map size huge */
    assert_true_rule_blob(R("dex.map_list.size == 0x7fffffff and "
                            "not defined dex.map_list.map_item[0].type and "
                            "not defined dex.number_of_methods"), b, n);
    n = build(b);
    p32(b, 0xc4, 0x16c);              /* class data too close to the end: parse ends */
    assert_true_rule_blob(R("defined dex.class_defs[0].class_idx and "
                            "not defined dex.class_data_item[0].static_fields_size"), b, n);
    n = build(b);
    memset(b + 0x120, 0xff, 16);      /* ULEB128s never end */
    assert_true_rule_blob(R("defined dex.class_data_item[0].static_fields_size or true"), b, n);
}

int main(void)
{
    good();
    malformed();
    RT_DONE();
}
