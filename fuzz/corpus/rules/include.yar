include "nonexistent.yar"
rule i { condition: filesize >= 0 }
