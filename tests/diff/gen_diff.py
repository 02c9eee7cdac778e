#!/usr/bin/env python3
"""Differential testing of kensa against yara 4.2.3 with random rules and data.

Each case is one random rule: text strings with every modifier (and their valid combinations,
plus a few invalid ones to compare compile verdicts), hex strings with wildcards, nibbles, jumps
and alternatives, regular expressions with classes, quantifiers, anchors and flags, and a random
condition over them (of / for / # / @ / ! / at / in / arithmetic / integer readers / filesize).
Rules are batched (--batch per rule file); each batch is scanned over a few data files, random
and structured, with instances of the batch's strings planted in them so rules really match.
Both tools run with `-s -L` over the batch's data directory, and the compile verdict, the
matching rules and every string match line (offset, length, identifier, data) are compared.

  gen_diff.py [--cases N] [--seed S] [--kensa PATH] [--yara PATH] [--batch B] [--jobs J]
              [--keep-failures DIR]

The last line printed is `N passed, M failed`. Exit status: 0 all passed, 1 failures, 77 when
yara is not installed (ctest SKIP).
"""
import argparse
import base64
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

B64_STD = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"

# ---------------------------------------------------------------------------- text strings


def rand_text(rng, lo=2, hi=10):
    """A literal: (yara source between the quotes, raw bytes)."""
    src, raw = [], bytearray()
    if rng.random() < 0.06:
        # leading NULs: the literal prefilter searches an atom without them
        for _ in range(rng.randint(1, 2)):
            src.append("\\x00")
            raw.append(0)
    for _ in range(rng.randint(lo, hi)):
        r = rng.random()
        if r < 0.70:
            c = rng.choice(string.ascii_lowercase)
            src.append(c)
            raw.append(ord(c))
        elif r < 0.80:
            c = rng.choice(string.ascii_uppercase + string.digits)
            src.append(c)
            raw.append(ord(c))
        elif r < 0.87:
            c = rng.choice(" .,:;-_=!?#<>()[]{}'%&*+|@~^")
            src.append(c)
            raw.append(ord(c))
        elif r < 0.93:
            b = rng.randrange(256)
            src.append("\\x%02x" % b)
            raw.append(b)
        else:
            e, b = rng.choice([('\\"', 34), ("\\\\", 92), ("\\n", 10), ("\\t", 9)])
            src.append(e)
            raw.append(b)
    return "".join(src), bytes(raw)


def rand_alphabet(rng):
    chars = list(string.ascii_letters + string.digits + "+/!@#$%^&*()-_=.,")
    rng.shuffle(chars)
    return "".join(chars[:64])


