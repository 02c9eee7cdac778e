rule regexes {
  strings:
    $r1 = /hel+o\s(w|W)or[a-z]{1,3}d?/is
    $r2 = /^MZ.{2,8}$/s
    $r3 = /[\x00-\x1f]{4}\b/
    $r4 = /(a|b)*c+?[^\d\W]/ wide ascii nocase
  condition:
    2 of ($r*)
}
