import "pe"
import "tests"
rule k1 { strings: $a = "hello" condition: uint16(0) == 0x5a4d and (pe.imphash() == "0123456789abcdef0123456789abcdef" or $a) }
rule k2 { condition: ext_str == "hello" or ext_str == "world" or ext_int == 42 }
rule k3 { condition: ext_bool == 1 and ext_float == 1 }
rule k4 { condition: tests.constants.one == 1 or tests.constants.foo == "foo" or tests.empty() == "" }
rule k5 { strings: $b = "abc" condition: uint8(@b[1] + 3) == 0x41 or k1 }
