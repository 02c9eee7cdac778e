rule cond_ops {
  strings:
    $a = "abc"
    $b = "hello"
  condition:
    (#a >= 1 and @a[1] < 100 and !a[1] == 3) or
    for all i in (1..#b) : (@b[i] + !b[i] <= filesize) or
    for any of ($a, $b) : ($ at 0) or
    uint16(0) == 0x5A4D and int32be(4) != -1 or
    (filesize \ 2) % 7 == 3 and (1 << 3 | 4 & 6 ^ 1) == ~0 or
    ext_int * 2 == 84 and ext_str matches /ell/ and ext_bool and ext_float > 1.0
}