class TextString:
    kind = "text"

    def __init__(self, rng, allow_invalid):
        self.src_text, self.raw = rand_text(rng, 3 if rng.random() < 0.8 else 2, 10)
        mods = []
        self.nocase = self.wide = self.ascii = self.fullword = False
        self.xor = None
        self.b64 = None          # (alphabet or None, wide?) list
        self.b64_alpha = None
        self.b64_modes = []
        r = rng.random()
        if r < 0.2:
            # xor family
            x = rng.random()
            if x < 0.4:
                mods.append("xor")
                self.xor = (0, 255)
            elif x < 0.7:
                k = rng.randrange(256)
                mods.append("xor(%s)" % (k if rng.random() < 0.5 else hex(k)))
                self.xor = (k, k)
            else:
                a = rng.randrange(256)
                b = rng.randrange(a, 256)
                mods.append("xor(%d-%d)" % (a, b))
                self.xor = (a, b)
        elif r < 0.35:
            alpha = rand_alphabet(rng) if rng.random() < 0.3 else None
            self.b64_alpha = alpha
            which = rng.choice(["base64", "base64wide", "both"])
            for w in (["base64", "base64wide"] if which == "both" else [which]):
                mods.append(w if alpha is None else '%s("%s")' % (w, alpha))
                self.b64_modes.append(w == "base64wide")
        elif rng.random() < 0.4:
            mods.append("nocase")
            self.nocase = True
        if not self.b64_modes:
            if rng.random() < 0.3:
                mods.append("wide")
                self.wide = True
                if rng.random() < 0.5:
                    mods.append("ascii")
                    self.ascii = True
            if rng.random() < 0.15:
                mods.append("fullword")
                self.fullword = True
        if rng.random() < 0.1:
            mods.append("private")
        if allow_invalid and rng.random() < 0.5:
            mods.append(rng.choice(["nocase", "fullword", "xor", "base64", "wide wide",
                                    'base64("abc")', "xor(300)"]))
        rng.shuffle(mods)
        self.mods = mods

    def source(self):
        return '"%s"%s' % (self.src_text, "".join(" " + m for m in self.mods))

    def sample(self, rng):
        raw = self.raw
        if self.nocase:
            raw = bytes((c ^ 0x20) if chr(c).isalpha() and c < 128 and rng.random() < 0.5 else c
                        for c in raw)
        if self.b64_modes:
            pre = bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 2)))
            post = bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 2)))
            wide = rng.choice(self.b64_modes)
            enc = base64.b64encode(pre + raw + post).decode()
            if self.b64_alpha:
                enc = enc.translate(str.maketrans(B64_STD, self.b64_alpha))
            enc = enc.encode()
            if wide:
                enc = b"".join(bytes([c, 0]) for c in enc)
            return enc
        if self.wide and (not self.ascii or rng.random() < 0.5):
            raw = b"".join(bytes([c, 0]) for c in raw)
        if self.xor:
            k = rng.randint(*self.xor)
            raw = bytes(c ^ k for c in raw)
        if self.fullword and rng.random() < 0.7:
            raw = b" " + raw + b" "
        if rng.random() < 0.1 and len(raw) > 1:
            # a near miss: the first byte changed (a prefilter that leaves out leading NULs, or
            # a first character equal to the xor key, must still compare it)
            raw = bytes([(raw[0] + rng.randrange(1, 256)) & 0xFF]) + raw[1:]
        return raw

# ---------------------------------------------------------------------------- hex strings


class HexString:
    kind = "hex"

    def __init__(self, rng, allow_invalid):
        self.tokens = []     # each: ("b", src, sampler) or ("j", lo, hi) or ("alt", [seqs])
        n = rng.randint(2, 8)
        items = [self._byte_tok(rng)]
        for i in range(n):
            r = rng.random()
            if r < 0.12 and i < n - 1:
                items.append(self._jump(rng, top=True))
            elif r < 0.22:
                items.append(self._alt(rng))
            else:
                items.append(self._byte_tok(rng))
        items.append(self._byte_tok(rng))
        self.items = items
        self.private = rng.random() < 0.1
        if allow_invalid and rng.random() < 0.5:
            self.items.insert(0, ("j", 1, 2, "[1-2]"))    # a jump at the start is an error

    def _byte_tok(self, rng):
        r = rng.random()
        b = rng.randrange(256)
        if r < 0.75:
            return ("b", "%02X" % b, lambda rng, b=b: bytes([b]))
        if r < 0.88:
            return ("b", "??", lambda rng: bytes([rng.randrange(256)]))
        if r < 0.94:
            hi = b >> 4
            return ("b", "%X?" % hi, lambda rng, hi=hi: bytes([(hi << 4) | rng.randrange(16)]))
        lo = b & 15
        return ("b", "?%X" % lo, lambda rng, lo=lo: bytes([(rng.randrange(16) << 4) | lo]))

    def _jump(self, rng, top):
        r = rng.random()
        if r < 0.3:
            k = rng.randint(1, 6)
            return ("j", k, k, "[%d]" % k)
        if r < 0.75 or not top:
            a = rng.randint(0, 4)
            b = rng.randint(a, a + 6)
            return ("j", a, b, "[%d-%d]" % (a, b))
        if r < 0.9:
            a = rng.randint(0, 4)
            return ("j", a, None, "[%d-]" % a)
        return ("j", 0, None, "[-]")

    def _alt(self, rng):
        seqs = []
        for _ in range(rng.randint(2, 3)):
            seq = [self._byte_tok(rng) for _ in range(rng.randint(1, 3))]
            if len(seq) >= 2 and rng.random() < 0.2:
                seq.insert(1, self._jump(rng, top=False))
            seqs.append(seq)
        return ("alt", seqs)

    @staticmethod
    def _src_items(items):
        out = []
        for it in items:
            if it[0] == "b":
                out.append(it[1])
            elif it[0] == "j":
                out.append(it[3])
            else:
                out.append("( " + " | ".join(HexString._src_items(s) for s in it[1]) + " )")
        return " ".join(out)

    def source(self):
        return "{ %s }%s" % (self._src_items(self.items), " private" if self.private else "")

    @staticmethod
    def _sample_items(items, rng):
        out = bytearray()
        for it in items:
            if it[0] == "b":
                out += it[2](rng)
            elif it[0] == "j":
                hi = it[2] if it[2] is not None else it[1] + 8
                out += bytes(rng.randrange(256) for _ in range(rng.randint(it[1], hi)))
            else:
                out += HexString._sample_items(rng.choice(it[1]), rng)
        return bytes(out)

    def sample(self, rng):
        return self._sample_items(self.items, rng)

