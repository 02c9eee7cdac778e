rule text_mods : tag1 tag2 {
  meta:
    author = "kensa"
    n = 3
    b = true
  strings:
    $a = "hello" nocase wide ascii fullword
    $b = "world" xor
    $c = "secret" base64
    $d = "secret" base64wide
    $e = "key" xor(1-255) private
    $f = "abc" base64("!@#$%^&*(){}[].,|ABCDEFGHIJ\x09LMNOPQRSTUVWXYZabcdefghijklmnopqrstu")
  condition:
    any of them
}
