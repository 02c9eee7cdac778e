global private rule g { condition: filesize > 10 }
private rule p { strings: $x = "MZ" condition: $x at 0 }
rule uses_p : t { condition: p and not false }
rule set_of { strings: $a1 = "a" $a2 = "b" $z = "zzz" condition: any of ($a*) and none of ($z) }