# ---------------------------------------------------------------------------- regexes

REGEX_SPECIAL = set("\\/^$.|?*+()[]{}")


class Regex:
    kind = "regex"

    def __init__(self, rng, allow_invalid):
        self.flags = ""
        if rng.random() < 0.2:
            self.flags += "i"
        if rng.random() < 0.2:
            self.flags += "s"
        self.anchor_start = rng.random() < 0.05
        self.anchor_end = rng.random() < 0.05
        self.seq = self._seq(rng, 0)
        # guarantee a literal so the regex cannot match the empty string
        self.seq.insert(rng.randint(0, len(self.seq)), self._lit(rng))
        self.seq.insert(rng.randint(0, len(self.seq)), self._lit(rng))
        mods = []
        self.wide = self.ascii = self.nocase = False
        if rng.random() < 0.15:
            mods.append("nocase")
            self.nocase = True
        if rng.random() < 0.2:
            mods.append("wide")
            self.wide = True
            if rng.random() < 0.5:
                mods.append("ascii")
                self.ascii = True
        if rng.random() < 0.1:
            mods.append("fullword")
        if rng.random() < 0.1:
            mods.append("private")
        self.mods = mods
        self.invalid = allow_invalid and rng.random() < 0.5

    def _lit(self, rng):
        c = rng.choice(string.ascii_lowercase + string.digits + "-_ ,")
        return ("lit", c, c)

    def _atom(self, rng, depth):
        r = rng.random()
        if r < 0.45:
            return self._lit(rng)
        if r < 0.55:
            c = rng.choice("\\/.()[]{}*+?|^$")
            return ("lit", "\\" + c, c)
        if r < 0.62:
            b = rng.randrange(1, 256)
            return ("lit", "\\x%02x" % b, chr(b))
        if r < 0.75:
            a = rng.choice(string.ascii_lowercase[:20])
            b = chr(ord(a) + rng.randint(0, 5))
            extra = rng.choice(["", "0-9", "_", "A-F", "\\-"])
            neg = rng.random() < 0.2
            src = "[%s%s-%s%s]" % ("^" if neg else "", a, b, extra)
            if neg:
                pool = "#%&=;"
            else:
                pool = "".join(chr(x) for x in range(ord(a), ord(b) + 1))
            return ("cls", src, pool)
        if r < 0.85:
            cls, pool = rng.choice([("\\d", string.digits), ("\\w", string.ascii_letters + "_"),
                                    ("\\s", " \t"), ("\\D", "abc"), ("\\W", "#-!"),
                                    ("\\S", "xyz"), (".", "abc012")])
            return ("cls", cls, pool)
        if r < 0.93 and depth < 2:
            alts = [self._seq(rng, depth + 1) or [self._lit(rng)] for _ in range(rng.randint(2, 3))]
            return ("alt", alts)
        return self._lit(rng)

    def _quant(self, rng, atom):
        r = rng.random()
        if r < 0.7:
            return atom
        q = rng.choice(["*", "+", "?", "{%d}", "{%d,%d}", "{%d,}"])
        if q == "{%d}":
            k = rng.randint(1, 4)
            q, lo, hi = "{%d}" % k, k, k
        elif q == "{%d,%d}":
            a = rng.randint(0, 3)
            b = rng.randint(max(a, 1), a + 4)
            q, lo, hi = "{%d,%d}" % (a, b), a, b
        elif q == "{%d,}":
            a = rng.randint(0, 3)
            q, lo, hi = "{%d,}" % a, a, a + 3
        else:
            lo, hi = {"*": (0, 3), "+": (1, 3), "?": (0, 1)}[q]
        if rng.random() < 0.2:
            q += "?"
        return ("q", atom, q, lo, hi)

    def _seq(self, rng, depth):
        return [self._quant(rng, self._atom(rng, depth)) for _ in range(rng.randint(1, 4))]

    def _src(self, seq):
        out = []
        for n in seq:
            if n[0] in ("lit", "cls"):
                out.append(n[1])
            elif n[0] == "alt":
                out.append("(" + "|".join(self._src(s) for s in n[1]) + ")")
            else:
                inner = self._src([n[1]])
                out.append(inner + n[2])
        return "".join(out)

    def source(self):
        body = ("^" if self.anchor_start else "") + self._src(self.seq) + \
               ("$" if self.anchor_end else "")
        if self.invalid:
            body += rng_invalid_tail()
        return "/%s/%s%s" % (body, self.flags, "".join(" " + m for m in self.mods))

    def _sample_seq(self, seq, rng):
        out = []
        for n in seq:
            if n[0] == "lit":
                out.append(n[2])
            elif n[0] == "cls":
                out.append(rng.choice(n[2]))
            elif n[0] == "alt":
                out.append(self._sample_seq(rng.choice(n[1]), rng))
            else:
                for _ in range(rng.randint(n[3], n[4])):
                    out.append(self._sample_seq([n[1]], rng))
        return "".join(out)

    def sample(self, rng):
        s = self._sample_seq(self.seq, rng).encode("latin-1")
        if self.wide and (not self.ascii or rng.random() < 0.5):
            s = b"".join(bytes([c, 0]) for c in s)
        return s


