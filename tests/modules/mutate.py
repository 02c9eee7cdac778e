#!/usr/bin/env python3
"""mutate.py OUTDIR SEED PER_FILE FILE... - write damaged copies of FILEs for differential tests.

For each input: a few truncations, PER_FILE copies with 1-16 random bytes changed anywhere, and
PER_FILE copies with bytes changed in a window around a random offset (dense damage in one
structure). Deterministic for a given SEED."""
import os
import random
import sys

out, seed, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
k = 0
for f in sys.argv[4:]:
    try:
        d = open(f, 'rb').read()
    except OSError:
        continue
    if len(d) < 64:
        continue
    variants = [d[:rng.randint(1, len(d) - 1)] for _ in range(2)]
    for _ in range(per):
        b = bytearray(d)
        for _ in range(rng.randint(1, 16)):
            b[rng.randrange(len(b))] = rng.choice([0, 0xff, 0x7f, 0x80, rng.randrange(256)])
        variants.append(bytes(b))
        b = bytearray(d)
        c = rng.randrange(len(b))
        for _ in range(rng.randint(1, 8)):
            i = min(len(b) - 1, max(0, c + rng.randint(-64, 64)))
            b[i] = rng.randrange(256)
        variants.append(bytes(b))
    for v in variants:
        with open(os.path.join(out, 'm%05d' % k), 'wb') as fh:
            fh.write(v)
        k += 1
