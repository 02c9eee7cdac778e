import "math"
import "hash"
import "time"
rule modules {
  condition:
    math.entropy(0, filesize) > 1.0 and
    hash.md5(0, filesize) != "" and
    math.mean(0, 16) > 0 and
    time.now() > 0
}