def rng_invalid_tail():
    return random.choice(["(", "[", "{2,1}", "\\"])

# ---------------------------------------------------------------------------- conditions


def string_atom(rng, sid, nstr):
    """A boolean expression that references string `sid` ("a", "b"...)."""
    n = rng.randint(0, 3)
    off = rng.choice([0, 1, 4, 16, 64, 100, 200])
    forms = [
        "$%s" % sid,
        "#%s %s %d" % (sid, rng.choice([">", ">=", "==", "<", "!="]), n),
        "$%s at %d" % (sid, off),
        "$%s in (%d..%s)" % (sid, off, rng.choice(["filesize", str(off + 50)])),
        "@%s[1] %s %d" % (sid, rng.choice(["<", ">=", "=="]), off),
        "!%s[1] %s %d" % (sid, rng.choice([">", "==", "<="]), rng.randint(1, 12)),
        "for any i in (1..#%s) : (@%s[i] %% 2 == %d)" % (sid, sid, rng.randint(0, 1)),
        "for all i in (1..#%s) : (@%s[i] + !%s[i] <= filesize)" % (sid, sid, sid),
        "(#%s + %d) * 2 %s %d" % (sid, rng.randint(0, 3), rng.choice([">", "<", "=="]),
                                 rng.randint(2, 10)),
        "@%s[%d] > %d" % (sid, rng.randint(1, 3), off),
    ]
    return rng.choice(forms)


def misc_atom(rng):
    off = rng.randint(0, 64)
    forms = [
        "filesize %s %d" % (rng.choice([">", "<", ">=", "=="]), rng.choice([0, 10, 100, 1000])),
        "uint8(%d) %s 0x%02x" % (off, rng.choice(["==", "!=", "<", ">"]), rng.randrange(256)),
        "uint16(%d) != 0x%04x" % (off, rng.randrange(65536)),
        "uint32be(%d) > %d" % (off, rng.randrange(1 << 31)),
        "int16(%d) < 0" % off,
        "int32(%d) & 0xff == %d" % (off, rng.randrange(256)),
        "filesize \\ %d %% %d == %d" % (rng.randint(1, 9), rng.randint(2, 5), rng.randint(0, 1)),
        "(%d << %d | %d) ^ %d == %d" % (rng.randint(0, 9), rng.randint(0, 4), rng.randint(0, 9),
                                      rng.randint(0, 9), rng.randint(0, 60)),
        "-%d + %d * 3 >= %d" % (rng.randint(0, 9), rng.randint(0, 9), rng.randint(0, 20)),
        "true", "false",
    ]
    return rng.choice(forms)


