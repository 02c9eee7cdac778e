rule r { strings: $a = { ( 41 | 42 ) [0-2] ?? } $b = /(a|)*b{0,}/ condition: #a > 0 or !b[1] == 0 or for any i in (0..#a) : (@a[i] > 0) }
