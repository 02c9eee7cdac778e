rule hex_forms {
  strings:
    $h1 = { 4D 5A ?? 00 [2-4] ( 01 | 02 03 ) 0? ?0 }
    $h2 = { 61 [-] 62 }
    $h3 = { ( 41 41 | 42 ?? 42 ) [0-8] 43 }
  condition:
    $h1 at 0 or #h2 > 1 or $h3 in (0..filesize)
}