def rand_condition(rng, sids):
    atoms = [string_atom(rng, s, len(sids)) for s in sids]
    if sids and rng.random() < 0.3:
        # set expressions reference every string at once
        sel = rng.choice(["them", "($*)", "(%s)" % ", ".join("$" + s for s in sids)])
        quant = rng.choice(["any", "all", "none", "1", "2", str(len(sids))])
        e = "%s of %s" % (quant, sel)
        if rng.random() < 0.3:
            body = rng.choice(["$ at 0", "$ in (0..100)", "$", "# > 1", "@ > 4"])
            e = "for %s of %s : (%s)" % (quant, sel, body)
        atoms = [e] + atoms[: rng.randint(0, len(atoms))]
        if len(atoms) == 1:
            return atoms[0]
    for _ in range(rng.randint(0, 2)):
        atoms.insert(rng.randint(0, len(atoms)), misc_atom(rng))
    if not atoms:
        return misc_atom(rng)
    expr = atoms[0]
    for a in atoms[1:]:
        op = rng.choice(["and", "or", "or", "and not"])
        expr = "(%s %s %s)" % (expr, op, a) if rng.random() < 0.5 else "%s %s %s" % (expr, op, a)
    if rng.random() < 0.1:
        expr = "not (%s)" % expr
    return expr

# ---------------------------------------------------------------------------- rules and data


def rand_rule(rng, name, allow_invalid, pool=None):
    """pool: strings of earlier rules of the batch; some are reused as they are, so identical
    strings in several rules (and twice in one) are compared too (kensa verifies such twins
    once per hit and replays the matches)."""
    nstr = rng.randint(0, 4) if rng.random() < 0.1 else rng.randint(1, 4)
    strs = []
    for _ in range(nstr):
        r = rng.random()
        inv = allow_invalid and rng.random() < 0.25
        if pool and rng.random() < 0.15:
            strs.append(rng.choice(pool))
        elif r < 0.5:
            strs.append(TextString(rng, inv))
        elif r < 0.75:
            strs.append(HexString(rng, inv))
        else:
            strs.append(Regex(rng, inv))
    sids = [chr(ord("a") + i) for i in range(nstr)]
    tags = " : " + " ".join(rng.sample(["t1", "t2", "t3"], rng.randint(1, 2))) \
        if rng.random() < 0.2 else ""
    lines = ["rule %s%s {" % (name, tags)]
    if strs:
        lines.append("  strings:")
        for sid, s in zip(sids, strs):
            lines.append("    $%s = %s" % (sid, s.source()))
    lines.append("  condition:")
    lines.append("    " + rand_condition(rng, sids))
    lines.append("}")
    return "\n".join(lines) + "\n", strs


def make_data(rng, strs, kind):
    if kind == "empty":
        return b""
    size = rng.choice([64, 200, 700, 2000])
    if kind == "text":
        buf = bytearray(rng.choice(b"abcdefghijklmnopqrstuvwxyz     \n.,0123456789")
                        for _ in range(size))
    elif kind == "mz":
        buf = bytearray(b"MZ\x90\x00" + bytes(rng.randrange(256) for _ in range(size)))
    else:
        buf = bytearray(rng.randrange(256) for _ in range(size))
    for s in strs:
        for _ in range(rng.randint(0, 3)):
            try:
                sample = s.sample(rng)
            except (IndexError, ValueError):
                continue
            pos = 0 if rng.random() < 0.1 else rng.randint(0, len(buf))
            buf[pos:pos] = sample
    return bytes(buf)


