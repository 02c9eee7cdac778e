rule e1 { condition: $nope }
rule e1 { condition: true }
rule e2 { strings: $a = "x" condition: true }
rule e3 { strings: $h = { 4G } condition: $h }
rule e4 { strings: $r = /(unclosed/ condition: $r }