def parse_output(text, root):
    """{(file, rule): [string lines]} from `-s -L` output."""
    res = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("0x") and cur is not None:
            res[cur].append(line)
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) == 2 and parts[1].startswith(root):
            cur = (os.path.basename(parts[1]), parts[0])
            res.setdefault(cur, [])
        else:
            cur = None
    return res


def error_rules(stderr, rules):
    """Names of the rules that the compiler messages in `stderr` point at."""
    starts, line = [], 1
    for name, text, _ in rules:
        starts.append((line, name))
        line += text.count("\n")
    names = {n for n, _, _ in rules}
    bad = set()
    for m in re.finditer(r'rule "([^"]+)" in [^\n]*?\((\d+)\)|\((\d+)\): error', stderr):
        if m.group(1) in names:
            bad.add(m.group(1))
        ln = int(m.group(2) or m.group(3))
        owner = None
        for start, name in starts:
            if start <= ln:
                owner = name
        if owner:
            bad.add(owner)
    return bad


def run_tool(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")
    except subprocess.TimeoutExpired:
        return -999, "", "timeout"


def run_batch(args):
    seed, batch_no, count, a = args
    rng = random.Random("%s-%d" % (seed, batch_no))
    globals()["random"].seed("%s-%d-inv" % (seed, batch_no))
    rules = []
    pool = []
    for i in range(count):
        name = "r%d_%d" % (batch_no, i)
        text, strs = rand_rule(rng, name, allow_invalid=rng.random() < 0.03, pool=pool)
        rules.append((name, text, strs))
        pool.extend(strs)
    td = tempfile.mkdtemp(prefix="kdiff")
    failures = []
    try:
        data_dir = os.path.join(td, "data")
        os.mkdir(data_dir)
        all_strs = [s for _, _, ss in rules for s in ss]
        for k, kind in enumerate(["text", "bin", "mz", "text2"] + (["empty"] if batch_no % 5 == 0
                                                                  else [])):
            # each data file carries samples of a random part of the batch's strings
            pick = [s for s in all_strs if rng.random() < 0.5]
            with open(os.path.join(data_dir, "d%d_%s" % (k, kind)), "wb") as f:
                f.write(make_data(rng, pick, "text" if kind == "text2" else kind))

        def compare(rule_list, tag):
            rf = os.path.join(td, "rules_%s.yar" % tag)
            with open(rf, "w", encoding="latin-1") as f:
                f.write("".join(t for _, t, _ in rule_list))
            y = run_tool([a.yara, "-s", "-L", "-p", "1", "-w", rf, data_dir])
            k = run_tool(a.kensa.split() + ["-s", "-L", "-p", "1", "-w", rf, data_dir])
            return rf, y, k

        results = {}

        def single(name, text, strs, idx):
            rf1, y1, k1 = compare([(name, text, strs)], "one%d" % idx)
            # yara itself aborting (an assertion in its chained-string code) or refusing to scan
            # ("caused error", e.g. its regex fiber limit) is not a kensa difference: such cases
            # are counted and listed apart, with kensa's result kept for inspection
            if y1[0] == -999 and k1[0] == 0:
                return ("yara", "yara timed out (kensa finished)", None, None)
            if y1[0] < 0 and y1[0] != -999 and k1[0] == 0:
                return ("yara", "yara crashed (signal %d): %s" % (-y1[0], y1[2].strip()[-200:]),
                        None, None)
            if "caused error" in y1[2] and k1[0] == 0:
                return ("yara", "yara scan error: %s" % y1[2].strip().splitlines()[0][:200],
                        None, None)
            if (y1[0] == 0) != (k1[0] == 0):
                return (False, "compile verdict: yara rc=%d kensa rc=%d\n%s\n%s" %
                        (y1[0], k1[0], y1[2][-500:], k1[2][-500:]), None, None)
            if y1[0] != 0:
                return (True, "", None, None)
            yo, ko = parse_output(y1[1], data_dir), parse_output(k1[1], data_dir)
            return (yo == ko, "matches differ", yo, ko)

        pending = list(rules)
        for attempt in range(4):
            rf, y, k = compare(pending, "all%d" % attempt)
            scan_err = set(re.findall(r'in rule "([^"]+)" caused error', y[2]))
            if y[0] == 0 and k[0] == 0 and not scan_err:
                yo, ko = parse_output(y[1], data_dir), parse_output(k[1], data_dir)
                for name, text, _ in pending:
                    yk = {key: v for key, v in yo.items() if key[1] == name}
                    kk = {key: v for key, v in ko.items() if key[1] == name}
                    results[name] = (yk == kk, "matches differ", yk, kk)
                pending = []
                break
            if k[0] == -999 or attempt == 3:
                break
            if y[0] == -999:
                bad = {r[0] for r in pending}      # yara timed out: check every rule alone
                for idx, (name, text, strs) in enumerate(pending):
                    results[name] = single(name, text, strs, idx)
                pending = []
                break
            # some rules do not compile: find them from the messages of both tools, check
            # each of them alone (compile verdict), and retry the batch without them
            bad = error_rules(y[2], pending) | error_rules(k[2], pending) | scan_err
            if y[0] < 0:
                bad = {r[0] for r in pending}      # yara aborted: check every rule alone
            if not bad:
                break
            for idx, (name, text, strs) in enumerate(pending):
                if name in bad:
                    results[name] = single(name, text, strs, idx)
            pending = [r for r in pending if r[0] not in bad]
        for idx, (name, text, strs) in enumerate(pending):
            results[name] = single(name, text, strs, idx)
        yara_errors = []
        for name, text, _ in rules:
            ok, why, yk, kk = results[name]
            if ok == "yara":
                yara_errors.append((name, why))
            elif not ok:
                failures.append((name, text, why, yk, kk))
        if failures and a.keep_failures:
            for name, text, why, yk, kk in failures:
                d = os.path.join(a.keep_failures, "seed%s-%s" % (seed, name))
                shutil.rmtree(d, ignore_errors=True)
                shutil.copytree(data_dir, os.path.join(d, "data"))
                with open(os.path.join(d, "rule.yar"), "w", encoding="latin-1") as f:
                    f.write(text)
                with open(os.path.join(d, "report.txt"), "w", encoding="latin-1") as f:
                    f.write(why + "\n")
                    if yk is not None:
                        f.write("--- yara\n")
                        for key in sorted(yk):
                            f.write("%s %s\n%s" % (key[1], key[0],
                                                   "".join(l + "\n" for l in yk[key])))
                        f.write("--- kensa\n")
                        for key in sorted(kk):
                            f.write("%s %s\n%s" % (key[1], key[0],
                                                   "".join(l + "\n" for l in kk[key])))
        return (count - len(failures) - len(yara_errors),
                [(n, why.splitlines()[0] if why else "") for n, _, why, _, _ in failures],
                yara_errors)
    finally:
        shutil.rmtree(td, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--kensa", default="build/kensa",
                    help="kensa binary (run as `KENSA scan`) or a full command prefix")
    ap.add_argument("--yara", default="yara")
    ap.add_argument("--batch", type=int, default=100, help="rules per rule file")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep-failures", metavar="DIR")
    a = ap.parse_args()
    if shutil.which(a.yara) is None:
        print("yara not found: skipping")
        return 77
    if len(a.kensa.split()) == 1:
        a.kensa = a.kensa + " scan --no-extract"
    if a.keep_failures:
        os.makedirs(a.keep_failures, exist_ok=True)
    batches = []
    left, n = a.cases, 0
    while left > 0:
        c = min(a.batch, left)
        batches.append((a.seed, n, c, a))
        left -= c
        n += 1
    passed = failed = 0
    shown = 0
    yara_errs = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for p, fails, yerrs in ex.map(run_batch, batches):
            passed += p
            failed += len(fails)
            yara_errs += yerrs
            for name, why in fails:
                if shown < 30:
                    print("FAIL %s: %s" % (name, why), flush=True)
                shown += 1
    for name, why in yara_errs[:30]:
        print("YARA-ERROR %s: %s" % (name, why))
    if failed and a.keep_failures:
        print("failing cases kept in %s" % a.keep_failures)
    # cases where yara itself crashed or refused to scan are neither passes nor failures
    print("%d cases where yara crashed, timed out or failed to scan (not compared)" % len(yara_errs))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
